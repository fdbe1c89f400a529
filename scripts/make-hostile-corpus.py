#!/usr/bin/env python3
"""Generates the hostile-media corpus for motiond's upload path (RELIABILITY.md, "Hostile media").

Everything is made here, at test time, from ffmpeg's synthetic sources and a few hand-built
byte layouts; nothing is downloaded and no binary is committed. Standard library + ffmpeg only.

    scripts/make-hostile-corpus.py OUT_DIR --http-url http://127.0.0.1:PORT [--secret S]

Writes OUT_DIR/manifest.json: the canary files and, per case, the file, the Content-Type to
declare, extra request headers, what it attacks, and what the API contract (§4.1) says must
happen. The Rust test `crates/motiond/tests/hostile/` consumes it.

The canary: `canary/canary.mp4` (and `.ts`, `.mkv`) is a noisy magenta clip, so a decoded
frame of it is recognisable in any cover; `canary/canary.png` is a render of that frame;
`canary/secret.txt` holds the secret string. Attacks reference them by absolute path, by
`file://` URL and by relative paths that would climb from the server's per-call inspection
directory (`<data>/tmp/inspect/<id>/`) to the data directory, where the test plants copies.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import struct
import subprocess
import sys
import zlib
from pathlib import Path

# Contract texts (api-contract.md §4.1, order of checks).
VALID_TYPES = "image/png,image/jpeg,video/mp4,video/quicktime"


def not_valid(ct: str) -> str:
    return json.dumps({"error": f"Uploaded file is not a valid {ct} file"}, separators=(",", ":"))


def err(text: str) -> str:
    return json.dumps({"error": text}, separators=(",", ":"))


EMPTY = err("Request body is empty")
MAGENTA = "0xFF00FF"


def ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-y", "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"ffmpeg failed ({' '.join(cmd)}):\n{res.stderr}")


def lavfi_video(out: Path, src: str, *enc: str) -> None:
    ffmpeg("-f", "lavfi", "-i", src, *enc, str(out))


X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")

# --------------------------------------------------------------------------------------------
# ISO-BMFF boxes: just enough structure to patch sizes and references and re-serialise with
# correct box sizes. Files are written without faststart (moov after mdat), so growing or
# shrinking moov never moves sample data and `stco` offsets stay valid.

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"udta"}
# Boxes with a fixed prefix before their children: (prefix length).
PREFIXED = {b"stsd": 8, b"dref": 8, b"avc1": 78}


class Box:
    def __init__(self, kind: bytes, payload: bytes = b"", children: list[Box] | None = None, prefix: bytes = b""):
        self.kind, self.payload, self.children, self.prefix = kind, payload, children, prefix

    def serialise(self) -> bytes:
        if self.children is None:
            body = self.payload
        else:
            body = self.prefix + b"".join(c.serialise() for c in self.children)
        return struct.pack(">I", 8 + len(body)) + self.kind + body

    def find(self, *path: bytes) -> Box:
        node = self
        for kind in path:
            node = next(c for c in node.children if c.kind == kind)
        return node


def parse_boxes(data: bytes) -> list[Box]:
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8 or pos + size > len(data):
            raise ValueError(f"unsupported box layout at {pos} ({kind!r}, size {size})")
        body = data[pos + 8 : pos + size]
        if kind in CONTAINERS:
            boxes.append(Box(kind, children=parse_boxes(body)))
        elif kind in PREFIXED:
            n = PREFIXED[kind]
            boxes.append(Box(kind, prefix=body[:n], children=parse_boxes(body[n:])))
        else:
            boxes.append(Box(kind, payload=body))
        pos += size
    return boxes


def video_stbl(top: list[Box]) -> Box:
    moov = next(b for b in top if b.kind == b"moov")
    for trak in (c for c in moov.children if c.kind == b"trak"):
        hdlr = trak.find(b"mdia", b"hdlr")
        if hdlr.payload[8:12] == b"vide":
            return trak
    raise ValueError("no video track")


# --------------------------------------------------------------------------------------------
# H.264 SPS writer (baseline profile), for a stream header that claims an absurd picture size.


class Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> None:
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v: int) -> None:
        code = v + 1
        n = code.bit_length()
        self.u(n - 1, 0)
        self.u(n, code)

    def rbsp(self) -> bytes:
        self.bits.append(1)  # rbsp_stop_one_bit
        while len(self.bits) % 8:
            self.bits.append(0)
        raw = bytes(int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8))
        out, zeros = bytearray(), 0
        for b in raw:  # emulation prevention
            if zeros >= 2 and b <= 3:
                out.append(3)
                zeros = 0
            out.append(b)
            zeros = zeros + 1 if b == 0 else 0
        return bytes(out)


def huge_sps(width_px: int, height_px: int) -> bytes:
    b = Bits()
    b.u(8, 0x67)  # NAL header: SPS
    b.u(8, 66)  # profile_idc baseline
    b.u(8, 0xC0)  # constraint flags
    b.u(8, 52)  # level 5.2
    b.ue(0)  # seq_parameter_set_id
    b.ue(0)  # log2_max_frame_num_minus4
    b.ue(2)  # pic_order_cnt_type
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_allowed
    b.ue(width_px // 16 - 1)
    b.ue(height_px // 16 - 1)
    b.u(1, 1)  # frame_mbs_only
    b.u(1, 1)  # direct_8x8_inference
    b.u(1, 0)  # frame_cropping
    b.u(1, 0)  # vui_parameters_present
    return b.rbsp()


# --------------------------------------------------------------------------------------------
# PNG chunks.


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, rows: int | None = None, extra: bytes = b"") -> bytes:
    """An 8-bit RGB PNG; `rows` limits the pixel data actually present (for lying headers)."""
    rows = height if rows is None else rows
    raw = b"".join(b"\x00" + b"\x80" * (3 * width) for _ in range(rows))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + extra
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------


class Corpus:
    def __init__(self, out: Path, http_url: str, secret: str):
        self.out, self.http_url, self.secret = out, http_url.rstrip("/"), secret
        self.canary = out / "canary"
        self.work = out / "work"
        self.files = out / "files"
        for d in (self.canary, self.work, self.files):
            d.mkdir(parents=True, exist_ok=True)
        self.cases: list[dict] = []

    # -- helpers --------------------------------------------------------------------------
    def add(self, name: str, data: bytes, ct: str, what: str, expect: dict, headers: dict | None = None) -> None:
        path = self.files / name
        path.write_bytes(data)
        self.cases.append(
            {
                "name": name,
                "file": f"files/{name}",
                "content_type": ct,
                "headers": headers or {},
                "what": what,
                "expect": expect,
            }
        )

    @staticmethod
    def rejected(*bodies: str) -> dict:
        return {"status": 400, "bodies": list(bodies)}

    @staticmethod
    def accepted(reason: str, upload: bool = False, cover: bool = False) -> dict:
        """Passes ingest (200). `upload`: used as motion-upload's video, whose task must end in a
        final state; `cover`: used as motion-upload's cover image."""
        return {"status": 200, "motion_upload_video": upload, "motion_upload_cover": cover, "why": reason}

    # -- canary ---------------------------------------------------------------------------
    def make_canary(self) -> None:
        # Magenta with temporal noise: recognisable when decoded, and high-entropy when encoded,
        # so any 64-byte window of its sample data is unique to it.
        src = f"color=c={MAGENTA}:s=320x240:r=25:d=3,noise=alls=40:allf=t+u"
        lavfi_video(self.canary / "canary.mp4", src, *X264)
        lavfi_video(self.canary / "canary.ts", src, *X264, "-f", "mpegts")
        lavfi_video(self.canary / "canary.mkv", src, *X264)
        ffmpeg("-i", str(self.canary / "canary.mp4"), "-frames:v", "1", str(self.canary / "canary.png"))
        (self.canary / "secret.txt").write_text(f"{self.secret}\n")

    # -- base material ---------------------------------------------------------------------
    def base_video(self, name: str, seconds: float, size: str = "320x240", extra: tuple = (), fps: int = 25) -> Path:
        out = self.work / name
        lavfi_video(out, f"testsrc2=s={size}:r={fps}:d={seconds}", *X264, *extra)
        return out

    def make(self) -> None:
        c = self.canary
        mp4 = not_valid("video/mp4")
        abs_ts, abs_mp4 = str(c / "canary.ts"), str(c / "canary.mp4")
        secret = str(c / "secret.txt")

        # 1-4: HLS playlists disguised as MP4 (reliability-goals §3.2).
        def hls(target: str) -> bytes:
            return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\n{target}\n#EXT-X-ENDLIST\n".encode()

        self.add("hls_abs_canary.mp4", hls(abs_ts), "video/mp4", "HLS playlist, absolute path to the canary clip", self.rejected(mp4))
        self.add("hls_file_url_secret.mp4", hls(f"file://{secret}"), "video/mp4", "HLS playlist, file:// URL of the secret text", self.rejected(mp4))
        self.add(
            "hls_relative_climb.mp4",
            hls("../../../canary.ts").replace(b"#EXT-X-ENDLIST", b"#EXTINF:3.0,\ncanary.ts\n#EXT-X-ENDLIST"),
            "video/mp4",
            "HLS playlist, relative paths that climb from the inspection dir to the data dir (planted canary)",
            self.rejected(mp4),
        )
        self.add("hls_http_url.mp4", hls(f"{self.http_url}/segment.ts"), "video/mp4", "HLS playlist pointing at a loopback URL (listener must see 0 hits)", self.rejected(mp4))
        self.add("hls_http_url.mov", hls(f"{self.http_url}/segment.ts"), "video/quicktime", "same playlist declared video/quicktime", self.rejected(not_valid("video/quicktime")))

        # 5-6: ffconcat scripts.
        self.add("ffconcat_relative.mp4", b"ffconcat version 1.0\nfile canary.mp4\nfile ../../../canary.mp4\n", "video/mp4", "ffconcat script, relative sibling and climbing paths", self.rejected(mp4))
        self.add("ffconcat_absolute.mp4", f"ffconcat version 1.0\nfile {abs_mp4}\n".encode(), "video/mp4", "ffconcat script, absolute path to the canary", self.rejected(mp4))

        # 7: a real ftyp box followed by a playlist: passes a magic-byte check as MP4, so the
        # forced mov demuxer must be what refuses it.
        ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
        self.add("ftyp_then_playlist.mp4", ftyp + hls(abs_ts), "video/mp4", "valid ftyp box, then an HLS playlist (sniffs as MP4)", self.rejected(mp4))

        # 8: DASH manifest.
        mpd = (
            '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S">'
            f'<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000"><BaseURL>file://{abs_mp4}</BaseURL>'
            "</Representation></AdaptationSet></Period></MPD>\n"
        )
        self.add("dash_manifest.mp4", mpd.encode(), "video/mp4", "DASH MPD whose BaseURL is the canary", self.rejected(mp4))

        # 9-10: decompression bombs (header claims 100,000 x 100,000).
        self.add(
            "png_100k_by_100k.png",
            png(100_000, 100_000, rows=1),
            "image/png",
            "PNG whose IHDR claims 100000x100000 (one row of data)",
            self.rejected(not_valid("image/png"), err("Image must be between 300 and 8192 pixels on each side (got 100000x100000)")),
        )
        self.add("mp4_huge_dimensions.mp4", self.huge_mp4(), "video/mp4", "MP4 with SPS claiming 100000x100000, tkhd and stsd patched to 65535x65535", self.rejected(mp4))

        # 11: 100,000 frames (240x240 at 10,000 fps for 10 s).
        many = self.work / "frames100k.mp4"
        lavfi_video(many, "color=c=black:s=240x240:r=10000:d=10", *X264)
        self.add(
            "frames_100k.mp4",
            many.read_bytes(),
            "video/mp4",
            "100,000-frame tiny video (10 s at 10,000 fps)",
            self.rejected(err("Video frame rate must be between 1 and 120 fps (got 10000 fps)"), err("Video must have at most 1200 frames (got 100000)")),
        )

        # 12: zero bytes.
        self.add("empty.mp4", b"", "video/mp4", "zero bytes", self.rejected(EMPTY))

        # 13: truncated moov (faststart file cut in the middle of moov).
        fast = self.base_video("fast.mp4", 3, extra=("-movflags", "+faststart"))
        data = fast.read_bytes()
        moov_at = data.index(b"moov") - 4
        moov_len = struct.unpack(">I", data[moov_at : moov_at + 4])[0]
        self.add("truncated_moov.mp4", data[: moov_at + moov_len // 2], "video/mp4", "faststart MP4 cut in the middle of its moov box", self.rejected(mp4))

        # 14: truncated mdat: complete headers, half the sample data (its packets run past the end
        # of the file, which the inspection reads through).
        self.add(
            "truncated_mdat.mp4",
            data[: moov_at + moov_len + (len(data) - moov_at - moov_len) // 2],
            "video/mp4",
            "faststart MP4 with complete moov but half of mdat",
            self.rejected(mp4),
        )

        # 15-16: PNG/HTML polyglots.
        html = b"<html><head><script>document.title='pwned'</script></head><body>x</body></html>\n"
        self.add("polyglot_html_then_png.png", html + png(320, 320), "image/png", "HTML document with a PNG appended", self.rejected(not_valid("image/png")))
        self.add(
            "polyglot_png_with_html.png",
            png(1, 1, extra=png_chunk(b"tEXt", b"Comment\x00" + html)) + html,
            "image/png",
            "1x1 PNG carrying HTML in a tEXt chunk and after IEND",
            self.rejected(err("Image must be between 300 and 8192 pixels on each side (got 1x1)")),
        )

        # 17: text with a video content type.
        self.add("text.mp4", b"this is not a video, just text\n" * 10, "video/mp4", "plain text declared video/mp4", self.rejected(mp4))

        # 18: over the duration limit.
        long_ = self.base_video("long.mp4", 12)
        self.add("too_long_12s.mp4", long_.read_bytes(), "video/mp4", "genuine 12 s video", self.rejected(err("Video must be at most 10 seconds long (got 12.0 s)")))

        # 19-20: 1x1 images.
        self.add("one_pixel.png", png(1, 1), "image/png", "1x1 PNG", self.rejected(err("Image must be between 300 and 8192 pixels on each side (got 1x1)")))
        jpg1 = self.work / "one.jpg"
        # (lavfi's colour source cannot start at 1x1, so scale down to it; 4:4:4 avoids chroma planes of size 0)
        ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=2x2", "-vf", "scale=1:1", "-frames:v", "1", "-pix_fmt", "yuvj444p", str(jpg1))
        self.add("one_pixel.jpg", jpg1.read_bytes(), "image/jpeg", "1x1 JPEG", self.rejected(err("Image must be between 300 and 8192 pixels on each side (got 1x1)")))

        # 21: Matroska declared as MP4 (API uploads take ISO-BMFF only).
        self.add("matroska_as_mp4.mp4", (c / "canary.mkv").read_bytes(), "video/mp4", "Matroska file declared video/mp4", self.rejected(mp4))

        # 22: JPEG with trailing garbage (a playlist naming the canary). Appended data after EOI is
        # common in phone photos; the image itself is valid, so it is accepted and stored
        # byte-for-byte, and used as a cover: the trailing bytes must never be interpreted.
        jpg = self.work / "cover.jpg"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x320", "-frames:v", "1", str(jpg))
        self.add(
            "jpeg_trailing_garbage.jpg",
            jpg.read_bytes() + b"\x00garbage\n" + hls(abs_ts),
            "image/jpeg",
            "valid 320x320 JPEG followed by garbage and an HLS playlist",
            self.accepted("a valid JPEG; trailing bytes after EOI are inert", cover=True),
        )

        # 23: MP4 whose data reference is an external file (Mac alias to the canary).
        self.add("dref_external_alias.mp4", self.dref_mp4(abs_mp4), "video/mp4", "MP4 whose video track's data is a dref alias to the canary on disk", {"status": [200, 400], "bodies": [mp4], "motion_upload_video": True, "why": "with -enable_drefs 0 the external file is never opened; refused, or accepted with a cover that is not the canary"})

        # 24-25: SVG/XML.
        svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320"><script>alert(1)</script><image href="file:///etc/passwd"/></svg>\n'
        self.add("svg.mp4", svg, "video/mp4", "SVG declared video/mp4", self.rejected(mp4))
        self.add("svg.png", svg, "image/png", "SVG declared image/png", self.rejected(not_valid("image/png")))

        # 26: gzip bomb (128 MiB of zeros in ~128 KiB) sent with Content-Encoding: gzip.
        self.add("gzip_bomb.mp4", self.gzip_bomb(128 << 20), "video/mp4", "gzip of 128 MiB of zeros, sent with Content-Encoding: gzip (must not be inflated)", self.rejected(mp4), headers={"Content-Encoding": "gzip"})

        # 27: AVI (the container of the GAB2 subtitle attack) declared MP4.
        avi = self.work / "x.avi"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3", "-c:v", "mpeg4", str(avi))
        self.add("avi_as_mp4.mp4", avi.read_bytes(), "video/mp4", "AVI declared video/mp4", self.rejected(mp4))

        # 28-29: type confusion between the accepted types.
        good_png = png(320, 320)
        self.add("png_as_jpeg.jpg", good_png, "image/jpeg", "valid PNG declared image/jpeg", self.rejected(not_valid("image/jpeg")))
        base = self.base_video("base.mp4", 3)
        self.add("mp4_as_png.png", base.read_bytes(), "image/png", "valid MP4 declared image/png", self.rejected(not_valid("image/png")))

        # 30: audio only.
        m4a = self.work / "audio.mp4"
        ffmpeg("-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac", str(m4a))
        self.add("audio_only.mp4", m4a.read_bytes(), "video/mp4", "MP4 with only an audio stream", self.rejected(mp4))

        # 31: more than 8 streams.
        many_streams = self.work / "streams.mp4"
        args = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2"]
        for _ in range(9):
            args += ["-f", "lavfi", "-i", "sine=d=2"]
        args += [a for i in range(10) for a in ("-map", f"{i}:0")] + [*X264, "-c:a", "aac", str(many_streams)]
        ffmpeg(*args)
        self.add("ten_streams.mp4", many_streams.read_bytes(), "video/mp4", "MP4 with 1 video and 9 audio streams", self.rejected(mp4))

        # 32: a codec outside the contract's list, in a genuine MOV.
        qtrle = self.work / "qtrle.mov"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "qtrle", str(qtrle))
        self.add("qtrle_codec.mov", qtrle.read_bytes(), "video/quicktime", "QuickTime Animation (qtrle) codec, not allowed", self.rejected(not_valid("video/quicktime")))

        # 32b: a genuine MOV whose video codec is PNG (a decoder that cover art needs, but not a
        # video codec of the contract), and an MP4 whose only picture is attached cover art.
        png_mov = self.work / "png.mov"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "png", str(png_mov))
        self.add("png_codec.mov", png_mov.read_bytes(), "video/quicktime", "PNG as the video codec of a MOV, not allowed", self.rejected(not_valid("video/quicktime")))
        art = self.work / "art.mp4"
        (self.work / "art.png").write_bytes(png(320, 320))
        ffmpeg(
            "-f", "lavfi", "-i", "sine=d=3", "-i", str(self.work / "art.png"),
            "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic", str(art),
        )
        self.add("cover_art_only.mp4", art.read_bytes(), "video/mp4", "audio plus attached cover art, no video", self.rejected(mp4))

        # 33: a real video below the size limit.
        tiny = self.base_video("tiny.mp4", 3, size="16x16")
        self.add("tiny_16x16.mp4", tiny.read_bytes(), "video/mp4", "16x16 video", self.rejected(err("Video must be between 240 and 3840 pixels on each side and at most 8294400 pixels per frame (got 16x16)")))

        # 34: a PNG bomb within the limits: 8192x8192 RGB (201 MB decoded) in ~200 KB. Valid by
        # the contract, so accepted; the point is that decoding it happens only inside the
        # rlimited ffprobe and the server stays up (it is then used as a cover).
        self.add(
            "png_bomb_8192.png",
            self.png_bomb(8192),
            "image/png",
            "8192x8192 PNG of one colour: 201 MB decoded from ~200 KB",
            {"status": [200, 400], "bodies": [not_valid("image/png")], "motion_upload_cover": True, "why": "valid image at the size limit"},
        )

        # 35: HTML declared text/html (type row of the contract).
        self.add("page.html", html, "text/html", "HTML with its own type", self.rejected(err(f"Content-Type text/html is not supported. Valid values: {VALID_TYPES}")))

        # Controls: a genuine video (no person: its task must fail with a stated reason) and a
        # genuine image. They show the suite can tell acceptance from rejection.
        self.add("control_video.mp4", base.read_bytes(), "video/mp4", "control: genuine 3 s 320x240 H.264", self.accepted("genuine video", upload=True))
        self.add("control_image.png", good_png, "image/png", "control: genuine 320x320 PNG", self.accepted("genuine image", cover=True))

    def huge_mp4(self) -> bytes:
        src = self.base_video("huge_base.mp4", 1, extra=("-profile:v", "baseline"))
        top = parse_boxes(src.read_bytes())
        trak = video_stbl(top)
        tkhd = trak.find(b"tkhd")
        tkhd.payload = tkhd.payload[:-8] + struct.pack(">II", 65535 << 16, 65535 << 16)
        avc1 = trak.find(b"mdia", b"minf", b"stbl", b"stsd", b"avc1")
        p = bytearray(avc1.prefix)
        p[24:28] = struct.pack(">HH", 65535, 65535)
        avc1.prefix = bytes(p)
        avcc = next(ch for ch in avc1.children if ch.kind == b"avcC")
        old = avcc.payload
        sps_len = struct.unpack(">H", old[6:8])[0]
        rest = old[8 + sps_len :]  # numPPS + PPS (+ any extension)
        sps = huge_sps(100_000, 100_000)
        avcc.payload = old[:5] + b"\xe1" + struct.pack(">H", len(sps)) + sps + rest
        return b"".join(b.serialise() for b in top)

    def dref_mp4(self, target: str) -> bytes:
        """The canary clip with its sample data blanked and its video track's data reference
        turned into an alias of the canary file: the file itself holds no canary picture, but a
        demuxer that follows drefs reads the canary's frames at exactly the stated offsets."""
        top = parse_boxes((self.canary / "canary.mp4").read_bytes())
        for box in top:
            if box.kind == b"mdat":
                box.payload = bytes(len(box.payload))
        trak = video_stbl(top)
        dref = trak.find(b"mdia", b"minf", b"dinf", b"dref")
        # Mac alias record as ffmpeg's mov demuxer reads it: version/flags, 10 skipped bytes,
        # volume (len + 27), 12 skipped, file name (len + 63), 16 skipped, nlvl from/to,
        # 16 skipped, then (type, len, data) records; type 2 = absolute path, -1 ends.
        # ffmpeg opens it only with `-enable_drefs 1` (absolute form also `-use_absolute_path 1`).
        name = os.path.basename(target).encode()
        path = target.encode()
        rec = struct.pack(">HH", 2, len(path)) + path + (b"\x00" if len(path) % 2 else b"")
        rec += struct.pack(">hH", -1, 0)
        alias = (
            b"\x00\x00\x00\x00"
            + b"\x00" * 10
            + bytes([0])
            + b"\x00" * 27
            + b"\x00" * 12
            + bytes([len(name)])
            + name.ljust(63, b"\x00")
            + b"\x00" * 16
            # Relative form (nlvl_from = nlvl_to = 1): the sibling `canary.mp4` next to the file,
            # i.e. another file in the directory ffmpeg reads from; absolute form: `target`.
            + struct.pack(">HH", 1, 1)
            + b"\x00" * 16
            + rec
        )
        dref.children = [Box(b"alis", payload=alias)]
        return b"".join(b.serialise() for b in top)

    def png_bomb(self, side: int) -> bytes:
        """A `side`×`side` 8-bit RGB PNG of one colour, compressed row by row (never held whole)."""
        z = zlib.compressobj(9)
        row = b"\x00" + b"\x80" * (3 * side)
        idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")

    def gzip_bomb(self, size: int) -> bytes:
        out = self.work / "bomb.gz"
        chunk = b"\x00" * (1 << 20)
        with gzip.open(out, "wb", compresslevel=9) as f:
            for _ in range(size // len(chunk)):
                f.write(chunk)
        return out.read_bytes()

    def write_manifest(self) -> None:
        manifest = {
            "secret": self.secret,
            "http_url": self.http_url,
            "canary": {
                "video": "canary/canary.mp4",
                "ts": "canary/canary.ts",
                "mkv": "canary/canary.mkv",
                "picture": "canary/canary.png",
                "secret_file": "canary/secret.txt",
            },
            # Copies the test plants in the server's data directory, the target of the relative
            # climbs from `<data>/tmp/inspect/<id>/`.
            "plant_in_data_dir": ["canary.ts", "canary.mp4", "secret.txt"],
            "cases": self.cases,
        }
        (self.out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--http-url", required=True, help="loopback URL of the hit-counting listener")
    ap.add_argument("--secret", default=None, help="secret string for the text canary (default: random)")
    a = ap.parse_args()
    secret = a.secret or f"MOTIOND-CANARY-{secrets.token_hex(16)}"
    corpus = Corpus(a.out, a.http_url, secret)
    corpus.make_canary()
    corpus.make()
    corpus.write_manifest()
    print(f"{len(corpus.cases)} cases in {a.out / 'manifest.json'}")


if __name__ == "__main__":
    main()
