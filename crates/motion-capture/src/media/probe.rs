//! ffprobe through the hardened runner, its JSON parsed with serde, and the result checked:
//! an exit status of 0 proves nothing (a PNG forced through `jpeg_pipe` "succeeds" with a 0×0
//! stream), so the parsed stream must make sense too.

use std::path::Path;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::runner::{DEFAULT_MAX_PIXELS, FfCommand, Limits, MediaError, Tool, split_job_path};
use super::sniff::Container;

/// Largest side we ever accept from a probe, whatever the caller's own rules say.
pub const MAX_SIDE: u32 = 16384;

/// What the engine and the API need to know about a media file (first video stream).
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    pub container: Container,
    /// Index of the chosen video stream in the file (the decoder maps exactly this one).
    pub stream_index: usize,
    /// Size after the rotation metadata is applied, in stored pixels. A video's pixels may be
    /// non-square (`sample_aspect`): the video decoder squares them, see
    /// [`MediaInfo::square_pixel_size`].
    pub width: u32,
    pub height: u32,
    /// Size as coded in the stream.
    pub coded_width: u32,
    pub coded_height: u32,
    /// Rotation from the display matrix (or the legacy `rotate` tag) in degrees, as the
    /// decoder's frames have it turned (see [`quarter_turn`]): 0, 90, 180 or 270.
    pub rotation_deg: u32,
    /// Sample (pixel) aspect ratio of the stored frames, width:height; 1:1 when the stream
    /// states none.
    pub sample_aspect: (u32, u32),
    /// Frame rate: the average (`avg_frame_rate`) where it is plausible, see
    /// `Timing::of_video`; 0 for still images.
    pub fps: f64,
    /// Stream duration, else container duration, in seconds (None for still images).
    pub duration_s: Option<f64>,
    /// Frame count: `nb_frames` when the container states it, else `duration · fps` rounded.
    pub frame_count: Option<u64>,
    /// True when `frame_count` is the `duration · fps` estimate.
    pub frame_count_estimated: bool,
    pub codec: String,
    pub pix_fmt: Option<String>,
    /// ffprobe's `color_space` (the YUV matrix, e.g. `bt709`) and `color_range` (`tv` or `pc`),
    /// when the stream states them.
    pub color_space: Option<String>,
    pub color_range: Option<String>,
    /// Number of streams of all kinds in the file.
    pub stream_count: usize,
}

#[derive(Debug, Deserialize)]
struct ProbeJson {
    #[serde(default)]
    streams: Vec<StreamJson>,
    format: Option<FormatJson>,
}

#[derive(Debug, Deserialize)]
struct StreamJson {
    index: Option<usize>,
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    color_space: Option<String>,
    color_range: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    sample_aspect_ratio: Option<String>,
    duration: Option<String>,
    start_time: Option<String>,
    nb_frames: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    side_data_list: Vec<SideDataJson>,
    disposition: Option<DispositionJson>,
}

#[derive(Debug, Deserialize)]
struct DispositionJson {
    #[serde(default)]
    attached_pic: i32,
}

