//! §7 scheduler: unfinished tasks of all accounts, capacity, cancel.

use axum::http::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn executing_available_and_cancel() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.get("/v1/kling/scheduler/available", &token)
        .await
        .assert(200, r#"{"executing":[],"available":[]}"#);
    t.account(&token, "b@x.io", 3).await;
    t.account(&token, "a@x.io", 2).await;
    let video = t.upload(&token, "b@x.io", "video/mp4", DANCE).await;
    let body = json!({"email": "b@x.io", "resourceUrl": video["resourceUrl"], "coverUrl": video["coverUrl"], "replyRef": "clip-9"});
    let env = t
        .post_json("/v1/kling/videos/motion-upload", &token, body)
        .await
        .json();
    let id = env["task"]["id"].as_i64().unwrap();
    let list = t
        .get("/v1/kling/scheduler?email=ignored@x.io", &token)
        .await
        .json();
    let entry = &list[0];
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "email", "started", "elapsed", "replyRef"],
        "replyUrl is omitted when unset"
    );
    assert_eq!(
        (
            entry["id"].as_i64(),
            entry["email"].as_str(),
            entry["replyRef"].as_str()
        ),
        (Some(id), Some("b@x.io"), Some("clip-9"))
    );
    let started = entry["started"].as_str().unwrap();
    assert!(
        started.len() == 24 && started.ends_with('Z') && &started[19..20] == ".",
        "{started}"
    );
    let elapsed = entry["elapsed"].as_str().unwrap();
    assert!(
        elapsed.len() >= 5 && &elapsed[elapsed.len() - 3..elapsed.len() - 2] == ":",
        "{elapsed}"
    );
    let avail = t.get("/v1/kling/scheduler/available", &token).await.json();
    assert_eq!(avail["executing"], list);
    assert_eq!(
        avail["available"],
        json!([{"email":"a@x.io","maxJobs":2,"executing":0,"available":2},{"email":"b@x.io","maxJobs":3,"executing":1,"available":2}])
    );
    t.delete(&format!("/v1/kling/scheduler/{id}"), &token)
        .await
        .assert(
            200,
            &format!(r#"{{"id":{id},"message":"Task was successfully canceled."}}"#),
        );
    let task = t
        .get(&format!("/v1/kling/tasks/{id}?email=b@x.io"), &token)
        .await
        .json();
    assert_eq!(
        (
            task["status"].as_u64(),
            task["status_name"].as_str(),
            task["message"].as_str()
        ),
        (Some(50), Some("failed"), Some("Task was canceled"))
    );
    assert_eq!(task["task"]["status_final"], true);
    let metrics = t.call(Method::GET, "/metrics", None).await.text();
    assert!(
        metrics.contains(r#"motiond_tasks_total{status_name="failed"} 1"#),
        "a cancel is a transition to failed:\n{metrics}"
    );
    t.delete(&format!("/v1/kling/scheduler/{id}"), &token)
        .await
        .assert_error(404, &format!("Unable to locate running task_id {id}"));
    t.get("/v1/kling/scheduler", &token).await.assert(200, "[]");
}
