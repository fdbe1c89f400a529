//! The official motion catalog: `motiond motions import|list|remove`, and [`seed_catalog`],
//! which `serve` calls at start to add the bundled clips of `catalog/` (embedded in the binary).
//!
//! An official motion is built by `motion_capture::catalog` (preview, cover, bvh.zip,
//! binary.zip) in a temporary directory, its files are stored as blobs under fresh keys, and
//! `MotionService::upsert_official` records it under the stable workId of its catalog key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use motion_capture::catalog::{self, BuildOptions, BuiltMotion};
use motion_capture::engine::{Engine, ExtractOptions};
use motion_capture::held_dir::{self, HeldDir};
use motion_capture::media::Container;
use motion_core::blob_keys;
use motion_core::clock::{Clock, SystemClock};
use motion_core::domain::{
    FileRole, MotionFiles, NewFile, OfficialMotion, OfficialMotionInput, OnExisting,
};
use motion_core::ids::{new_fid, new_file_stem, official_work_id, sha256_hex};
use motion_core::ports::BlobStore;
use motion_core::services::motions::MotionService;
use rust_embed::RustEmbed;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::cli::{CommandFailed, RefusedInput, load_config, print_report};
use crate::config::{Config, Sources};

/// The bundled clips (`catalog/bvh/*.bvh`), embedded at build time.
#[derive(RustEmbed)]
#[folder = "../../catalog/bvh/"]
struct CatalogClips;

const CATALOG_TOML: &str = include_str!("../../../catalog/catalog.toml");

/// Tags the studio groups the library by.
pub const TAGS: [&str; 4] = ["basic", "dance", "sport", "gesture"];

#[derive(Debug, Args)]
pub struct MotionsArgs {
    #[command(subcommand)]
    pub command: MotionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum MotionsCommand {
    /// Add an official motion from a BVH file or a video of a person (`--replace` to replace one).
    Import(ImportArgs),
    /// List the official motions.
    List,
    /// Add the bundled catalog entries that are missing, except those removed (what `serve`
    /// does at start).
    Seed,
    /// Remove an official motion by its catalog key. A bundled one stays removed at later
    /// starts; `motions import` of its key brings it back.
    Remove {
        /// The catalog key shown by `motiond motions list`.
        key: String,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A `.bvh` file, or an `.mp4`/`.mov` video of one person (extracted with the engine).
    pub file: PathBuf,
    /// Name shown to users (`workName`).
    #[arg(long)]
    pub name: String,
    /// Library group: basic, dance, sport or gesture.
    #[arg(long)]
    pub tag: String,
    /// Stable catalog key (lowercase letters, digits, `-`); derived from the name if omitted.
    #[arg(long)]
    pub key: Option<String>,
    /// Replace the official motion that already has this key (it keeps its workId). Without
    /// it, importing onto an existing key is refused.
    #[arg(long)]
    pub replace: bool,
}

impl ImportArgs {
    /// The catalog key, checked with the other arguments before anything is opened or built.
    fn checked_key(&self) -> anyhow::Result<String> {
        let name_ok = !self.name.trim().is_empty()
            && self.name.chars().count() <= MAX_NAME_CHARS
            && !self.name.chars().any(char::is_control);
        if !name_ok {
            bail!(
                "--name must be 1-{MAX_NAME_CHARS} characters without control characters (a newline, a tab)"
            );
        }
        check_tag(&self.tag)?;
        let key = match &self.key {
            Some(key) => key.clone(),
            None => key_from_name(&self.name),
        };
        if self.key.is_none() && key.is_empty() {
            bail!("--name {:?} gives no catalog key: pass --key", self.name);
        }
        check_key(&key)?;
        let meta =
            std::fs::metadata(&self.file).with_context(|| format!("{}", self.file.display()))?;
        if !meta.is_file() {
            bail!("{} is not a file", self.file.display());
        }
        Ok(key)
    }
}

/// Longest `workName` of an official motion (what the studio's cards and the CLI's list show).
const MAX_NAME_CHARS: usize = 100;

/// One entry of `catalog/catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub key: String,
    pub name: String,
    pub tag: String,
    pub file: String,
    pub source: String,
    pub license: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    motion: Vec<CatalogEntry>,
}

/// The bundled catalog, checked: unique valid keys, known tags, every file embedded.
pub fn bundled_catalog() -> anyhow::Result<Vec<CatalogEntry>> {
    let file: CatalogFile = toml::from_str(CATALOG_TOML).context("catalog/catalog.toml")?;
    let mut seen = std::collections::HashSet::new();
    for e in &file.motion {
        check_key(&e.key)?;
        check_tag(&e.tag)?;
        if !seen.insert(e.key.as_str()) {
            bail!("catalog key {:?} appears twice", e.key);
        }
        if CatalogClips::get(&e.file).is_none() {
            bail!(
                "catalog entry {:?}: file {:?} is not in catalog/bvh",
                e.key,
                e.file
            );
        }
    }
    Ok(file.motion)
}

/// The bytes of a bundled clip.
pub fn bundled_clip(file: &str) -> Option<Vec<u8>> {
    CatalogClips::get(file).map(|f| f.data.into_owned())
}

fn check_key(key: &str) -> anyhow::Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !key.starts_with('-');
    if !ok {
        bail!("catalog key {key:?} must be 1-64 lowercase letters, digits or '-'");
    }
    Ok(())
}

