//! The per-frame state machine of video mode (pose-pipeline §8.1) and static image mode (§7).

use super::crop::{Border, ImageRef, Padding, RectPx, TensorSpec, ValueRange, crop_to_tensor};
use super::detector::{DETECTOR_SIZE, Detection, anchors, best_detection};
use super::filters::{AUX_FILTER, LandmarksFilter, OutputSmoother};
use super::landmarks::{LANDMARK_SIZE, LandmarkResult, postprocess};
use super::roi::{Roi, object_scale, roi_from_points};
use crate::models::{ModelError, PoseModels};
use crate::types::{Landmark, Pose, RgbFrame};

#[derive(Debug, thiserror::Error)]
pub enum PoseError {
    #[error("inference failed: {0}")]
    Model(#[from] ModelError),
    #[error("frame {index} is malformed: {reason}")]
    BadFrame { index: u64, reason: String },
    #[error("frame {index} has timestamp {t_us} µs, not after the previous frame's {last_us} µs")]
    Timestamp { index: u64, t_us: i64, last_us: i64 },
}

/// Options as in MediaPipe's `Pose(...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerOptions {
    /// Filter the output landmarks (video mode only).
    pub smooth_landmarks: bool,
    /// Run the detector on every frame and never filter (images).
    pub static_image_mode: bool,
}

/// Everything the pipeline computed for one frame (for tests and diagnostics).
#[derive(Clone, Debug, Default)]
pub struct FrameDebug {
    pub det_ran: bool,
    /// Best detection after NMS and letterbox removal, when the detector ran and found one.
    pub detection: Option<Detection>,
    /// The ROI the landmark model ran on.
    pub roi: Option<Roi>,
    pub pose_score: Option<f32>,
    /// Unsmoothed landmark-stage result, when a pose was found.
    pub raw: Option<LandmarkResult>,
    /// The output pose (smoothed when smoothing is on).
    pub pose: Option<Pose>,
    /// Tracking ROI for the next frame (from the filtered auxiliary landmarks), when found.
    pub roi_next: Option<Roi>,
}

/// Reusable input tensors and the anchors: nothing is allocated for them per frame.
struct Buffers {
    anchors: Vec<[f32; 2]>,
    det_input: Vec<f32>,
    lm_input: Vec<f32>,
}

/// BlazePose over a sequence of frames (one person, one clip).
pub struct Tracker<'m> {
    models: &'m mut PoseModels,
    opts: TrackerOptions,
    buf: Buffers,
    prev_roi: Option<Roi>,
    aux_filter: LandmarksFilter<2>,
    smoother: OutputSmoother,
    last_t_us: Option<i64>,
}

impl<'m> Tracker<'m> {
    pub fn new(models: &'m mut PoseModels, opts: TrackerOptions) -> Self {
        Tracker {
            models,
            opts,
            buf: Buffers {
                anchors: anchors(),
                det_input: vec![0.0; DETECTOR_SIZE * DETECTOR_SIZE * 3],
                lm_input: vec![0.0; LANDMARK_SIZE * LANDMARK_SIZE * 3],
            },
            prev_roi: None,
            aux_filter: LandmarksFilter::new(AUX_FILTER),
            smoother: OutputSmoother::default(),
            last_t_us: None,
        }
    }

    /// The pose of one frame (frames of a video must come with increasing `t_us`).
    pub fn process(&mut self, frame: &RgbFrame) -> Result<Option<Pose>, PoseError> {
        Ok(self.process_debug(frame)?.pose)
    }

    /// Like [`process`](Self::process), with the intermediate values.
    pub fn process_debug(&mut self, frame: &RgbFrame) -> Result<FrameDebug, PoseError> {
        check_frame(frame)?;
        if !self.opts.static_image_mode {
            self.check_time(frame)?;
        }
        let mut dbg = FrameDebug::default();
        let tracked = if self.opts.static_image_mode {
            None
        } else {
            self.prev_roi
        };
        let roi = match tracked {
            Some(r) => r,
            None => {
                dbg.det_ran = true;
                dbg.detection = self.detect(frame)?;
                match &dbg.detection {
                    Some(d) => {
                        roi_from_points(d.keypoints[0], d.keypoints[1], frame.width, frame.height)
                    }
                    None => {
                        self.no_pose();
                        return Ok(dbg);
                    }
                }
            }
        };
        dbg.roi = Some(roi);
        let (score, result) = self.landmarks_on_roi(frame, &roi)?;
        dbg.pose_score = Some(score);
        let Some(raw) = result else {
            self.no_pose();
            return Ok(dbg);
        };
        self.finish(frame, raw, &mut dbg);
        Ok(dbg)
    }

