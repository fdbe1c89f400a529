//! The converter on the real pinned models, and the converted models in ONNX Runtime on a real
//! image crop. Needs the models and the wheel cache from `scripts/test.sh`.

use std::io::Read;
use std::path::{Path, PathBuf};

use motion_capture::models::{
    DETECTOR_FILE, LandmarkModel, MANIFEST_FILE, Manifest, ModelError, ORT_LIBRARY_FILE,
    PoseModels, convert::tflite_to_onnx, test_models_dir,
};
use sha2::{Digest, Sha256};

const MEDIAPIPE_WHEEL: &str = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl";
const IMAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/images/skimage_astronaut.png"
);

fn wheel_cache() -> PathBuf {
    let dir = std::env::var_os("MOTIOND_WHEEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.data/cache/wheels"));
    assert!(
        dir.join(MEDIAPIPE_WHEEL).is_file(),
        "models missing: run scripts/test.sh (or `motiond models fetch --data-dir .data`); no {MEDIAPIPE_WHEEL} in {}",
        dir.display()
    );
    dir
}

fn wheel_member(member: &str) -> Vec<u8> {
    let file = std::fs::File::open(wheel_cache().join(MEDIAPIPE_WHEEL)).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut bytes = Vec::new();
    zip.by_name(member)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const DETECTOR_MEMBER: &str = "mediapipe/modules/pose_detection/pose_detection.tflite";
const DETECTOR_SHA: &str = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c";
const LANDMARK_MEMBER: &str = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite";
const LANDMARK_SHA: &str = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f";

#[test]
fn converting_twice_gives_identical_bytes() {
    for (member, sha, drop) in [
        (DETECTOR_MEMBER, DETECTOR_SHA, &[][..]),
        (LANDMARK_MEMBER, LANDMARK_SHA, &["Identity_2"][..]),
    ] {
        let tflite = wheel_member(member);
        assert_eq!(sha256(&tflite), sha, "{member}");
        let first = tflite_to_onnx(&tflite, "m", drop).unwrap();
        let second = tflite_to_onnx(&tflite, "m", drop).unwrap();
        assert!(
            first.len() > tflite.len(),
            "fp16 weights expand to fp32: {} vs {}",
            first.len(),
            tflite.len()
        );
        assert!(first == second, "{member}: two conversions differ");
    }
}

#[test]
fn garbage_input_is_an_error() {
    assert!(tflite_to_onnx(b"not a model at all", "m", &[]).is_err());
    let mut truncated = wheel_member(DETECTOR_MEMBER);
    truncated.truncate(100_000);
    assert!(tflite_to_onnx(&truncated, "m", &[]).is_err());
    let err = tflite_to_onnx(&wheel_member(DETECTOR_MEMBER), "m", &["Identity_9"]).unwrap_err();
    assert!(err.to_string().contains("Identity_9"), "{err}");
}

/// Writes into `dir` the installed models' manifest, with the hashes of the files as they are in
/// `dir`: the runtime loads only files their manifest vouches for.
fn vouch_for_files_in(dir: &Path) {
    let installed = std::fs::read(test_models_dir().join(MANIFEST_FILE)).unwrap();
    let mut manifest: Manifest = serde_json::from_slice(&installed).unwrap();
    for (file, entry) in &mut manifest.files {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            entry.sha256 = sha256(&bytes);
        }
    }
    std::fs::write(
        dir.join(MANIFEST_FILE),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
}

/// Dropping the segmentation output removes its decoder (a smaller file) and leaves the other
/// outputs bit-identical in ONNX Runtime.
#[test]
fn pruning_the_segmentation_output_keeps_the_others_bit_identical() {
    let tflite = wheel_member(LANDMARK_MEMBER);
    let whole = tflite_to_onnx(&tflite, "pose_landmark_full", &[]).unwrap();
    let pruned = tflite_to_onnx(&tflite, "pose_landmark_full", &["Identity_2"]).unwrap();
    assert!(
        pruned.len() < whole.len(),
        "pruned {} vs whole {} bytes",
        pruned.len(),
        whole.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let installed = test_models_dir();
    for file in [DETECTOR_FILE, ORT_LIBRARY_FILE] {
        std::fs::copy(installed.join(file), dir.path().join(file)).unwrap();
    }
    let landmark_file = dir.path().join(LandmarkModel::Full.file_name());
    let input = crop(256, |v| v);
    let mut outputs = Vec::new();
    for bytes in [&whole, &pruned] {
        std::fs::write(&landmark_file, bytes).unwrap();
        vouch_for_files_in(dir.path());
        let mut models = PoseModels::load(dir.path(), LandmarkModel::Full).unwrap();
        let lm = models.run_landmark(&input).unwrap();
        outputs.push((lm.landmarks, lm.presence, lm.heatmap, lm.world));
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (a, b) = (&outputs[0], &outputs[1]);
    assert_eq!(bits(&a.0), bits(&b.0), "landmarks");
    assert_eq!(a.1.to_bits(), b.1.to_bits(), "presence");
    assert_eq!(bits(&a.2), bits(&b.2), "heatmap");
    assert_eq!(bits(&a.3), bits(&b.3), "world");
}

/// The astronaut image (512×512 RGB) resized by nearest neighbour to `size`, NHWC, scaled by `map`.
fn crop(size: usize, map: impl Fn(f32) -> f32) -> Vec<f32> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(IMAGE).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    let (w, h) = (info.width as usize, info.height as usize);
    let mut out = Vec::with_capacity(size * size * 3);
    for y in 0..size {
        for x in 0..size {
            let (sx, sy) = (x * w / size, y * h / size);
            for c in 0..3 {
                out.push(map(f32::from(pixels[(sy * w + sx) * 3 + c]) / 255.0));
            }
        }
    }
    out
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

#[test]
fn converted_models_run_in_onnx_runtime_on_a_real_image() {
    let mut models = PoseModels::load(&test_models_dir(), LandmarkModel::Full).unwrap();

    let det_names: Vec<&str> = models.detector.outputs().iter().map(|o| o.name()).collect();
    assert_eq!(det_names, ["Identity", "Identity_1"]);
    let det = models.run_detector(&crop(224, |v| v * 2.0 - 1.0)).unwrap();
    assert_eq!((det.boxes.len(), det.scores.len()), (2254 * 12, 2254));
    assert!(det.boxes.iter().chain(&det.scores).all(|v| v.is_finite()));
    let best = det.scores.iter().copied().fold(f32::MIN, f32::max);
    assert!(
        sigmoid(best) > 0.5,
        "the astronaut must be detected, best score {}",
        sigmoid(best)
    );

    let lm = models.run_landmark(&crop(256, |v| v)).unwrap();
    assert_eq!(lm.landmarks.len(), 195);
    assert_eq!(lm.heatmap.len(), 64 * 64 * 39);
    assert_eq!(lm.world.len(), 117);
    let all = lm.landmarks.iter().chain(&lm.heatmap).chain(&lm.world);
    assert!(all.copied().all(f32::is_finite));
    assert!(
        lm.presence > 0.5,
        "a person fills the crop, presence {}",
        lm.presence
    );
    // The nose (landmark 0) lies inside the 256-px crop.
    let (nx, ny) = (lm.landmarks[0], lm.landmarks[1]);
    assert!(
        (0.0..256.0).contains(&nx) && (0.0..256.0).contains(&ny),
        "nose at {nx},{ny}"
    );
    // The session interface keeps TFLite's names, less the pruned segmentation output.
    let names: Vec<&str> = models.landmark.outputs().iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        ["Identity", "Identity_1", "Identity_3", "Identity_4"]
    );
}

#[test]
fn missing_models_name_the_fetch_command() {
    let empty = tempfile::tempdir().unwrap();
    let err = PoseModels::load(empty.path(), LandmarkModel::Heavy)
        .err()
        .expect("must fail");
    assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("motiond models fetch"), "{err}");
}

/// Every output of both models on the astronaut, as bits.
fn output_bits(models_dir: &Path) -> Vec<Vec<u32>> {
    let mut models = PoseModels::load(models_dir, LandmarkModel::Full).unwrap();
    let det = models.run_detector(&crop(224, |v| v * 2.0 - 1.0)).unwrap();
    let lm = models.run_landmark(&crop(256, |v| v)).unwrap();
    let presence = [lm.presence];
    [
        &det.boxes[..],
        &det.scores,
        &lm.landmarks,
        &presence,
        &lm.heatmap,
        &lm.world,
    ]
    .iter()
    .map(|v| v.iter().map(|x| x.to_bits()).collect())
    .collect()
}

/// The saved optimised graphs in `dir/optimized` (not their hash files): (name, inode). A rewrite renames a new file
/// into place, so the inode tells a reused graph from a rewritten one.
fn saved_graphs(dir: &Path) -> Vec<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut graphs: Vec<_> = std::fs::read_dir(dir.join("optimized"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let inode = e.metadata().unwrap().ino();
            (e.file_name().to_string_lossy().into_owned(), inode)
        })
        .filter(|(name, _)| name.ends_with(".onnx"))
        .collect();
    graphs.sort();
    graphs
}

