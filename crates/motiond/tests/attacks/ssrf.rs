//! SSRF: callback URL forms that point at internal addresses reach a loopback canary 0 times
//! with `webhooks.allow_private_targets` off (the default). Each form goes through both
//! entry points (`replyUrl` of `POST /accounts` and of `motion-upload`); for every form the
//! test records whether the API refused it at submission (400) or the delivery-time guard
//! refused it (accepted, then the event is abandoned without a connection).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use motion_worker::webhook::SafeClient;
use motion_worker::webhook::guard::{AttemptResult, Lookup};
use serde_json::json;

use crate::harness::*;
use crate::support::*;

/// Names in /etc/hosts that map to loopback (besides `localhost`): a name resolving to
/// loopback through the system resolver, which only the delivery-time guard can catch.
fn hosts_loopback_names() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split('#').next()?.split_whitespace();
            let ip: IpAddr = it.next()?.parse().ok()?;
            ip.is_loopback()
                .then(|| it.map(str::to_owned).collect::<Vec<_>>())
        })
        .flatten()
        .filter(|n| !n.eq_ignore_ascii_case("localhost") && !n.contains(".localhost"))
        .collect()
}

fn url_forms(p: u16) -> Vec<String> {
    let mut v: Vec<String> = [
        "http://127.0.0.1:{p}/hook",
        "https://127.0.0.1:{p}/hook",
        "http://127.1:{p}/hook",
        "http://127.0.1:{p}/hook",
        "http://127.000.000.001:{p}/hook",
        "http://127.0.0.1.:{p}/hook",
        "http://0.0.0.0:{p}/hook",
        "http://0:{p}/hook",
        "http://2130706433:{p}/hook",
        "http://0177.0.0.1:{p}/hook",
        "http://0x7f.0.0.1:{p}/hook",
        "http://0x7f000001:{p}/hook",
        "http://017700000001:{p}/hook",
        "http://0x7f.1:{p}/hook",
        "http://%31%32%37.0.0.1:{p}/hook",
        "http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}:{p}/hook",
        "http://[::1]:{p}/hook",
        "http://[0:0:0:0:0:0:0:1]:{p}/hook",
        "http://[::]:{p}/hook",
        "http://[::ffff:127.0.0.1]:{p}/hook",
        "http://[::ffff:7f00:1]:{p}/hook",
        "http://[64:ff9b::127.0.0.1]:{p}/hook",
        "http://[::127.0.0.1]:{p}/hook",
        "http://[fe80::1%25lo]:{p}/hook",
        "http://[fc00::1]:{p}/hook",
        "http://[fd12:3456::1]:{p}/hook",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254.:80/latest/meta-data/",
        "http://10.0.0.1:{p}/hook",
        "http://10.255.255.254/hook",
        "http://172.16.0.1/hook",
        "http://172.31.255.254/hook",
        "http://192.168.0.1/hook",
        "http://192.168.255.254/hook",
        "http://100.64.0.1/hook",
        "http://100.127.255.254/hook",
        "http://224.0.0.1/hook",
        "http://255.255.255.255/hook",
        "http://localhost:{p}/hook",
        "http://localhost.:{p}/hook",
        "http://LocalHost:{p}/hook",
        "http://canary.localhost:{p}/hook",
        "http://evil@127.0.0.1:{p}/hook",
        "http://user:pass@127.0.0.1:{p}/hook",
        "http://127.0.0.1:{p}@example.com/hook",
        "http://example.com@127.0.0.1:{p}/hook",
        "http://example.com\\@127.0.0.1:{p}/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{p}/_POST%20/hook",
        "ftp://127.0.0.1:{p}/hook",
        "dict://127.0.0.1:{p}/info",
        "ws://127.0.0.1:{p}/hook",
        "//127.0.0.1:{p}/hook",
        "127.0.0.1:{p}",
    ]
    .iter()
    .map(|f| f.replace("{p}", &p.to_string()))
    .collect();
    for name in hosts_loopback_names() {
        v.push(format!("http://{name}:{p}/hook"));
        v.push(format!("http://{name}.:{p}/hook"));
    }
    v
}

#[derive(Debug)]
struct Outcome {
    url: String,
    account_status: u16,
    upload_status: u16,
}