#[derive(Debug, Deserialize)]
struct SideDataJson {
    rotation: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct FormatJson {
    duration: Option<String>,
    nb_streams: Option<usize>,
}

/// Probes `path` (a file in its job directory) with the demuxer of `container`.
pub async fn probe(
    path: &Path,
    container: Container,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<MediaInfo, MediaError> {
    let (dir, name) = split_job_path(Tool::Ffprobe, path)?;
    let out = FfCommand::ffprobe(dir)
        .input_file(&name, container)
        .args(["-show_streams", "-show_format", "-of", "json"])
        .limits(limits.clone())
        .run(cancel)
        .await?;
    parse_probe_json(&out.stdout, container)
}

/// Parses and checks ffprobe's `-show_streams -show_format -of json` output.
pub fn parse_probe_json(json: &[u8], container: Container) -> Result<MediaInfo, MediaError> {
    let p: ProbeJson = serde_json::from_slice(json)
        .map_err(|e| bad_probe(format!("unreadable ffprobe output: {e}")))?;
    let stream_count = p
        .format
        .as_ref()
        .and_then(|f| f.nb_streams)
        .unwrap_or(p.streams.len())
        .max(p.streams.len());
    let v = p
        .streams
        .iter()
        // An attached picture (cover art) is a "video" stream too, but not the video.
        .find(|s| {
            s.codec_type.as_deref() == Some("video")
                && s.disposition.as_ref().is_none_or(|d| d.attached_pic == 0)
        })
        .ok_or_else(|| bad_probe("no video stream".into()))?;
    let (cw, ch) = (v.width.unwrap_or(0), v.height.unwrap_or(0));
    if cw == 0 || ch == 0 {
        return Err(bad_probe(format!("video stream has no size ({cw}x{ch})")));
    }
    let rotation_deg = rotation(v);
    let (width, height) = upright((cw, ch), rotation_deg);
    let timing = if container.is_image() {
        Timing::IMAGE
    } else {
        Timing::of_video(v, p.format.as_ref())
    };
    let info = MediaInfo {
        container,
        stream_index: v.index.unwrap_or(0),
        width,
        height,
        coded_width: cw,
        coded_height: ch,
        rotation_deg,
        sample_aspect: sample_aspect(v.sample_aspect_ratio.as_deref()),
        fps: timing.fps,
        duration_s: timing.duration_s,
        frame_count: timing.frame_count,
        frame_count_estimated: timing.frame_count_estimated,
        codec: v.codec_name.clone().unwrap_or_default(),
        pix_fmt: v.pix_fmt.clone(),
        color_space: v.color_space.clone(),
        color_range: v.color_range.clone(),
        stream_count,
    };
    // A wild sample aspect (1000:1, 1:1000) must not make the decoder's frames huge, nor
    // squeeze them to nothing (ffmpeg's scale reads a width of 0 as "keep the input's").
    // Sizes themselves are the callers' to judge: the API's size rules answer them with the
    // contract's texts, the decoding paths call `check_side_limit`.
    let (square_w, _) = info.square_pixel_size();
    let square_pixels = square_w as u64 * height as u64;
    let squared = (square_w, height) != (width, height);
    let stored_within_limit = info.check_side_limit().is_ok();
    if squared
        && stored_within_limit
        && (!(2..=MAX_SIDE).contains(&square_w) || square_pixels > DEFAULT_MAX_PIXELS)
    {
        let (n, d) = info.sample_aspect;
        return Err(bad_probe(format!(
            "implausible pixel aspect ratio {n}:{d} ({square_w}x{height} with square pixels)"
        )));
    }
    Ok(info)
}

fn bad_probe(reason: String) -> MediaError {
    MediaError::bad_input(Tool::Ffprobe, reason)
}

/// Frame rates believed (frames a second). The analysis grid is laid at the rate, so a rate
/// from a damaged or hostile header (a Matroska track whose default duration says 30000 fps
/// beside frames 33 ms apart) made one frame into a thousand copies; phones record up to 240.
pub const PLAUSIBLE_FPS: std::ops::RangeInclusive<f64> = 0.5..=240.0;

/// Rate, duration and frame count of the video stream, as far as the container states them.
struct Timing {
    fps: f64,
    duration_s: Option<f64>,
    frame_count: Option<u64>,
    frame_count_estimated: bool,
}

impl Timing {
    /// A still image: one frame, no rate.
    const IMAGE: Timing = Timing {
        fps: 0.0,
        duration_s: None,
        frame_count: Some(1),
        frame_count_estimated: false,
    };

    /// The average rate (else the base rate, else frames over duration: the first within
    /// [`PLAUSIBLE_FPS`]; else the first stated), the stream's duration (see
    /// [`stream_duration`]), and the stated frame count, else one estimated from the two.
    fn of_video(v: &StreamJson, format: Option<&FormatJson>) -> Timing {
        let duration_s = stream_duration(v, format);
        let stated = v
            .nb_frames
            .as_deref()
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n > 0);
        let counted = match (stated, duration_s) {
            (Some(n), Some(d)) if d > 0.0 => Some(n as f64 / d),
            _ => None,
        };
        let rates = [
            parse_rate(v.avg_frame_rate.as_deref()),
            parse_rate(v.r_frame_rate.as_deref()),
            counted,
        ];
        let stated_rates: Vec<f64> = rates.into_iter().flatten().filter(|r| *r > 0.0).collect();
        // None plausible: the first is reported as it is, for the callers' rules to judge (the
        // API answers with the contract's text, decoding refuses it: `check_frame_rate`).
        let fps = stated_rates
            .iter()
            .find(|r| PLAUSIBLE_FPS.contains(*r))
            .or(stated_rates.first())
            .copied()
            .unwrap_or(0.0);
        let (frame_count, frame_count_estimated) = match (stated, duration_s) {
            (Some(n), _) => (Some(n), false),
            (None, Some(d)) if fps > 0.0 => (Some((d * fps).round() as u64), true),
            _ => (None, false),
        };
        Timing {
            fps,
            duration_s,
            frame_count,
            frame_count_estimated,
        }
    }
}

/// How long the video stream lasts, seconds: its stated duration; else (Matroska and WebM
/// state none) where its `DURATION` tag, else the container, says it ends, less its start.
/// The container's duration is that of its longest stream (a clip with longer audio) counted
/// from 0 (a clip cut from the middle of a recording starts late); taken as the video's, the
/// analysis grid went on past the last frame, holding it for seconds.
fn stream_duration(v: &StreamJson, format: Option<&FormatJson>) -> Option<f64> {
    let start_s = parse_f64(v.start_time.as_deref())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(0.0);
    let end_s = || {
        let tagged = v
            .tags
            .iter()
            .find(|(k, _)| k.to_ascii_uppercase().starts_with("DURATION"))
            .and_then(|(_, t)| parse_clock(t));
        tagged.or_else(|| format.and_then(|f| parse_f64(f.duration.as_deref())))
    };
    parse_f64(v.duration.as_deref())
        .or_else(|| Some(end_s()? - start_s))
        .filter(|d| d.is_finite() && *d >= 0.0)
}

/// `HH:MM:SS.fraction` (Matroska's `DURATION` tag) in seconds.
fn parse_clock(s: &str) -> Option<f64> {
    let mut parts = s.trim().splitn(3, ':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    let sec = sec
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..60.0).contains(s))?;
    (m < 60).then(|| f64::from(h) * 3600.0 + f64::from(m) * 60.0 + sec)
}