#[cfg(target_arch = "x86_64")]
#[test]
fn saved_optimised_graphs_give_identical_outputs_and_damaged_ones_are_remade() {
    let dir = tempfile::tempdir().unwrap();
    let installed = test_models_dir();
    for file in [
        DETECTOR_FILE,
        LandmarkModel::Full.file_name(),
        ORT_LIBRARY_FILE,
    ] {
        std::fs::copy(installed.join(file), dir.path().join(file)).unwrap();
    }
    vouch_for_files_in(dir.path());

    // The first load optimises the converted models (the reference) and saves both graphs; the
    // second loads the saved graphs, with the same outputs bit for bit.
    let reference = output_bits(dir.path());
    let saved = saved_graphs(dir.path());
    let names: Vec<&str> = saved.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("pose_detection-") && names[1].starts_with("pose_landmark_full-"));
    assert_eq!(
        output_bits(dir.path()),
        reference,
        "session from saved graphs"
    );
    assert_eq!(
        saved_graphs(dir.path()),
        saved,
        "saved graphs are reused, not rewritten"
    );

    // A damaged graph is deleted and made again: one that does not load, and one that does
    // (4 KiB of weights zeroed, the size kept) but would give other outputs.
    let landmark_graph = dir.path().join("optimized").join(&saved[1].0);
    std::fs::write(&landmark_graph, b"garbage").unwrap();
    assert_eq!(output_bits(dir.path()), reference, "after damage");
    assert!(std::fs::metadata(&landmark_graph).unwrap().len() > 1_000_000);
    assert_eq!(output_bits(dir.path()), reference, "from the remade graph");
    let mut damaged = std::fs::read(&landmark_graph).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 4096].fill(0);
    std::fs::write(&landmark_graph, &damaged).unwrap();
    assert_eq!(output_bits(dir.path()), reference, "after silent damage");
    assert!(
        std::fs::read(&landmark_graph).unwrap() != damaged,
        "the damaged graph was made again"
    );
}
