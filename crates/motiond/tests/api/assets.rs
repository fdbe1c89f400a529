//! §4 assets: raw uploads through the real inspector (ffprobe/ffmpeg), list, delete.

use axum::http::Method;
use serde_json::Value;

use crate::helpers::*;

const EMAIL: &str = "a@x.io";

fn upload_url(email: &str) -> String {
    format!("/v1/kling/assets?email={}", enc(email))
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn file_name_ok(name: &str, ext: &str) -> bool {
    let (stem, e) = name.split_once('.').unwrap();
    e == ext
        && stem.len() == 20
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn uploads_of_each_type() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let v = t.upload(&token, EMAIL, "video/mp4", DANCE).await;
    assert_eq!(
        keys(&v),
        ["status", "resourceUrl", "coverUrl", "fileName", "message"]
    );
    assert_eq!(
        (v["status"].as_u64(), v["message"].as_str()),
        (Some(1), Some(""))
    );
    let name = v["fileName"].as_str().unwrap();
    assert!(file_name_ok(name, "mp4"), "{name}");
    let res = v["resourceUrl"].as_str().unwrap();
    assert!(
        res.starts_with(&format!("{PUBLIC_URL}/files/")) && res.ends_with(&format!("/{name}")),
        "{res}"
    );
    let cover = v["coverUrl"].as_str().unwrap();
    assert!(cover.ends_with("/cover.jpg"));
    // The stored file is byte-for-byte the upload; the cover is a JPEG.
    let got = t
        .call(Method::GET, res.strip_prefix(PUBLIC_URL).unwrap(), None)
        .await;
    assert_eq!(got.body, read_testdata(DANCE));
    let got = t
        .call(Method::GET, cover.strip_prefix(PUBLIC_URL).unwrap(), None)
        .await;
    assert_eq!(
        (got.status.as_u16(), got.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert!(got.body.starts_with(&[0xFF, 0xD8, 0xFF]));

    let mov = t.upload(&token, EMAIL, "Video/QuickTime; x=1", DANCE).await;
    assert!(file_name_ok(mov["fileName"].as_str().unwrap(), "mov"));
    let png = t.upload(&token, EMAIL, "image/png", PNG).await;
    assert_eq!(keys(&png), ["status", "url", "message", "fileName"]);
    assert_eq!(png["status"], 3);
    assert!(file_name_ok(png["fileName"].as_str().unwrap(), "png"));
    let jpg = t.upload(&token, EMAIL, "image/jpeg", JPEG).await;
    assert!(file_name_ok(jpg["fileName"].as_str().unwrap(), "jpg"));
}

/// A PNG of `w`×`h` made with ffmpeg (test-side only).
fn small_png(dir: &std::path::Path, w: u32, h: u32) -> Vec<u8> {
    ffmpeg_made(
        dir,
        &format!("img{w}x{h}.png"),
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("color=c=red:s={w}x{h}"),
            "-frames:v",
            "1",
        ],
    )
}

/// The file ffmpeg writes from `args` (test-side only), named `name` in `dir`.
fn ffmpeg_made(dir: &std::path::Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg missing: run scripts/test.sh");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(out).unwrap()
}

#[tokio::test]
async fn upload_errors_in_order() {
    let t = TestApp::with(|c| c.limits.image_bytes = 1000).await;
    let token = t.token("alice").await;
    // Row 2: account selection comes before the content type.
    t.post_raw("/v1/kling/assets", &token, "audio/wav", vec![1])
        .await
        .assert_error(
            404,
            "Configuration not found. To create configuration use POST /accounts.",
        );
    t.account(&token, EMAIL, 2).await;
    t.account(&token, "b@x.io", 2).await;
    t.post_raw("/v1/kling/assets", &token, "image/png", vec![1])
        .await
        .assert_error(
            400,
            "Parameter email is required when more than one account is configured",
        );
    t.post_raw(&upload_url("zz@x.io"), &token, "image/png", vec![1])
        .await
        .assert_error(404, "Account zz@x.io not found");
    let url = upload_url(EMAIL);
    t.post_raw(&url, &token, "Audio/WAV; rate=1", vec![1]).await.assert_error(400, "Content-Type audio/wav is not supported. Valid values: image/png,image/jpeg,video/mp4,video/quicktime");
    let r = t
        .send(
            req(Method::POST, &url, Some(&token))
                .body(axum::body::Body::from(vec![1u8]))
                .unwrap(),
        )
        .await;
    r.assert_error(400, "Content-Type none is not supported. Valid values: image/png,image/jpeg,video/mp4,video/quicktime");
    let r = t
        .post_raw(&url, &token, "image/png", read_testdata(PNG))
        .await;
    r.assert_error(
        413,
        "File too large: image/png uploads are limited to 1000 bytes",
    );
    assert_eq!(r.header("connection"), Some("close"));
    t.post_raw(&url, &token, "video/mp4", vec![])
        .await
        .assert_error(400, "Request body is empty");
    t.post_raw(
        &url,
        &token,
        "video/mp4",
        b"#EXTM3U\n#EXT-X-ENDLIST\n".to_vec(),
    )
    .await
    .assert_error(400, "Uploaded file is not a valid video/mp4 file");
    t.post_raw(
        &url,
        &token,
        "image/jpeg",
        read_testdata(PNG)[..900].to_vec(),
    )
    .await
    .assert_error(400, "Uploaded file is not a valid image/jpeg file");
    let r = t
        .post_raw(&url, &token, "video/mp4", read_testdata(SQUATS_13S))
        .await;
    r.assert_error(400, "Video must be at most 10 seconds long (got 13.0 s)");
    let list = t
        .get(&format!("/v1/kling/assets/uploaded?email={EMAIL}"), &token)
        .await;
    list.assert(200, r#"{"uploadAssetsList":[]}"#);
}

/// §4.1: "truncated files disguised as a supported type are rejected with the 'not a valid'
/// 400". Their headers probe well (a faststart MP4 keeps its whole sample table in front of the
/// samples), and a cut PNG would otherwise have become a motion's broken cover.
#[tokio::test]
async fn truncated_uploads_are_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let dance = testdata(DANCE);
    let faststart = ffmpeg_made(
        dir.path(),
        "faststart.mp4",
        &[
            "-i",
            dance.to_str().unwrap(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
    );
    let first = |bytes: Vec<u8>, percent: usize| bytes[..bytes.len() * percent / 100].to_vec();
    for (content_type, body) in [
        ("image/png", first(read_testdata(PNG), 25)),
        ("image/jpeg", first(read_testdata(JPEG), 25)),
        ("video/mp4", first(faststart, 80)),
    ] {
        t.post_raw(&upload_url(EMAIL), &token, content_type, body)
            .await
            .assert_error(
                400,
                &format!("Uploaded file is not a valid {content_type} file"),
            );
    }
    t.get(&format!("/v1/kling/assets/uploaded?email={EMAIL}"), &token)
        .await
        .assert(200, r#"{"uploadAssetsList":[]}"#);
}

#[tokio::test]
async fn image_side_limits() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let r = t
        .post_raw(
            &upload_url(EMAIL),
            &token,
            "image/png",
            small_png(dir.path(), 250, 400),
        )
        .await;
    r.assert_error(
        400,
        "Image must be between 300 and 8192 pixels on each side (got 250x400)",
    );
    let r = t
        .post_raw(
            &upload_url(EMAIL),
            &token,
            "image/png",
            small_png(dir.path(), 300, 300),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Frames larger than anything the engine decodes (16384 px a side) still get the size rules'
/// texts (§4.1 rows 8 and 10), not "not a valid file".
#[tokio::test]
async fn oversized_frames_get_the_size_texts() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let r = t
        .post_raw(
            &upload_url(EMAIL),
            &token,
            "image/png",
            small_png(dir.path(), 20000, 300),
        )
        .await;
    r.assert_error(
        400,
        "Image must be between 300 and 8192 pixels on each side (got 20000x300)",
    );
    // x264 stops at 16384 px; x265 encodes the 2 s, 1 fps clip in under a second.
    let wide = ffmpeg_made(
        dir.path(),
        "wide.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=16400x240:rate=1",
            "-t",
            "2",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
        ],
    );
    let r = t
        .post_raw(&upload_url(EMAIL), &token, "video/mp4", wide)
        .await;
    r.assert_error(
        400,
        "Video must be between 240 and 3840 pixels on each side and at most 8294400 pixels per frame (got 16400x240)",
    );
}

#[tokio::test]
async fn list_filters_and_pages() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let v = t.upload(&token, EMAIL, "video/mp4", DANCE).await;
    let i = t.upload(&token, EMAIL, "image/png", PNG).await;
    let base = format!("/v1/kling/assets/uploaded?email={EMAIL}");
    let all = t.get(&base, &token).await.json();
    let list = all["uploadAssetsList"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], i["fileName"], "newest first by default");
    let video = &list[1];
    assert_eq!(
        keys(video),
        [
            "id",
            "name",
            "userId",
            "contentType",
            "resource",
            "cover",
            "createTime",
            "updateTime",
            "favored",
            "extraInfo",
            "entrance"
        ]
    );
    assert_eq!(video["contentType"], "video");
    assert_eq!(video["resource"]["resource"], v["resourceUrl"]);
    assert_eq!(
        (
            video["resource"]["width"].as_u64(),
            video["resource"]["height"].as_u64()
        ),
        (Some(576), Some(576))
    );
    assert_eq!(video["resource"]["duration"], 4000);
    assert_eq!(video["cover"]["resource"], v["coverUrl"]);
    assert_eq!(video["createTime"], video["updateTime"]);
    assert_eq!(
        list[0]["cover"],
        serde_json::json!({"resource":"","height":1,"width":1,"duration":0,"resourceKey":""})
    );
    let asc = t
        .get(&format!("{base}&sort=asc&pageSize=1"), &token)
        .await
        .json();
    assert_eq!(asc["uploadAssetsList"][0]["name"], v["fileName"]);
    let page2 = t
        .get(&format!("{base}&sort=asc&pageSize=1&pageNum=2"), &token)
        .await
        .json();
    assert_eq!(page2["uploadAssetsList"][0]["name"], i["fileName"]);
    t.get(&format!("{base}&pageNum=3&pageSize=1"), &token)
        .await
        .assert(200, r#"{"uploadAssetsList":[]}"#);
    let images = t
        .get(&format!("{base}&contentType=image"), &token)
        .await
        .json();
    assert_eq!(images["uploadAssetsList"].as_array().unwrap().len(), 1);
    t.get(&format!("{base}&contentType=audio"), &token)
        .await
        .assert(200, r#"{"uploadAssetsList":[]}"#);
    let stem = &i["fileName"].as_str().unwrap()[3..9].to_ascii_uppercase();
    let by_name = t
        .get(&format!("{base}&fileName={stem}"), &token)
        .await
        .json();
    assert_eq!(
        by_name["uploadAssetsList"][0]["name"], i["fileName"],
        "case-insensitive substring"
    );
    for bad in [
        "pageNum=0",
        "pageSize=101",
        "contentType=doc",
        "sort=up",
        "sort=asc&sort=desc",
        "pageSize=x",
    ] {
        t.get(&format!("{base}&{bad}"), &token)
            .await
            .assert_error(400, "Invalid parameters");
    }
    t.get(&format!("{base}&email=a@x.io"), &token)
        .await
        .assert_error(400, "Parameter email is given more than once");
}

#[tokio::test]
async fn delete_assets() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let v = t.upload(&token, EMAIL, "video/mp4", DANCE).await;
    let base = format!("/v1/kling/assets/uploaded?email={EMAIL}");
    let list = t.get(&base, &token).await.json();
    let id = list["uploadAssetsList"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.delete(&base, &token)
        .await
        .assert_error(400, "Parameter id is required");
    t.delete(&format!("{base}&id="), &token)
        .await
        .assert_error(400, "Parameter id is required");
    for bad in [
        "1,,2",
        "x",
        "1,2,3,4,5,6,7,8,9,10,11",
        "12345678901234567890",
    ] {
        let msg = format!(
            "Parameter id ({bad}) must be a numeric string or a comma-separated list of up to 10 numeric strings"
        );
        t.delete(&format!("{base}&id={bad}"), &token)
            .await
            .assert_error(400, &msg);
    }
    let r = t.delete(&format!("{base}&id=123,{id},{id}"), &token).await;
    r.assert(200, &format!(r#"{{"deleted":1,"ids":["{id}"]}}"#));
    t.delete(&format!("{base}&id={id}"), &token)
        .await
        .assert(200, r#"{"deleted":0,"ids":[]}"#);
    for url in [&v["resourceUrl"], &v["coverUrl"]] {
        let path = url.as_str().unwrap().strip_prefix(PUBLIC_URL).unwrap();
        t.call(Method::GET, path, None)
            .await
            .assert_error(404, "Not found");
    }
    t.get(&base, &token)
        .await
        .assert(200, r#"{"uploadAssetsList":[]}"#);
}

/// A streamed body (no Content-Length) from chunks.
fn chunked(bytes: Vec<u8>) -> axum::body::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn streamed_uploads_are_cut_at_the_limit_and_idle_ones_time_out() {
    let t = TestApp::with(|c| {
        c.limits.video_bytes = 50_000;
        c.limits.body_idle_timeout_s = 1;
    })
    .await;
    let token = t.token("alice").await;
    t.account(&token, EMAIL, 2).await;
    let url = upload_url(EMAIL);
    let r = t
        .send(
            req(Method::POST, &url, Some(&token))
                .header("content-type", "video/mp4")
                .body(chunked(read_testdata(DANCE)))
                .unwrap(),
        )
        .await;
    r.assert_error(
        413,
        "File too large: video/mp4 uploads are limited to 50000 bytes",
    );
    assert_eq!(r.header("connection"), Some("close"));
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let sender = tokio::spawn(async move {
        futures::SinkExt::send(&mut tx, Ok(read_testdata(DANCE)[..1000].to_vec()))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    });
    let body = axum::body::Body::from_stream(rx);
    let r = t
        .send(
            req(Method::POST, &url, Some(&token))
                .header("content-type", "video/mp4")
                .body(body)
                .unwrap(),
        )
        .await;
    r.assert_error(408, "Request body timeout");
    assert_eq!(r.header("connection"), Some("close"));
    sender.abort();
    t.get(&format!("/v1/kling/assets/uploaded?email={EMAIL}"), &token)
        .await
        .assert(200, r#"{"uploadAssetsList":[]}"#);
    let metrics = t.call(Method::GET, "/metrics", None).await.text();
    assert!(
        metrics.contains(r#"motiond_uploads_total{kind="video",outcome="too_large"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn reply_urls_to_private_targets_need_the_operator_switch() {
    let t = TestApp::with(|c| c.webhooks.allow_private_targets = true).await;
    let token = t.token("alice").await;
    let body =
        serde_json::json!({"email": EMAIL, "maxJobs": 1, "replyUrl": "http://127.0.0.1:9/hook"});
    let r = t.post_json("/v1/kling/accounts", &token, body).await;
    assert_eq!(
        (r.status.as_u16(), r.json()["replyUrl"].as_str()),
        (201, Some("http://127.0.0.1:9/hook"))
    );
}
