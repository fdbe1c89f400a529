//! Callback delivery from the real outbox: signed deliveries, retries with the same
//! webhook-id, and targets refused by the address guard.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use motion_core::clock::{Clock, SystemClock};
use motion_worker::webhook::sign::{secret_key, signature};
use motion_worker::webhook::{
    Deliverer, DelivererSettings, MasterKey, RetryPolicy, SafeClient, WebhookSecrets,
};
use motion_worker::worker::JobEnd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP receiver: answers with `statuses[n]` for the n-th request (then 200) and
/// records each request's head and body.
async fn receiver(
    statuses: Vec<u16>,
) -> (String, Arc<Mutex<Vec<(String, Vec<u8>)>>>, Arc<AtomicUsize>) {
    receiver_with(statuses, "").await
}

/// [`receiver`] with `extra` header lines (each ending in CRLF) in every response.
async fn receiver_with(
    statuses: Vec<u16>,
    extra: &'static str,
) -> (String, Arc<Mutex<Vec<(String, Vec<u8>)>>>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (seen.clone(), hits.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let status = statuses.get(n).copied().unwrap_or(200);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Read the head, then Content-Length bytes of body.
            let (head, body) = loop {
                let k = sock.read(&mut chunk).await.unwrap_or(0);
                if k == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..k]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        let k = sock.read(&mut chunk).await.unwrap_or(0);
                        if k == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..k]);
                    }
                    break (head, buf[end + 4..].to_vec());
                }
            };
            s.lock().unwrap().push((head, body));
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{extra}connection: close\r\n\r\n"
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (url, seen, hits)
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .unwrap_or_else(|| panic!("no {name} header in {head}"))
}

fn deliverer(e: &Env, allow_private: bool) -> (Deliverer, Arc<WebhookSecrets>) {
    deliverer_with_slots(e, allow_private, 4)
}

fn deliverer_with_slots(
    e: &Env,
    allow_private: bool,
    concurrency: u32,
) -> (Deliverer, Arc<WebhookSecrets>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets = Arc::new(WebhookSecrets::new(
        e.store.clone(),
        MasterKey::generate(),
        clock.clone(),
    ));
    let client = SafeClient::new(allow_private, Duration::from_secs(5), "motiond-test").unwrap();
    let settings = DelivererSettings {
        concurrency,
        per_user: concurrency,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(50),
        policy: RetryPolicy {
            delays: vec![Duration::from_millis(150); 3],
            max_age: Duration::from_secs(60),
        },
    };
    (
        Deliverer::new(
            e.store.clone(),
            secrets.clone(),
            client,
            clock,
            settings,
            "test/webhooks".into(),
        ),
        secrets,
    )
}

#[tokio::test]
async fn the_final_event_is_signed_retried_with_the_same_id_and_delivered_once() {
    let e = env(Scripted::new(Script::Succeed), Duration::from_secs(60)).await;
    let (url, seen, hits) = receiver(vec![500, 503]).await;
    let id = submit_with(&e, Some(url), Some("ref-1".into())).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Succeeded)]
    );
    let (d, secrets) = deliverer(&e, true);

    // Attempts 1 and 2 fail (500, 503); attempt 3 succeeds; each retry waits its delay.
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while hits.load(Ordering::SeqCst) < 3 {
        assert!(
            std::time::Instant::now() < until,
            "only {} attempts",
            hits.load(Ordering::SeqCst)
        );
        d.deliver_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        d.deliver_until_idle().await.unwrap(),
        0,
        "delivered: nothing is due any more"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let key = secret_key(&secrets.get_or_create(e.user).await.unwrap()).unwrap();
    let seen = seen.lock().unwrap().clone();
    let first_id = header(&seen[0].0, "webhook-id").to_owned();
    assert_eq!(first_id, format!("msg_{id}_99"));
    for (head, body) in &seen {
        assert_eq!(
            header(head, "webhook-id"),
            first_id,
            "stable across retries"
        );
        let ts: i64 = header(head, "webhook-timestamp").parse().unwrap();
        assert_eq!(
            header(head, "webhook-signature"),
            signature(&key, &first_id, ts, body)
        );
        assert_eq!(header(head, "content-type"), "application/json");
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["status"], 99);
        assert_eq!(json["replyRef"], "ref-1");
    }
    assert_eq!(
        seen[0].1, seen[2].1,
        "the same frozen bytes on every attempt"
    );
}