fn check_tag(tag: &str) -> anyhow::Result<()> {
    if !TAGS.contains(&tag) {
        bail!("tag {tag:?} is not one of {}", TAGS.join(", "));
    }
    Ok(())
}

/// A key from a display name: "Zombie walk!" → "zombie-walk".
pub fn key_from_name(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    key.trim_end_matches('-').chars().take(64).collect()
}

/// Where official motions go: the same services `serve` uses.
pub struct CatalogTarget<'a> {
    pub motions: &'a MotionService,
    pub blobs: &'a dyn BlobStore,
    /// Scratch space for building (a fresh directory is made inside per motion).
    pub tmp_dir: &'a Path,
    pub build: BuildOptions,
}

/// What [`seed_catalog`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Keys added by this call.
    pub added: Vec<String>,
    /// Bundled entries that were already present (left untouched).
    pub present: usize,
    /// Official motions (bundled or imported) whose files an older version built, rebuilt in
    /// the current format ([`catalog::BUILD_FORMAT`]).
    pub rebuilt: Vec<String>,
    /// Official motions whose rebuild failed: they keep their old files until the next try.
    pub not_rebuilt: Vec<String>,
}

/// Adds every bundled catalog entry whose key is not in the database yet, except those an
/// operator removed, and rebuilds the official motions an older version built in an older
/// format ([`rebuild_outdated`]). Idempotent: a second call adds and rebuilds nothing.
pub async fn seed_catalog(
    target: &CatalogTarget<'_>,
    cancel: &CancellationToken,
) -> anyhow::Result<SeedReport> {
    let entries = bundled_catalog()?;
    let official = target
        .motions
        .official()
        .await
        .context("listing official motions")?;
    let existing: std::collections::HashSet<&str> =
        official.iter().map(|m| m.catalog_key.as_str()).collect();
    // An operator's `motions remove` is not undone at the next start.
    let removed: std::collections::HashSet<String> = target
        .motions
        .removed_official_keys()
        .await
        .context("listing removed official motions")?
        .into_iter()
        .collect();
    let mut report = SeedReport::default();
    for entry in entries {
        if removed.contains(&entry.key) {
            continue;
        }
        if existing.contains(entry.key.as_str()) {
            report.present += 1;
            continue;
        }
        let bytes =
            bundled_clip(&entry.file).with_context(|| format!("bundled clip {}", entry.file))?;
        let started = std::time::Instant::now();
        let seed_as = ImportAs {
            key: &entry.key,
            name: &entry.name,
            tag: &entry.tag,
            on_existing: OnExisting::Keep,
        };
        let seeded = import_bvh(target, &seed_as, &bytes, cancel)
            .await
            .with_context(|| format!("seeding official motion {:?}", entry.key))?;
        if seeded.is_none() {
            // Another process (a second worker starting) seeded it meanwhile.
            report.present += 1;
            continue;
        }
        tracing::info!(key = %entry.key, elapsed_ms = started.elapsed().as_millis() as u64, "official motion seeded");
        report.added.push(entry.key);
    }
    rebuild_outdated(target, &mut report, cancel).await?;
    Ok(report)
}

