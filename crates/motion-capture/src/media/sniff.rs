//! Magic-byte sniffing. We pick the ffmpeg demuxer ourselves from the first bytes of the file and
//! force it with `-f`, so that ffmpeg's own content probing can never choose a playlist (`hls`) or
//! script (`concat`) demuxer for an upload that merely claims to be a video
//! (reliability-goals §3.2). Extensions and Content-Types are never trusted.

use std::io::Read;
use std::path::Path;

/// The container families the engine accepts, as recognised from magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// ISO base media file format / QuickTime (`.mp4`, `.mov`, `.m4v`, `.3gp`): demuxer `mov`.
    Mp4Mov,
    /// Matroska or WebM (EBML header): demuxer `matroska`.
    Matroska,
    /// PNG still image: demuxer `png_pipe`.
    Png,
    /// JPEG still image: demuxer `jpeg_pipe`.
    Jpeg,
    /// Anything else. Never handed to ffmpeg.
    Unknown,
}

/// Decoders we allow for user videos: the API contract's video codecs (§4.1; ffmpeg has several
/// implementations of AV1, VP8 and VP9), plus PNG cover art and the usual audio and timed-text
/// codecs of phone and camera files. We never decode audio (`-an`), but ffprobe opens a decoder
/// for every stream while probing and fails the whole file if one is not on the list.
const VIDEO_DECODERS: &str = "h264,hevc,mpeg4,vp8,libvpx,vp9,libvpx-vp9,av1,libdav1d,libaom-av1,mjpeg,prores,png,\
aac,aac_fixed,mp3,mp3float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,eac3,\
pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_f32le,pcm_u8,pcm_alaw,pcm_mulaw,mov_text";

impl Container {
    /// The demuxer we force with `-f`.
    pub fn demuxer(self) -> Option<&'static str> {
        match self {
            Container::Mp4Mov => Some("mov"),
            Container::Matroska => Some("matroska"),
            Container::Png => Some("png_pipe"),
            Container::Jpeg => Some("jpeg_pipe"),
            Container::Unknown => None,
        }
    }

    /// The value for `-format_whitelist`: only the forced demuxer (under every name ffmpeg knows
    /// it by), so that no nested or probed demuxer can be opened.
    pub fn format_whitelist(self) -> Option<&'static str> {
        match self {
            Container::Mp4Mov => Some("mov,mp4,m4a,3gp,3g2,mj2"),
            Container::Matroska => Some("matroska,webm"),
            Container::Png => Some("png_pipe"),
            Container::Jpeg => Some("jpeg_pipe"),
            Container::Unknown => None,
        }
    }

    /// The value for `-codec_whitelist`.
    pub fn codec_whitelist(self) -> Option<&'static str> {
        match self {
            Container::Mp4Mov | Container::Matroska => Some(VIDEO_DECODERS),
            Container::Png => Some("png"),
            Container::Jpeg => Some("mjpeg"),
            Container::Unknown => None,
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, Container::Mp4Mov | Container::Matroska)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Container::Png | Container::Jpeg)
    }
}

/// ISO-BMFF / QuickTime top-level box types that may start a file. `ftyp` is the norm; old
/// QuickTime files may start with `moov`, `mdat`, `wide`, `free`, `skip` or `pnot`.
const MOV_FIRST_BOXES: [&[u8; 4]; 7] = [
    b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot",
];

/// Classifies the first bytes of a file (16 are enough).
pub fn sniff_bytes(head: &[u8]) -> Container {
    if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Container::Png;
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Container::Jpeg;
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Container::Matroska;
    }
    if head.len() >= 8 && MOV_FIRST_BOXES.iter().any(|b| &head[4..8] == *b) {
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        // A box size of 0 ("to end of file"), 1 (64-bit size follows) or ≥ 8 is well formed.
        if size == 0 || size == 1 || size >= 8 {
            return Container::Mp4Mov;
        }
    }
    Container::Unknown
}

/// Reads the first bytes of `path` and classifies them.
pub fn sniff_file(path: &Path) -> std::io::Result<Container> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(sniff_bytes(&head[..filled]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_family() {
        assert_eq!(
            sniff_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"),
            Container::Mp4Mov
        );
        assert_eq!(
            sniff_bytes(b"\x00\x00\x00\x08wide\x00\x00"),
            Container::Mp4Mov
        );
        assert_eq!(
            sniff_bytes(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"),
            Container::Matroska
        );
        assert_eq!(
            sniff_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),
            Container::Png
        );
        assert_eq!(
            sniff_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF"),
            Container::Jpeg
        );
    }

    #[test]
    fn rejects_playlists_scripts_and_garbage() {
        assert_eq!(
            sniff_bytes(b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n"),
            Container::Unknown
        );
        assert_eq!(
            sniff_bytes(b"ffconcat version 1.0\nfile other.mp4\n"),
            Container::Unknown
        );
        assert_eq!(sniff_bytes(b"<html><body>"), Container::Unknown);
        assert_eq!(sniff_bytes(b""), Container::Unknown);
        assert_eq!(sniff_bytes(b"\x00\x00\x00\x04ftyp"), Container::Unknown);
        assert_eq!(sniff_bytes(b"\x00\x00\x00\x20ftx"), Container::Unknown);
    }

    #[test]
    fn every_known_container_has_flags() {
        for c in [
            Container::Mp4Mov,
            Container::Matroska,
            Container::Png,
            Container::Jpeg,
        ] {
            assert!(
                c.demuxer().is_some()
                    && c.format_whitelist().is_some()
                    && c.codec_whitelist().is_some()
            );
            assert!(
                c.format_whitelist()
                    .unwrap()
                    .split(',')
                    .any(|f| Some(f) == c.demuxer())
            );
        }
        assert!(Container::Unknown.demuxer().is_none());
    }
}
