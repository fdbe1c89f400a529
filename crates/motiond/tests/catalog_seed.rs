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

/// The real composition of `config` (without a worker) and its motion service.
async fn app_and_motions(mut config: motiond::Config) -> (motiond::App, MotionService) {
    config.worker.enabled = false;
    let app = motiond::build_app(config).await.expect("build_app");
    let motions = MotionService::new(
        app.store.clone(),
        app.store.clone(),
        app.blobs.clone(),
        app.clock.clone(),
    );
    (app, motions)
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
    let (app, motions) = app_and_motions(config).await;
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

/// An official motion as a version before build formats stored it: `bvh.zip` holding `source`
/// as it came, `binary.zip` a glb and `joints.json`; recorded with format 1.
async fn store_old_format(app: &motiond::App, motions: &MotionService, key: &str, source: &[u8]) {
    store_built_in(app, motions, key, source, 1).await;
}

/// Stores official motion `key` as a version building `build_format` left it, with `bvh` as
/// its `motion.bvh` (format 1: the source as it came; later: the motion on the engine's
/// skeleton) and placeholder files besides.
async fn store_built_in(
    app: &motiond::App,
    motions: &MotionService,
    key: &str,
    bvh: &[u8],
    build_format: u32,
) {
    use motion_core::domain::{FileRole, MotionFiles, NewFile, OfficialMotionInput, OnExisting};
    let zip =
        |entries: &[(&str, &[u8])]| motion_capture::export::archive::zip_entries(entries).unwrap();
    let files = [
        (
            "motion.mp4",
            "video/mp4",
            FileRole::Preview,
            b"old preview".to_vec(),
        ),
        (
            "cover.jpg",
            "image/jpeg",
            FileRole::Cover,
            b"old cover".to_vec(),
        ),
        (
            "bvh.zip",
            "application/zip",
            FileRole::BvhZip,
            zip(&[("motion.bvh", bvh)]),
        ),
        (
            "binary.zip",
            "application/zip",
            FileRole::BinaryZip,
            zip(&[("motion.glb", b"glTF"), ("joints.json", b"{}")]),
        ),
    ];
    let mut stored = Vec::new();
    for (name, content_type, role, bytes) in files {
        let blob_key = motion_core::blob_keys::official(key, "old", name);
        app.blobs.put_bytes(&blob_key, &bytes).await.unwrap();
        stored.push(NewFile {
            fid: motion_core::ids::new_fid(),
            blob_key,
            name: name.into(),
            content_type: content_type.into(),
            size: bytes.len() as u64,
            sha256: motion_core::ids::sha256_hex(&bytes),
            role,
            width: 0,
            height: 0,
            duration_ms: 0,
        });
    }
    let [preview, cover, bvh_zip, binary_zip]: [NewFile; 4] = stored.try_into().unwrap();
    let input = OfficialMotionInput {
        catalog_key: key.into(),
        name: format!("Old {key}"),
        tag: "dance".into(),
        files: MotionFiles {
            preview,
            cover,
            bvh_zip,
            binary_zip,
        },
        build_format,
    };
    motions
        .upsert_official(&input, OnExisting::Replace)
        .await
        .unwrap()
        .unwrap();
}

/// The entry names of a served zip.
async fn served_zip(
    app: &motiond::App,
    f: &motion_core::domain::StoredFile,
) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let (status, _, body) = get(app, &format!("/files/{}/{}", f.fid, f.name)).await;
    assert_eq!(status, StatusCode::OK);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut e = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (e.name().to_string(), bytes)
        })
        .collect()
}

