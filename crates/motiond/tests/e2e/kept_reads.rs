//! Hot reads answered from kept renderings (motion-api's response cache) are never stale:
//! every commit — by this server, by another process's SQL, by `motiond token revoke` — is
//! seen by the very next read of the same URI.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::*;

fn revoke(data: &Path, token: &str) {
    let mut child = Command::new(BIN)
        .args(["token", "revoke", "-", "--data-dir"])
        .arg(data)
        .envs(test_env())
        .stdin(Stdio::piped())
        .spawn()
        .expect("run motiond token revoke");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

async fn max_jobs(c: &Client, url: &str) -> (u16, serde_json::Value) {
    let (status, body) = c.get(url).await;
    (status, body.get("maxJobs").cloned().unwrap_or(body))
}

#[tokio::test]
async fn kept_answers_follow_every_commit_from_any_process() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let data = server.data_dir.clone();
    let c = Client::new(server.token("kate"));
    create_account(&c, &server, "kate@example.com", json!({ "maxJobs": 2 })).await;
    let url = server.api("/accounts/kate@example.com");

    assert_eq!(max_jobs(&c, &url).await, (200, json!(2)));
    assert_eq!(
        max_jobs(&c, &url).await,
        (200, json!(2)),
        "read again (kept)"
    );

    let (status, _) = c
        .post_json(
            &server.api("/accounts"),
            json!({ "email": "kate@example.com", "maxJobs": 3 }),
        )
        .await;
    assert_eq!(status, 200, "replace maxJobs through this server");
    assert_eq!(max_jobs(&c, &url).await, (200, json!(3)));

    sqlite_exec(
        &data,
        "UPDATE accounts SET max_jobs = 7 WHERE email = 'kate@example.com'",
    );
    assert_eq!(
        max_jobs(&c, &url).await,
        (200, json!(7)),
        "a commit by another process"
    );
    assert_eq!(max_jobs(&c, &url).await, (200, json!(7)));

    let other = Client::new(server.token("lena"));
    let (status, _) = other.get(&url).await;
    assert_eq!(
        status, 404,
        "another user's token never gets kate's kept answer"
    );

    revoke(&data, &c.token);
    let (status, body) = c.get(&url).await;
    assert_eq!(
        (status, body),
        (401, json!({ "error": "Unauthorized", "code": 401 })),
        "a revoked token is refused although its answer was kept"
    );
}
