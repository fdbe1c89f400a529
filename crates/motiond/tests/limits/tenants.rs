//! Tenants through the real binary: after a realistic run (2 users x 2 accounts, uploads, tasks,
//! callback URLs and webhook secrets), neither a dump of the database nor the server log holds a
//! token or a webhook secret in clear; and a foreign id is answered exactly like a random one.

use crate::server::{Server, admin};

const VIDEO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/videos/mmhuman3d_single_person_basketball.mp4"
);

struct Tenant {
    token: String,
    secret: String,
    emails: [String; 2],
    resource_urls: Vec<String>,
    task_ids: Vec<i64>,
    asset_ids: Vec<String>,
}

fn json(r: &crate::server::Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

fn populate(server: &Server, user: &str) -> Tenant {
    let token = server.token(user);
    let secret = admin(
        &server.data_dir,
        &["webhook-secret", "show", "--user", user],
    );
    let video = std::fs::read(VIDEO).expect("test video missing: run scripts/test.sh");
    let emails = [
        format!("{user}1@example.com"),
        format!("{user}2@example.com"),
    ];
    let (mut resource_urls, mut task_ids, mut asset_ids) = (vec![], vec![], vec![]);
    for email in &emails {
        let body =
            format!(r#"{{"email":"{email}","maxJobs":2,"replyUrl":"http://127.0.0.1:9/{user}"}}"#);
        let r = server.request(
            "POST",
            "/v1/kling/accounts",
            &token,
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{r:?}");
        let r = server.request(
            "POST",
            &format!("/v1/kling/assets?email={email}"),
            &token,
            "video/mp4",
            &video,
        );
        assert_eq!(r.status, 200, "{r:?}");
        let up = json(&r);
        let resource = up["resourceUrl"].as_str().unwrap().to_owned();
        let cover = up["coverUrl"].as_str().unwrap().to_owned();
        let listed = server.request(
            "GET",
            &format!("/v1/kling/assets/uploaded?email={email}"),
            &token,
            "",
            b"",
        );
        let listed = json(&listed).to_string();
        let id = listed
            .split("\"id\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no asset id in {listed}"))
            .to_owned();
        asset_ids.push(id);
        let body =
            format!(r#"{{"email":"{email}","resourceUrl":"{resource}","coverUrl":"{cover}"}}"#);
        let r = server.request(
            "POST",
            "/v1/kling/videos/motion-upload",
            &token,
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{r:?}");
        task_ids.push(json(&r)["task"]["id"].as_i64().unwrap());
        resource_urls.push(resource);
    }
    Tenant {
        token,
        secret,
        emails,
        resource_urls,
        task_ids,
        asset_ids,
    }
}

/// The answer to `path_for(id)` for a foreign id and for an unknown one, with the id itself
/// replaced by a placeholder: both must be the same bytes (status, content type, body).
fn same_as_unknown(
    server: &Server,
    token: &str,
    method: &str,
    foreign: &str,
    unknown: &str,
    path_for: &dyn Fn(&str) -> String,
) {
    let answer = |id: &str| {
        let r = server.request(method, &path_for(id), token, "application/json", b"");
        (
            r.status,
            r.header("content-type").map(str::to_owned),
            r.body.replace(id, "<id>"),
        )
    };
    let (f, u) = (answer(foreign), answer(unknown));
    // A batch delete of a foreign asset answers 200 with nothing deleted, like an unknown one;
    // that nothing was taken is checked on the owner's side afterwards.
    assert!(
        f.0 >= 400 || f.2.contains(r#""deleted":0"#),
        "{method} {} succeeded across tenants: {f:?}",
        path_for(foreign)
    );
    assert_eq!(
        f,
        u,
        "{method} {}: foreign and unknown ids differ",
        path_for(foreign)
    );
}

#[test]
fn no_secret_in_clear_and_foreign_ids_answer_like_unknown_ones() {
    let server = Server::start(&[
        ("MOTIOND_LIMITS__TOKEN_RPS", "0"),
        ("MOTIOND_LOG", "debug"),
        ("MOTIOND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ]);
    let alice = populate(&server, "alice");
    let bob = populate(&server, "bob");

    // Bob on Alice's objects: every id-taking route, foreign vs. unknown.
    for (i, email) in alice.emails.iter().enumerate() {
        let bob_email = &bob.emails[i];
        let task = alice.task_ids[i].to_string();
        let unknown_task = (alice.task_ids[i] + 7919).to_string();
        same_as_unknown(&server, &bob.token, "GET", &task, &unknown_task, &|id| {
            format!("/v1/kling/tasks/{id}?email={bob_email}")
        });
        same_as_unknown(&server, &bob.token, "DELETE", &task, &unknown_task, &|id| {
            format!("/v1/kling/tasks/{id}?email={bob_email}")
        });
        same_as_unknown(&server, &bob.token, "DELETE", &task, &unknown_task, &|id| {
            format!("/v1/kling/scheduler/{id}?email={bob_email}")
        });
        let asset = &alice.asset_ids[i];
        same_as_unknown(
            &server,
            &bob.token,
            "DELETE",
            asset,
            "123456789012345",
            &|id| format!("/v1/kling/assets/uploaded?email={bob_email}&id={id}"),
        );
        same_as_unknown(
            &server,
            &bob.token,
            "GET",
            email,
            "nobody@example.com",
            &|id| format!("/v1/kling/accounts/{id}"),
        );
        same_as_unknown(
            &server,
            &bob.token,
            "DELETE",
            email,
            "nobody@example.com",
            &|id| format!("/v1/kling/accounts/{id}"),
        );
        same_as_unknown(
            &server,
            &bob.token,
            "GET",
            email,
            "nobody@example.com",
            &|id| format!("/v1/kling/videos/motions?mine=true&email={id}"),
        );
        // Alice's asset URL in Bob's motion-upload, against a made-up URL of the same shape.
        let foreign_url = &alice.resource_urls[i];
        let (prefix, _) = foreign_url.rsplit_once('/').unwrap();
        let made_up = format!("{prefix}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.mp4");
        let upload = |url: &str| {
            let body = format!(r#"{{"email":"{bob_email}","resourceUrl":"{url}"}}"#);
            let r = server.request(
                "POST",
                "/v1/kling/videos/motion-upload",
                &bob.token,
                "application/json",
                body.as_bytes(),
            );
            (r.status, r.body)
        };
        let (f, u) = (upload(foreign_url), upload(&made_up));
        assert!(f.0 >= 400, "Bob used Alice's asset: {f:?}");
        assert_eq!(
            f, u,
            "a foreign asset URL is answered unlike an unknown one"
        );
    }
    // Alice still owns all of it.
    for (i, task) in alice.task_ids.iter().enumerate() {
        let r = server.request(
            "GET",
            &format!("/v1/kling/tasks/{task}?email={}", alice.emails[i]),
            &alice.token,
            "",
            b"",
        );
        assert_eq!(r.status, 200, "{r:?}");
        let path = format!("/v1/kling/assets/uploaded?email={}", alice.emails[i]);
        let r = server.request("GET", &path, &alice.token, "", b"");
        assert!(
            r.body.contains(&alice.asset_ids[i]),
            "Alice's asset is gone: {r:?}"
        );
        let path = format!("/v1/kling/accounts/{}", alice.emails[i]);
        let r = server.request("GET", &path, &alice.token, "", b"");
        assert_eq!(r.status, 200, "{r:?}");
    }

    // Dump: every table as SQL text (WAL included), plus the raw database files and the log.
    let db = server.data_dir.join("motiond.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(".dump")
        .output()
        .expect("sqlite3 (run scripts/test.sh)");
    assert!(
        out.status.success(),
        "sqlite3 .dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        dump.contains("alice1@example.com"),
        "the dump is not of the database we used"
    );
    let mut raw = Vec::new();
    for ext in ["", "-wal"] {
        raw.extend(std::fs::read(format!("{}{ext}", db.display())).unwrap_or_default());
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let log = std::fs::read_to_string(&server.log).unwrap();
    for t in [&alice, &bob] {
        let secret_body = t.secret.rsplit('_').next().unwrap();
        for (what, needle) in [
            ("token", t.token.as_str()),
            ("webhook secret", t.secret.as_str()),
            ("webhook secret key", secret_body),
        ] {
            assert!(
                needle.len() >= 20,
                "{what} {needle:?} too short to search for"
            );
            assert!(
                !dump.contains(needle),
                "{what} in clear in the database dump"
            );
            assert!(
                !raw.contains(needle),
                "{what} in clear in the database files"
            );
            assert!(!log.contains(needle), "{what} in clear in the server log");
        }
    }
    println!(
        "tenants: dump {} bytes, db files {} bytes, log {} bytes searched for 2 tokens and 2 secrets",
        dump.len(),
        raw.len(),
        log.len()
    );
}
