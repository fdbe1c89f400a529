//! §3 accounts and the §2.3 body rules (through POST /accounts).

use axum::http::Method;
use serde_json::json;

use crate::helpers::*;

const URL: &str = "/v1/kling/accounts";

#[tokio::test]
async fn create_replace_get_list_delete() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.get(URL, &token).await.assert_error(
        404,
        "Configuration not found. To create configuration use POST /accounts.",
    );
    let created = t
        .post_json(
            URL,
            &token,
            json!({"email": "User@Example.com", "maxJobs": 5, "password": "secret"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let a = created.json();
    assert!(
        !created.text().contains("secret"),
        "password is never echoed"
    );
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "email",
            "maxJobs",
            "userId",
            "replyUrl",
            "createTime",
            "updateTime"
        ]
    );
    assert_eq!(
        (a["email"].as_str(), a["maxJobs"].as_u64(), &a["replyUrl"]),
        (Some("user@example.com"), Some(5), &json!(null))
    );
    let id = a["userId"].as_i64().unwrap();
    assert!((1..=9007199254740991).contains(&id));

    let replaced = t.post_json(URL, &token, json!({"email": "user@example.com", "maxJobs": 2, "replyUrl": "https://hooks.example.com/m"})).await;
    assert_eq!(replaced.status, 200);
    let b = replaced.json();
    assert_eq!(
        (b["userId"].as_i64(), b["maxJobs"].as_u64()),
        (Some(id), Some(2))
    );
    assert_eq!(b["replyUrl"], "https://hooks.example.com/m");
    let cleared = t
        .post_json(
            URL,
            &token,
            json!({"email": "user@example.com", "maxJobs": 2}),
        )
        .await
        .json();
    assert_eq!(
        cleared["replyUrl"],
        json!(null),
        "an absent replyUrl clears the default"
    );

    t.account(&token, "b@example.com", 1).await;
    let list = t.get(URL, &token).await;
    assert_eq!(list.status, 200);
    let keys: Vec<String> = list.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["b@example.com", "user@example.com"]);

    let one = t.get("/v1/kling/accounts/USER%40example.com", &token).await;
    assert_eq!(one.json(), cleared);
    t.delete("/v1/kling/accounts/user@example.com", &token)
        .await
        .assert(200, r#"{"deleted":1,"email":"user@example.com"}"#);
    t.get("/v1/kling/accounts/user@example.com", &token)
        .await
        .assert_error(404, "Account user@example.com not found");
    t.delete("/v1/kling/accounts/user@example.com", &token)
        .await
        .assert_error(404, "Account user@example.com not found");
    t.get("/v1/kling/accounts/not-an-email", &token)
        .await
        .assert_error(404, "Account not-an-email not found");
}

#[tokio::test]
async fn the_three_body_types_are_equal() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let r = t
        .post_raw(
            URL,
            &token,
            "application/x-www-form-urlencoded",
            b"email=f%2Bx%40x.io&maxJobs=3".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["email"].as_str()),
        (201, Some("f+x@x.io"))
    );
    let body = "--B\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nm@x.io\r\n--B\r\nContent-Disposition: form-data; name=\"maxJobs\"\r\n\r\n4\r\n--B--\r\n";
    let r = t
        .post_raw(
            URL,
            &token,
            "multipart/form-data; boundary=B",
            body.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["maxJobs"].as_u64()),
        (201, Some(4))
    );
    let r = t
        .post_raw(
            URL,
            &token,
            "application/json; charset=utf-8",
            br#"{"email":"j@x.io","maxJobs":"5"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["maxJobs"].as_u64()),
        (201, Some(5))
    );
}

