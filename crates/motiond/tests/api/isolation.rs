//! §1 isolation: 2 users × 2 accounts. Every route that takes an id, an email or a
//! URL answers a foreign value byte for byte like a value that does not exist.

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

struct Tenant {
    token: String,
    email: String,
    video: Value,
    image: Value,
    asset_id: String,
    task_id: i64,
}

async fn tenant(t: &TestApp, token: &str, email: &str) -> Tenant {
    t.account(token, email, 5).await;
    let video = t.upload(token, email, "video/mp4", DANCE).await;
    let image = t.upload(token, email, "image/png", PNG).await;
    let list = t
        .get(
            &format!("/v1/kling/assets/uploaded?email={email}&contentType=image"),
            token,
        )
        .await
        .json();
    let asset_id = list["uploadAssetsList"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body =
        json!({"email": email, "resourceUrl": video["resourceUrl"], "coverUrl": image["url"]});
    let env = t
        .post_json("/v1/kling/videos/motion-upload", token, body)
        .await
        .json();
    let task_id = env["task"]["id"].as_i64().unwrap();
    Tenant {
        token: token.to_owned(),
        email: email.to_owned(),
        video,
        image,
        asset_id,
        task_id,
    }
}

/// The values a probe names: a task id, an email, an asset id, a video and an image URL.
#[derive(Clone)]
struct Values {
    task_id: String,
    email: String,
    asset_id: String,
    video_url: String,
    image_url: String,
}

impl Values {
    fn pairs<'a>(&'a self, other: &'a Values) -> Vec<(&'a str, &'a str)> {
        vec![
            (&self.task_id, &other.task_id),
            (&self.email, &other.email),
            (&self.asset_id, &other.asset_id),
            (&self.video_url, &other.video_url),
            (&self.image_url, &other.image_url),
        ]
    }
}

/// The requests `me` can make naming the values `v`. `with_email` adds the routes
/// that take an email (only when `v.email` is not one of my own accounts' emails);
/// `other_user` adds the scheduler's cancel.
fn probes(
    me: &Tenant,
    v: &Values,
    with_email: bool,
    other_user: bool,
) -> Vec<(Method, String, Option<Value>)> {
    let e = &me.email;
    let mut list = vec![
        (
            Method::GET,
            format!("/v1/kling/tasks/{}?email={e}", v.task_id),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/kling/tasks/{}?email={e}", v.task_id),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/kling/assets/uploaded?email={e}&id={}", v.asset_id),
            None,
        ),
        (
            Method::POST,
            "/v1/kling/videos/motion-upload".into(),
            Some(json!({"email": e, "resourceUrl": v.video_url, "coverUrl": me.image["url"]})),
        ),
        (
            Method::POST,
            "/v1/kling/videos/motion-upload".into(),
            Some(
                json!({"email": e, "resourceUrl": me.video["resourceUrl"], "coverUrl": v.image_url}),
            ),
        ),
    ];
    // The scheduler covers all of the caller's accounts: only another user's task is foreign.
    if other_user {
        list.push((
            Method::DELETE,
            format!("/v1/kling/scheduler/{}", v.task_id),
            None,
        ));
    }
    if with_email {
        let q = enc(&v.email);
        list.extend([
            (Method::GET, format!("/v1/kling/accounts/{q}"), None),
            (Method::DELETE, format!("/v1/kling/accounts/{q}"), None),
            (Method::GET, format!("/v1/kling/tasks?email={q}"), None),
            (
                Method::GET,
                format!("/v1/kling/tasks/{}?email={q}", v.task_id),
                None,
            ),
            (
                Method::GET,
                format!("/v1/kling/videos/motions?mine=true&email={q}"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/kling/assets/uploaded?email={q}"),
                None,
            ),
            (Method::POST, format!("/v1/kling/assets?email={q}"), None),
            (
                Method::POST,
                "/v1/kling/videos/motion-upload".into(),
                Some(
                    json!({"email": v.email, "resourceUrl": v.video_url, "coverUrl": v.image_url}),
                ),
            ),
        ]);
    }
    list
}

async fn send(
    t: &TestApp,
    token: &str,
    (method, uri, body): &(Method, String, Option<Value>),
) -> Resp {
    match body {
        Some(b) => t.post_json(uri, token, b.clone()).await,
        None => t.call(method.clone(), uri, Some(token)).await,
    }
}

