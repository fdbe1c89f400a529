//! §5 motion-upload (rows in order), the motions list, motion-create.

use serde_json::{Value, json};

use crate::helpers::*;

const UPLOAD: &str = "/v1/kling/videos/motion-upload";
const EMAIL: &str = "a@x.io";
const NOT_FOUND_VALID: &str = r#"{"error":"Sorry, the requested resource was not found (VALID.ResourceNotFound)","message":"Not Found"}"#;

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn motion_upload_returns_the_envelope_in_status_5() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 3).await;
    let env = t.submit_task(&token, EMAIL).await;
    assert_eq!(
        keys(&env),
        [
            "task",
            "works",
            "status",
            "status_name",
            "status_final",
            "message",
            "limitation",
            "userPoints",
            "userTickets",
            "editProject"
        ]
    );
    assert_eq!(
        (
            env["status"].as_u64(),
            env["status_name"].as_str(),
            env["status_final"].as_bool()
        ),
        (Some(5), Some("submitted"), Some(false))
    );
    assert_eq!(
        (env["works"].clone(), env["message"].clone()),
        (json!([]), json!(""))
    );
    assert_eq!(
        env["limitation"],
        json!({"type":"motion_control_motion_process","remaining":2,"limit":3})
    );
    let task = &env["task"];
    assert_eq!(task["status"], 5);
    assert_eq!(task["type"], "motion_control_motion_process");
    assert_eq!(task["taskInfo"]["inputs"][0]["inputType"], "URL");
    assert!(
        task["taskInfo"]["inputs"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(PUBLIC_URL)
    );
    let id = task["id"].as_i64().unwrap();
    assert!((1..=9007199254740991).contains(&id));
    let got = t.get(&format!("/v1/kling/tasks/{id}"), &token).await;
    assert_eq!(got.json(), env, "GET /tasks/{{id}} shows the same envelope");
}

