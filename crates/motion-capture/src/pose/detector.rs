//! Person detector post-processing (pose-pipeline §4): SSD anchors, box/keypoint decoding,
//! weighted non-maximum suppression and letterbox removal. All f32, in MediaPipe's order.

use super::crop::Padding;

/// Detector input side.
pub const DETECTOR_SIZE: usize = 224;
/// Anchors of the 224×224 detector (strides 8, 16, 32·3 merged; 2 per layer per cell).
pub const NUM_ANCHORS: usize = 2254;
const NUM_COORDS: usize = 12;
const SCORE_CLIP: f32 = 100.0;
/// `min_detection_confidence`.
pub const MIN_SCORE: f32 = 0.5;
const NMS_IOU: f32 = 0.3;

/// One detection: a (face) box and four keypoints, normalised (to the tensor before letterbox
/// removal, to the frame after).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub score: f32,
    /// xmin, ymin, width, height.
    pub bbox: [f32; 4],
    /// 0 hip centre, 1 body scale/rotation point, 2 shoulder centre, 3 upper-body point.
    pub keypoints: [[f32; 2]; 4],
}

/// Anchor centres, in MediaPipe's order (group by stride, then row, column, anchor).
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    // (stride, anchors per cell): consecutive layers with the same stride are merged.
    for (stride, per_cell) in [(8usize, 2usize), (16, 2), (32, 6)] {
        let fm = DETECTOR_SIZE.div_ceil(stride);
        for y in 0..fm {
            for x in 0..fm {
                let c = [
                    (x as f32 + 0.5) * 1.0 / fm as f32,
                    (y as f32 + 0.5) * 1.0 / fm as f32,
                ];
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// Decodes the raw outputs (`boxes` `[2254·12]`, `scores` `[2254]`) into detections with
/// score ≥ 0.5 and a valid box.
pub fn decode(boxes: &[f32], scores: &[f32], anchors: &[[f32; 2]]) -> Vec<Detection> {
    let s = DETECTOR_SIZE as f32;
    let mut out = Vec::new();
    for (i, a) in anchors.iter().enumerate() {
        let score = sigmoid(scores[i].clamp(-SCORE_CLIP, SCORE_CLIP));
        if score < MIN_SCORE {
            continue;
        }
        let r = &boxes[i * NUM_COORDS..(i + 1) * NUM_COORDS];
        let xc = r[0] / s * 1.0 + a[0];
        let yc = r[1] / s * 1.0 + a[1];
        let w = r[2] / s * 1.0;
        let h = r[3] / s * 1.0;
        let (xmin, ymin, xmax, ymax) = (xc - w / 2.0, yc - h / 2.0, xc + w / 2.0, yc + h / 2.0);
        let (bw, bh) = (xmax - xmin, ymax - ymin);
        // Negative or NaN sizes are dropped.
        if bw.is_nan() || bh.is_nan() || bw < 0.0 || bh < 0.0 {
            continue;
        }
        let keypoints =
            std::array::from_fn(|k| [r[4 + 2 * k] / s * 1.0 + a[0], r[5 + 2 * k] / s * 1.0 + a[1]]);
        out.push(Detection {
            score,
            bbox: [xmin, ymin, bw, bh],
            keypoints,
        });
    }
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let (ax1, ay1) = (a[0] + a[2], a[1] + a[3]);
    let (bx1, by1) = (b[0] + b[2], b[1] + b[3]);
    let (ix0, iy0, ix1, iy1) = (a[0].max(b[0]), a[1].max(b[1]), ax1.min(bx1), ay1.min(by1));
    if ix0 > ix1 || iy0 > iy1 {
        return 0.0;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    let norm = a[2] * a[3] + b[2] * b[3] - inter;
    if norm > 0.0 { inter / norm } else { 0.0 }
}

/// Weighted NMS: each cluster (IoU > 0.3 with its best member) becomes one detection with the
/// best score and score-weighted box corners and keypoints.
pub fn weighted_nms(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !dets.is_empty() {
        let top = dets[0];
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) = dets
            .into_iter()
            .partition(|d| iou(&top.bbox, &d.bbox) > NMS_IOU);
        if cluster.is_empty() {
            out.push(top);
            break;
        }
        out.push(weighted_mean(top, &cluster));
        dets = rest;
    }
    out
}

fn weighted_mean(top: Detection, cluster: &[Detection]) -> Detection {
    let (mut total, mut xmin, mut ymin, mut xmax, mut ymax) = (0f32, 0f32, 0f32, 0f32, 0f32);
    let mut kp = [[0f32; 2]; 4];
    for d in cluster {
        let s = d.score;
        total += s;
        xmin += d.bbox[0] * s;
        ymin += d.bbox[1] * s;
        xmax += (d.bbox[0] + d.bbox[2]) * s;
        ymax += (d.bbox[1] + d.bbox[3]) * s;
        for (acc, p) in kp.iter_mut().zip(&d.keypoints) {
            acc[0] += p[0] * s;
            acc[1] += p[1] * s;
        }
    }
    let bbox = [
        xmin / total,
        ymin / total,
        (xmax - xmin) / total,
        (ymax - ymin) / total,
    ];
    let keypoints = kp.map(|p| [p[0] / total, p[1] / total]);
    Detection {
        score: top.score,
        bbox,
        keypoints,
    }
}

/// Undoes the detector crop's letterbox padding: tensor-normalised → frame-normalised.
pub fn remove_letterbox(d: &Detection, p: &Padding) -> Detection {
    let (lr, tb) = (p.left + p.right, p.top + p.bottom);
    let fx = |x: f32| (x - p.left) / (1.0 - lr);
    let fy = |y: f32| (y - p.top) / (1.0 - tb);
    Detection {
        score: d.score,
        bbox: [
            fx(d.bbox[0]),
            fy(d.bbox[1]),
            d.bbox[2] / (1.0 - lr),
            d.bbox[3] / (1.0 - tb),
        ],
        keypoints: d.keypoints.map(|k| [fx(k[0]), fy(k[1])]),
    }
}

/// Decode, NMS, letterbox removal; the best detection (the pipeline is single-person).
pub fn best_detection(
    boxes: &[f32],
    scores: &[f32],
    anchors: &[[f32; 2]],
    padding: &Padding,
) -> Option<Detection> {
    weighted_nms(decode(boxes, scores, anchors))
        .first()
        .map(|d| remove_letterbox(d, padding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_grid() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        assert_eq!(a[0], [0.5 / 28.0, 0.5 / 28.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [1.5 / 28.0, 0.5 / 28.0]);
        assert_eq!(a[1568], [0.5 / 14.0, 0.5 / 14.0]);
        assert_eq!(a[1960..1966], [[0.5 / 7.0, 0.5 / 7.0]; 6]);
        assert_eq!(a[NUM_ANCHORS - 1], [6.5 / 7.0, 6.5 / 7.0]);
    }

    fn det(score: f32, x: f32) -> Detection {
        Detection {
            score,
            bbox: [x, 0.0, 0.2, 0.2],
            keypoints: [[x, 0.5]; 4],
        }
    }

    #[test]
    fn nms_weights_clusters_and_keeps_separate_people() {
        let out = weighted_nms(vec![det(0.6, 0.02), det(0.9, 0.0), det(0.7, 0.8)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let x = (0.0 * 0.9 + 0.02 * 0.6) / 1.5;
        assert!((out[0].keypoints[0][0] - x).abs() < 1e-7 && (out[0].bbox[0] - x).abs() < 1e-7);
        assert_eq!(out[1].score, 0.7);
        // IoU exactly at 0.3 does not cluster.
        assert!(iou(&[0.0, 0.0, 1.0, 1.0], &[0.0, 0.0, 0.3, 1.0]) <= 0.3 + 1e-7);
    }

    #[test]
    fn decode_thresholds_and_offsets() {
        let a = anchors();
        let mut boxes = vec![0f32; NUM_ANCHORS * 12];
        let mut scores = vec![-5f32; NUM_ANCHORS];
        scores[3] = 1000.0; // clipped to 100
        boxes[3 * 12..3 * 12 + 12].copy_from_slice(&[
            22.4, -22.4, 44.8, 22.4, 11.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ]);
        let d = decode(&boxes, &scores, &a);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].score, 1.0);
        assert!((d[0].bbox[0] - (a[3][0] + 0.1 - 0.1)).abs() < 1e-6);
        assert!((d[0].bbox[2] - 0.2).abs() < 1e-6 && (d[0].bbox[3] - 0.1).abs() < 1e-6);
        assert!((d[0].keypoints[0][0] - (a[3][0] + 0.05)).abs() < 1e-6);
        let p = Padding {
            left: 0.0,
            top: 0.25,
            right: 0.0,
            bottom: 0.25,
        };
        let r = remove_letterbox(&d[0], &p);
        assert!((r.keypoints[1][1] - (a[3][1] - 0.25) / 0.5).abs() < 1e-6);
    }
}