fn values_of(t: &Tenant) -> Values {
    Values {
        task_id: t.task_id.to_string(),
        email: t.email.clone(),
        asset_id: t.asset_id.clone(),
        video_url: t.video["resourceUrl"].as_str().unwrap().to_owned(),
        image_url: t.image["url"].as_str().unwrap().to_owned(),
    }
}

/// Values of the same lengths that exist nowhere.
fn random_like(v: &Values) -> Values {
    let nines = |s: &str| "9".repeat(s.len());
    let fid_of = |url: &str| url.split('/').rev().nth(1).unwrap().to_owned();
    let swap_fid = |url: &str| url.replace(&fid_of(url), &"Z".repeat(32));
    let local = v.email.split('@').next().unwrap();
    Values {
        task_id: nines(&v.task_id),
        email: v.email.replacen(local, &"q".repeat(local.len()), 1),
        asset_id: nines(&v.asset_id),
        video_url: swap_fid(&v.video_url),
        image_url: swap_fid(&v.image_url),
    }
}

/// The answer to the random value, rewritten as if it had named the foreign one.
fn as_if(resp: &Resp, random: &Values, foreign: &Values) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (status, headers, body) = resp.comparable();
    let mut text = String::from_utf8(body).unwrap();
    for (r, f) in random.pairs(foreign) {
        text = text.replace(r, f);
    }
    (status, headers, text.into_bytes())
}

#[tokio::test]
async fn foreign_values_answer_like_unknown_ones() {
    // About 250 requests per token: the per-token limit is off, as for load tests.
    let t = TestApp::with(|c| c.limits.token_rps = 0).await;
    let (alice, bob) = (t.token("alice").await, t.token("bob").await);
    let a1 = tenant(&t, &alice, "shared@x.io").await;
    let a2 = tenant(&t, &alice, "a2@x.io").await;
    let b1 = tenant(&t, &bob, "shared@x.io").await;
    let b2 = tenant(&t, &bob, "b2@x.io").await;
    let all = [&a1, &a2, &b1, &b2];
    let mut checked = 0;
    for me in all {
        let my_emails: Vec<&str> = all
            .iter()
            .filter(|x| x.token == me.token)
            .map(|x| x.email.as_str())
            .collect();
        for other in all {
            if std::ptr::eq(me, other) {
                continue;
            }
            let foreign = values_of(other);
            let random = random_like(&foreign);
            let with_email = !my_emails.contains(&other.email.as_str());
            let other_user = me.token != other.token;
            let (fp, rp) = (
                probes(me, &foreign, with_email, other_user),
                probes(me, &random, with_email, other_user),
            );
            for (f, r) in fp.iter().zip(rp.iter()) {
                let (fr, rr) = (send(&t, &me.token, f).await, send(&t, &me.token, r).await);
                assert!(
                    !fr.status.is_server_error(),
                    "{} {} → {}",
                    f.0,
                    f.1,
                    fr.text()
                );
                assert_eq!(
                    fr.comparable(),
                    as_if(&rr, &random, &foreign),
                    "{} {}: {} vs {}",
                    f.0,
                    f.1,
                    fr.text(),
                    rr.text()
                );
                checked += 1;
            }
        }
    }
    // 12 ordered pairs × 5 probes, +1 for the 8 cross-user pairs, +8 for the 4 pairs whose email is foreign.
    assert_eq!(checked, 12 * 5 + 8 + 4 * 8);
    // Nothing was deleted or cancelled across tenants, and lists hold only own rows.
    for me in all {
        let r = t
            .get(
                &format!("/v1/kling/tasks/{}?email={}", me.task_id, me.email),
                &me.token,
            )
            .await;
        assert_eq!(r.json()["status"], 5, "{}", r.text());
        let list = t
            .get(&format!("/v1/kling/tasks?email={}", me.email), &me.token)
            .await
            .json();
        let ids: Vec<i64> = list["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["task"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [me.task_id]);
        let assets = t
            .get(
                &format!("/v1/kling/assets/uploaded?email={}", me.email),
                &me.token,
            )
            .await
            .json();
        assert_eq!(assets["uploadAssetsList"].as_array().unwrap().len(), 2);
    }
    let sched = t.get("/v1/kling/scheduler", &alice).await.json();
    let mut ids: Vec<i64> = sched
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![a1.task_id, a2.task_id];
    want.sort();
    assert_eq!(ids, want, "the scheduler shows only the caller's tasks");
}