fn rotation(v: &StreamJson) -> u32 {
    let raw = v
        .side_data_list
        .iter()
        .find_map(|s| s.rotation)
        .or_else(|| v.tags.get("rotate").and_then(|r| r.parse::<f64>().ok()))
        .unwrap_or(0.0);
    quarter_turn(raw)
}

/// A rotation as ffmpeg's autorotation applies it: within a degree of a quarter turn it
/// transposes or flips the frames (0, 90, 180 or 270 here); any other angle it turns within
/// the stored size (a `rotate` filter), which is 0 here: the frames keep the stored width and
/// height. Snapped to the nearest quarter instead, a 45° clip's frames were read with the
/// other's width and came out as noise.
fn quarter_turn(deg: f64) -> u32 {
    if !deg.is_finite() {
        return 0;
    }
    let turned = deg.rem_euclid(360.0);
    let quarters = (turned / 90.0).round();
    if (turned - quarters * 90.0).abs() < 1.0 {
        ((quarters as u32) % 4) * 90
    } else {
        0
    }
}

/// ffprobe's `sample_aspect_ratio` ("N:D"; "0:1" or absent when unknown) → (N, D), 1:1 unless
/// both are positive.
fn sample_aspect(s: Option<&str>) -> (u32, u32) {
    let parsed = s
        .and_then(|s| s.split_once(':'))
        .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)));
    match parsed {
        Some((n, d)) if n > 0 && d > 0 => (n, d),
        _ => (1, 1),
    }
}

impl MediaInfo {
    /// Refuses a stream whose stored frames are larger than [`MAX_SIDE`] on a side: nothing we
    /// decode may be that large, whatever the caller's own rules allow.
    /// Refuses a video whose frame rate is outside [`PLAUSIBLE_FPS`] (still images have none).
    pub fn check_frame_rate(&self) -> Result<(), MediaError> {
        if self.container.is_image() || PLAUSIBLE_FPS.contains(&self.fps) {
            return Ok(());
        }
        Err(bad_probe(format!(
            "the frame rate ({:.3} frames per second) is outside {}-{}",
            self.fps,
            PLAUSIBLE_FPS.start(),
            PLAUSIBLE_FPS.end()
        )))
    }

    pub fn check_side_limit(&self) -> Result<(), MediaError> {
        let (w, h) = (self.coded_width, self.coded_height);
        if w > MAX_SIDE || h > MAX_SIDE {
            return Err(bad_probe(format!(
                "its frames ({w}x{h}) are larger than the limit of {MAX_SIDE} pixels a side"
            )));
        }
        Ok(())
    }