/// Only the rebuild of [`seed_catalog`]: an installation that does not seed the bundled
/// catalog (`catalog.seed = false`) still gets its official motions in the contract's files.
pub async fn rebuild_catalog(
    target: &CatalogTarget<'_>,
    cancel: &CancellationToken,
) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    rebuild_outdated(target, &mut report, cancel).await?;
    Ok(report)
}

/// Rebuilds in place the official motions whose files are in an older format than
/// [`catalog::BUILD_FORMAT`] (an installation seeded by an earlier version), bundled or imported
/// alike, from their source where they have one ([`rebuild_source`]). Each keeps its key,
/// workId, name and tag: the new files are stored first, the motion is switched to them in one
/// write, and the old ones are removed after, so a failed or interrupted rebuild leaves the
/// motion as it was (tried again at the next start). One the operator removed or
/// imported again meanwhile stays as the operator left it.
async fn rebuild_outdated(
    target: &CatalogTarget<'_>,
    report: &mut SeedReport,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let official = target
        .motions
        .official()
        .await
        .context("listing official motions")?;
    for m in official
        .iter()
        .filter(|m| m.build_format < catalog::BUILD_FORMAT)
    {
        let started = std::time::Instant::now();
        match rebuild(target, m, cancel).await {
            Ok(Some(_)) => {
                tracing::info!(key = %m.catalog_key, from_format = m.build_format, elapsed_ms = started.elapsed().as_millis() as u64, "official motion rebuilt");
                report.rebuilt.push(m.catalog_key.clone());
            }
            // Removed or imported again while it was rebuilt, or kept: nothing to rebuild from.
            Ok(None) => {}
            Err(_) if cancel.is_cancelled() => bail!("cancelled"),
            Err(_) if !still_stored(target, m).await => {} // as Ok(None): its files went with it
            Err(e) => {
                tracing::warn!(key = %m.catalog_key, error = %format!("{e:#}"), "official motion keeps its old files: the rebuild failed (fix the cause, or import the key again from another BVH with `motiond motions import --replace`, or remove it with `motiond motions remove`)");
                report.not_rebuilt.push(m.catalog_key.clone());
            }
        }
    }
    Ok(())
}

/// Whether `m` is still stored as it was listed (not removed, nor imported again): a rebuild
/// that failed because its source went away meanwhile failed for nothing to rebuild.
async fn still_stored(target: &CatalogTarget<'_>, m: &OfficialMotion) -> bool {
    let Ok(official) = target.motions.official().await else {
        return true; // cannot tell: report the failure
    };
    official
        .iter()
        .any(|o| o.catalog_key == m.catalog_key && o.bvh_zip.fid == m.bvh_zip.fid)
}

