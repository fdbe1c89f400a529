//! Upload → motion-upload → poll → succeed → download, and the rejections around it.

use std::io::Read as _;

use serde_json::json;

use crate::harness::*;

/// Parses a BVH text enough to check the contract's shape (§9.4): the hierarchy of 22
/// joints, 69 channels, and `Frames` lines of 69 numbers.
fn check_bvh(text: &str) -> usize {
    assert!(text.starts_with("HIERARCHY"), "BVH starts with HIERARCHY");
    assert!(text.contains("ROOT Hips"), "root is Hips");
    let joints = text
        .lines()
        .filter(|l| l.trim_start().starts_with("JOINT "))
        .count();
    assert_eq!(joints + 1, 22, "22 joints");
    let (_, motion) = text.split_once("MOTION").expect("MOTION section");
    let mut lines = motion.lines().filter(|l| !l.trim().is_empty());
    let frames: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("Frames:"))
        .expect("Frames:")
        .trim()
        .parse()
        .unwrap();
    let frame_time: f64 = lines
        .next()
        .and_then(|l| l.strip_prefix("Frame Time:"))
        .expect("Frame Time:")
        .trim()
        .parse()
        .unwrap();
    assert!(
        frame_time > 0.0 && frame_time < 1.0,
        "frame time {frame_time}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), frames, "one line per frame");
    for row in &rows {
        let values: Vec<f64> = row
            .split_whitespace()
            .map(|v| v.parse().expect("a number"))
            .collect();
        assert_eq!(values.len(), 69, "69 channels per frame");
        assert!(values.iter().all(|v| v.is_finite()));
    }
    frames
}

fn unzip_single(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut entry = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the archive"));
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn upload_extract_poll_and_download_bvh() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("alice"));
    create_account(&c, &server, "alice@example.com", json!({})).await;
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (resource, cover) = upload_video(&c, &server, None, &video).await;

    // JSON body, one account: no email needed.
    let (status, submitted) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover, "workName": "hoops" }),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["status"], 5);
    assert_eq!(submitted["status_name"], "submitted");
    let task_id = submitted["task"]["id"].as_i64().unwrap();

    let done = c.wait_final(&server, task_id, None).await;
    assert_eq!(done["status"], 99, "succeeded: {done}");
    assert_eq!(done["message"], "success");
    let work = &done["works"][0];
    assert_eq!(work["taskId"], task_id);

    let (st, bvh_zip) = c
        .bytes(work["extData"]["bvh_binary"].as_str().unwrap())
        .await;
    assert_eq!(st, 200);
    let frames = check_bvh(&unzip_single(&bvh_zip, "motion.bvh"));
    assert_eq!(frames, 40, "3.33 s at 12 fps");

    let (st, binary_zip) = c
        .bytes(work["extData"]["output_binary"].as_str().unwrap())
        .await;
    assert_eq!(st, 200);
    let landmarks: serde_json::Value =
        serde_json::from_str(&unzip_single(&binary_zip, "landmarks.json")).unwrap();
    assert_eq!(landmarks["frameCount"], 40);

    let (st, preview) = c
        .bytes(work["resource"]["resource"].as_str().unwrap())
        .await;
    assert_eq!(st, 200);
    assert_eq!(&preview[4..8], b"ftyp", "an MP4 preview");
    let (st, _) = c.bytes(work["cover"]["resource"].as_str().unwrap()).await;
    assert_eq!(st, 200);

    let (st, mine) = c.get(&server.api("/videos/motions?mine=true")).await;
    assert_eq!(st, 200, "{mine}");
    let listed = mine.to_string();
    assert!(
        listed.contains(&work["workId"].to_string()),
        "the motion is listed: {listed}"
    );
    assert_private(&server.data_dir);
}

/// Nothing under the data dir (uploads, motions, the database, keys, the catalog) is readable
/// by other accounts on the machine, whatever the umask.
fn assert_private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
        seen += 1;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    assert!(seen > 20, "walked the data dir ({seen} entries)");
}