#[tokio::test]
async fn body_errors_of_section_2_3() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("text/plain", b"email=a", "Content-Type must be application/json, multipart/form-data or application/x-www-form-urlencoded"),
        ("", b"{}", "Content-Type must be application/json, multipart/form-data or application/x-www-form-urlencoded"),
        ("application/json", b"{\"email\":", "Request body is not valid JSON"),
        ("application/json", b"[1]", "Request body must be a JSON object"),
        ("multipart/form-data; boundary=B", b"nonsense", "Request body is not valid multipart/form-data"),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Disposition: form-data; name=\"email\"; filename=\"a.txt\"\r\n\r\nx\r\n--B--\r\n",
            "File parts are not accepted, upload files with POST /assets",
        ),
        ("application/json", br#"{"email":"a@x.io","email":"b@x.io","maxJobs":1}"#, "Parameter email is given more than once"),
        ("application/x-www-form-urlencoded", b"maxJobs=1&maxJobs=2&email=a@x.io", "Parameter maxJobs is given more than once"),
        // An empty body is {} under any type: the required-parameter errors follow.
        ("text/plain", b"", "Parameter email is required"),
        ("application/json", br#"{"email":null,"maxJobs":1}"#, "Parameter email is required"),
        ("application/json", br#"{"email":"","maxJobs":1}"#, "Parameter email is required"),
        ("application/json", br#"{"email":5,"maxJobs":1}"#, "Parameter email must be a string"),
        ("application/json", br#"{"email":"no-at-sign","maxJobs":1}"#, "Parameter email is not a valid email address"),
        ("application/json", br#"{"email":" a@x.io","maxJobs":1}"#, "Parameter email is not a valid email address"),
        ("application/json", br#"{"email":"a@x.io"}"#, "Parameter maxJobs is required"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":0}"#, "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":51}"#, "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":5.0}"#, "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":true}"#, "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/x-www-form-urlencoded", b"email=a@x.io&maxJobs=+5", "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"replyUrl":7}"#, "Parameter replyUrl must be a string"),
        // The password is ignored, but typed: checked after maxJobs, before replyUrl.
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"password":5,"replyUrl":7}"#, "Parameter password must be a string"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":0,"password":5}"#, "Parameter maxJobs must be an integer between 1 and 50"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"replyUrl":"ftp://x.io"}"#, "Parameter replyUrl must be an absolute http or https URL without user name or password"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"replyUrl":"http://u:p@x.io/"}"#, "Parameter replyUrl must be an absolute http or https URL without user name or password"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"replyUrl":"http://0x7f000001/"}"#, "Parameter replyUrl must not point to a loopback, private or link-local address"),
        ("application/json", br#"{"email":"a@x.io","maxJobs":1,"replyUrl":"http://sub.localhost/"}"#, "Parameter replyUrl must not point to a loopback, private or link-local address"),
    ];
    for (content_type, body, error) in cases {
        let r = if content_type.is_empty() {
            t.send(
                req(Method::POST, URL, Some(&token))
                    .body(axum::body::Body::from(body.to_vec()))
                    .unwrap(),
            )
            .await
        } else {
            t.post_raw(URL, &token, content_type, body.to_vec()).await
        };
        r.assert_error(400, error);
    }
    let long = format!("https://x.io/{}", "a".repeat(1020));
    let r = t
        .post_json(
            URL,
            &token,
            json!({"email": "a@x.io", "maxJobs": 1, "replyUrl": long}),
        )
        .await;
    r.assert_error(400, "replyUrl is too long");
    // Unknown fields are ignored.
    let r = t
        .post_json(
            URL,
            &token,
            json!({"email": "a@x.io", "maxJobs": 1, "whatever": [1]}),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn body_limit_and_account_limit() {
    let t = TestApp::with(|c| {
        c.limits.json_body_bytes = 100;
        c.limits.max_accounts_per_user = 2;
    })
    .await;
    let token = t.token("alice").await;
    let big = format!(
        r#"{{"email":"a@x.io","maxJobs":1,"pad":"{}"}}"#,
        "x".repeat(200)
    );
    let r = t
        .post_raw(URL, &token, "application/json", big.clone().into_bytes())
        .await;
    r.assert_error(413, "Request body too large: the limit is 100 bytes");
    assert_eq!(r.header("connection"), Some("close"));
    // Without Content-Length (a stream) the body is cut at limit + 1.
    let stream = futures_like_stream(big.into_bytes());
    let r = t
        .send(
            req(Method::POST, URL, Some(&token))
                .header("content-type", "application/json")
                .body(stream)
                .unwrap(),
        )
        .await;
    r.assert_error(413, "Request body too large: the limit is 100 bytes");
    t.account(&token, "a@x.io", 1).await;
    t.account(&token, "b@x.io", 1).await;
    let r = t
        .post_json(URL, &token, json!({"email": "c@x.io", "maxJobs": 1}))
        .await;
    r.assert_error(400, "Account limit reached: at most 2 accounts per user");
    assert_eq!(
        t.post_json(URL, &token, json!({"email": "b@x.io", "maxJobs": 3}))
            .await
            .status,
        200,
        "replacing is not creating"
    );
}

/// A body with no Content-Length, delivered in small chunks.
fn futures_like_stream(bytes: Vec<u8>) -> axum::body::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(16).map(|c| Ok(c.to_vec())).collect();
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn an_idle_body_is_408_and_closes_the_connection() {
    let t = TestApp::with(|c| c.limits.body_idle_timeout_s = 1).await;
    let token = t.token("alice").await;
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = axum::body::Body::from_stream(rx);
    let sender = tokio::spawn(async move {
        let mut tx = tx;
        futures::SinkExt::send(&mut tx, Ok(b"{\"email\":".to_vec()))
            .await
            .unwrap();
        // Then nothing: keep the stream open past the idle timeout.
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        drop(tx);
    });
    let r = t
        .send(
            req(Method::POST, URL, Some(&token))
                .header("content-type", "application/json")
                .body(body)
                .unwrap(),
        )
        .await;
    r.assert_error(408, "Request body timeout");
    assert_eq!(r.header("connection"), Some("close"));
    sender.abort();
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_reading() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 1).await;
    // The header alone decides: the (tiny) body is never read.
    let cases = [
        (
            "/v1/kling/accounts",
            "application/json",
            "65537",
            r#"{"error":"Request body too large: the limit is 65536 bytes"}"#,
        ),
        (
            "/v1/kling/videos/motion-upload",
            "application/json",
            "65537",
            r#"{"error":"Request body too large: the limit is 65536 bytes"}"#,
        ),
        (
            "/v1/kling/assets",
            "video/mp4",
            "104857601",
            r#"{"error":"File too large: video/mp4 uploads are limited to 104857600 bytes"}"#,
        ),
        (
            "/v1/kling/assets",
            "image/jpeg",
            "10485761",
            r#"{"error":"File too large: image/jpeg uploads are limited to 10485760 bytes"}"#,
        ),
    ];
    for (uri, content_type, length, body) in cases {
        let r = t
            .send(
                req(Method::POST, uri, Some(&token))
                    .header("content-type", content_type)
                    .header("content-length", length)
                    .body(axum::body::Body::from("{}"))
                    .unwrap(),
            )
            .await;
        r.assert(413, body);
        assert_eq!(r.header("connection"), Some("close"), "{uri}");
    }
}
