//! Seeding the bundled official catalog into the real composition (SQLite + blob folder in a
//! temp dir): every bundled clip becomes an official motion with its stable negative workId and
//! four servable files, and seeding again adds nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use motion_capture::catalog::BuildOptions;
use motion_core::ids::official_work_id;
use motion_core::services::motions::MotionService;
use motiond::motions_cmd::{CatalogTarget, TAGS, bundled_catalog, seed_catalog};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn get(app: &motiond::App, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let res = app
        .router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, content_type, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_adds_every_bundled_motion_once() {
    let ffmpeg = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output();
    assert!(
        ffmpeg.is_ok_and(|o| o.status.success()),
        "ffmpeg missing: run scripts/test.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = motiond::Config::for_data_dir(dir.path());
    config.server.listen = "127.0.0.1:8080".into();
    config.worker.enabled = false;
    let app = motiond::build_app(config).await.expect("build_app");
    let motions = MotionService::new(
        app.store.clone(),
        app.store.clone(),
        app.blobs.clone(),
        app.clock.clone(),
    );
    let tmp_dir = dir.path().join("catalog-tmp");
    // Small, low-rate previews keep this test quick; the pipeline is the one serve runs.
    let build = BuildOptions {
        width: 96,
        height: 96,
        max_fps: 8.0,
        ..BuildOptions::default()
    };
    let target = CatalogTarget {
        motions: &motions,
        blobs: app.blobs.as_ref(),
        tmp_dir: &tmp_dir,
        build,
    };
    let cancel = CancellationToken::new();

    let bundled = bundled_catalog().unwrap();
    let first = seed_catalog(&target, &cancel).await.expect("seed");
    let mut keys: Vec<String> = bundled.iter().map(|e| e.key.clone()).collect();
    assert_eq!(first.added, keys);
    assert_eq!(first.present, 0);

    let listed = motions.official().await.unwrap();
    assert_eq!(listed.len(), bundled.len());
    let abs_ids: Vec<i64> = listed.iter().map(|m| m.work_id.abs()).collect();
    assert!(
        abs_ids.windows(2).all(|w| w[0] < w[1]),
        "ascending abs(workId): {abs_ids:?}"
    );
    for m in &listed {
        let entry = bundled
            .iter()
            .find(|e| e.key == m.catalog_key)
            .expect("a bundled key");
        assert_eq!(m.work_id, official_work_id(&entry.key));
        assert!(m.work_id < 0);
        assert_eq!(
            (m.name.as_str(), m.tag.as_str()),
            (entry.name.as_str(), entry.tag.as_str())
        );
        assert!(TAGS.contains(&m.tag.as_str()));
        let (status, ct, body) = get(
            &app,
            &format!("/files/{}/{}", m.preview.fid, m.preview.name),
        )
        .await;
        assert_eq!(
            (status, ct.as_deref()),
            (StatusCode::OK, Some("video/mp4")),
            "{}",
            m.catalog_key
        );
        assert_eq!(&body[4..8], b"ftyp");
        let (status, _, body) =
            get(&app, &format!("/files/{}/{}", m.cover.fid, m.cover.name)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..2], &[0xff, 0xd8]);
        for f in [&m.bvh_zip, &m.binary_zip] {
            let (status, _, body) = get(&app, &format!("/files/{}/{}", f.fid, f.name)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&body[..2], b"PK");
        }
        assert_eq!((m.preview.width, m.preview.height), (96, 96));
        assert!(
            m.preview.duration_ms > 2000,
            "{}: {} ms",
            m.catalog_key,
            m.preview.duration_ms
        );
    }

    // Idempotent: nothing added, nothing duplicated, same files.
    let second = seed_catalog(&target, &cancel).await.expect("second seed");
    assert!(second.added.is_empty());
    assert_eq!(second.present, bundled.len());
    let again = motions.official().await.unwrap();
    assert_eq!(again, listed);

    // An entry the operator removed stays removed: the next seeding leaves it out.
    let removed = keys.remove(0);
    assert!(motions.remove_official(&removed).await.unwrap());
    let third = seed_catalog(&target, &cancel).await.expect("third seed");
    assert!(third.added.is_empty());
    let left = motions.official().await.unwrap();
    assert_eq!(left.len(), bundled.len() - 1);
    assert!(left.iter().all(|m| m.catalog_key != removed));
    assert!(keys.iter().all(|k| {
        left.iter()
            .any(|m| &m.catalog_key == k && m.work_id == official_work_id(k))
    }));
}
