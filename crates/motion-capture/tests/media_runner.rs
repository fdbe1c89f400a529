//! The hardened runner, probe and frame source against real ffmpeg, on clips made on the fly
//! (rotation metadata, odd size, 60 fps, variable frame rate) and on hostile inputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use motion_capture::media::decode::decode_image;
use motion_capture::media::{
    Container, DecodeOptions, FfCommand, FrameSource, Limits, MediaError, extract_frame_jpeg,
    probe, sniff_file,
};
use tokio_util::sync::CancellationToken;

fn ffmpeg_available() {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "ffmpeg missing: run scripts/test.sh (it installs ffmpeg)"
    );
}

/// Makes a test clip with the system ffmpeg (trusted generator input, not user media).
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    ffmpeg_available();
    let out = dir.join(name);
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(st.success(), "ffmpeg could not make {name}");
    out
}

fn ffprobe_times_us(path: &Path) -> Vec<i64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (f["best_effort_timestamp_time"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap()
                * 1e6)
                .round() as i64
        })
        .collect()
}

async fn decode_all(
    path: &Path,
) -> (
    motion_capture::media::MediaInfo,
    Vec<motion_capture::types::RgbFrame>,
) {
    let cancel = CancellationToken::new();
    let c = sniff_file(path).unwrap();
    let info = probe(path, c, &Limits::default(), &cancel).await.unwrap();
    let mut src = FrameSource::open(path, &info, &DecodeOptions::default(), &cancel).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = src.next_frame().await {
        frames.push(f.unwrap());
    }
    (info, frames)
}

#[tokio::test]
async fn rotated_video_comes_out_upright() {
    let dir = tempfile::tempdir().unwrap();
    let plain = make(
        dir.path(),
        "plain.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let rot = make(
        dir.path(),
        "rot.mp4",
        &[
            "-i",
            plain.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let (info, frames) = decode_all(&rot).await;
    assert_eq!((info.coded_width, info.coded_height), (320, 240));
    assert_eq!((info.width, info.height, info.rotation_deg), (240, 320, 90));
    assert_eq!(frames.len(), 10);
    assert_eq!(info.frame_count, Some(10));
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(
            (f.width, f.height, f.data.len(), f.index),
            (240, 320, 240 * 320 * 3, i as u64)
        );
        assert_eq!(f.t_us, i as i64 * 100_000);
    }
}

/// Sets the display matrix of an MP4's (only) video track to a turn of `deg` degrees.
fn turn_track_matrix(mp4: &Path, deg: f64) {
    let mut bytes = std::fs::read(mp4).unwrap();
    let tkhd = bytes.windows(4).position(|w| w == b"tkhd").unwrap() - 4;
    assert_eq!(bytes[tkhd + 8], 0, "a version 0 track header");
    // After the header's size, type, version and flags, five 32-bit fields, 8 reserved bytes,
    // and layer, group, volume and 2 reserved bytes: the matrix, a b u c d v x y w.
    let matrix = tkhd + 48;
    let (sin, cos) = deg.to_radians().sin_cos();
    let fixed = |v: f64| ((v * 65536.0).round() as i32).to_be_bytes();
    for (k, v) in [(0, cos), (1, sin), (3, -sin), (4, cos)] {
        bytes[matrix + 4 * k..matrix + 4 * k + 4].copy_from_slice(&fixed(v));
    }
    std::fs::write(mp4, bytes).unwrap();
}

/// A rotation that is no quarter turn is applied by ffmpeg within the stored size: the frames
/// keep it, and are the very pixels ffmpeg gives (they were read with the sides exchanged).
#[tokio::test]
async fn a_rotation_between_quarter_turns_keeps_the_stored_size() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "turned.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x90:rate=10",
            "-t",
            "0.5",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    turn_track_matrix(&clip, 45.0);
    let (info, frames) = decode_all(&clip).await;
    assert_eq!((info.width, info.height, info.rotation_deg), (160, 90, 0));
    let by_ffmpeg = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&clip)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(by_ffmpeg.status.success());
    assert_eq!(
        by_ffmpeg.stdout.len(),
        160 * 90 * 3,
        "ffmpeg keeps the size"
    );
    let first = &frames[0];
    assert_eq!((first.width, first.height), (160, 90));
    let mean_diff = first
        .data
        .iter()
        .zip(&by_ffmpeg.stdout)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / first.data.len() as f64;
    assert!(mean_diff < 0.5, "mean difference {mean_diff}");
}