/// Where the rebuild tests build official motions: tiny, short previews, which they do not
/// look at.
fn small_build_target<'a>(
    app: &'a motiond::App,
    motions: &'a MotionService,
    tmp_dir: &'a std::path::Path,
) -> CatalogTarget<'a> {
    CatalogTarget {
        motions,
        blobs: app.blobs.as_ref(),
        tmp_dir,
        build: BuildOptions {
            width: 64,
            height: 64,
            max_fps: 5.0,
            ..BuildOptions::default()
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn motions_an_older_version_built_are_rebuilt_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let config = motiond::Config::for_data_dir(dir.path());
    let (app, motions) = app_and_motions(config).await;
    let tmp_dir = dir.path().join("catalog-tmp");
    let target = small_build_target(&app, &motions, &tmp_dir);
    let cancel = CancellationToken::new();
    // A data directory an older version seeded: every bundled motion in format 1, plus one the
    // operator imported from their own BVH (the mixamorig test clip), and one they removed.
    let own = operators_own_bvh();
    store_old_format(&app, &motions, "my-dance", &own).await;
    let bundled = bundled_catalog().unwrap();
    for e in &bundled {
        let clip = motiond::motions_cmd::bundled_clip(&e.file).unwrap();
        store_old_format(&app, &motions, &e.key, &clip).await;
    }
    let removed = bundled[0].key.clone();
    assert!(motions.remove_official(&removed).await.unwrap());
    let before = motions.official().await.unwrap();

    let report = seed_catalog(&target, &cancel).await.expect("seed");
    assert!(report.added.is_empty(), "{report:?}");
    assert!(report.not_rebuilt.is_empty(), "{report:?}");
    let mut rebuilt = report.rebuilt.clone();
    rebuilt.sort();
    let mut expected: Vec<String> = before.iter().map(|m| m.catalog_key.clone()).collect();
    expected.sort();
    assert_eq!(rebuilt, expected);

    let after = motions.official().await.unwrap();
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|m| m.catalog_key != removed),
        "removed stays removed"
    );
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(
            (&new.catalog_key, new.work_id, &new.name, &new.tag),
            (&old.catalog_key, old.work_id, &old.name, &old.tag)
        );
        assert_eq!(new.build_format, motion_capture::catalog::BUILD_FORMAT);
        let bvh = served_zip(&app, &new.bvh_zip).await;
        assert_eq!(bvh.len(), 1);
        let parsed = motion_capture::bvh::parse(&bvh[0].1).unwrap();
        assert_eq!(parsed.joints.len(), 22, "{}", new.catalog_key);
        let names: Vec<String> = served_zip(&app, &new.binary_zip)
            .await
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, ["motion.glb", "landmarks.json"]);
        // The old blobs are gone.
        assert!(
            app.blobs
                .get(&old.bvh_zip.blob_key, None)
                .await
                .unwrap()
                .is_none()
        );
    }
    // Rebuilt once: the next start leaves them alone.
    let again = seed_catalog(&target, &cancel).await.expect("second seed");
    assert!(again.rebuilt.is_empty() && again.added.is_empty());
}

/// The motion build format `format` (2 or 3) made of `bvh`.
fn built_in(format: u32, bvh: &[u8]) -> motion_capture::animation::Animation {
    let reading = motion_capture::catalog::reading_of_format(format).unwrap();
    let parsed = motion_capture::bvh::parse(bvh).unwrap();
    parsed.retarget_reading(reading).unwrap().animation
}

/// `motion.bvh` of `a`.
fn written(a: &motion_capture::animation::Animation) -> Vec<u8> {
    motion_capture::export::bvh::to_bvh(a).into_bytes()
}

/// Format `format`'s build of `clip` with its left hand turned 30° about its bone: an operator's
/// mend of a bundled motion, whose joints are where the clip's are.
fn hand_mended(format: u32, clip: &[u8]) -> Vec<u8> {
    use motion_capture::animation::{joint, math::Quat};
    let mut mended = built_in(format, clip);
    let about_the_bone = Quat::from_axis_angle([1.0, 0.0, 0.0], 30f32.to_radians());
    for f in &mut mended.frames {
        f.rotations[joint::LEFT_HAND] = f.rotations[joint::LEFT_HAND].compose(about_the_bone);
    }
    written(&mended)
}

/// A BVH of the operator's own (the mixamorig test clip).
fn operators_own_bvh() -> Vec<u8> {
    let testdata =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/bvh");
    std::fs::read(testdata.join("bvhtoolbox_test_freebvh_mixamorig.bvh")).unwrap()
}