async fn rebuild(
    target: &CatalogTarget<'_>,
    m: &OfficialMotion,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<OfficialMotion>> {
    let Some(source) = rebuild_source(target, m).await? else {
        return Ok(None);
    };
    let rebuild_as = ImportAs {
        key: &m.catalog_key,
        name: &m.name,
        tag: &m.tag,
        on_existing: OnExisting::ReplaceIfStill {
            bvh_fid: m.bvh_zip.fid.clone(),
        },
    };
    import_bvh(target, &rebuild_as, &source, cancel).await
}

/// The BVH an outdated official motion is rebuilt from, if any. Format 1 kept the source as it
/// came in `bvh.zip`. Formats 2 and 3 kept the motion on the engine's skeleton there (see
/// [`bundled_source_of_build`]). A motion whose `bvh.zip` is gone is rebuilt from its bundled
/// clip when it was that clip's build ([`clip_of_lost_build`]).
async fn rebuild_source(
    target: &CatalogTarget<'_>,
    m: &OfficialMotion,
) -> anyhow::Result<Option<Vec<u8>>> {
    match m.build_format {
        0 | 1 => match source_bvh_of(target, m).await? {
            Some(stored) => Ok(Some(stored)),
            None => clip_of_lost_build(m).await.map(Some),
        },
        format @ (2 | 3) => bundled_source_of_build(target, m, format).await,
        _ => Ok(None),
    }
}

/// The bundled clip a format-2 or format-3 motion is rebuilt from, if any. Read back, its
/// `bvh.zip` would only give the motion as it is (a little worse), so only a bundled motion is
/// rebuilt, from its bundled clip, and only when its stored file is exactly what its format
/// built from that clip: an operator's own import under a bundled key (the clip with its hands
/// mended, say) is kept as it is. A motion kept so stays in its format.
async fn bundled_source_of_build(
    target: &CatalogTarget<'_>,
    m: &OfficialMotion,
    format: u32,
) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(clip) = bundled_clip_of(&m.catalog_key)? else {
        // Kept; only said when its `bvh.zip` is gone, as format 1's. A look, not a read: kept
        // motions are looked at at every start.
        let key = &m.bvh_zip.blob_key;
        let present = (target.blobs.get(key, None).await)
            .with_context(|| format!("reading {key}"))?
            .is_some();
        if present {
            return Ok(None);
        }
        return clip_of_lost_build(m).await.map(Some);
    };
    let Some(stored) = source_bvh_of(target, m).await? else {
        return clip_of_lost_build(m).await.map(Some);
    };
    // Retargeting a 3000-frame clip to compare takes a second: off the async workers.
    tokio::task::spawn_blocking(move || {
        catalog::is_build_in_format(&stored, &clip, format).then_some(clip)
    })
    .await
    .context("comparing the stored motion with its bundled clip")
}

/// The bundled clip to rebuild `m` from, its `bvh.zip` being gone (a blob folder restored
/// without it, a file removed by hand): its downloads fail as it is, and before, its rebuild
/// failed at every start. Only a motion whose recorded `bvh.zip` is exactly the one its format
/// made of its key's bundled clip is rebuilt from that clip ([`was_built_from`]). Anything else,
/// an operator's own import under a bundled key or under their own, has nothing to be rebuilt
/// from, and a rebuild from the clip would throw its other files away: it fails, and the motion
/// is kept as it is and reported.
async fn clip_of_lost_build(m: &OfficialMotion) -> anyhow::Result<Vec<u8>> {
    let missing = format!("{} is missing from the blob store", m.bvh_zip.blob_key);
    let Some(clip) = bundled_clip_of(&m.catalog_key)? else {
        bail!(missing);
    };
    let recorded = m.clone();
    // Retargeting a 3000-frame clip takes a second: off the async workers.
    let (built_from_it, clip) =
        tokio::task::spawn_blocking(move || (was_built_from(&recorded, &clip), clip))
            .await
            .context("comparing the motion with its bundled clip")?;
    if !built_from_it {
        bail!("{missing}, and the motion is not its bundled clip's build");
    }
    Ok(clip)
}

/// Whether the `bvh.zip` recorded for `m` (by its sha256) is the one `m`'s format made of
/// `clip`: format 1 the clip as it came, formats 2 and 3 their build of it
/// ([`catalog::build_in_format`]), zipped by the engine's deterministic writer. A writer that
/// zips otherwise since gives no match: the motion is then kept, as before.
fn was_built_from(m: &OfficialMotion, clip: &[u8]) -> bool {
    let bvh = match m.build_format {
        0 | 1 => clip.to_vec(),
        format => match catalog::build_in_format(clip, format) {
            Some(built) => built.into_bytes(),
            None => return false,
        },
    };
    motion_capture::export::archive::zip_entries(&[(motion_capture::export::BVH_NAME, &bvh)])
        .is_ok_and(|zip| motion_core::ids::sha256_hex(&zip) == m.bvh_zip.sha256)
}

/// The bundled clip filed under catalog key `key`, if the key is a bundled one.
fn bundled_clip_of(key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(bundled_catalog()?
        .into_iter()
        .find(|e| e.key == key)
        .and_then(|e| bundled_clip(&e.file)))
}

