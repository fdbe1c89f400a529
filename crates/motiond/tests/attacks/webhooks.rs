//! Webhooks: at-least-once delivery through the outbox under a failing receiver and a
//! SIGKILL in the middle of a delivery; every delivery verifies with the independent PyPI
//! `standardwebhooks` package, tampered ones do not.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;
use crate::support::*;

/// Submits a task with `replyUrl` and returns (task id, the final event's webhook-id).
async fn run_task(c: &Client, server: &Server, tmp: &std::path::Path, hook: &str) -> (i64, String) {
    create_account(c, server, "hooks@example.com", json!({})).await;
    let (resource, cover) = upload_video(c, server, None, &no_person_video(tmp)).await;
    let (status, t) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover, "replyUrl": hook }),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    let id = t["task"]["id"].as_i64().unwrap();
    let done = c.wait_final(server, id, None).await;
    (id, format!("msg_{id}_{}", done["status"]))
}

/// Waits until `rx` has seen an attempt of `id` answered with `answer`.
async fn wait_for(rx: &Receiver, id: &str, answer: Answer, server: &Server) {
    let until = Instant::now() + Duration::from_secs(90);
    while !rx.seen().iter().any(|s| s.id == id && s.answer == answer) {
        assert!(
            Instant::now() < until,
            "no {answer:?} attempt of {id}: {:?}\n{}",
            rx.seen()
                .iter()
                .map(|s| (&s.id, s.answer))
                .collect::<Vec<_>>(),
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn secret(server: &Server, user: &str) -> String {
    admin(
        &server.data_dir,
        &["webhook-secret", "show", "--user", user],
    )
}

#[tokio::test]
async fn three_failures_then_one_success_with_one_id_and_the_configured_backoff() {
    // 500, then no answer past the attempt timeout, then a connection reset, then 204.
    let rx = Receiver::start(vec![
        Answer::Status(500),
        Answer::Hang(Duration::from_secs(6)),
        Answer::Reset,
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let timeout = 2.0;
    let delays = [1.0, 1.0, 2.0];
    let server = Server::start_with(
        &tmp.path().join("data"),
        &[
            ("MOTIOND_WEBHOOKS__TIMEOUT_S", "2"),
            ("MOTIOND_WEBHOOKS__RETRY_DELAYS_S", "[1, 1, 2]"),
        ],
    );
    let c = Client::new(server.token("hana"));
    let (_, final_id) = run_task(&c, &server, tmp.path(), &rx.url).await;
    wait_for(&rx, &final_id, Answer::Status(204), &server).await;
    // Nothing more comes for this id once it was accepted.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let attempts: Vec<Seen> = rx.seen().into_iter().filter(|s| s.id == final_id).collect();
    let answers: Vec<Answer> = attempts.iter().map(|s| s.answer).collect();
    assert_eq!(
        answers,
        [
            Answer::Status(500),
            Answer::Hang(Duration::from_secs(6)),
            Answer::Reset,
            Answer::Status(204)
        ],
        "one success after three failures, all with webhook-id {final_id}"
    );
    // Gaps between attempt starts: the configured delay (jitter 0.9..1.1), plus the attempt
    // timeout after the hung attempt, plus at most the poll interval and scheduling slack.
    let mut gaps = Vec::new();
    for (k, pair) in attempts.windows(2).enumerate() {
        let gap = pair[1].at.duration_since(pair[0].at).as_secs_f64();
        let spent = if matches!(pair[0].answer, Answer::Hang(_)) {
            timeout
        } else {
            0.0
        };
        let lo = delays[k] * 0.9 + spent - 0.05;
        let hi = delays[k] * 1.1 + spent + 1.5;
        assert!(
            gap >= lo && gap <= hi,
            "gap {k}: {gap:.2}s outside [{lo:.2}, {hi:.2}]"
        );
        gaps.push(format!("{gap:.2}"));
    }
    let with_body: Vec<Seen> = rx
        .seen()
        .into_iter()
        .filter(|s| s.answer != Answer::Reset)
        .collect();
    let n = verify_independently(tmp.path(), &secret(&server, "hana"), &with_body);
    eprintln!("webhook retry: attempts {answers:?}, gaps {gaps:?} s, verified {n} deliveries");
}

#[tokio::test]
async fn sigkill_during_a_delivery_still_ends_in_a_delivery() {
    // The first attempt of every id is held open; later ones are accepted.
    let rx = Receiver::start(vec![Answer::Hang(Duration::from_secs(60))]);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A short lease, so that the next start takes the killed attempt's event over soon; it
    // must outlast an attempt (the kill comes while the first one hangs).
    let env = [
        ("MOTIOND_WEBHOOKS__TIMEOUT_S", "3"),
        ("MOTIOND_WEBHOOKS__LEASE_MS", "8000"),
    ];
    let mut server = Server::start_with(&data, &env);
    let c = Client::new(server.token("ivo"));
    let (_, final_id) = run_task(&c, &server, tmp.path(), &rx.url).await;
    wait_for(
        &rx,
        &final_id,
        Answer::Hang(Duration::from_secs(60)),
        &server,
    )
    .await;
    let secret = secret(&server, "ivo");
    server.kill9();
    let killed_at = Instant::now();

    let server = Server::start_with(&data, &env);
    wait_for(&rx, &final_id, Answer::Status(204), &server).await;
    let until = Instant::now() + Duration::from_secs(10);
    while sqlite_query(
        &data,
        &format!("SELECT state FROM webhook_events WHERE webhook_id = '{final_id}'"),
    ) != ["delivered"]
    {
        assert!(
            Instant::now() < until,
            "event not marked delivered\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = rx.seen();
    let n = verify_independently(tmp.path(), &secret, &seen);
    eprintln!(
        "webhook kill -9 mid-delivery: redelivered {:.1}s after the kill; {} attempts of {final_id}; verified {n}",
        killed_at.elapsed().as_secs_f64(),
        seen.iter().filter(|s| s.id == final_id).count()
    );
}