/// Formats 2 and 3 kept a motion on the engine's skeleton: 2 with its hands averaged over time
/// as a video's, 3 with its forearms twisted from where the body's front put the thumbs. A
/// bundled motion stored exactly as its format built it is rebuilt from its bundled clip. An
/// operator's own motion is kept as it is, in its format, start after start: the bundled clip
/// with its hand mended under the clip's key (its joints are where the clip's are), and their
/// own clip under their own key (rebuilt from its stored file, it would only read back as it
/// is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn motions_built_in_formats_2_and_3_are_rebuilt_only_from_a_bundled_clip_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let config = motiond::Config::for_data_dir(dir.path());
    let (app, motions) = app_and_motions(config).await;
    let tmp_dir = dir.path().join("catalog-tmp");
    let target = small_build_target(&app, &motions, &tmp_dir);
    let bundled = bundled_catalog().unwrap();
    let (ours, mended) = ([&bundled[0], &bundled[2]], &bundled[1]);
    let mut clips = Vec::new();
    for (entry, format) in ours.iter().zip([2, 3]) {
        let clip = motiond::motions_cmd::bundled_clip(&entry.file).unwrap();
        let stored = written(&built_in(format, &clip));
        store_built_in(&app, &motions, &entry.key, &stored, format).await;
        clips.push(clip);
    }
    let other = motiond::motions_cmd::bundled_clip(&mended.file).unwrap();
    store_built_in(&app, &motions, &mended.key, &hand_mended(3, &other), 3).await;
    let own = operators_own_bvh();
    store_built_in(&app, &motions, "my-dance", &written(&built_in(2, &own)), 2).await;
    let before = motions.official().await.unwrap();

    let cancel = CancellationToken::new();
    let report = seed_catalog(&target, &cancel).await.expect("seed");
    assert!(report.not_rebuilt.is_empty(), "{report:?}");
    let mut rebuilt = report.rebuilt.clone();
    rebuilt.sort();
    let mut expected = ours.map(|e| e.key.clone());
    expected.sort();
    assert_eq!(rebuilt, expected);
    let after = motions.official().await.unwrap();
    let find = |list: &[motion_core::domain::OfficialMotion], key: &str| {
        list.iter().find(|m| m.catalog_key == key).unwrap().clone()
    };
    // Ours are the clips' retargeting as it is made now.
    for (entry, clip) in ours.iter().zip(&clips) {
        let rebuilt = find(&after, &entry.key);
        assert_eq!(rebuilt.build_format, motion_capture::catalog::BUILD_FORMAT);
        let served = served_zip(&app, &rebuilt.bvh_zip).await;
        let now = motion_capture::bvh::parse(clip)
            .unwrap()
            .retarget()
            .unwrap();
        let now_bvh = motion_capture::export::bvh::to_bvh(&now.animation);
        assert_eq!(served[0].1, now_bvh.as_bytes(), "{}", entry.key);
    }
    // The operator's motions are as they stored them.
    for key in [mended.key.as_str(), "my-dance"] {
        let (kept, was) = (find(&after, key), find(&before, key));
        assert_eq!(kept, was, "{key}");
    }
    // And stay so at the next start, with nothing more rebuilt.
    let again = seed_catalog(&target, &cancel).await.expect("second seed");
    assert!(
        again.rebuilt.is_empty() && again.not_rebuilt.is_empty(),
        "{again:?}"
    );
    let now = motions.official().await.unwrap();
    for key in [mended.key.as_str(), "my-dance"] {
        assert_eq!(find(&now, key), find(&before, key), "{key}");
    }
}