    /// Tracking ROI and output filtering of a found pose (§8.1 steps 4 and 5).
    fn finish(&mut self, frame: &RgbFrame, raw: LandmarkResult, dbg: &mut FrameDebug) {
        let (w, h) = (frame.width, frame.height);
        let (a0, a1) = ([raw.aux[0].x, raw.aux[0].y], [raw.aux[1].x, raw.aux[1].y]);
        let s_obj = object_scale(a0, a1, w, h);
        let pose = if self.opts.static_image_mode {
            dbg.roi_next = Some(roi_from_points(a0, a1, w, h));
            Pose {
                image: raw.image,
                world: raw.world,
            }
        } else {
            let f = self
                .aux_filter
                .apply_image(frame.t_us, s_obj, &raw.aux, w, h);
            let next = roi_from_points([f[0].x, f[0].y], [f[1].x, f[1].y], w, h);
            self.prev_roi = Some(next);
            dbg.roi_next = Some(next);
            if self.opts.smooth_landmarks {
                let (image, world) = self
                    .smoother
                    .apply(frame.t_us, s_obj, &raw.image, &raw.world, w, h);
                Pose { image, world }
            } else {
                Pose {
                    image: raw.image,
                    world: raw.world,
                }
            }
        };
        dbg.pose = Some(pose);
        dbg.raw = Some(raw);
    }

    /// §8.1 step 6.
    fn no_pose(&mut self) {
        self.prev_roi = None;
        self.aux_filter.reset();
        self.smoother.no_pose();
    }

    fn check_time(&mut self, frame: &RgbFrame) -> Result<(), PoseError> {
        if let Some(last) = self.last_t_us
            && frame.t_us <= last
        {
            return Err(PoseError::Timestamp {
                index: frame.index,
                t_us: frame.t_us,
                last_us: last,
            });
        }
        self.last_t_us = Some(frame.t_us);
        Ok(())
    }

    /// Detector on the whole frame (§4): the best detection, normalised to the frame.
    pub fn detect(&mut self, frame: &RgbFrame) -> Result<Option<Detection>, PoseError> {
        check_frame(frame)?;
        let rect = RectPx::whole(frame.width, frame.height);
        let pad = crop_to_tensor(
            image(frame),
            rect,
            &DETECTOR_TENSOR,
            &mut self.buf.det_input,
        );
        let out = self.models.run_detector(&self.buf.det_input)?;
        Ok(best_detection(
            &out.boxes,
            &out.scores,
            &self.buf.anchors,
            &pad,
        ))
    }

    /// The landmark stage on a given ROI (§6), open loop: presence score and, when above 0.5,
    /// the projected landmarks. Does not touch the tracking state.
    pub fn landmarks_on_roi(
        &mut self,
        frame: &RgbFrame,
        roi: &Roi,
    ) -> Result<(f32, Option<LandmarkResult>), PoseError> {
        check_frame(frame)?;
        let rect = RectPx::from_roi(roi, frame.width, frame.height);
        let pad: Padding =
            crop_to_tensor(image(frame), rect, &LANDMARK_TENSOR, &mut self.buf.lm_input);
        let out = self.models.run_landmark(&self.buf.lm_input)?;
        let result = postprocess(
            out.presence,
            &out.landmarks,
            &out.heatmap,
            &out.world,
            roi,
            &pad,
        );
        Ok((out.presence, result))
    }
}

const DETECTOR_TENSOR: TensorSpec = TensorSpec {
    n: DETECTOR_SIZE,
    border: Border::Zero,
    range: ValueRange::SIGNED,
};
const LANDMARK_TENSOR: TensorSpec = TensorSpec {
    n: LANDMARK_SIZE,
    border: Border::Replicate,
    range: ValueRange::UNIT,
};

fn image(frame: &RgbFrame) -> ImageRef<'_> {
    ImageRef {
        rgb: &frame.data,
        width: frame.width,
        height: frame.height,
    }
}

fn check_frame(frame: &RgbFrame) -> Result<(), PoseError> {
    let want = frame.width as usize * frame.height as usize * 3;
    if frame.width == 0 || frame.height == 0 || frame.data.len() != want {
        return Err(PoseError::BadFrame {
            index: frame.index,
            reason: format!(
                "{}x{} needs {want} bytes, got {}",
                frame.width,
                frame.height,
                frame.data.len()
            ),
        });
    }
    Ok(())
}

/// Landmark with visibility, for callers that only need positions.
pub fn xy(l: &Landmark) -> [f32; 2] {
    [l.x, l.y]
}
