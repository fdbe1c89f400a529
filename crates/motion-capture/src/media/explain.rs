//! Plain words for why ffmpeg or ffprobe refused a user's file, read from the diagnostics they
//! printed (their exit status alone says nothing). For people running `motiond extract` on
//! their own files; the API answers with the contract's fixed texts instead.

use super::runner::MediaError;

/// Why the input was refused: our own check's reason (a refusal with no diagnostics is ours,
/// already in plain words), else the tool's diagnostics when they say so in a way we recognise.
pub fn explain(err: &MediaError) -> Option<String> {
    let MediaError::BadInput {
        stderr_tail,
        reason,
        ..
    } = err
    else {
        return None;
    };
    if stderr_tail.is_empty() {
        return Some(reason.clone());
    }
    explain_diagnostics(stderr_tail)
}

fn explain_diagnostics(stderr: &str) -> Option<String> {
    if let Some(codec) = between(stderr, "Codec (", ") not on whitelist") {
        return Some(format!("the video codec {codec} is not supported"));
    }
    if let Some(size) = between(
        stderr,
        "Picture size ",
        " exceeds specified max pixel count",
    ) {
        return Some(format!(
            "its frames ({size}) are larger than the limit of 8192x8192 pixels"
        ));
    }
    if stderr.contains("moov atom not found") {
        return Some("the file is incomplete or damaged (its MP4 index is missing)".into());
    }
    if stderr.contains("partial file") || stderr.contains("End of file") {
        return Some("the file is truncated".into());
    }
    if stderr.contains("Invalid data found when processing input") {
        return Some("the file is damaged or not in a video format".into());
    }
    None
}

/// The text between the first `start` and the `end` after it, when short and on one line.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    let found = &text[from..from + len];
    (found.len() <= 40 && !found.contains('\n')).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ffprobe's and ffmpeg's own words (5.1) for the inputs of each case.
    #[test]
    fn known_diagnostics_become_plain_reasons() {
        let cases = [
            (
                "[ffv1 @ 0x5583] Codec (ffv1) not on whitelist 'h264,hevc,vp8,vp9,av1'\n",
                "the video codec ffv1 is not supported",
            ),
            (
                "[h264 @ 0x55b8] [IMGUTILS @ 0x7fff] Picture size 8208x8192 exceeds specified max \
                 pixel count 67108864, see the documentation if you wish to increase it\n",
                "its frames (8208x8192) are larger than the limit of 8192x8192 pixels",
            ),
            (
                "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55aa] moov atom not found\n\
                 input: Invalid data found when processing input\n",
                "the file is incomplete or damaged (its MP4 index is missing)",
            ),
            (
                "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x559d] stream 0, offset 0x8530: partial file\n",
                "the file is truncated",
            ),
            (
                "input: Invalid data found when processing input\n",
                "the file is damaged or not in a video format",
            ),
        ];
        for (stderr, reason) in cases {
            assert_eq!(
                explain_diagnostics(stderr).as_deref(),
                Some(reason),
                "{stderr}"
            );
        }
        assert_eq!(explain_diagnostics("something else entirely"), None);
    }

    #[test]
    fn our_own_refusals_keep_their_reason() {
        let ours = MediaError::bad_input(
            crate::media::runner::Tool::Ffprobe,
            "its frames (16400x240) are larger than the limit of 16384 pixels a side",
        );
        assert_eq!(
            explain(&ours).as_deref(),
            Some("its frames (16400x240) are larger than the limit of 16384 pixels a side")
        );
    }
}