/// The `motion.bvh` of an official motion's `bvh.zip`; `None` when the blob is gone.
async fn source_bvh_of(
    target: &CatalogTarget<'_>,
    m: &OfficialMotion,
) -> anyhow::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let key = &m.bvh_zip.blob_key;
    let Some(read) = target
        .blobs
        .get(key, None)
        .await
        .with_context(|| format!("reading {key}"))?
    else {
        return Ok(None);
    };
    let mut zip = Vec::new();
    read.reader
        .take(MAX_BVH_BYTES)
        .read_to_end(&mut zip)
        .await
        .with_context(|| format!("reading {key}"))?;
    motion_capture::export::archive::read_entry(
        &zip,
        motion_capture::export::BVH_NAME,
        MAX_BVH_BYTES,
    )
    .map(Some)
    .with_context(|| format!("the source BVH in {key}"))
}

/// How an imported motion is filed in the catalog.
pub struct ImportAs<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub tag: &'a str,
    /// What happens when `key` is taken by the time the motion is recorded.
    pub on_existing: OnExisting,
}

/// Builds and stores one official motion from BVH bytes; a motion with the same key is
/// replaced or kept as `import_as.on_existing` says (`None`: kept, nothing stored).
pub async fn import_bvh(
    target: &CatalogTarget<'_>,
    import_as: &ImportAs<'_>,
    bvh: &[u8],
    cancel: &CancellationToken,
) -> anyhow::Result<Option<OfficialMotion>> {
    check_key(import_as.key)?;
    check_tag(import_as.tag)?;
    let work = new_build_dir(target, BUILD_DIR_PREFIX)?;
    let built = catalog::build_from_bvh(bvh, work.path(), &target.build, cancel).await?;
    publish(target, import_as, &built).await
}

/// What every build folder's name starts with.
const BUILD_DIR_PREFIX: &str = "catalog-";

/// A fresh folder for one build (`kind` starts with [`BUILD_DIR_PREFIX`]), made after removing
/// what builds killed outright left in the scratch space: a kill -9 runs no clean-up, and
/// without a service's janitor nothing else would. Each folder is held while its build lives,
/// so a live build (another process' seeding or import) is told from a dead one whatever its
/// age, and the janitor's sweep by age leaves a long build alone too.
fn new_build_dir(target: &CatalogTarget<'_>, kind: &str) -> anyhow::Result<HeldDir> {
    debug_assert!(kind.starts_with(BUILD_DIR_PREFIX));
    std::fs::create_dir_all(target.tmp_dir)
        .with_context(|| format!("creating {}", target.tmp_dir.display()))?;
    held_dir::remove_abandoned(target.tmp_dir, BUILD_DIR_PREFIX);
    HeldDir::new_in(target.tmp_dir, kind)
        .with_context(|| format!("creating a build directory in {}", target.tmp_dir.display()))
}

/// Stores the built files as blobs and records the motion; when that fails, or the key is
/// kept, the blobs are removed.
async fn publish(
    target: &CatalogTarget<'_>,
    import_as: &ImportAs<'_>,
    built: &BuiltMotion,
) -> anyhow::Result<Option<OfficialMotion>> {
    let version = new_file_stem();
    let mut stored: Vec<String> = Vec::new();
    let result: anyhow::Result<Option<OfficialMotion>> = async {
        let mut files = Vec::with_capacity(4);
        for file in published_files(built) {
            files.push(
                store_file(
                    target,
                    &blob_keys::official(import_as.key, &version, file.name),
                    &file,
                    &mut stored,
                )
                .await?,
            );
        }
        let [preview, cover, bvh_zip, binary_zip]: [NewFile; 4] = files
            .try_into()
            .map_err(|_| anyhow::anyhow!("four files expected"))?;
        let input = OfficialMotionInput {
            catalog_key: import_as.key.to_string(),
            name: import_as.name.to_string(),
            tag: import_as.tag.to_string(),
            files: MotionFiles {
                preview,
                cover,
                bvh_zip,
                binary_zip,
            },
            build_format: catalog::BUILD_FORMAT,
        };
        target
            .motions
            .upsert_official(&input, import_as.on_existing.clone())
            .await
            .context("recording the official motion")
    }
    .await;
    if !matches!(result, Ok(Some(_))) {
        for k in &stored {
            if let Err(e) = target.blobs.delete(k).await {
                tracing::warn!(error = %e, "could not remove a blob of a failed import");
            }
        }
    }
    result
}