/// A bundled motion whose `bvh.zip` is gone (a blob folder restored without it, a file removed
/// by hand) is rebuilt from its bundled clip, from format 1 or 3 alike, and served whole again.
/// An operator's own motion, under a bundled key (the clip with a hand mended in format 2, their
/// own BVH in format 1) or under their own key (formats 1 and 2), has nothing to be rebuilt
/// from: it keeps its other files, and is reported, start after start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundled_motion_whose_bvh_zip_is_gone_is_rebuilt_from_its_clip() {
    let dir = tempfile::tempdir().unwrap();
    let config = motiond::Config::for_data_dir(dir.path());
    let (app, motions) = app_and_motions(config).await;
    let tmp_dir = dir.path().join("catalog-tmp");
    let target = small_build_target(&app, &motions, &tmp_dir);
    let bundled = bundled_catalog().unwrap();
    let (lost, mended, replaced) = ([&bundled[0], &bundled[1]], &bundled[2], &bundled[3]);
    let mut clips = Vec::new();
    for (entry, format) in lost.iter().zip([1, 3]) {
        let clip = motiond::motions_cmd::bundled_clip(&entry.file).unwrap();
        let stored = match format {
            1 => clip.clone(),
            _ => written(&built_in(format, &clip)),
        };
        store_built_in(&app, &motions, &entry.key, &stored, format).await;
        clips.push(clip);
    }
    let other = motiond::motions_cmd::bundled_clip(&mended.file).unwrap();
    store_built_in(&app, &motions, &mended.key, &hand_mended(2, &other), 2).await;
    let own = operators_own_bvh();
    store_old_format(&app, &motions, "my-dance", &own).await;
    store_old_format(&app, &motions, &replaced.key, &own).await;
    store_built_in(&app, &motions, "my-jump", &written(&built_in(2, &own)), 2).await;
    let before = motions.official().await.unwrap();
    for m in &before {
        app.blobs.delete(&m.bvh_zip.blob_key).await.unwrap();
    }

    let cancel = CancellationToken::new();
    let report = motiond::motions_cmd::rebuild_catalog(&target, &cancel)
        .await
        .expect("rebuild");
    let sorted = |keys: &[String]| {
        let mut keys = keys.to_vec();
        keys.sort();
        keys
    };
    assert_eq!(
        sorted(&report.rebuilt),
        sorted(&lost.map(|e| e.key.clone()))
    );
    let kept = [
        mended.key.clone(),
        replaced.key.clone(),
        "my-dance".to_string(),
        "my-jump".to_string(),
    ];
    assert_eq!(sorted(&report.not_rebuilt), sorted(&kept));
    let after = motions.official().await.unwrap();
    for (entry, clip) in lost.iter().zip(&clips) {
        let m = after.iter().find(|m| m.catalog_key == entry.key).unwrap();
        assert_eq!(m.build_format, motion_capture::catalog::BUILD_FORMAT);
        let served = served_zip(&app, &m.bvh_zip).await;
        let now = motion_capture::bvh::parse(clip)
            .unwrap()
            .retarget()
            .unwrap();
        let now_bvh = motion_capture::export::bvh::to_bvh(&now.animation);
        assert_eq!(served[0].1, now_bvh.as_bytes(), "{}", entry.key);
    }
    for key in &kept {
        let find = |list: &[motion_core::domain::OfficialMotion]| {
            list.iter().find(|m| &m.catalog_key == key).cloned()
        };
        assert_eq!(find(&after), find(&before), "{key}");
        let binary = find(&after).unwrap().binary_zip;
        let (status, _, _) = get(&app, &format!("/files/{}/{}", binary.fid, binary.name)).await;
        assert_eq!(status, StatusCode::OK, "{key}: its other files stay");
    }

    // Mended once: the next start rebuilds nothing of them, and says the others again.
    let again = motiond::motions_cmd::rebuild_catalog(&target, &cancel)
        .await
        .expect("second rebuild");
    assert!(again.rebuilt.is_empty(), "{again:?}");
    assert_eq!(sorted(&again.not_rebuilt), sorted(&kept));
}

/// `catalog.seed = false` leaves the bundled catalog out, not the rebuild: an operator's own
/// official motion stored by an older version still gets the contract's files at the start.
#[tokio::test]
async fn an_installation_that_does_not_seed_still_gets_its_motions_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = motiond::Config::for_data_dir(dir.path());
    config.catalog.seed = false;
    let (app, motions) = app_and_motions(config).await;
    let own = operators_own_bvh();
    store_old_format(&app, &motions, "my-dance", &own).await;

    let cancel = CancellationToken::new();
    let report = motiond::motions_cmd::seed_app_catalog(&app, &cancel)
        .await
        .expect("seed");
    assert!(report.added.is_empty(), "{report:?}");
    assert_eq!(report.rebuilt, ["my-dance"]);
    let official = motions.official().await.unwrap();
    assert_eq!(official.len(), 1, "no bundled motion added");
    assert_eq!(
        official[0].build_format,
        motion_capture::catalog::BUILD_FORMAT
    );
}

/// Two processes starting together on a data directory an older version seeded (here two
/// applications on one data directory, as two processes open it): one rebuilds the old motion
/// while the other waits for it under the catalog's lock, and then finds nothing to rebuild
/// (each rebuilt every official motion: the same result, the work twice). A seeding that finds
/// the lock taken (by another process's seeding) waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_rebuild_the_catalog_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = motiond::Config::for_data_dir(dir.path());
    config.catalog.seed = false;
    let (first, motions) = app_and_motions(config.clone()).await;
    let (second, _) = app_and_motions(config).await;
    let own = operators_own_bvh();
    store_old_format(&first, &motions, "my-dance", &own).await;

    let another_process =
        std::fs::File::create(dir.path().join("motiond.db.catalog.lock")).unwrap();
    another_process.lock().unwrap();
    let cancel = CancellationToken::new();
    let both = async {
        tokio::join!(
            motiond::motions_cmd::seed_app_catalog(&first, &cancel),
            motiond::motions_cmd::seed_app_catalog(&second, &cancel),
        )
    };
    tokio::pin!(both);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(500), &mut both).await;
    assert!(waited.is_err(), "they wait while another process seeds");
    drop(another_process);
    let (a, b) = both.await;
    let mut rebuilt = [a.expect("seed").rebuilt, b.expect("seed").rebuilt];
    rebuilt.sort();
    assert_eq!(rebuilt, [vec![], vec!["my-dance".to_string()]]);
}