#[tokio::test]
async fn odd_size_sixty_fps_and_matroska() {
    let dir = tempfile::tempdir().unwrap();
    let odd = make(
        dir.path(),
        "odd.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=853x480:rate=60",
            "-t",
            "0.5",
            "-pix_fmt",
            "yuv444p",
        ],
    );
    let (info, frames) = decode_all(&odd).await;
    assert_eq!((info.width, info.height, info.fps), (853, 480, 60.0));
    assert_eq!(frames.len(), 30);
    assert!(frames.iter().all(|f| f.data.len() == 853 * 480 * 3));
    assert_eq!(
        frames.iter().map(|f| f.t_us).collect::<Vec<_>>(),
        ffprobe_times_us(&odd)
    );

    let mkv = make(
        dir.path(),
        "clip.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=321x241:rate=25",
            "-t",
            "0.4",
            "-c:v",
            "libvpx-vp9",
        ],
    );
    assert_eq!(sniff_file(&mkv).unwrap(), Container::Matroska);
    let (info, frames) = decode_all(&mkv).await;
    assert_eq!(
        (info.width, info.height, info.codec.as_str()),
        (321, 241, "vp9")
    );
    assert_eq!(frames.len(), 10);
    assert_eq!(
        frames.iter().map(|f| f.t_us).collect::<Vec<_>>(),
        ffprobe_times_us(&mkv)
    );
}

#[tokio::test]
async fn variable_frame_rate_keeps_every_frame_and_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let vfr = make(
        dir.path(),
        "vfr.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30",
            "-t",
            "1",
            "-vf",
            "setpts='if(lt(N,10),N*0.0333/TB,(0.333+(N-10)*0.1)/TB)'",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let (_, frames) = decode_all(&vfr).await;
    let expected = ffprobe_times_us(&vfr);
    assert_eq!(frames.len(), expected.len());
    assert_eq!(frames.iter().map(|f| f.t_us).collect::<Vec<_>>(), expected);
    let gaps: Vec<i64> = frames.windows(2).map(|w| w[1].t_us - w[0].t_us).collect();
    assert!(
        gaps.iter().any(|g| *g < 40_000) && gaps.iter().any(|g| *g > 90_000),
        "not VFR: {gaps:?}"
    );
}

/// Frames that share a time (frames 10-13 here) keep theirs, and every later frame its own:
/// ffmpeg folds identical log lines, the printed timestamps included, unless told not to.
#[tokio::test]
async fn frames_sharing_a_time_leave_the_later_frames_times_alone() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "repeats.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=30",
            "-frames:v",
            "30",
            "-vf",
            "setpts='if(between(N,10,13),10,N)'",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-bf",
            "0",
        ],
    );
    let (_, frames) = decode_all(&clip).await;
    let expected = ffprobe_times_us(&clip);
    assert_eq!(frames.len(), 30);
    assert_eq!(expected[10..14], [333_000; 4], "the clip repeats a time");
    for (i, (frame, want)) in frames.iter().zip(&expected).enumerate() {
        // A repeated time is nudged a microsecond a frame to keep the times increasing.
        let nudge = if (10..14).contains(&i) {
            i as i64 - 10
        } else {
            0
        };
        assert_eq!(frame.t_us, want + nudge, "frame {i}");
    }
}

/// A Matroska clip states no stream duration: its 2 s of video beside 6 s of audio, or cut
/// from 3 s into a recording, last 2 s (the grid, which ends there, held the last frame for
/// the seconds between).
#[tokio::test]
async fn a_matroska_video_lasts_as_long_as_its_own_stream() {
    let dir = tempfile::tempdir().unwrap();
    let video = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x48:rate=30:duration=2",
    ];
    let longer_audio = make(
        dir.path(),
        "longer_audio.mkv",
        &[
            &video[..],
            &["-f", "lavfi", "-i", "sine=duration=6", "-c:a", "aac"],
        ]
        .concat(),
    );
    let late = make(
        dir.path(),
        "late.mkv",
        &[&video[..], &["-output_ts_offset", "3"]].concat(),
    );
    let cancel = CancellationToken::new();
    for clip in [longer_audio, late] {
        let info = probe(&clip, Container::Matroska, &Limits::default(), &cancel)
            .await
            .unwrap();
        let duration = info.duration_s.unwrap();
        assert!((duration - 2.0).abs() < 0.02, "{clip:?}: {duration} s");
        assert_eq!(info.frame_count, Some(60), "{clip:?}");
    }
}

