//! A task run to the end by the real engine (models, ffmpeg): the succeeded envelope,
//! the motion in `mine=true`, result files at capability URLs, and DELETE with workIds.

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const UPLOAD: &str = "/v1/kling/videos/motion-upload";
const NOT_FOUND_VALID: &str = r#"{"error":"Sorry, the requested resource was not found (VALID.ResourceNotFound)","message":"Not Found"}"#;

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
    // §10.3: the upload's probe and cover, the job's probe, decode and preview encode, and
    // the engine's inference time per frame reach /metrics.
    let metrics = t.call(Method::GET, "/metrics", None).await.text();
    for series in [
        r#"motiond_subprocess_duration_seconds_count{program="ffprobe",outcome="ok"}"#,
        r#"motiond_subprocess_duration_seconds_count{program="ffmpeg",outcome="ok"}"#,
        "motiond_inference_seconds_per_frame_count 1",
    ] {
        assert!(
            metrics.contains(series),
            "{series} missing from:\n{metrics}"
        );
    }

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

    // §5.1 rows 15/17: the motion's files are this account's own, but no asset's.
    let input = &done["task"]["taskInfo"]["inputs"][0];
    t.post_json(
        UPLOAD,
        &token,
        json!({"resourceUrl": work["resource"]["resource"], "coverUrl": input["cover"]}),
    )
    .await
    .assert_error(
        400,
        "Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets",
    );
    t.post_json(
        UPLOAD,
        &token,
        json!({"resourceUrl": input["url"], "coverUrl": work["cover"]["resource"]}),
    )
    .await
    .assert_error(400, "Parameter coverUrl must be the url of an image or the coverUrl of a video uploaded with POST /assets");
    // Another user's account does not see them: rows 14/16.
    let bob = t.token("bob").await;
    t.account(&bob, "b@x.io", 2).await;
    let bobs = t.upload(&bob, "b@x.io", "video/mp4", DANCE).await;
    t.post_json(
        UPLOAD,
        &bob,
        json!({"resourceUrl": work["resource"]["resource"], "coverUrl": bobs["coverUrl"]}),
    )
    .await
    .assert(404, NOT_FOUND_VALID);
    t.post_json(
        UPLOAD,
        &bob,
        json!({"resourceUrl": bobs["resourceUrl"], "coverUrl": work["cover"]["resource"]}),
    )
    .await
    .assert(404, NOT_FOUND_VALID);

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
    // A deleted motion's files are unknown: row 14.
    t.post_json(
        UPLOAD,
        &token,
        json!({"resourceUrl": work["resource"]["resource"], "coverUrl": input["cover"]}),
    )
    .await
    .assert(404, NOT_FOUND_VALID);
}
