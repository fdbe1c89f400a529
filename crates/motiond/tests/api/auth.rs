//! §2.2 authentication and §2.7 rate limits.

use axum::body::Body;
use axum::http::{Method, header};

use crate::helpers::*;

const UNAUTHORIZED: &str = r#"{"error":"Unauthorized","code":401}"#;

#[tokio::test]
async fn every_failure_is_the_same_401() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec![format!("Basic {token}")],
        vec![format!("Bearer {token}"), format!("Bearer {token}")],
        vec!["Bearer mtd_unknown".into()],
        vec!["Bearer ".into()],
        vec![format!("Bearer {token} x")],
        vec![format!("Bearer{token}")],
    ];
    for values in cases {
        let mut b = req(Method::GET, "/v1/kling/accounts", None);
        for v in &values {
            b = b.header(header::AUTHORIZATION, v);
        }
        let r = t.send(b.body(Body::empty()).unwrap()).await;
        r.assert(401, UNAUTHORIZED);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{values:?}");
    }
    let r = t
        .call(
            Method::GET,
            &format!("/v1/kling/accounts?token={token}"),
            None,
        )
        .await;
    r.assert(401, UNAUTHORIZED);
}

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_spaces_may_repeat() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    for value in [format!("bearer {token}"), format!("BEARER   {token}")] {
        let r = t
            .send(
                req(Method::GET, "/v1/kling/scheduler", None)
                    .header(header::AUTHORIZATION, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        r.assert(200, "[]");
    }
}

#[tokio::test]
async fn every_kling_route_requires_a_token() {
    let t = TestApp::new().await;
    let routes = [
        (Method::POST, "/v1/kling/accounts"),
        (Method::GET, "/v1/kling/accounts"),
        (Method::GET, "/v1/kling/accounts/a@x.io"),
        (Method::DELETE, "/v1/kling/accounts/a@x.io"),
        (Method::POST, "/v1/kling/assets"),
        (Method::GET, "/v1/kling/assets/uploaded"),
        (Method::DELETE, "/v1/kling/assets/uploaded"),
        (Method::POST, "/v1/kling/videos/motion-upload"),
        (Method::GET, "/v1/kling/videos/motions"),
        (Method::POST, "/v1/kling/videos/motion-create"),
        (Method::GET, "/v1/kling/tasks/abc"),
        (Method::GET, "/v1/kling/tasks"),
        (Method::DELETE, "/v1/kling/tasks/1"),
        (Method::GET, "/v1/kling/scheduler"),
        (Method::GET, "/v1/kling/scheduler/available"),
        (Method::DELETE, "/v1/kling/scheduler/1"),
    ];
    for (method, path) in routes {
        t.call(method, path, None).await.assert(401, UNAUTHORIZED);
    }
}

#[tokio::test]
async fn per_token_bucket_answers_429_with_retry_after() {
    let t = TestApp::with(|c| {
        c.limits.token_rps = 1;
        c.limits.token_burst = 3;
    })
    .await;
    let token = t.token("alice").await;
    let other = t.token("bob").await;
    for _ in 0..3 {
        assert_eq!(t.get("/v1/kling/scheduler", &token).await.status, 200);
    }
    let r = t.get("/v1/kling/scheduler", &token).await;
    r.assert(429, r#"{"error":"Too many requests","code":429}"#);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(
        t.get("/v1/kling/scheduler", &other).await.status,
        200,
        "buckets are per token"
    );
    // The files and operations endpoints are not limited.
    assert_eq!(t.call(Method::GET, "/healthz", None).await.status, 200);
}

#[tokio::test]
async fn token_rps_zero_disables_the_limit() {
    let t = TestApp::with(|c| {
        c.limits.token_rps = 0;
        c.limits.token_burst = 1;
    })
    .await;
    let token = t.token("alice").await;
    for _ in 0..30 {
        assert_eq!(t.get("/v1/kling/scheduler", &token).await.status, 200);
    }
}

#[tokio::test]
async fn failed_authentications_per_ip_become_429() {
    let t = TestApp::with(|c| {
        c.limits.unauth_ip_rps = 1;
        c.limits.unauth_ip_burst = 2;
    })
    .await;
    for _ in 0..2 {
        t.call(Method::GET, "/v1/kling/accounts", None)
            .await
            .assert(401, UNAUTHORIZED);
    }
    let r = t.call(Method::GET, "/v1/kling/accounts", None).await;
    r.assert(429, r#"{"error":"Too many requests","code":429}"#);
    assert!(r.header("retry-after").is_some());
    // A valid token is not affected by the per-IP bucket of failures.
    let token = t.token("alice").await;
    assert_eq!(t.get("/v1/kling/scheduler", &token).await.status, 200);
}

/// Behind a trusted proxy, the client is the address the proxy appended last; what the client
/// wrote before it (its own X-Forwarded-For) changes nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_follows_the_address_it_saw() {
    let t = TestApp::with(|c| {
        c.server.trust_forwarded_for = true;
        c.limits.unauth_ip_rps = 1;
        c.limits.unauth_ip_burst = 2;
    })
    .await;
    let through_proxy = |claimed: usize, seen: &str| {
        req(Method::GET, "/v1/kling/accounts", None)
            .header("x-forwarded-for", format!("10.9.0.{claimed}, {seen}"))
            .body(Body::empty())
            .unwrap()
    };
    for claimed in 0..2 {
        t.send(through_proxy(claimed, "198.51.100.7"))
            .await
            .assert(401, UNAUTHORIZED);
    }
    t.send(through_proxy(2, "198.51.100.7"))
        .await
        .assert(429, r#"{"error":"Too many requests","code":429}"#);
    // Another client behind the same proxy has its own bucket.
    t.send(through_proxy(2, "198.51.100.8"))
        .await
        .assert(401, UNAUTHORIZED);
}