/// A Matroska track whose default frame duration was damaged to 33 µs: ffprobe's average
/// rate says 30000 fps for frames 33 ms apart. The analysis grid, laid at that rate, made the
/// first frame a thousand copies; the base rate is taken instead.
#[tokio::test]
async fn a_wild_average_rate_gives_way_to_the_base_rate() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "wild_rate.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=30:duration=2",
        ],
    );
    let mut bytes = std::fs::read(&clip).unwrap();
    // DefaultDuration (ID 0x23E383), a 4-byte value in nanoseconds.
    let at = bytes
        .windows(4)
        .position(|w| w == [0x23, 0xE3, 0x83, 0x84])
        .expect("a default duration")
        + 4;
    bytes[at..at + 4].copy_from_slice(&33_333u32.to_be_bytes());
    std::fs::write(&clip, bytes).unwrap();
    let (info, frames) = decode_all(&clip).await;
    assert_eq!(info.fps, 30.0);
    assert_eq!(frames.len(), 60);
}

/// The analysis grid (api-contract §9.4) is ffmpeg's `fps` filter at the average rate: on a
/// clip whose frames come fast (50 fps), then in 0.5 s pauses, then at 25 fps, each slot of our
/// grid holds the very source frame that `fps` shows there. Each source frame's luma is its
/// index times 4 (lossless), so ffmpeg's output says which frame it chose.
#[tokio::test]
async fn the_analysis_grid_is_ffmpegs_fps_filter() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "irregular.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=black:s=16x16:r=30:d=2",
            "-vf",
            "geq=lum='N*4':cb=128:cr=128,settb=1/1000,\
             setpts='if(lt(N,20),N*0.02/TB,if(lt(N,25),(0.4+(N-20)*0.5)/TB,(2.9+(N-25)*0.04)/TB))'",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv444p",
            "-video_track_timescale",
            "1000",
        ],
    );
    let cancel = CancellationToken::new();
    let info = probe(&clip, Container::Mp4Mov, &Limits::default(), &cancel)
        .await
        .unwrap();
    // ffmpeg's choice for each slot: the luma of its frame, /4.
    let avg_rate = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=avg_frame_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(&clip)
        .output()
        .unwrap();
    let avg_rate = String::from_utf8(avg_rate.stdout).unwrap();
    let resampled = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&clip)
        .args(["-vf", &format!("fps={}", avg_rate.trim())])
        .args(["-f", "rawvideo", "-pix_fmt", "yuv444p", "-"])
        .output()
        .unwrap();
    assert!(resampled.status.success());
    let plane = 16 * 16 * 3;
    let by_ffmpeg: Vec<u64> = resampled
        .stdout
        .chunks_exact(plane)
        .map(|f| (f[0] as u64 + 2) / 4)
        .collect();
    // Ours, from the source frames' times.
    let mut grid = motion_capture::media::FrameGrid::for_stream(info.fps, info.duration_s, 1000);
    let times = ffprobe_times_us(&clip);
    let mut placements: Vec<_> = times.iter().filter_map(|&t| grid.arrive(t)).collect();
    placements.extend(grid.finish());
    let ours: Vec<u64> = placements
        .iter()
        .enumerate()
        .flat_map(|(i, p)| std::iter::repeat_n(i as u64, p.copies as usize))
        .collect();
    assert!(by_ffmpeg.contains(&20), "the clip has its pause");
    assert_eq!(ours, by_ffmpeg);
}