    /// The frame size the video decoder delivers: the (rotated) frame with square pixels, its
    /// width scaled by the sample aspect as players display it (§9.3's display size), as
    /// [`super::decode`]'s scale filter computes it. After a quarter turn ffmpeg's
    /// autorotation inverts the sample aspect, so a rotated anamorphic video keeps its shape,
    /// scaled along its new width. Images keep their stored pixels.
    pub fn square_pixel_size(&self) -> (u32, u32) {
        if self.container.is_image() {
            return (self.width, self.height);
        }
        let (n, d) = self.sample_aspect;
        let (n, d) = if self.rotation_deg % 180 == 90 {
            (d, n)
        } else {
            (n, d)
        };
        // The same double arithmetic as ffmpeg's expression evaluator: `trunc(iw*sar)`.
        let width = (self.width as f64 * (n as f64 / d as f64)).trunc().max(1.0);
        (width as u32, self.height)
    }

    /// The size of the frames upright, as stored: the coded size turned by the rotation. Unlike
    /// `width × height` it stays the stored size after [`MediaInfo::with_square_pixels`].
    pub fn stored_size(&self) -> (u32, u32) {
        upright((self.coded_width, self.coded_height), self.rotation_deg)
    }

    /// This video as the decoder delivers it: the size of its square-pixel frames.
    pub fn with_square_pixels(mut self) -> MediaInfo {
        (self.width, self.height) = self.square_pixel_size();
        self.sample_aspect = (1, 1);
        self
    }
}

/// A coded size after a rotation of `rotation_deg` (0, 90, 180 or 270).
fn upright((w, h): (u32, u32), rotation_deg: u32) -> (u32, u32) {
    if rotation_deg % 180 == 90 {
        (h, w)
    } else {
        (w, h)
    }
}

fn parse_rate(s: Option<&str>) -> Option<f64> {
    let s = s?;
    let r = match s.split_once('/') {
        Some((n, d)) => {
            let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
            if d == 0.0 {
                return None;
            }
            n / d
        }
        None => s.parse::<f64>().ok()?,
    };
    r.is_finite().then_some(r)
}

fn parse_f64(s: Option<&str>) -> Option<f64> {
    s?.parse::<f64>().ok()
}

