//! A callback reaches a loopback receiver, and its Standard Webhooks signature verifies with an
//! independent implementation (the PyPI `standardwebhooks` package).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::harness::*;

#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// An HTTP receiver on 127.0.0.1:0 that records every POST and answers 204.
async fn receiver() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                s.lock().unwrap().push(Delivery {
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp"),
                    signature: h("webhook-signature"),
                    body: body.to_vec(),
                });
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Verifies every delivery with Python's `standardwebhooks`, and checks that a tampered body
/// and a stale timestamp are refused.
fn verify_with_python(dir: &std::path::Path, secret: &str, deliveries: &[Delivery]) {
    let cases: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({ "id": d.id, "timestamp": d.timestamp, "signature": d.signature,
                    "body": String::from_utf8(d.body.clone()).unwrap() })
        })
        .collect();
    let cases_path = dir.join("deliveries.json");
    std::fs::write(&cases_path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = r#"
import json, sys, time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
secret, path = sys.argv[1], sys.argv[2]
wh = Webhook(secret)
ok = 0
for c in json.load(open(path)):
    headers = {"webhook-id": c["id"], "webhook-timestamp": c["timestamp"], "webhook-signature": c["signature"]}
    wh.verify(c["body"], headers)
    ok += 1
    for bad_body, bad_headers in [(c["body"] + " ", headers),
                                  (c["body"], dict(headers, **{"webhook-timestamp": str(int(time.time()) - 3600)}))]:
        try:
            wh.verify(bad_body, bad_headers)
            print("tampered delivery verified", file=sys.stderr); sys.exit(2)
        except WebhookVerificationError:
            pass
print(f"verified {ok}")
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(secret)
        .arg(&cases_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "standardwebhooks refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {}", deliveries.len())
    );
}

#[tokio::test]
async fn callback_is_delivered_signed_and_verifies_independently() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("erin"));
    let (hook_url, seen) = receiver().await;
    create_account(&c, &server, "erin@example.com", json!({})).await;
    let (resource, cover) = upload_video(&c, &server, None, &no_person_video(tmp.path())).await;
    let (status, submitted) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover, "replyUrl": hook_url, "replyRef": "clip-7" }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    let task_id = submitted["task"]["id"].as_i64().unwrap();
    let done = c.wait_final(&server, task_id, None).await;
    let final_status = done["status"].as_i64().unwrap();

    // The final callback arrives (the processing one may have been superseded).
    let final_id = format!("msg_{task_id}_{final_status}");
    let until = Instant::now() + Duration::from_secs(60);
    let deliveries = loop {
        let got = seen.lock().unwrap().clone();
        if got.iter().any(|d| d.id == final_id) {
            break got;
        }
        assert!(
            Instant::now() < until,
            "no final callback; got {got:?}\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for d in &deliveries {
        assert!(
            d.id == final_id || d.id == format!("msg_{task_id}_10"),
            "unexpected webhook-id {}",
            d.id
        );
        assert!(d.signature.starts_with("v1,"));
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["task"]["id"], task_id);
        assert_eq!(body["replyRef"], "clip-7");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.last().unwrap().as_str(),
            "replyRef",
            "replyRef is the last key"
        );
    }
    let final_body: Value =
        serde_json::from_slice(&deliveries.iter().find(|d| d.id == final_id).unwrap().body)
            .unwrap();
    assert_eq!(final_body["status_final"], true);
    assert_eq!(final_body["message"], done["message"]);

    let secret = admin(
        &server.data_dir,
        &["webhook-secret", "show", "--user", "erin"],
    );
    assert!(secret.starts_with("whsec_"));
    verify_with_python(tmp.path(), &secret, &deliveries);
}
