//! Loading the converted models into ONNX Runtime (through `ort`, with the library opened at run time).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use super::{DETECTOR_FILE, LandmarkModel, ModelError, ORT_LIBRARY_FILE, optimized, verify};

/// Detector input side (pixels) and landmark model input side.
pub const DETECTOR_SIZE: usize = 224;
pub const LANDMARK_SIZE: usize = 256;

/// ONNX Runtime as this process opened it, and the identity of the library file it came from
/// (part of the key of saved optimised graphs, see [`optimized::file_identity`]).
struct Runtime {
    env: Environment,
    library: Option<String>,
}

/// `ort` allows one environment per process, and the library can only be opened once: the first
/// successful load wins and later loads reuse it (whatever directory they name).
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn runtime(models_dir: &Path) -> Result<&'static Runtime, ModelError> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let lib = require(models_dir, ORT_LIBRARY_FILE)?;
    verify::check_recorded(models_dir, ORT_LIBRARY_FILE)?;
    // Absolute: `ort` looks for a relative path beside the executable first, not in the
    // working directory, and might open another library than the one just checked.
    let lib = std::fs::canonicalize(&lib)
        .map_err(ModelError::io(format!("resolving {}", lib.display())))?;
    let fail = |message: String| ModelError::Runtime {
        path: lib.clone(),
        message,
    };
    let library = optimized::file_identity(&lib);
    // A race between two first loads is harmless: the loser's builder reports that an environment
    // exists, and we then take the winner's.
    let built = ort::init_from(&lib)
        .map_err(|e| fail(load_error_text(&e)))?
        .with_name("motiond")
        // Microsoft's builds enable usage telemetry by default (on Linux it queues events in a
        // database under ~/.cache/Microsoft); motiond runs offline and reports nothing.
        .with_telemetry(false)
        .build();
    match built {
        Ok(env) => Ok(RUNTIME.get_or_init(|| Runtime { env, library })),
        Err(e) => RUNTIME.get().ok_or_else(|| fail(e.to_string())),
    }
}

/// `ort`'s loading error with the reason the dynamic loader gave (a wrong ELF class, a missing
/// dependency), which its own text leaves out.
fn load_error_text(error: &ort::LoadDynamicError) -> String {
    let why = match error {
        ort::LoadDynamicError::Dlopen { error, .. } => std::error::Error::source(error),
        _ => None,
    };
    match why {
        Some(why) => format!("{error}: {why}"),
        None => error.to_string(),
    }
}

/// The path of a required file, or the error that tells the user how to get it.
fn require(dir: &Path, file: &str) -> Result<PathBuf, ModelError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::Missing {
            path,
            hint: String::new(),
        })
    }
}

/// How the sessions use the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Intra-op threads of the landmark session. 1 for the service, whose worker runs one job per
    /// core; `motiond extract` runs alone and may use every core.
    pub landmark_threads: usize,
    /// Let idle intra-op threads spin for work. Only matters with more than one thread; off is
    /// the safe choice on a shared machine (spinning threads steal the cores other work needs).
    pub spinning: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            landmark_threads: 1,
            spinning: false,
        }
    }
}

