//! Times the landmark model alone: `cargo run --release -p motion-capture --example landmark_speed
//! -- [THREADS] [spin|nospin] [RUNS]`. Prints the median and 10th percentile ms per inference on a
//! fixed synthetic input (speed is measured, never asserted: see benchmarks/).

use std::time::Instant;

use motion_capture::models::{LandmarkModel, LoadOptions, PoseModels, test_models_dir};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(1, |a| a.parse().expect("THREADS"));
    let spinning = args.next().is_some_and(|a| a == "spin");
    let runs: usize = args.next().map_or(100, |a| a.parse().expect("RUNS"));
    let options = LoadOptions {
        landmark_threads: threads,
        spinning,
    };
    let mut models = PoseModels::load_with(&test_models_dir(), LandmarkModel::Full, options)
        .expect("load models");
    // A smooth deterministic pattern in [0, 1]; the run time does not depend on the content.
    let input: Vec<f32> = (0..256 * 256 * 3)
        .map(|i| ((i % 997) as f32) / 997.0)
        .collect();
    for _ in 0..5 {
        models.run_landmark(&input).expect("warm-up");
    }
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            models.run_landmark(&input).expect("inference");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "threads={threads} spinning={spinning} runs={runs}: median {:.2} ms, p10 {:.2} ms",
        ms[runs / 2],
        ms[runs / 10]
    );
}