#[tokio::test]
async fn playlists_and_scripts_disguised_as_mp4_never_reach_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let other = make(
        dir.path(),
        "other.mp4",
        &["-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "1"],
    );
    let hls = dir.path().join("hls.mp4");
    std::fs::write(
        &hls,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n",
            other.display()
        ),
    )
    .unwrap();
    let concat = dir.path().join("concat.mp4");
    std::fs::write(&concat, "ffconcat version 1.0\nfile other.mp4\n").unwrap();
    let cancel = CancellationToken::new();
    for f in [&hls, &concat] {
        assert_eq!(sniff_file(f).unwrap(), Container::Unknown);
        // Even if a caller forces the mov demuxer, the whitelists refuse to follow the script.
        let err = probe(f, Container::Mp4Mov, &Limits::default(), &cancel)
            .await
            .unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        let err = probe(f, Container::Unknown, &Limits::default(), &cancel)
            .await
            .unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }
}

#[tokio::test]
async fn wrong_forced_demuxer_truncated_file_and_zero_bytes_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let png = make(
        dir.path(),
        "a.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=1",
            "-frames:v",
            "1",
        ],
    );
    let cancel = CancellationToken::new();
    // jpeg_pipe on a PNG exits 0 with a 0×0 stream: the parsed result must be checked.
    let err = probe(&png, Container::Jpeg, &Limits::default(), &cancel)
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let info = probe(&png, Container::Png, &Limits::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(
        (info.width, info.height, info.frame_count),
        (64, 48, Some(1))
    );
    let frame = decode_image(&png, &info, &Limits::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(frame.data.len(), 64 * 48 * 3);

    let clip = make(
        dir.path(),
        "c.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64:rate=10",
            "-t",
            "2",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let r = async {
        let info = probe(&cut, Container::Mp4Mov, &Limits::default(), &cancel).await?;
        let mut src = FrameSource::open(&cut, &info, &DecodeOptions::default(), &cancel)?;
        while let Some(f) = src.next_frame().await {
            f?;
        }
        Ok::<_, MediaError>(())
    }
    .await;
    assert!(r.unwrap_err().is_bad_input());
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(sniff_file(&empty).unwrap(), Container::Unknown);
}

#[tokio::test]
async fn timeout_and_cancel_kill_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "long.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=30",
            "-t",
            "20",
            "-preset",
            "ultrafast",
        ],
    );
    let cancel = CancellationToken::new();
    // `-re` makes ffmpeg read at real-time speed, so it cannot finish within the limit.
    let slow = |limits: Limits| {
        FfCommand::ffmpeg(dir.path())
            .input_args(["-re"])
            .input_file("long.mp4", Container::Mp4Mov)
            .args(["-f", "null", "-"])
            .limits(limits)
    };
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let err = slow(limits).run(&cancel).await.unwrap_err();
    assert!(matches!(err, MediaError::Timeout { .. }), "{err}");

    let running = slow(Limits::default()).spawn(&cancel).unwrap();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let started = std::time::Instant::now();
    let err = running.wait().await.unwrap_err();
    assert!(matches!(err, MediaError::Cancelled { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = clip;
}

/// The timeout bounds a stall, not a stream: a clip read at the pace of a slow consumer (the
/// pose model on a long clip) decodes to the end however long that takes, and so does a preview
/// fed that slowly, while a streaming call nobody reports progress on is still cut off.
#[tokio::test]
async fn a_stream_that_keeps_moving_outlives_its_timeout() {
    use motion_capture::media::encode::{Encoder, Preset};
    let dir = tempfile::tempdir().unwrap();
    // 640x480 rgb24 frames, 0.9 MB each: the 30 of them are far more than the frame pipe
    // holds, so the decoder lives as long as its consumer takes to read them.
    let clip = make(
        dir.path(),
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=30",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let cancel = CancellationToken::new();
    let limits = Limits {
        timeout: Duration::from_millis(1000),
        ..Limits::default()
    };
    let pause = Duration::from_millis(80);
    let info = probe(&clip, Container::Mp4Mov, &Limits::default(), &cancel)
        .await
        .unwrap();
    let opts = DecodeOptions {
        limits: limits.clone(),
        ..DecodeOptions::default()
    };
    let started = std::time::Instant::now();
    let mut src = FrameSource::open(&clip, &info, &opts, &cancel).unwrap();
    let mut frames = 0;
    while let Some(f) = src.next_frame().await {
        f.unwrap();
        frames += 1;
        tokio::time::sleep(pause).await;
    }
    assert_eq!(frames, 30);
    assert!(started.elapsed() > 2 * limits.timeout);

    let started = std::time::Instant::now();
    let out = dir.path().join("slow.mp4");
    let mut enc =
        Encoder::start_yuv420p(&out, (64, 48), "30", Preset::Ultrafast, &limits, &cancel).unwrap();
    for _ in 0..30 {
        enc.push(&[128u8; 64 * 48 * 3 / 2]).await.unwrap();
        tokio::time::sleep(pause).await;
    }
    enc.finish().await.unwrap();
    assert!(started.elapsed() > 2 * limits.timeout);
    assert_eq!(ffprobe_times_us(&out).len(), 30);

    // Nobody reads, nobody reports: the process stalls on its full pipe and is killed.
    let stalled = FfCommand::ffmpeg(dir.path())
        .input_args(["-stream_loop", "-1"])
        .input_file("clip.mp4", Container::Mp4Mov)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .limits(limits)
        .spawn(&cancel)
        .unwrap();
    let err = stalled.wait().await.unwrap_err();
    assert!(matches!(err, MediaError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn missing_tool_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.mp4"), b"\x00\x00\x00\x20ftypisom").unwrap();
    let err = FfCommand::ffprobe(dir.path())
        .program("/nonexistent/ffprobe")
        .input_file("x.mp4", Container::Mp4Mov)
        .run(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::ToolMissing { .. }), "{err}");
}

#[tokio::test]
async fn cover_frame_is_a_scaled_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "v.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=10",
            "-t",
            "2",
        ],
    );
    let out = dir.path().join("cover.jpg");
    let cancel = CancellationToken::new();
    extract_frame_jpeg(
        &clip,
        Container::Mp4Mov,
        1.0,
        &out,
        320,
        &Limits::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(sniff_file(&out).unwrap(), Container::Jpeg);
    let info = probe(&out, Container::Jpeg, &Limits::default(), &cancel)
        .await
        .unwrap();
    assert_eq!((info.width, info.height), (320, 180));
    let err = extract_frame_jpeg(
        &clip,
        Container::Mp4Mov,
        50.0,
        &dir.path().join("none.jpg"),
        320,
        &Limits::default(),
        &cancel,
    )
    .await;
    assert!(err.unwrap_err().is_bad_input());
}

#[tokio::test]
async fn audio_streams_are_probed_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(
        dir.path(),
        "av.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "1",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let (info, frames) = decode_all(&clip).await;
    assert_eq!(info.stream_count, 2);
    assert_eq!(frames.len(), 10);
}

#[tokio::test]
async fn installed_ffmpeg_is_at_least_5_1() {
    use motion_capture::media::Tool;
    use motion_capture::media::runner::tool_version;
    ffmpeg_available();
    let cancel = CancellationToken::new();
    for tool in [Tool::Ffmpeg, Tool::Ffprobe] {
        let v = tool_version(tool, None, &cancel).await.unwrap();
        assert!(v >= (5, 1), "{tool} {v:?}");
    }
    let missing = tool_version(
        Tool::Ffmpeg,
        Some(Path::new("/nonexistent/ffmpeg")),
        &cancel,
    )
    .await;
    assert!(matches!(missing, Err(MediaError::ToolMissing { .. })));
}

#[tokio::test]
async fn attached_cover_picture_is_not_taken_for_the_video() {
    let dir = tempfile::tempdir().unwrap();
    let video = make(
        dir.path(),
        "v.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "1",
        ],
    );
    let cover = make(
        dir.path(),
        "c.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=red:size=640x480",
            "-frames:v",
            "1",
        ],
    );
    let both = make(
        dir.path(),
        "both.mp4",
        &[
            "-i",
            video.to_str().unwrap(),
            "-i",
            cover.to_str().unwrap(),
            "-map",
            "1",
            "-map",
            "0",
            "-c:v:0",
            "png",
            "-c:v:1",
            "copy",
            "-disposition:v:0",
            "attached_pic",
        ],
    );
    let (info, frames) = decode_all(&both).await;
    // Without `-map`, ffmpeg would pick the larger cover as "the" video stream.
    assert_eq!((info.width, info.height), (160, 120));
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| f.data.len() == 160 * 120 * 3));
}
