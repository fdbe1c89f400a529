//! The admin subcommands against a running server's data dir.

use std::process::Command;

use crate::harness::*;

#[tokio::test]
async fn revoked_tokens_get_401_and_secrets_rotate() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let token = server.token("henry");
    let c = Client::new(token.clone());
    let (status, _) = c.get(&server.api("/accounts")).await;
    assert_eq!(status, 404, "a fresh token works (no accounts yet)");
    let (status, body) = Client::new(format!("{token}x"))
        .get(&server.api("/accounts"))
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            serde_json::json!({ "error": "Unauthorized", "code": 401 })
        )
    );

    let mut revoke = Command::new(BIN)
        .args(["token", "revoke", "-", "--data-dir"])
        .arg(&server.data_dir)
        .envs(test_env())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    revoke
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    assert!(revoke.wait().unwrap().success());
    let (status, _) = c.get(&server.api("/accounts")).await;
    assert_eq!(status, 401, "revoked");

    let shown = admin(
        &server.data_dir,
        &["webhook-secret", "show", "--user", "henry"],
    );
    assert_eq!(
        shown,
        admin(
            &server.data_dir,
            &["webhook-secret", "show", "--user", "henry"]
        ),
        "stable"
    );
    let rotated = admin(
        &server.data_dir,
        &["webhook-secret", "rotate", "--user", "henry"],
    );
    assert!(rotated.starts_with("whsec_") && rotated != shown);
    assert_eq!(
        rotated,
        admin(
            &server.data_dir,
            &["webhook-secret", "show", "--user", "henry"]
        )
    );

    // Secrets and tokens are never stored in clear.
    let db = std::fs::read(server.data_dir.join("motiond.db")).unwrap();
    let wal = std::fs::read(server.data_dir.join("motiond.db-wal")).unwrap_or_default();
    for needle in [token.as_str(), rotated.as_str(), shown.as_str()] {
        let n = needle.as_bytes();
        assert!(
            !db.windows(n.len()).any(|w| w == n),
            "found in the database file"
        );
        assert!(!wal.windows(n.len()).any(|w| w == n), "found in the WAL");
    }
}

#[test]
fn config_defaults_prints_the_example_file_and_migrate_is_idempotent() {
    let out = Command::new(BIN)
        .args(["config", "defaults"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../motiond.example.toml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), example);

    let tmp = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["migrate", "--data-dir"])
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "migrate prints nothing on stdout");
    }
    // An unknown key in the config file is an error naming the key.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[worker]\nconcurency = 2\n").unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(tmp.path())
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("concurency"));
}

/// A failed command says what is wrong in one line, never with a backtrace (even with
/// `RUST_BACKTRACE=1`); a configuration the user got wrong exits 2, other failures 1.
#[test]
fn failures_are_one_line_and_configuration_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], config: Option<&std::path::Path>| {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--data-dir")
            .arg(tmp.path())
            .env("RUST_BACKTRACE", "1")
            .env_remove("MOTIOND_CONFIG");
        if let Some(file) = config {
            cmd.arg("--config").arg(file);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let missing = tmp.path().join("missing.toml");
    let (code, stderr) = run(&["migrate"], Some(&missing));
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "motiond: config file {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    // A wrong value names the file and the key.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = 5\n").unwrap();
    let (code, stderr) = run(&["migrate"], Some(&bad));
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("server.listen") && stderr.contains("bad.toml"),
        "{stderr}"
    );
    // A wrong value from the environment names the variable, and a value that would only fail
    // later (here a listener) is refused before the data dir is created.
    let fresh = tmp.path().join("fresh");
    let out = Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(&fresh)
        .env("MOTIOND_WORKER__LEASE_MS", "soon")
        .env("RUST_BACKTRACE", "1")
        .env_remove("MOTIOND_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "for key \"worker.lease_ms\" in environment variable MOTIOND_WORKER__LEASE_MS"
        ),
        "{stderr}"
    );
    let out = Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(&fresh)
        .env("MOTIOND_METRICS__LISTEN", "9090")
        .env_remove("MOTIOND_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !fresh.exists(),
        "nothing is created for a refused configuration"
    );
    // What the user typed wrong is theirs to fix, as in every command: exit 2.
    let (code, stderr) = run(&["token", "create", "--user", ""], None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.ends_with("--user must not be empty\n"), "{stderr}");
    for (args, says) in [
        (
            &["token", "revoke", "mtd_not-a-token"][..],
            "unknown or already revoked token",
        ),
        (&["webhook-secret", "show", "--user", "nobody"], "nobody"),
        (
            &["motions", "remove", "no-such-key"],
            "no official motion with key",
        ),
    ] {
        let (code, stderr) = run(args, None);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Empty path variables are unset ones, not missing values.
    let out = Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(tmp.path())
        .env("MOTIOND_CONFIG", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(BIN)
        .args(["config", "defaults"])
        .env("MOTIOND_DATA_DIR", "")
        .env("MOTIOND_CONFIG", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (code, stderr) = run(&["token", "create", "--user", "henry\nroot"], None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.ends_with("(no spaces or control characters)\n"),
        "{stderr}"
    );
    // A user made before the rule (here written straight into the database) still gets tokens.
    sqlite_exec(
        tmp.path(),
        "INSERT INTO users (name, created_at) VALUES ('ops team', 0)",
    );
    let (code, stderr) = run(&["token", "create", "--user", "ops team"], None);
    assert_eq!(code, Some(0), "{stderr}");
    for (code, stderr) in [
        run(&["migrate"], Some(&missing)),
        run(&["token", "create", "--user", ""], None),
    ] {
        assert_ne!(code, Some(0));
        assert!(
            !stderr.contains("acktrace") && !stderr.contains("Caused by"),
            "{stderr}"
        );
    }
}