/// One file of a catalog motion as it is published.
struct PublishedFile<'a> {
    path: &'a Path,
    name: &'static str,
    content_type: &'static str,
    role: FileRole,
    width: u32,
    height: u32,
    duration_ms: u64,
}

/// The four files of a built motion, in the order of [`MotionFiles`].
fn published_files(built: &BuiltMotion) -> [PublishedFile<'_>; 4] {
    let (width, height) = (built.width, built.height);
    let archive = |path, name, role| PublishedFile {
        path,
        name,
        content_type: "application/zip",
        role,
        width: 0,
        height: 0,
        duration_ms: 0,
    };
    [
        PublishedFile {
            path: &built.preview,
            name: catalog::PREVIEW_NAME,
            content_type: "video/mp4",
            role: FileRole::Preview,
            width,
            height,
            duration_ms: (built.duration_s * 1000.0).round() as u64,
        },
        PublishedFile {
            path: &built.cover,
            name: catalog::COVER_NAME,
            content_type: "image/jpeg",
            role: FileRole::Cover,
            width,
            height,
            duration_ms: 0,
        },
        archive(&built.bvh_zip, catalog::BVH_ZIP_NAME, FileRole::BvhZip),
        archive(
            &built.binary_zip,
            catalog::BINARY_ZIP_NAME,
            FileRole::BinaryZip,
        ),
    ]
}

/// Stores `file` under `blob_key` (recorded in `stored`, so that a failed import can remove
/// it) and describes it for the database.
async fn store_file(
    target: &CatalogTarget<'_>,
    blob_key: &str,
    file: &PublishedFile<'_>,
    stored: &mut Vec<String>,
) -> anyhow::Result<NewFile> {
    let bytes = tokio::fs::read(file.path)
        .await
        .with_context(|| format!("reading {}", file.path.display()))?;
    target
        .blobs
        .put_file(blob_key, file.path)
        .await
        .with_context(|| format!("storing {}", file.name))?;
    stored.push(blob_key.to_owned());
    Ok(NewFile {
        fid: new_fid(),
        blob_key: blob_key.to_owned(),
        name: file.name.to_string(),
        content_type: file.content_type.to_string(),
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        role: file.role,
        width: file.width,
        height: file.height,
        duration_ms: file.duration_ms,
    })
}