#[tokio::test]
async fn videos_outside_two_to_ten_seconds_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("bob"));
    create_account(&c, &server, "bob@example.com", json!({})).await;

    let (status, body) = c
        .upload(
            &server,
            None,
            &testdata("videos/tfjs_pose_squats.mp4"),
            "video/mp4",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "Video must be at most 10 seconds long (got 13.0 s)" })
    );

    let short = testdata("videos/pose2sim_demo_singleperson/videos/cam01.mp4");
    let (resource, cover) = upload_video(&c, &server, None, &short).await;
    let (status, body) = c
        .post_json(
            &server.api("/videos/motion-upload"),
            json!({ "resourceUrl": resource, "coverUrl": cover }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "Video must be between 2 and 10 seconds long (got 1.7 s)" })
    );
}

#[tokio::test]
async fn a_video_without_a_person_fails_with_the_contract_message() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("carol"));
    create_account(&c, &server, "carol@example.com", json!({})).await;
    let task_id = submit_video(&c, &server, &no_person_video(tmp.path())).await;
    let done = c.wait_final(&server, task_id, None).await;
    assert_eq!(done["status"], 50, "{done}");
    assert_eq!(done["status_name"], "failed");
    assert_eq!(
        done["message"],
        "No person detected in the video (MOTION.PIC_NOT_MATCHED)"
    );
    assert_eq!(done["works"], json!([]));
}

#[tokio::test]
async fn multipart_body_and_email_selection_with_two_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let c = Client::new(server.token("dave"));
    create_account(&c, &server, "dave@example.com", json!({})).await;
    create_account(&c, &server, "dave+2@example.com", json!({})).await;

    // Two accounts: account-scoped calls need the email.
    let video = testdata("videos/mmhuman3d_single_person_basketball.mp4");
    let (status, body) = c.upload(&server, None, &video, "video/mp4").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "Parameter email is required when more than one account is configured" })
    );
    let (resource, cover) = upload_video(&c, &server, Some("dave+2@example.com"), &video).await;

    let url = server.api("/videos/motion-upload");
    let (status, body) = c
        .post_multipart(&url, &[("resourceUrl", &resource), ("coverUrl", &cover)])
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "Parameter email is required when more than one account is configured" })
    );

    // The asset belongs to the second account: the first one does not see it.
    let (status, body) = c
        .post_multipart(
            &url,
            &[
                ("email", "dave@example.com"),
                ("resourceUrl", &resource),
                ("coverUrl", &cover),
            ],
        )
        .await;
    assert_eq!(status, 404, "{body}");

    let fields = [
        ("email", "DAVE+2@example.com"),
        ("resourceUrl", resource.as_str()),
        ("coverUrl", cover.as_str()),
        ("maxJobs", "2"),
    ];
    let (status, submitted) = c.post_multipart(&url, &fields).await;
    assert_eq!(status, 200, "{submitted}");
    let task_id = submitted["task"]["id"].as_i64().unwrap();
    // Cancel it right away: this test is about the request, not the extraction.
    let (status, body) = c
        .delete(&server.api(&format!("/tasks/{task_id}?email=dave%2B2@example.com")))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = c
        .get(&server.api(&format!("/tasks/{task_id}?email=dave%2B2@example.com")))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn first_start_prints_a_working_admin_token_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data);
    let line = server
        .later_stdout
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("admin token line");
    let token = line
        .strip_prefix("admin token: ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(token.starts_with("mtd_") && token.len() == 47, "{token}");
    let admin = Client::new(token.to_owned());
    let (status, body) = admin.get(&server.api("/accounts")).await;
    assert_eq!(status, 404, "authenticated, no accounts yet: {body}");
    assert_eq!(
        body["error"],
        "Configuration not found. To create configuration use POST /accounts."
    );
    assert_eq!(
        server.terminate(std::time::Duration::from_secs(30)).code(),
        Some(0)
    );

    let again = Server::start(&data);
    let (status, _) = admin.get(&again.api("/accounts")).await;
    assert_eq!(status, 404, "the token survives a restart");
    assert!(
        again
            .later_stdout
            .recv_timeout(std::time::Duration::from_millis(1500))
            .is_err(),
        "no second admin token on a later start"
    );
}
