//! §6 tasks: get, list with cursors, delete (cancels unfinished ones).

use serde_json::json;

use crate::helpers::*;

const EMAIL: &str = "a@x.io";

#[tokio::test]
async fn task_id_is_checked_before_account_selection() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    for bad in ["abc", "0", "-1", "1.0", "9007199254740992", "%31x"] {
        t.get(&format!("/v1/kling/tasks/{bad}"), &token)
            .await
            .assert_error(400, "Invalid task_id parameter");
        t.delete(&format!("/v1/kling/tasks/{bad}"), &token)
            .await
            .assert_error(400, "Invalid task_id parameter");
        t.delete(&format!("/v1/kling/scheduler/{bad}"), &token)
            .await
            .assert_error(400, "Invalid task_id parameter");
    }
    t.get("/v1/kling/tasks/12", &token).await.assert_error(
        404,
        "Configuration not found. To create configuration use POST /accounts.",
    );
    t.account(&token, EMAIL, 2).await;
    t.get("/v1/kling/tasks/12", &token)
        .await
        .assert_error(404, "Task 12 not found");
    // Leading zeros do not count against the range (§6.4: the value is checked, not the length).
    t.get("/v1/kling/tasks/00000000000000012", &token)
        .await
        .assert_error(404, "Task 12 not found");
    t.delete("/v1/kling/scheduler/000000000000000000012", &token)
        .await
        .assert_error(404, "Unable to locate running task_id 12");
    t.get("/v1/kling/tasks/12?email=a@x.io&email=a@x.io", &token)
        .await
        .assert_error(400, "Parameter email is given more than once");
    t.delete("/v1/kling/tasks/12", &token)
        .await
        .assert_error(404, "No works found for task 12");
}

#[tokio::test]
async fn list_with_cursors() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 5).await;
    let first = t.submit_task(&token, EMAIL).await;
    let second = t.submit_task(&token, EMAIL).await;
    let (c1, c2) = (
        first["task"]["createTime"].as_i64().unwrap(),
        second["task"]["createTime"].as_i64().unwrap(),
    );
    assert!(c2 > c1, "createTime strictly increases");
    let ids = |v: serde_json::Value| -> Vec<i64> {
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["task"]["id"].as_i64().unwrap())
            .collect()
    };
    let (id1, id2) = (
        first["task"]["id"].as_i64().unwrap(),
        second["task"]["id"].as_i64().unwrap(),
    );
    assert_eq!(
        ids(t.get("/v1/kling/tasks", &token).await.json()),
        [id2, id1]
    );
    assert_eq!(
        ids(t.get("/v1/kling/tasks?pageSize=1", &token).await.json()),
        [id2]
    );
    assert_eq!(
        ids(t
            .get(&format!("/v1/kling/tasks?createdBefore={c2}"), &token)
            .await
            .json()),
        [id1]
    );
    assert_eq!(
        ids(t
            .get(&format!("/v1/kling/tasks?createdAfter={}", c1 - 1), &token)
            .await
            .json()),
        [id1, id2]
    );
    assert_eq!(
        ids(t
            .get(&format!("/v1/kling/tasks?createdAfter={c1}"), &token)
            .await
            .json()),
        [id2]
    );
    t.get("/v1/kling/tasks?contentType=image", &token)
        .await
        .assert(200, r#"{"history":[]}"#);
    let cases = [
        (
            "contentType=text",
            "Parameter contentType must be one of: video, image, audio",
        ),
        (
            "pageSize=0",
            "Parameter pageSize must be an integer between 1 and 100",
        ),
        (
            "createdBefore=-1",
            "Parameter createdBefore must be an integer between 0 and 9007199254740991",
        ),
        (
            "createdAfter=x",
            "Parameter createdAfter must be an integer between 0 and 9007199254740991",
        ),
        (
            "createdBefore=1&createdAfter=1",
            "Parameters createdBefore and createdAfter cannot be used together",
        ),
        (
            "pageSize=1&pageSize=2",
            "Parameter pageSize is given more than once",
        ),
    ];
    for (q, e) in cases {
        t.get(&format!("/v1/kling/tasks?{q}"), &token)
            .await
            .assert_error(400, e);
    }
}

#[tokio::test]
async fn deleting_an_unfinished_task_cancels_and_removes_it() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 1).await;
    let env = t.submit_task(&token, EMAIL).await;
    let id = env["task"]["id"].as_i64().unwrap();
    t.delete(&format!("/v1/kling/tasks/{id}/"), &token)
        .await
        .assert(200, r#"{"deleted":0,"workIds":[]}"#);
    t.get(&format!("/v1/kling/tasks/{id}"), &token)
        .await
        .assert_error(404, &format!("Task {id} not found"));
    t.delete(&format!("/v1/kling/tasks/{id}"), &token)
        .await
        .assert_error(404, &format!("No works found for task {id}"));
    t.get("/v1/kling/tasks", &token)
        .await
        .assert(200, r#"{"history":[]}"#);
    // The slot is free again.
    let again = t.submit_task(&token, EMAIL).await;
    assert_eq!(again["status"], json!(5));
}
