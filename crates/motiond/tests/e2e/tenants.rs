//! Isolation: a second user sees none of the first user's data, and foreign ids are answered
//! exactly like ids that do not exist.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn a_second_user_sees_nothing_of_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let a = Client::new(server.token("owner"));
    let b = Client::new(server.token("intruder"));
    create_account(&a, &server, "owner@example.com", json!({})).await;
    create_account(&b, &server, "intruder@example.com", json!({})).await;

    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (resource, cover) = upload_video(&a, &server, None, &video).await;
    let (status, submitted) = a
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    let task_id = submitted["task"]["id"].as_i64().unwrap();

    // The intruder: every list is empty, every id answers like a missing one.
    let (st, body) = b.get(&server.api(&format!("/tasks/{task_id}"))).await;
    let (st_missing, body_missing) = b.get(&server.api("/tasks/1")).await;
    assert_eq!((st, st_missing), (404, 404));
    assert_eq!(body["error"], format!("Task {task_id} not found"));
    assert_eq!(body_missing["error"], "Task 1 not found");
    let (st, body) = b.delete(&server.api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(st, 404);
    assert_eq!(body["error"], format!("No works found for task {task_id}"));
    for path in [
        "/tasks",
        "/assets/uploaded",
        "/videos/motions?mine=true",
        "/scheduler",
    ] {
        let (st, body) = b.get(&server.api(path)).await;
        assert_eq!(st, 200, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains(&task_id.to_string()),
            "{path} leaks the task: {text}"
        );
        assert!(
            !text.contains("owner@example.com"),
            "{path} leaks the account: {text}"
        );
        assert!(
            !text.contains(resource.rsplit('/').next().unwrap()),
            "{path} leaks the asset: {text}"
        );
    }
    let (st, body) = b.get(&server.api("/accounts/owner@example.com")).await;
    assert_eq!(st, 404, "{body}");
    let (st, body) = b
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover }),
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(
        body["error"],
        "Sorry, the requested resource was not found (VALID.ResourceNotFound)"
    );

    // The owner still sees everything.
    let (st, body) = a.get(&server.api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = a.delete(&server.api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(st, 200, "{body}");
}
