//! The local-folder blob store: round trip, ranges, atomic replace, key safety.

use motion_core::ports::BlobStore;
use motion_storage::FsBlobStore;
use tokio::io::AsyncReadExt;

async fn read_all(
    store: &FsBlobStore,
    key: &str,
    range: Option<std::ops::Range<u64>>,
) -> (Vec<u8>, u64, std::ops::Range<u64>) {
    let mut read = store.get(key, range).await.unwrap().expect("blob present");
    let mut out = Vec::new();
    read.reader.read_to_end(&mut out).await.unwrap();
    (out, read.total_len, read.range)
}

#[tokio::test]
async fn blob_round_trip_with_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(&dir.path().join("blobs")).await.unwrap();
    store.ping().await.unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    store
        .put_bytes("results/1/tok/bvh.zip", &data)
        .await
        .unwrap();
    let (all, len, range) = read_all(&store, "results/1/tok/bvh.zip", None).await;
    assert_eq!((all.len(), len, range), (100_000, 100_000, 0..100_000));
    assert_eq!(all, data);
    let (mid, _, _) = read_all(&store, "results/1/tok/bvh.zip", Some(10..20)).await;
    assert_eq!(mid, data[10..20]);
    let (tail, len, range) = read_all(&store, "results/1/tok/bvh.zip", Some(99_990..200_000)).await;
    assert_eq!(
        (tail.as_slice(), len, range),
        (&data[99_990..], 100_000, 99_990..100_000)
    );

    // put_file, replace, copy out
    let src = dir.path().join("src.bin");
    tokio::fs::write(&src, b"hello world").await.unwrap();
    store.put_file("assets/1/2/a.mp4", &src).await.unwrap();
    store
        .put_bytes("assets/1/2/a.mp4", b"replaced")
        .await
        .unwrap();
    let out = dir.path().join("copy.bin");
    assert!(store.copy_to_file("assets/1/2/a.mp4", &out).await.unwrap());
    assert_eq!(tokio::fs::read(&out).await.unwrap(), b"replaced");

    // delete is idempotent; absent reads are None
    store.delete("assets/1/2/a.mp4").await.unwrap();
    store.delete("assets/1/2/a.mp4").await.unwrap();
    // The folders a delete leaves empty go, a folder with other blobs and the top-level
    // folder stay, and a write into a pruned folder makes it again.
    let blobs = dir.path().join("blobs");
    assert!(!blobs.join("assets/1").exists(), "empty folders pruned");
    assert!(blobs.join("assets").is_dir());
    store.put_bytes("assets/1/3/a.mp4", b"a").await.unwrap();
    store.put_bytes("assets/1/4/b.mp4", b"b").await.unwrap();
    store.delete("assets/1/3/a.mp4").await.unwrap();
    assert!(!blobs.join("assets/1/3").exists());
    assert!(blobs.join("assets/1/4/b.mp4").is_file(), "a sibling stays");
    store.delete("assets/1/4/b.mp4").await.unwrap();
    store.put_bytes("assets/1/4/b.mp4", b"again").await.unwrap();
    assert_eq!(
        tokio::fs::read(blobs.join("assets/1/4/b.mp4"))
            .await
            .unwrap(),
        b"again"
    );
    store.delete("assets/1/4/b.mp4").await.unwrap();
    assert!(store.get("assets/1/2/a.mp4", None).await.unwrap().is_none());
    assert!(!store.copy_to_file("assets/1/2/a.mp4", &out).await.unwrap());
    // no temp files left behind
    let mut tmp = tokio::fs::read_dir(dir.path().join("blobs/.tmp"))
        .await
        .unwrap();
    assert!(tmp.next_entry().await.unwrap().is_none());
}

#[tokio::test]
async fn unsafe_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).await.unwrap();
    for key in ["../escape", "/etc/passwd", "a/../../b", "", "a//b"] {
        assert!(store.put_bytes(key, b"x").await.is_err(), "{key}");
        assert!(store.get(key, None).await.is_err(), "{key}");
    }
    assert!(!dir.path().parent().unwrap().join("escape").exists());
}