#[tokio::test]
async fn loopback_targets_are_refused_by_default_and_never_retried() {
    let e = env(Scripted::new(Script::NoPerson), Duration::from_secs(60)).await;
    let (url, _seen, hits) = receiver(vec![]).await;
    let id = submit_with(&e, Some(url), None).await;
    assert_eq!(
        e.worker.run_until_idle().await.unwrap(),
        vec![(id, JobEnd::Failed)]
    );
    let (d, _) = deliverer(&e, false);
    assert_eq!(d.deliver_due().await.unwrap(), 1, "one attempt");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        d.deliver_until_idle().await.unwrap(),
        0,
        "abandoned at once, no retry"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the receiver was never reached"
    );
}

/// Two deliveries (or a delivery and `webhook-secret show`) that each find no secret yet must
/// not each make one: the event signed with the one replaced could never be verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_uses_of_a_secret_at_once_share_one() {
    let e = env(Scripted::new(Script::NoPerson), Duration::from_secs(60)).await;
    let (_d, secrets) = deliverer(&e, true);
    let mut uses = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (secrets, user) = (secrets.clone(), e.user);
        uses.spawn(async move { secrets.get_or_create(user).await.unwrap() });
    }
    let got = uses.join_all().await;
    assert!(got.iter().all(|s| *s == got[0]), "{got:?}");
    assert_eq!(secrets.get_or_create(e.user).await.unwrap(), got[0]);
}

#[tokio::test]
async fn a_rotated_secret_signs_the_next_attempt() {
    let e = env(Scripted::new(Script::NoPerson), Duration::from_secs(60)).await;
    let (url, seen, _hits) = receiver(vec![500]).await;
    let id = submit_with(&e, Some(url), None).await;
    e.worker.run_until_idle().await.unwrap();
    let (d, secrets) = deliverer(&e, true);
    let old = secrets.get_or_create(e.user).await.unwrap();
    assert_eq!(d.deliver_due().await.unwrap(), 1);
    let new = secrets.rotate(e.user).await.unwrap();
    assert_ne!(old, new);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(d.deliver_due().await.unwrap(), 1);
    let seen = seen.lock().unwrap().clone();
    let (head, body) = &seen[1];
    let ts: i64 = header(head, "webhook-timestamp").parse().unwrap();
    let wid = format!("msg_{id}_50");
    assert_eq!(
        header(head, "webhook-signature"),
        signature(&secret_key(&new).unwrap(), &wid, ts, body)
    );
}

/// §8.3: a `Retry-After` moves the next attempt only on a 429 or 503. On a 500 the
/// schedule's own delay (150 ms here) holds; on a 503 the attempt waits for the header.
#[tokio::test]
async fn retry_after_moves_the_schedule_only_on_429_and_503() {
    for (status, pushed) in [(500, false), (302, false), (503, true), (429, true)] {
        let e = env(Scripted::new(Script::NoPerson), Duration::from_secs(60)).await;
        let (url, _seen, hits) = receiver_with(vec![status], "retry-after: 30\r\n").await;
        let id = submit_with(&e, Some(url), None).await;
        assert_eq!(
            e.worker.run_until_idle().await.unwrap(),
            vec![(id, JobEnd::Failed)]
        );
        let (d, _) = deliverer(&e, true);
        assert_eq!(d.deliver_due().await.unwrap(), 1, "{status}: first attempt");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let due = d.deliver_until_idle().await.unwrap();
        if pushed {
            assert_eq!(due, 0, "{status}: Retry-After 30 s pushes the retry");
            assert_eq!(hits.load(Ordering::SeqCst), 1);
        } else {
            assert_eq!(due, 1, "{status}: Retry-After ignored, retried on schedule");
            assert_eq!(hits.load(Ordering::SeqCst), 2);
        }
    }
}

/// A receiver that accepts connections and never answers.
async fn hanging_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hangs", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    url
}

/// A receiver that hangs holds one delivery slot until its attempt times out (5 s here), not
/// the deliverer: the other slot goes on delivering the events due meanwhile.
#[tokio::test]
async fn a_hanging_receiver_holds_one_slot_not_the_deliverer() {
    let e = env(Scripted::new(Script::Succeed), Duration::from_secs(60)).await;
    let hangs = hanging_receiver().await;
    let (url, _seen, hits) = receiver(vec![]).await;
    submit_with(&e, Some(hangs), None).await;
    for _ in 0..3 {
        submit_with(&e, Some(url.clone()), None).await;
    }
    assert_eq!(e.worker.run_until_idle().await.unwrap().len(), 4);
    let (d, _) = deliverer_with_slots(&e, true, 2);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(Arc::new(d).run(shutdown.clone()));
    let started = std::time::Instant::now();
    while hits.load(Ordering::SeqCst) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{} of 3 delivered while the first receiver hangs",
            hits.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    running.await.unwrap();
}
