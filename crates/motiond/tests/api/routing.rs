//! §2.1 routing: trailing slash, HEAD, unknown paths (404) and methods (405 + Allow),
//! and the order routing → authentication (§2.6).

use axum::http::Method;

use crate::helpers::*;

#[tokio::test]
async fn unknown_paths_are_404_before_authentication() {
    let t = TestApp::new().await;
    for path in [
        "/v1/kling/text2video",
        "/v1/kling",
        "/v1/kling/assets/x/y",
        "/files",
        "/files/abc",
        "/files/a/b/c",
        // A trailing slash with nothing after it: the API's 404, not the studio's 405.
        "/v1/kling/",
        "/files/a/b/",
    ] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let r = t.call(method.clone(), path, None).await;
            r.assert_error(404, "Not found");
            assert!(r.header("x-request-id").is_some(), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_before_authentication() {
    let t = TestApp::new().await;
    let cases = [
        (Method::PUT, "/v1/kling/accounts", "POST,GET,HEAD"),
        (Method::OPTIONS, "/v1/kling/tasks/1", "GET,HEAD,DELETE"),
        (Method::PATCH, "/v1/kling/scheduler", "GET,HEAD"),
        (Method::GET, "/v1/kling/videos/motion-upload", "POST"),
        (Method::POST, "/files/x/y", "GET,HEAD"),
        (Method::DELETE, "/healthz", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = t.call(method.clone(), path, None).await;
        r.assert_error(405, "Method not allowed");
        let mut got: Vec<&str> = r
            .header("allow")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect();
        let mut want: Vec<&str> = allow.split(',').collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{method} {path}");
    }
}

#[tokio::test]
async fn one_trailing_slash_is_the_same_route() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    let plain = t.get("/v1/kling/accounts", &token).await;
    let slash = t.get("/v1/kling/accounts/", &token).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.comparable(), slash.comparable());
    let r = t.get("/v1/kling/scheduler/available/", &token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    t.get("/v1/kling/accounts/a@x.io/x", &token)
        .await
        .assert_error(404, "Not found");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    let get = t.get("/v1/kling/accounts", &token).await;
    let head = t
        .call(Method::HEAD, "/v1/kling/accounts", Some(&token))
        .await;
    assert_eq!(head.status, get.status);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    let head = t
        .call(Method::HEAD, "/v1/kling/tasks/abc", Some(&token))
        .await;
    assert_eq!(head.status, 400);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let t = TestApp::new().await;
    let r = t
        .send(
            req(Method::GET, "/healthz", None)
                .header("x-request-id", "abc-1.2_3")
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-1.2_3"));
    let r = t
        .send(
            req(Method::GET, "/v1/kling/nope", None)
                .header("x-request-id", "bad id!")
                .body(Default::default())
                .unwrap(),
        )
        .await;
    let id = r.header("x-request-id").expect("generated id");
    assert!(id != "bad id!" && (1..=64).contains(&id.len()));
    let r = t.call(Method::GET, "/v1/kling/accounts", None).await;
    assert!(
        r.header("x-request-id").is_some(),
        "401 answers carry the id too"
    );
}

#[tokio::test]
async fn bodies_of_get_and_delete_are_ignored() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    // Postman sends an empty multipart body on GETs.
    let r = t
        .send(
            req(Method::GET, "/v1/kling/tasks", Some(&token))
                .header("content-type", "multipart/form-data; boundary=X")
                .body(axum::body::Body::from("--X--\r\n"))
                .unwrap(),
        )
        .await;
    r.assert(200, r#"{"history":[]}"#);
    let r = t
        .send(
            req(Method::DELETE, "/v1/kling/tasks/5", Some(&token))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    r.assert_error(404, "No works found for task 5");
}
