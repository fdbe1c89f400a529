//! §10 operations endpoints.

use axum::http::Method;

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz() {
    let t = TestApp::new().await;
    let r = t.call(Method::GET, "/healthz", None).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(
        r.text(),
        format!(
            r#"{{"status":"ok","version":"{}"}}"#,
            v["version"].as_str().unwrap()
        )
    );
    let r = t.call(Method::GET, "/readyz", None).await;
    r.assert(200, r#"{"status":"ready"}"#);
    t.app.mark_shutting_down();
    t.call(Method::GET, "/readyz", None)
        .await
        .assert_error(503, "Not ready: shutting_down");
    assert_eq!(
        t.call(Method::GET, "/healthz", None).await.status,
        200,
        "healthz answers while draining"
    );
}

#[tokio::test]
async fn metrics_use_the_contract_names_and_route_templates() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    assert_eq!(t.get("/v1/kling/tasks/123", &token).await.status, 404);
    let r = t.call(Method::GET, "/metrics", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    for name in [
        "motiond_http_requests_total",
        "motiond_http_request_duration_seconds",
        "motiond_rate_limited_total",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(
        text.contains(r#"route="/v1/kling/tasks/{task_id}""#),
        "route template label:\n{text}"
    );
    assert!(
        !text.contains("/v1/kling/tasks/123"),
        "no raw paths in labels"
    );
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let t = TestApp::with(|c| c.metrics.enabled = false).await;
    t.call(Method::GET, "/metrics", None)
        .await
        .assert_error(404, "Not found");
}

#[tokio::test]
async fn openapi_is_served_with_the_public_url() {
    let t =
        TestApp::with(|c| c.server.public_url = "https://motion.example.com/prefix".into()).await;
    let r = t.call(Method::GET, "/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"][0]["url"],
        "https://motion.example.com/prefix"
    );
    assert_eq!(
        doc["paths"]["/v1/kling/tasks/{task_id}"]["get"]["operationId"],
        "getTask"
    );
    assert!(doc["paths"].get("/metrics").is_none());
}

#[tokio::test]
async fn storage_unavailable_is_503_with_retry_after() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.app.close().await;
    for (method, path) in [
        (Method::GET, "/v1/kling/accounts"),
        (Method::GET, "/v1/kling/scheduler"),
        (Method::GET, "/files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x.mp4"),
    ] {
        let r = t.call(method, path, Some(&token)).await;
        r.assert_error(503, "Service unavailable, retry later");
        assert_eq!(r.header("retry-after"), Some("5"), "{path}");
    }
    t.call(Method::GET, "/readyz", None)
        .await
        .assert_error(503, "Not ready: database");
    assert_eq!(t.call(Method::GET, "/healthz", None).await.status, 200);
}