/// Blobs are people's videos and motions: new folders and files are owner-only whatever the
/// umask, and a folder left open by an earlier version is closed to other users (its group
/// keeps what the operator gave it).
#[tokio::test]
async fn blobs_are_private_and_an_open_root_is_closed() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = root.join("old.bin");
    std::fs::write(&old, b"earlier version").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();

    let store = FsBlobStore::open(&root).await.unwrap();
    assert_eq!(mode(&root), 0o750, "others lose access, the group keeps it");
    store
        .put_bytes("u/1/motion.bvh", b"HIERARCHY")
        .await
        .unwrap();
    assert_eq!(mode(&root.join("u")), 0o700);
    assert_eq!(mode(&root.join("u/1")), 0o700);
    assert_eq!(mode(&root.join("u/1/motion.bvh")), 0o600);
}

/// A process killed while writing a blob leaves the partial file in `.tmp` (a piece of a user's
/// upload, kept for good): the next start removes it, and leaves a young one, which may be
/// another process' write in progress.
#[tokio::test]
async fn partial_writes_of_a_killed_process_go_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    drop(FsBlobStore::open(&root).await.unwrap());
    let (left, writing) = (
        root.join(".tmp/left-by-a-crash"),
        root.join(".tmp/being-written"),
    );
    for file in [&left, &writing] {
        std::fs::write(file, b"half an upload").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&left)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();

    FsBlobStore::open(&root).await.unwrap();

    assert!(!left.exists());
    assert!(writing.exists());
}

/// A key is absent for good only under a reachable folder. With the folder moved away for a
/// moment every key looks absent: that is an outage (`Unavailable`, retried), not a deleted
/// blob (`None`, which fails a task at once); a delete must not count as done, and a write
/// must not make an empty folder where the real one is to come back.
#[tokio::test]
async fn a_missing_folder_is_unavailable_not_absent() {
    use motion_core::ports::StoreError;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = FsBlobStore::open(&root).await.unwrap();
    store.put_bytes("assets/1/2/a.mp4", b"video").await.unwrap();
    let away = dir.path().join("away");
    std::fs::rename(&root, &away).unwrap();

    let unavailable = |r: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{what}: {r:?}"
        );
    };
    unavailable(store.get("assets/1/2/a.mp4", None).await.map(|_| ()), "get");
    let out = dir.path().join("copy.bin");
    unavailable(
        store
            .copy_to_file("assets/1/2/a.mp4", &out)
            .await
            .map(|_| ()),
        "copy",
    );
    unavailable(store.delete("assets/1/2/a.mp4").await, "delete");
    unavailable(store.put_bytes("assets/1/3/b.mp4", b"new").await, "put");
    unavailable(store.ping().await, "ping");
    assert!(
        !root.exists(),
        "no empty folder made in the real one's place"
    );

    std::fs::rename(&away, &root).unwrap();
    let (bytes, _, _) = read_all(&store, "assets/1/2/a.mp4", None).await;
    assert_eq!(bytes, b"video", "back with its folder");
    assert!(store.get("assets/1/2/b.mp4", None).await.unwrap().is_none());
}

/// Listing in pages visits every key once, in one order, however the pages are cut, and a
/// page resumes after its cursor even when that key was deleted meanwhile.
#[tokio::test]
async fn keys_are_listed_in_pages_that_resume_after_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).await.unwrap();
    // `a-c` sorts before `a/b` as bytes but after the folder `a` in a walk: the order must be
    // one that both the walk and the cursor agree on.
    let keys = [
        "results/a/b.mp4",
        "results/a-c.mp4",
        "results/a/c/d.zip",
        "results/b.jpg",
        "results/a/c/e.zip",
        "assets/x.mp4",
    ];
    for key in keys {
        store.put_bytes(key, b"x").await.unwrap();
    }
    let all: Vec<String> = store
        .list_keys("results/", None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        all,
        [
            "results/a/b.mp4",
            "results/a/c/d.zip",
            "results/a/c/e.zip",
            "results/a-c.mp4",
            "results/b.jpg"
        ]
    );
    for page in 1..=3 {
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let listed = store
                .list_keys("results/", after.as_deref(), page)
                .await
                .unwrap();
            assert!(listed.len() <= page);
            let Some((last, _)) = listed.last().cloned() else {
                break;
            };
            paged.extend(listed.into_iter().map(|(key, _)| key));
            // The cursor's own blob going away does not lose the keys after it.
            store.delete(&last).await.unwrap();
            after = Some(last);
        }
        assert_eq!(paged, all, "pages of {page}");
        for key in &all {
            store.put_bytes(key, b"x").await.unwrap();
        }
    }
}