/// A session of the model file `path`, from its saved optimised graph when this machine has one
/// (see [`optimized`]); otherwise the graph is optimised now and saved for the next session.
fn session(
    runtime: &Runtime,
    models_dir: &Path,
    path: &Path,
    threads: usize,
    spinning: bool,
) -> Result<Session, ModelError> {
    let build =
        |file: &Path, graph: Graph<'_>| build_session(&runtime.env, file, threads, spinning, graph);
    let unsaved = Graph::AsConverted { save_to: None };
    let saved = runtime
        .library
        .as_deref()
        .and_then(|library| optimized::saved_graph_path(models_dir, path, library));
    let Some(saved) = saved else {
        return build(path, unsaved);
    };
    if saved.is_file() {
        let loaded =
            optimized::check_saved(&saved).and_then(|()| build(&saved, Graph::SavedOptimised));
        match loaded {
            Ok(session) => return Ok(session),
            // Saved by a version that kept no hash beside its graphs: no damage to warn of.
            Err(ModelError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(graph = %saved.display(), "saved model graph has no hash; optimising again");
                optimized::remove_saved(&saved);
            }
            Err(error) => {
                tracing::warn!(graph = %saved.display(), %error, "saved model graph is damaged or does not load; optimising again");
                optimized::remove_saved(&saved);
            }
        }
    }
    let Some(pending) = optimized::SAVING.begin(&saved) else {
        return build(path, unsaved);
    };
    match build(
        path,
        Graph::AsConverted {
            save_to: Some(pending.path()),
        },
    ) {
        Ok(session) => {
            pending.keep(&saved);
            Ok(session)
        }
        Err(error) => {
            drop(pending);
            // Perhaps only the saving failed (a read-only folder, a full disk): a session is
            // still owed, and later ones will not try to save. If the model itself does not
            // load, that is the error, and saving stays on for when it is fetched again.
            let session = build(path, unsaved)?;
            optimized::SAVING.failed(&error);
            Ok(session)
        }
    }
}

/// What the file handed to [`build_session`] holds.
#[derive(Clone, Copy)]
enum Graph<'a> {
    /// A model as converted: ONNX Runtime optimises it, and saves the result if asked.
    AsConverted { save_to: Option<&'a Path> },
    /// A graph ONNX Runtime optimised and saved earlier on this machine: loaded as it is.
    SavedOptimised,
}

fn build_session(
    env: &Environment,
    path: &Path,
    threads: usize,
    spinning: bool,
    graph: Graph<'_>,
) -> Result<Session, ModelError> {
    let fail = |message: String| ModelError::Load {
        path: path.to_owned(),
        message,
    };
    // `All` is ONNX Runtime's ORT_ENABLE_ALL (what older `ort` releases called Level3, and Python's
    // default), so outputs match Python onnxruntime. One inter-op thread: the graphs are chains.
    let level = match graph {
        Graph::AsConverted { .. } => GraphOptimizationLevel::All,
        Graph::SavedOptimised => GraphOptimizationLevel::Disable,
    };
    let mut builder = Session::builder(env)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(threads.max(1))
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_op_spinning(spinning)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(level)
        .map_err(|e| fail(e.to_string()))?;
    if let Graph::AsConverted {
        save_to: Some(save_to),
    } = graph
    {
        builder = builder
            .with_optimized_model_path(save_to)
            .map_err(|e| fail(e.to_string()))?;
    }
    builder
        .commit_from_file(path)
        .map_err(|e| fail(e.to_string()))
}

/// The two sessions of the BlazePose pipeline.
pub struct PoseModels {
    pub detector: Session,
    pub landmark: Session,
    pub variant: LandmarkModel,
}

/// Raw detector outputs (see pose-pipeline §4): 2254 anchors.
#[derive(Clone, Debug)]
pub struct DetectorOutput {
    /// `Identity`, `[1, 2254, 12]`: box and keypoint offsets per anchor.
    pub boxes: Vec<f32>,
    /// `Identity_1`, `[1, 2254, 1]`: score logits.
    pub scores: Vec<f32>,
}

/// Raw landmark model outputs (see pose-pipeline §6).
#[derive(Clone, Debug)]
pub struct LandmarkOutput {
    /// `Identity`, `[1, 195]`: 39 × (x, y, z, visibility, presence) in 256-px crop units, raw logits.
    pub landmarks: Vec<f32>,
    /// `Identity_1`, `[1, 1]`: pose presence score.
    pub presence: f32,
    /// `Identity_3`, `[1, 64, 64, 39]`: heatmap logits (NHWC).
    pub heatmap: Vec<f32>,
    /// `Identity_4`, `[1, 117]`: 39 × (x, y, z) world landmarks in metres.
    pub world: Vec<f32>,
}