#[tokio::test]
async fn internal_callback_targets_reach_the_canary_zero_times() {
    let canary = Canary::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The harness opens private targets for its receivers; this suite runs the default.
    let server = Server::start_with(
        &data,
        &[("MOTIOND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false")],
    );
    let c = Client::new(server.token("mallory"));
    create_account(&c, &server, "base@example.com", json!({ "maxJobs": 50 })).await;
    let clip = no_person_video(tmp.path());
    let (resource, cover) = upload_video(&c, &server, Some("base@example.com"), &clip).await;

    let forms = url_forms(canary.port);
    let mut outcomes = Vec::new();
    let mut tasks = Vec::new();
    for (i, url) in forms.iter().enumerate() {
        let email = format!("s{i}@example.com");
        let (account_status, a) = c
            .post_json(
                &server.api("/accounts"),
                json!({ "email": email, "maxJobs": 5, "replyUrl": url }),
            )
            .await;
        assert!(account_status == 201 || account_status == 400, "{url}: {a}");
        // A refusal must be about the URL (not another field).
        assert!(
            account_status == 201 || a.to_string().contains("replyUrl"),
            "{url}: {a}"
        );
        let (upload_status, t) = c
            .post_json(
                &server.api("/videos/motion-upload"),
                json!({ "email": "base@example.com", "resourceUrl": resource, "coverUrl": cover, "replyUrl": url }),
            )
            .await;
        assert!(upload_status == 200 || upload_status == 400, "{url}: {t}");
        assert!(
            upload_status == 200 || t.to_string().contains("replyUrl"),
            "{url}: {t}"
        );
        if upload_status == 200 {
            tasks.push((
                "base@example.com".to_owned(),
                t["task"]["id"].as_i64().unwrap(),
            ));
        }
        if account_status == 201 {
            // The account's replyUrl is used by its tasks: run one without a task-level URL
            // (assets belong to one account: upload the clip to this one).
            let (own, own_cover) = upload_video(&c, &server, Some(&email), &clip).await;
            let (st, t) = c
                .post_json(
                    &server.api("/videos/motion-upload"),
                    json!({ "email": email, "resourceUrl": own, "coverUrl": own_cover }),
                )
                .await;
            assert_eq!(st, 200, "{t}");
            tasks.push((email.clone(), t["task"]["id"].as_i64().unwrap()));
        }
        outcomes.push(Outcome {
            url: url.clone(),
            account_status,
            upload_status,
        });
    }
    for (email, id) in &tasks {
        c.wait_final(&server, *id, Some(email)).await;
    }
    // Every event the accepted URLs produced must have been tried at least once: refused by
    // the guard (abandoned), or failed to resolve/connect and left for a later retry.
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = sqlite_query(
            &data,
            "SELECT count(*) FROM webhook_events WHERE state = 'pending' AND attempts = 0",
        );
        if pending == ["0"] {
            break;
        }
        assert!(Instant::now() < until, "events never tried: {pending:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let states = sqlite_query(
        &data,
        "SELECT state, count(*) FROM webhook_events GROUP BY state",
    );
    let refused_at_submit = outcomes.iter().filter(|o| o.upload_status == 400).count();
    let accounts_refused = outcomes.iter().filter(|o| o.account_status == 400).count();
    eprintln!("SSRF forms: {}", outcomes.len());
    for o in &outcomes {
        eprintln!(
            "  {:>3} {:>3}  {}",
            o.account_status, o.upload_status, o.url
        );
    }
    eprintln!(
        "refused at submission: motion-upload {refused_at_submit}/{n}, accounts {accounts_refused}/{n}; \
         accepted tasks {t}; webhook events {states:?}; canary connections {h}",
        n = outcomes.len(),
        t = tasks.len(),
        h = canary.hits()
    );
    assert!(outcomes.len() >= 30);
    assert_eq!(canary.hits(), 0, "a callback reached the loopback canary");
    assert!(
        !states.iter().any(|s| s.starts_with("delivered")),
        "an internal target got a delivery: {states:?}"
    );
}

/// A lookup that answers a public address first and loopback afterwards (DNS rebinding).
struct Rebinding {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Lookup for Rebinding {
    async fn lookup(&self, _host: &str) -> std::io::Result<Vec<IpAddr>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        // 192.0.2.0/24 would be refused as documentation; 198.51.100.x too. Use an address
        // that classifies as public and cannot be reached offline.
        Ok(vec![if n == 0 {
            "8.8.8.8".parse().unwrap()
        } else {
            "127.0.0.1".parse().unwrap()
        }])
    }
}

/// The name is resolved once per connection by the guard itself, and the address it checked
/// is the address it connects to: a second answer of loopback is refused, not connected.
#[tokio::test]
async fn a_name_that_changes_its_answer_never_reaches_loopback() {
    let canary = Canary::start();
    let lookup = Arc::new(Rebinding {
        calls: AtomicUsize::new(0),
    });
    let client =
        SafeClient::with_lookup(false, Duration::from_secs(1), "attack-test", lookup.clone())
            .unwrap();
    let url = format!("http://rebind.example:{}/hook", canary.port);
    for _ in 0..3 {
        let r = client.post(&url, &[], b"{}".to_vec()).await;
        assert!(!matches!(r, AttemptResult::Status { .. }), "{r:?}");
    }
    assert!(
        lookup.calls.load(Ordering::SeqCst) >= 2,
        "the name was not looked up again"
    );
    assert_eq!(canary.hits(), 0);
}

/// Redirects are never followed: a receiver answering 302 to the canary gets the request,
/// the canary gets nothing (private targets open here, so only the redirect policy stops it).
#[tokio::test]
async fn redirects_to_loopback_are_not_followed() {
    let canary = Canary::start();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redirector = format!("http://{}/hook", l.local_addr().unwrap());
    let target = format!("http://127.0.0.1:{}/stolen", canary.port);
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in l.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    for code_path in ["", "?307", "?308"] {
        let client = SafeClient::new(true, Duration::from_secs(2), "attack-test").unwrap();
        let r = client
            .post(&format!("{redirector}{code_path}"), &[], b"{}".to_vec())
            .await;
        assert!(
            matches!(r, AttemptResult::Status { status: 302, .. }),
            "{r:?}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(canary.hits(), 0, "a redirect was followed");
}