/// `motiond motions import|list|remove`.
pub async fn run(args: MotionsArgs, sources: Sources) -> anyhow::Result<()> {
    // Arguments first: a refused import creates no data directory or database.
    let import_key = match &args.command {
        MotionsCommand::Import(a) => Some(
            a.checked_key()
                .map_err(|e| CommandFailed::usage(format!("motiond motions import: {e:#}")))?,
        ),
        _ => None,
    };
    let config = load_config(sources, Vec::new())?;
    // Ctrl-C, a kill or a closed terminal end a wait for another process' lock, and cancel an
    // import's or a seeding's extraction, as they do `motiond extract`'s.
    let cancel = crate::serve::cancel_on_signals()?;
    let store = crate::app::open_store_unless_stopped(&config, &cancel).await?;
    let blobs: Arc<dyn BlobStore> = crate::app::open_blobs(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let motions = MotionService::new(store.clone(), store.clone(), blobs.clone(), clock);
    let tmp_dir = config.tmp_dir().join("catalog");
    let target = CatalogTarget {
        motions: &motions,
        blobs: blobs.as_ref(),
        tmp_dir: &tmp_dir,
        build: BuildOptions::default(),
    };
    match args.command {
        MotionsCommand::Import(a) => {
            let key = import_key.unwrap_or_default();
            let import_as = ImportAs {
                key: &key,
                name: &a.name,
                tag: &a.tag,
                on_existing: if a.replace {
                    OnExisting::Replace
                } else {
                    OnExisting::Keep
                },
            };
            // Checked first so that a video is not extracted in vain, and again (atomically)
            // when the motion is recorded, in case another import took the key meanwhile.
            if import_as.on_existing == OnExisting::Keep {
                refuse_key_in_use(&motions, &key).await?;
            }
            // A refused input exits 2, as `motiond extract` does for the same file.
            let imported = import_file(&target, &config, &a.file, &import_as, &cancel)
                .await
                .map_err(|e| CommandFailed::of("motiond motions import", &e))?;
            let Some(m) = imported else {
                refuse_key_in_use(&motions, &key).await?;
                bail!(
                    "official motion {key:?} was taken and removed again during the import; try again"
                );
            };
            print_report(&format!(
                "imported {:?} as official motion {} (key {})\n",
                m.name, m.work_id, m.catalog_key
            ))?;
        }
        MotionsCommand::Seed => {
            let _one_at_a_time = crate::app::catalog_lock(&config, &cancel).await?;
            let report = seed_catalog(&target, &cancel).await?;
            print_report(&format!(
                "added {} official motion(s), {} already present, {} rebuilt in the current format\n",
                report.added.len(),
                report.present,
                report.rebuilt.len()
            ))?;
            if !report.not_rebuilt.is_empty() {
                bail!(
                    "could not rebuild official motion(s) {} (they keep their old files; see the log)",
                    report.not_rebuilt.join(", ")
                );
            }
        }
        MotionsCommand::List => print_report(&format_list(
            &motions
                .official()
                .await
                .context("listing official motions")?,
        ))?,
        MotionsCommand::Remove { key } => {
            if !motions
                .remove_official(&key)
                .await
                .context("removing the official motion")?
            {
                return Err(RefusedInput(format!(
                    "no official motion with key {key:?} (see `motiond motions list`)"
                ))
                .into());
            }
            print_report(&format!("removed official motion {key}\n"))?;
        }
    }
    Ok(())
}

/// An import onto a key in use replaces that motion only when `--replace` says so: a name
/// that happens to derive the key of a bundled motion must not overwrite it unnoticed.
async fn refuse_key_in_use(motions: &MotionService, key: &str) -> anyhow::Result<()> {
    let official = motions
        .official()
        .await
        .context("listing official motions")?;
    if let Some(existing) = official.iter().find(|m| m.catalog_key == key) {
        return Err(CommandFailed::usage(format!(
            "motiond motions import: official motion {key:?} ({:?}, workId {}) exists; pass --replace to replace it or --key for another key",
            existing.name, existing.work_id
        ))
        .into());
    }
    Ok(())
}

/// Largest BVH accepted by `import` (the reader's own limit).
const MAX_BVH_BYTES: u64 = 64 << 20;

/// Imports a BVH file as is, or a video through the engine (its solved BVH is then imported,
/// so the preview is the same clean stick figure as the rest of the catalog).
async fn import_file(
    target: &CatalogTarget<'_>,
    config: &Config,
    file: &Path,
    import_as: &ImportAs<'_>,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<OfficialMotion>> {
    check_key(import_as.key)?;
    check_tag(import_as.tag)?;
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    let head = read_head(file)?;
    if looks_like_bvh(&head) {
        if meta.len() > MAX_BVH_BYTES {
            return Err(RefusedInput(format!(
                "{} is larger than {} MiB",
                file.display(),
                MAX_BVH_BYTES >> 20
            ))
            .into());
        }
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        return import_bvh(target, import_as, &bytes, cancel).await;
    }
    let container = motion_capture::media::sniff_file(file)
        .with_context(|| format!("reading {}", file.display()))?;
    if !matches!(container, Container::Mp4Mov | Container::Matroska) {
        return Err(RefusedInput(format!(
            "{} is neither a BVH file nor an MP4/QuickTime/Matroska video",
            file.display()
        ))
        .into());
    }
    let work = new_build_dir(target, "catalog-video-")?;
    let mut opts = ExtractOptions::new(config.models_dir());
    opts.preview = false;
    // The model the service is configured for, as its workers use (`models fetch` got it).
    opts.model = config.models.landmark.parse().context("models.landmark")?;
    let report = Engine::extract(
        file,
        &work.path().join("engine"),
        opts,
        cancel.clone(),
        |_| {},
    )
    .await
    .with_context(|| format!("extracting the motion from {}", file.display()))?;
    let bytes = std::fs::read(&report.files.bvh).context("reading the extracted BVH")?;
    import_bvh(target, import_as, &bytes, cancel).await
}

fn read_head(file: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(file)
        .with_context(|| format!("opening {}", file.display()))?
        .take(64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", file.display()))?;
    Ok(head)
}

/// A BVH starts with `HIERARCHY`, after an optional BOM and whitespace.
fn looks_like_bvh(head: &[u8]) -> bool {
    let head = head
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head[start..].len() >= 9 && head[start..start + 9].eq_ignore_ascii_case(b"HIERARCHY")
}

/// Seeds the bundled catalog into a built application (what `serve` calls before listening).
pub async fn seed_app_catalog(
    app: &crate::app::App,
    cancel: &CancellationToken,
) -> anyhow::Result<SeedReport> {
    let add_bundled = app.config.catalog.seed;
    let motions = MotionService::new(
        app.store.clone(),
        app.store.clone(),
        app.blobs.clone(),
        app.clock.clone(),
    );
    let tmp_dir = app.config.tmp_dir().join("catalog");
    let target = CatalogTarget {
        motions: &motions,
        blobs: app.blobs.as_ref(),
        tmp_dir: &tmp_dir,
        build: BuildOptions::default(),
    };
    let _one_at_a_time = crate::app::catalog_lock(&app.config, cancel).await?;
    let report = if add_bundled {
        seed_catalog(&target, cancel).await?
    } else {
        rebuild_catalog(&target, cancel).await?
    };
    if !report.added.is_empty() || !report.rebuilt.is_empty() {
        tracing::info!(
            added = report.added.len(),
            present = report.present,
            rebuilt = report.rebuilt.len(),
            "official catalog seeded"
        );
    }
    Ok(report)
}

/// One line per official motion, for `motiond motions list`.
pub fn format_list(motions: &[OfficialMotion]) -> String {
    let mut out = format!("{:<17} {:<20} {:<8} {}\n", "workId", "key", "tag", "name");
    for m in motions {
        out.push_str(&format!(
            "{:<17} {:<20} {:<8} {}\n",
            m.work_id, m.catalog_key, m.tag, m.name
        ));
    }
    out
}

/// The workId a key will get (shown by `import` before the work starts).
pub fn work_id_of(key: &str) -> i64 {
    official_work_id(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalog_is_valid_and_complete() {
        let entries = bundled_catalog().unwrap();
        assert_eq!(entries.len(), 10);
        for tag in TAGS {
            assert!(
                entries.iter().any(|e| e.tag == tag),
                "no motion tagged {tag}"
            );
        }
        for e in &entries {
            let bytes = bundled_clip(&e.file).unwrap();
            let bvh = motion_capture::bvh::parse(&bytes)
                .unwrap_or_else(|err| panic!("{}: {err}", e.file));
            assert!(bvh.frame_count() > 60, "{}", e.key);
            assert!(
                !e.source.is_empty() && !e.license.is_empty(),
                "{}: attribution",
                e.key
            );
        }
        // Distinct keys give distinct workIds.
        let ids: std::collections::HashSet<i64> =
            entries.iter().map(|e| work_id_of(&e.key)).collect();
        assert_eq!(ids.len(), entries.len());
    }

    #[test]
    fn bvh_is_recognised_by_its_first_word() {
        assert!(looks_like_bvh(b"HIERARCHY\nROOT Hips"));
        assert!(looks_like_bvh(b"\xef\xbb\xbf  \r\nhierarchy\n"));
        assert!(!looks_like_bvh(b"\0\0\0\x18ftypmp42"));
        assert!(!looks_like_bvh(b"HIER"));
    }

    #[test]
    fn keys_from_names() {
        assert_eq!(key_from_name("Zombie walk!"), "zombie-walk");
        assert_eq!(key_from_name("  Jumping  Jacks "), "jumping-jacks");
        assert_eq!(key_from_name("Ünïcode 2"), "n-code-2");
        assert!(check_key(&key_from_name("Wave hello")).is_ok());
        assert!(check_key("Bad Key").is_err());
        assert!(check_tag("dance").is_ok());
        assert!(check_tag("other").is_err());
    }
}
