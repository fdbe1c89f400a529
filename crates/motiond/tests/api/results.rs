//! A task run to the end by the real engine (models, ffmpeg): the succeeded envelope,
//! the motion in `mine=true`, result files at capability URLs, and DELETE with workIds.

use axum::http::Method;
use serde_json::Value;

use crate::helpers::*;

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn path_of(url: &Value) -> String {
    url.as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_succeeded_task_shows_its_motion_and_files() {
    assert!(
        models_dir().join("pose_landmark_full.onnx").exists(),
        "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`)"
    );
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    let env = t.submit_task(&token, "a@x.io").await;
    let id = env["task"]["id"].as_i64().unwrap();
    t.app.run_until_idle().await.expect("run the queued task");

    let done = t.get(&format!("/v1/kling/tasks/{id}"), &token).await.json();
    assert_eq!(
        (
            done["status"].as_u64(),
            done["status_name"].as_str(),
            done["message"].as_str()
        ),
        (Some(99), Some("succeed"), Some("success")),
        "{done}"
    );
    assert_eq!(done["task"]["status_final"], true);
    let work = &done["works"][0];
    assert_eq!(
        keys(work),
        [
            "workId",
            "workItemId",
            "taskId",
            "userId",
            "type",
            "status",
            "status_name",
            "status_final",
            "contentType",
            "resource",
            "cover",
            "starNum",
            "cloneCount",
            "reportNum",
            "createTime",
            "taskInfo",
            "selfAttitude",
            "selfComment",
            "extData"
        ]
    );
    assert_eq!(work["taskId"].as_i64(), Some(id));
    assert_eq!(work["taskInfo"], done["task"]["taskInfo"]);
    let work_id = work["workId"].as_i64().unwrap();
    assert!(work_id > 0 && work_id != id);

    let mine = t
        .get("/v1/kling/videos/motions?mine=true", &token)
        .await
        .json();
    let m = &mine[0];
    assert_eq!(
        keys(m),
        [
            "workName", "workId", "taskId", "official", "resource", "cover", "extData"
        ]
    );
    assert_eq!(
        (
            m["workId"].as_i64(),
            m["taskId"].as_i64(),
            m["workName"].as_str()
        ),
        (
            Some(work_id),
            Some(id),
            Some(format!("Motion {id}").as_str())
        )
    );
    assert_eq!(m["resource"]["resource"], work["resource"]["resource"]);
    assert_eq!(m["extData"], work["extData"]);
    t.get(
        "/v1/kling/videos/motions?mine=true&pageNum=2&pageSize=1",
        &token,
    )
    .await
    .assert(200, "[]");

    let bvh = t
        .call(Method::GET, &path_of(&work["extData"]["bvh_binary"]), None)
        .await;
    assert_eq!(
        (bvh.status.as_u16(), bvh.header("content-type")),
        (200, Some("application/zip"))
    );
    assert!(
        bvh.header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"bvh.zip\"")
    );
    assert!(bvh.body.starts_with(b"PK"));
    let preview = t
        .call(Method::GET, &path_of(&work["resource"]["resource"]), None)
        .await;
    assert_eq!(
        (preview.status.as_u16(), preview.header("content-type")),
        (200, Some("video/mp4"))
    );

    let r = t.delete(&format!("/v1/kling/tasks/{id}"), &token).await;
    r.assert(200, &format!(r#"{{"deleted":1,"workIds":[{work_id}]}}"#));
    for url in [
        &work["extData"]["bvh_binary"],
        &work["extData"]["output_binary"],
        &work["resource"]["resource"],
        &work["cover"]["resource"],
    ] {
        t.call(Method::GET, &path_of(url), None)
            .await
            .assert_error(404, "Not found");
    }
    t.get("/v1/kling/videos/motions?mine=true", &token)
        .await
        .assert(200, "[]");
}