/// Writes one JPEG frame of the video nearest to `at_s` seconds to `out` (our own path), scaled
/// down (never up) so that its longer side is at most `max_side`. Used for covers.
pub async fn extract_frame_jpeg(
    path: &Path,
    container: Container,
    at_s: f64,
    out: &Path,
    max_side: u32,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<(), MediaError> {
    let (dir, name) = split_job_path(Tool::Ffmpeg, path)?;
    let at = format!("{:.3}", at_s.max(0.0));
    let scale = format!(
        "scale=w='min(iw,{m})':h='min(ih,{m})':force_original_aspect_ratio=decrease,format=yuvj420p",
        m = max_side.max(2)
    );
    // ffmpeg runs with its cwd in the input's job directory, so a relative output path
    // (e.g. under a relative `--data-dir`) would land in the wrong place: make it absolute.
    let out = std::path::absolute(out).map_err(|source| MediaError::Io {
        tool: Tool::Ffmpeg,
        source,
    })?;
    let mut out_arg = std::ffi::OsString::from("file:");
    out_arg.push(out.as_os_str());
    FfCommand::ffmpeg(dir)
        .input_args(["-ss", at.as_str()])
        .input_file(&name, container)
        .args([
            "-frames:v",
            "1",
            "-an",
            "-sn",
            "-dn",
            "-vf",
            scale.as_str(),
            "-q:v",
            "3",
            "-f",
            "mjpeg",
            "-y",
        ])
        .args([out_arg])
        .limits(limits.clone())
        .run(cancel)
        .await?;
    let len = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(MediaError::bad_input(
            Tool::Ffmpeg,
            format!("no frame at {at} s"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = r#"{"streams":[{"index":0,"codec_name":"h264","codec_type":"video","width":1920,"height":1080,
      "pix_fmt":"yuv420p","r_frame_rate":"30/1","avg_frame_rate":"30000/1001","duration":"4.004000","nb_frames":"120",
      "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
      {"index":1,"codec_type":"audio","codec_name":"aac"}],"format":{"nb_streams":2,"duration":"4.010000"}}"#;

    #[test]
    fn parses_a_rotated_phone_video() {
        let m = parse_probe_json(PHONE.as_bytes(), Container::Mp4Mov).unwrap();
        assert_eq!(
            (m.width, m.height, m.coded_width, m.coded_height),
            (1080, 1920, 1920, 1080)
        );
        assert_eq!(m.rotation_deg, 270);
        assert!((m.fps - 29.97).abs() < 0.01);
        assert_eq!(m.duration_s, Some(4.004));
        assert_eq!((m.frame_count, m.frame_count_estimated), (Some(120), false));
        assert_eq!((m.codec.as_str(), m.stream_count), ("h264", 2));
    }

    #[test]
    fn an_implausible_frame_rate_gives_way_to_a_plausible_one() {
        let clip = |avg: &str, base: &str| {
            format!(
                r#"{{"streams":[{{"codec_type":"video","codec_name":"h264","width":64,"height":48,
                  "avg_frame_rate":"{avg}","r_frame_rate":"{base}","duration":"2.0"}}]}}"#
            )
        };
        let fps = |avg: &str, base: &str| {
            parse_probe_json(clip(avg, base).as_bytes(), Container::Mp4Mov).map(|m| m.fps)
        };
        assert_eq!(fps("30/1", "60/1").unwrap(), 30.0);
        assert_eq!(fps("30000/1", "30/1").unwrap(), 30.0);
        assert_eq!(fps("0/0", "25/1").unwrap(), 25.0);
        assert_eq!(fps("1/3600", "240/1").unwrap(), 240.0);
        // None plausible: reported for the callers to judge, and refused for decoding.
        assert_eq!(fps("90000/1", "90000/1").unwrap(), 90000.0);
        let wild = parse_probe_json(clip("90000/1", "90000/1").as_bytes(), Container::Mp4Mov);
        let refused = wild.unwrap().check_frame_rate().unwrap_err();
        assert!(refused.is_bad_input(), "{refused}");
        assert!(
            refused.to_string().contains("frame rate (90000.000"),
            "{refused}"
        );
        // Frames over duration, when the header's rates are wild.
        let counted = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":64,
          "height":48,"avg_frame_rate":"30000/1","duration":"2.0","nb_frames":"50"}]}"#;
        let m = parse_probe_json(counted.as_bytes(), Container::Mp4Mov).unwrap();
        assert_eq!(m.fps, 25.0);
    }

    #[test]
    fn only_quarter_turns_change_the_frame_size() {
        for (deg, want) in [
            (0.0, 0),
            (90.0, 90),
            (-90.0, 270),
            (90.9, 90),
            (269.2, 270),
            (359.5, 0),
            (45.0, 0),
            (-45.0, 0),
            (91.5, 0),
            (f64::NAN, 0),
        ] {
            assert_eq!(quarter_turn(deg), want, "{deg}°");
        }
    }

    #[test]
    fn estimates_frames_from_duration_for_matroska() {
        let j = r#"{"streams":[{"codec_type":"video","codec_name":"vp9","width":640,"height":480,
          "avg_frame_rate":"25/1","tags":{"DURATION":"00:00:02.000000000"}}],"format":{"duration":"2.000000"}}"#;
        let m = parse_probe_json(j.as_bytes(), Container::Matroska).unwrap();
        assert_eq!((m.frame_count, m.frame_count_estimated), (Some(50), true));
        assert_eq!(m.duration_s, Some(2.0));
    }

    /// ffprobe's view of a Matroska clip whose 2 s of video lie beside 6 s of audio, or start
    /// 3 s into the recording: the video lasts 2 s, not the container's 6 or 5.
    #[test]
    fn a_matroska_video_lasts_as_long_as_its_own_stream() {
        let clip = |start: &str, tags: &str, container_s: &str| {
            format!(
                r#"{{"streams":[{{"codec_type":"video","codec_name":"h264","width":64,"height":48,
                  "avg_frame_rate":"30/1","start_time":"{start}","tags":{{{tags}}}}},
                  {{"codec_type":"audio","codec_name":"opus"}}],
                  "format":{{"duration":"{container_s}"}}}}"#
            )
        };
        for (what, json, want) in [
            (
                "longer audio",
                clip("0.007000", r#""DURATION":"00:00:02.007000000""#, "6.008"),
                2.0,
            ),
            (
                "late start",
                clip("3.000000", r#""DURATION":"00:00:05.000000000""#, "5.0"),
                2.0,
            ),
            ("late start, no tag", clip("3.000000", "", "5.0"), 2.0),
            (
                "tag with a language",
                clip("0", r#""DURATION-eng":"01:00:02.5""#, "9000"),
                3602.5,
            ),
        ] {
            let m = parse_probe_json(json.as_bytes(), Container::Matroska).unwrap();
            let got = m.duration_s.unwrap();
            assert!((got - want).abs() < 1e-6, "{what}: {got}");
        }
        assert_eq!(parse_clock("00:61:00"), None);
        assert_eq!(parse_clock("garbage"), None);
    }

    #[test]
    fn rejects_sizeless_or_streamless_input() {
        let zero =
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":0,"height":0}]}"#;
        assert!(
            parse_probe_json(zero.as_bytes(), Container::Jpeg)
                .unwrap_err()
                .is_bad_input()
        );
        let audio = r#"{"streams":[{"codec_type":"audio","codec_name":"aac"}]}"#;
        assert!(parse_probe_json(audio.as_bytes(), Container::Mp4Mov).is_err());
        assert!(parse_probe_json(b"not json", Container::Mp4Mov).is_err());
    }

    /// Sizes are reported, not refused: the API's size rules must see them to answer with the
    /// contract's texts; what decodes checks the side limit itself.
    #[test]
    fn oversized_frames_are_reported_and_refused_for_decoding() {
        let huge = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":20000,"height":300,
          "sample_aspect_ratio":"2:1","avg_frame_rate":"30/1"}]}"#;
        let m = parse_probe_json(huge.as_bytes(), Container::Mp4Mov).unwrap();
        assert_eq!((m.width, m.height), (20000, 300));
        let err = m.check_side_limit().unwrap_err();
        assert!(err.is_bad_input(), "{err:?}");
        let png =
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":300,"height":16385}]}"#;
        let m = parse_probe_json(png.as_bytes(), Container::Png).unwrap();
        assert!(m.check_side_limit().is_err());
        let edge =
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":16384,"height":300}]}"#;
        let m = parse_probe_json(edge.as_bytes(), Container::Png).unwrap();
        assert!(m.check_side_limit().is_ok());
    }

    #[test]
    fn legacy_rotate_tag_is_honoured() {
        let j = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":480,
          "avg_frame_rate":"30/1","tags":{"rotate":"90"}}]}"#;
        let m = parse_probe_json(j.as_bytes(), Container::Mp4Mov).unwrap();
        assert_eq!((m.width, m.height, m.rotation_deg), (480, 640, 90));
    }

    #[test]
    fn non_square_pixels_are_squared_along_the_width() {
        let anamorphic = |sar: &str, rotate: &str| {
            let j = format!(
                r#"{{"streams":[{{"codec_type":"video","codec_name":"h264","width":360,"height":1280,
                  "sample_aspect_ratio":"{sar}","avg_frame_rate":"30/1","tags":{{"rotate":"{rotate}"}}}}]}}"#
            );
            parse_probe_json(j.as_bytes(), Container::Mp4Mov)
        };
        let m = anamorphic("2:1", "0").unwrap();
        assert_eq!((m.width, m.height, m.sample_aspect), (360, 1280, (2, 1)));
        assert_eq!(m.square_pixel_size(), (720, 1280));
        let m = m.with_square_pixels();
        assert_eq!((m.width, m.height, m.sample_aspect), (720, 1280, (1, 1)));
        // 8:9 (DV NTSC): 720 · 8/9 is 640 in ffmpeg's arithmetic too.
        let j = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":720,"height":480,
          "sample_aspect_ratio":"8:9","avg_frame_rate":"30/1"}]}"#;
        let m = parse_probe_json(j.as_bytes(), Container::Mp4Mov).unwrap();
        assert_eq!(m.square_pixel_size(), (640, 480));
        // A quarter turn inverts the aspect: the turned 1280x360 frame at 1:2.
        assert_eq!(
            anamorphic("2:1", "90").unwrap().square_pixel_size(),
            (640, 360)
        );
        // Unknown or absent aspect is square.
        assert_eq!(
            anamorphic("0:1", "0").unwrap().square_pixel_size(),
            (360, 1280)
        );
        // A wild aspect would make huge frames, or frames of no width.
        assert!(anamorphic("1000:1", "0").unwrap_err().is_bad_input());
        assert!(anamorphic("1:1000", "0").unwrap_err().is_bad_input());
        // 4:1 on 8192 rows: within the sides, over the pixel budget.
        let j = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":4000,"height":8000,
          "sample_aspect_ratio":"4:1","avg_frame_rate":"30/1"}]}"#;
        assert!(parse_probe_json(j.as_bytes(), Container::Mp4Mov).is_err());
    }
}
