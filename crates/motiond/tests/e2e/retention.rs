//! `retention.days`: a final task whose final time lies further back than that is deleted
//! by the janitor like a `DELETE /tasks/{id}`: 404 afterwards, its motion gone from the
//! list, its file URLs 404 and its result blobs removed from disk; the upload is kept.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

/// Regular files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_under(&p));
        } else {
            found.push(p.display().to_string());
        }
    }
    found
}

#[tokio::test]
async fn retention_deletes_an_aged_final_task_with_its_motion_and_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &[("MOTIOND_RETENTION__DAYS", "1")]);
    let c = Client::new(server.token("rita"));
    create_account(&c, &server, "rita@example.com", json!({})).await;
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (resource, cover) = upload_video(&c, &server, None, &video).await;
    let (status, submitted) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    let task_id = submitted["task"]["id"].as_i64().unwrap();
    let done = c.wait_final(&server, task_id, None).await;
    assert_eq!(done["status"], 99, "{done}");
    let work = &done["works"][0];
    let bvh_url = work["extData"]["bvh_binary"].as_str().unwrap().to_owned();
    let results = data.join(format!("blobs/results/{task_id}"));
    assert_eq!(files_under(&results).len(), 4, "four result blobs on disk");

    // Fresh: several janitor passes (500 ms apart) leave it alone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let task_url = server.api(&format!("/tasks/{task_id}"));
    assert_eq!(c.get(&task_url).await.0, 200, "a fresh task is kept");

    // Two days old: the next janitor pass deletes it.
    sqlite_exec(
        &data,
        &format!(
            "UPDATE tasks SET create_time = create_time - 172800000, \
             update_time = update_time - 172800000 WHERE id = {task_id}"
        ),
    );
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let (st, body) = c.get(&task_url).await;
        if st == 404 {
            break;
        }
        assert!(
            Instant::now() < until,
            "the aged task is still there: {body}\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (st, mine) = c.get(&server.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200);
    assert!(
        !mine.to_string().contains(&format!("\"taskId\":{task_id}")),
        "the motion went with its task: {mine}"
    );
    assert_eq!(c.bytes(&bvh_url).await.0, 404, "its file URLs are gone");
    // The trash is emptied in the same pass; allow one more for a slow disk.
    let until = Instant::now() + Duration::from_secs(10);
    while !files_under(&results).is_empty() {
        assert!(
            Instant::now() < until,
            "result blobs left: {:?}",
            files_under(&results)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The uploaded video is an asset, not part of the task: it stays.
    let (st, _) = c.bytes(&resource).await;
    assert_eq!(st, 200, "the source upload is kept");
}