impl PoseModels {
    /// Loads the detector and the chosen landmark model from `models_dir` (see [`super::default_models_dir`]),
    /// one thread per session (the service's setting, [`LoadOptions::default`]).
    pub fn load(models_dir: &Path, variant: LandmarkModel) -> Result<Self, ModelError> {
        Self::load_with(models_dir, variant, LoadOptions::default())
    }

    /// [`PoseModels::load`] with explicit CPU options. The detector keeps one thread: it runs only
    /// when tracking is lost, and its run time is small next to the landmark model's.
    pub fn load_with(
        models_dir: &Path,
        variant: LandmarkModel,
        options: LoadOptions,
    ) -> Result<Self, ModelError> {
        let detector_path = require(models_dir, DETECTOR_FILE)?;
        let landmark_path = require(models_dir, variant.file_name()).map_err(|e| match e {
            ModelError::Missing { path, .. } if variant != LandmarkModel::Full => {
                ModelError::Missing {
                    path,
                    hint: format!(" and --model {variant}"),
                }
            }
            other => other,
        })?;
        for file in [DETECTOR_FILE, variant.file_name()] {
            verify::check_recorded(models_dir, file)?;
        }
        let runtime = runtime(models_dir)?;
        Ok(PoseModels {
            detector: session(runtime, models_dir, &detector_path, 1, false)?,
            landmark: session(
                runtime,
                models_dir,
                &landmark_path,
                options.landmark_threads,
                options.spinning,
            )?,
            variant,
        })
    }

    /// Runs the detector on a `[1, 224, 224, 3]` NHWC tensor of pixels scaled to [-1, 1].
    pub fn run_detector(&mut self, input: &[f32]) -> Result<DetectorOutput, ModelError> {
        let shape = [1, DETECTOR_SIZE as i64, DETECTOR_SIZE as i64, 3];
        let mut out = run_f32(
            &mut self.detector,
            "detector",
            input,
            &shape,
            &["Identity", "Identity_1"],
        )?
        .into_iter();
        Ok(DetectorOutput {
            boxes: out.next().unwrap_or_default(),
            scores: out.next().unwrap_or_default(),
        })
    }

    /// Runs the landmark model on a `[1, 256, 256, 3]` NHWC tensor of pixels scaled to [0, 1].
    pub fn run_landmark(&mut self, input: &[f32]) -> Result<LandmarkOutput, ModelError> {
        let shape = [1, LANDMARK_SIZE as i64, LANDMARK_SIZE as i64, 3];
        // `Identity_2` (segmentation) is not in the converted graph: see `fetch`'s drop list.
        let names = ["Identity", "Identity_1", "Identity_3", "Identity_4"];
        let mut out =
            run_f32(&mut self.landmark, "landmark model", input, &shape, &names)?.into_iter();
        let mut next = || out.next().unwrap_or_default();
        Ok(LandmarkOutput {
            landmarks: next(),
            presence: next().first().copied().unwrap_or(0.0),
            heatmap: next(),
            world: next(),
        })
    }
}

/// Runs a single-input model on an f32 tensor and returns the named outputs, in the order asked.
pub fn run_f32(
    session: &mut Session,
    model: &str,
    input: &[f32],
    shape: &[i64],
    outputs: &[&str],
) -> Result<Vec<Vec<f32>>, ModelError> {
    let fail = |message: String| ModelError::Inference {
        model: model.to_owned(),
        message,
    };
    let expected: i64 = shape.iter().product();
    if input.len() as i64 != expected {
        return Err(fail(format!(
            "input has {} values, shape {shape:?} needs {expected}",
            input.len()
        )));
    }
    let tensor =
        TensorRef::from_array_view((shape.to_vec(), input)).map_err(|e| fail(e.to_string()))?;
    let result = session
        .run(ort::inputs![tensor])
        .map_err(|e| fail(e.to_string()))?;
    outputs
        .iter()
        .map(|name| {
            let value = result
                .get(name)
                .ok_or_else(|| fail(format!("no output named {name}")))?;
            let (_, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| fail(format!("{name}: {e}")))?;
            Ok(data.to_vec())
        })
        .collect()
}