#[tokio::test]
async fn multipart_and_form_bodies_and_email_selection() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 5).await;
    t.account(&token, "b@x.io", 5).await;
    let v = t.upload(&token, EMAIL, "video/mp4", DANCE).await;
    let (res, cov) = (
        v["resourceUrl"].as_str().unwrap(),
        v["coverUrl"].as_str().unwrap(),
    );
    // Two accounts: email is required, and a query email is ignored.
    let r = t
        .post_json(
            &format!("{UPLOAD}?email={EMAIL}"),
            &token,
            json!({"resourceUrl": res, "coverUrl": cov}),
        )
        .await;
    r.assert_error(
        400,
        "Parameter email is required when more than one account is configured",
    );
    let r = t
        .post_json(
            UPLOAD,
            &token,
            json!({"email": 5, "resourceUrl": res, "coverUrl": cov}),
        )
        .await;
    r.assert_error(400, "Parameter email must be a string");
    let r = t
        .post_json(
            UPLOAD,
            &token,
            json!({"email": "nobody@x.io", "resourceUrl": res, "coverUrl": cov}),
        )
        .await;
    r.assert_error(404, "Account nobody@x.io not found");
    let part = |n: &str, v: &str| {
        format!("--B\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n")
    };
    let body = format!(
        "{}{}{}{}--B--\r\n",
        part("email", "A@X.IO"),
        part("resourceUrl", res),
        part("coverUrl", cov),
        part("replyRef", "clip-1")
    );
    let r = t
        .post_raw(
            UPLOAD,
            &token,
            "multipart/form-data; boundary=B",
            body.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let form = format!(
        "email={}&resourceUrl={}&coverUrl={}&workName=My+walk",
        enc(EMAIL),
        enc(res),
        enc(cov)
    );
    let r = t
        .post_raw(
            UPLOAD,
            &token,
            "application/x-www-form-urlencoded",
            form.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The resource belongs to a@x.io, so b@x.io does not see it.
    let r = t
        .post_json(
            UPLOAD,
            &token,
            json!({"email": "b@x.io", "resourceUrl": res, "coverUrl": cov}),
        )
        .await;
    r.assert(404, NOT_FOUND_VALID);
}

#[tokio::test]
async fn motion_upload_rows_in_order() {
    let t = TestApp::with(|c| c.admission.retry_after_s = 7).await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 1).await;
    let v = t.upload(&token, EMAIL, "video/mp4", DANCE).await;
    let img = t.upload(&token, EMAIL, "image/png", PNG).await;
    let short = t.upload(&token, EMAIL, "video/mp4", SHORT_1_7S).await;
    let (res, cov) = (v["resourceUrl"].clone(), v["coverUrl"].clone());
    let long = "x".repeat(1025);
    let cases: Vec<(Value, u16, String)> = vec![
        (json!({}), 400, r#"{"error":"Parameter resourceUrl is required"}"#.into()),
        (json!({"resourceUrl": 1, "coverUrl": 1}), 400, r#"{"error":"Parameter resourceUrl must be a string"}"#.into()),
        (json!({"resourceUrl": res}), 400, r#"{"error":"Parameter coverUrl is required"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": {}}), 400, r#"{"error":"Parameter coverUrl must be a string"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "maxJobs": 0, "replyUrl": 1}), 400, r#"{"error":"Parameter maxJobs must be an integer between 1 and 50"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyUrl": false}), 400, r#"{"error":"Parameter replyUrl must be a string"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyUrl": format!("https://x.io/{long}")}), 400, r#"{"error":"replyUrl is too long"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyUrl": "x.io/hook"}), 400, r#"{"error":"Parameter replyUrl must be an absolute http or https URL without user name or password"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyUrl": "http://[::ffff:127.0.0.1]/"}), 400, r#"{"error":"Parameter replyUrl must not point to a loopback, private or link-local address"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyRef": 5}), 400, r#"{"error":"Parameter replyRef must be a string"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "replyRef": long, "workName": 1}), 400, r#"{"error":"Parameter replyRef must be at most 1024 characters"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": cov, "workName": "w".repeat(101)}), 400, r#"{"error":"Parameter workName must be at most 100 characters"}"#.into()),
        (json!({"resourceUrl": "not a url", "coverUrl": cov}), 404, NOT_FOUND_VALID.into()),
        (json!({"resourceUrl": format!("{PUBLIC_URL}/files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x.mp4"), "coverUrl": cov}), 404, NOT_FOUND_VALID.into()),
        (json!({"resourceUrl": cov, "coverUrl": cov}), 400, r#"{"error":"Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets"}"#.into()),
        (json!({"resourceUrl": img["url"], "coverUrl": cov}), 400, r#"{"error":"Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets"}"#.into()),
        (json!({"resourceUrl": res, "coverUrl": "https://elsewhere.example/files/x/cover.jpg"}), 404, NOT_FOUND_VALID.into()),
        (json!({"resourceUrl": res, "coverUrl": res}), 400, r#"{"error":"Parameter coverUrl must be the url of an image or the coverUrl of a video uploaded with POST /assets"}"#.into()),
        (json!({"resourceUrl": short["resourceUrl"], "coverUrl": img["url"]}), 400, r#"{"error":"Video must be between 2 and 10 seconds long (got 1.7 s)"}"#.into()),
    ];
    for (body, status, expected) in cases {
        let r = t.post_json(UPLOAD, &token, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.text()), (status, expected), "{body}");
    }
    // Scheme, host and query of our own URL are ignored: only the last three segments count.
    let foreign_host = res
        .as_str()
        .unwrap()
        .replace(PUBLIC_URL, "https://cdn.example.org/prefix")
        + "?x=1#f";
    let ok = t.post_json(UPLOAD, &token, json!({"resourceUrl": foreign_host, "coverUrl": img["url"], "workName": "é".repeat(100)})).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    // Row 19: maxJobs 1 and one unfinished task.
    let r = t
        .post_json(UPLOAD, &token, json!({"resourceUrl": res, "coverUrl": cov}))
        .await;
    r.assert(
        429,
        r#"{"error":"Too many jobs for account a@x.io: 1 unfinished, maxJobs 1","code":429}"#,
    );
    assert_eq!(r.header("retry-after"), Some("7"));
    let r = t
        .post_json(
            UPLOAD,
            &token,
            json!({"resourceUrl": res, "coverUrl": cov, "maxJobs": 2}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "the request's maxJobs replaces the account's for this admission"
    );
}

#[tokio::test]
async fn motions_list_parameters_and_modes() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let url = "/v1/kling/videos/motions";
    t.get(url, &token).await.assert_error(
        404,
        "Configuration not found. To create configuration use POST /accounts.",
    );
    t.account(&token, EMAIL, 2).await;
    let official = t.get(url, &token).await;
    assert_eq!(official.status, 200);
    for m in official.json().as_array().unwrap() {
        assert_eq!(
            keys(m),
            [
                "workName", "workId", "official", "tag", "resource", "cover", "extData"
            ]
        );
        assert!(m["workId"].as_i64().unwrap() < 0);
    }
    t.get(&format!("{url}?mine=true"), &token)
        .await
        .assert(200, "[]");
    t.get(&format!("{url}?mine=FALSE"), &token)
        .await
        .assert(200, &official.text());
    let cases = [
        ("mine=maybe", "Parameter mine must be true or false"),
        (
            "mine=false&pageSize=101",
            "Parameter pageSize must be an integer between 1 and 100",
        ),
        (
            "pageNum=0",
            "Parameter pageNum must be an integer between 1 and 1000000",
        ),
        (
            "pageNum=1.5",
            "Parameter pageNum must be an integer between 1 and 1000000",
        ),
        (
            "mine=true&mine=false",
            "Parameter mine is given more than once",
        ),
    ];
    for (q, e) in cases {
        t.get(&format!("{url}?{q}"), &token)
            .await
            .assert_error(400, e);
    }
    t.get(&format!("{url}?email=nobody@x.io"), &token)
        .await
        .assert_error(404, "Account nobody@x.io not found");
}

#[tokio::test]
async fn motion_create_is_501_after_auth() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.post_json("/v1/kling/videos/motion-create", &token, json!({}))
        .await
        .assert_error(
            501,
            "POST /videos/motion-create is not supported by this server",
        );
}

/// A 320x240 H.264 MP4 of `frames` frames at `rate` fps, made with ffmpeg (test-side only).
fn video_of(dir: &std::path::Path, rate: &str, frames: u32) -> Vec<u8> {
    let out = dir.join(format!("v{frames}.mp4"));
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=s=320x240:r={rate}"))
        .args(["-frames:v", &frames.to_string(), "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("ffmpeg missing: run scripts/test.sh");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// §4.1 and §5.1 row 18: the duration is rounded to tenths once, from the exact value, so
/// [x.x495, x.x5) rounds down. Rounding to whole ms first made 10.0495 s "10.1 s" (upload
/// refused) and 1.9495 s "2.0 s" (motion-upload admitted).
#[tokio::test]
async fn durations_round_once_to_tenths() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("/v1/kling/assets?email={}", enc(EMAIL));
    // 101 frames of 0.0995 s: ffprobe says 10.049500 s.
    let r = t
        .post_raw(
            &url,
            &token,
            "video/mp4",
            video_of(dir.path(), "2000/199", 101),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let long = r.json();
    let listed = t
        .get(
            &format!("/v1/kling/assets/uploaded?email={}", enc(EMAIL)),
            &token,
        )
        .await
        .json();
    assert_eq!(
        listed["uploadAssetsList"][0]["resource"]["duration"].as_u64(),
        Some(10049),
        "whole ms, truncated"
    );
    let r = t
        .post_json(
            UPLOAD,
            &token,
            json!({"resourceUrl": long["resourceUrl"], "coverUrl": long["coverUrl"]}),
        )
        .await;
    assert_eq!(r.status, 200, "10.0495 s is 10.0 s: {}", r.text());
    // 20 frames of 0.09745 s: ffprobe says 1.949500 s.
    let short = t
        .post_raw(
            &url,
            &token,
            "video/mp4",
            video_of(dir.path(), "40000/3899", 20),
        )
        .await;
    assert_eq!(short.status, 200, "{}", short.text());
    let short = short.json();
    t.post_json(
        UPLOAD,
        &token,
        json!({"resourceUrl": short["resourceUrl"], "coverUrl": short["coverUrl"]}),
    )
    .await
    .assert(
        400,
        r#"{"error":"Video must be between 2 and 10 seconds long (got 1.9 s)"}"#,
    );
}
