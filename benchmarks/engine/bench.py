"""Runs `motiond extract` and the MediaPipe peer on the same clips and writes the engine
section of BENCHMARKS.md. Called by run.sh (which prepares the tools and the clips).

Usage: bench.py --motiond BIN --data-dir DIR --python PY --model ONNX --out BENCHMARKS.md CLIP...
"""
import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START, END = "<!-- engine:start -->", "<!-- engine:end -->"


def extract(args, clip, preview):
    with tempfile.TemporaryDirectory() as out:
        cmd = ["/usr/bin/time", "-f", "MAXRSS_KB=%M", args.motiond, "--data-dir", args.data_dir, "extract", clip,
               "--out", out]
        if not preview:
            cmd.append("--no-preview")
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"motiond extract {clip} failed: {proc.stderr.strip()[-2000:]}")
        rss_kb = int(re.search(r"MAXRSS_KB=(\d+)", proc.stderr).group(1))
        frames = int(re.match(r"(\d+) frames", proc.stdout).group(1))
        return {"seconds": wall, "fps": frames / wall, "frames": frames, "rss_mib": rss_kb / 1024}


# Where `motiond extract`'s CPU time goes: threads by the names the engine gives them
# (crates/motion-capture/src/thread_name.rs), ffmpeg processes by what their command line does.
CPU_PARTS = [
    ("mc-track", "tracker thread: frame crops, detector, landmark model's main thread, filters"),
    ("mc-ort", "ONNX Runtime's second intra-op thread (landmark model)"),
    ("decoder", "ffmpeg decoding the clip (with its pipe writes of YUV or rgb24 frames)"),
    ("mc-preview", "preview painter: scale to the preview size, skeleton, yuv420p, its pipe writes"),
    ("encoder", "ffmpeg encoding the preview (libx264 ultrafast, with its pipe reads)"),
    ("load", "loading the two model sessions (the tracker thread before it tracks)"),
    ("other", "the rest of motiond: reading the frame pipe and converting its YUV frames to rgb24, probe, solve, "
              "exports, cover"),
    ("ffprobe", "ffprobe"),
    ("unseen", "not seen by the sampler (the last moments of threads and processes that ended)"),
]
THREAD_PARTS = {"mc-track", "mc-ort", "mc-preview"}


class CpuSampler:
    """CPU seconds of every thread of one process tree, read from /proc: each thread's growth
    since the last sample is booked to the thread's current engine name, or to the role of its
    child process (known from its command line when first seen)."""

    def __init__(self, root):
        self.root = root
        self.tck = os.sysconf("SC_CLK_TCK")
        self.seen = {}    # (pid, tid) -> CPU seconds read last time
        self.booked = {}  # (pid, tid, part) -> CPU seconds
        self.roles = {}   # child pid -> part

    def family(self, pid):
        """`pid` and its descendants (children of any of its threads)."""
        pids = [pid]
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return pids
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    children = f.read().split()
            except OSError:
                continue
            for child in children:
                pids += self.family(int(child))
        return pids

    def role(self, pid, comm):
        if pid == self.root:
            return comm if comm in THREAD_PARTS else "other"
        if pid not in self.roles:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().split(b"\0")
            except OSError:
                return None
            if not cmdline[0]:
                return None  # ended before its command line was read: left to "unseen"
            tool = os.path.basename(cmdline[0].decode(errors="replace"))
            self.roles[pid] = "ffprobe" if tool == "ffprobe" else "encoder" if b"libx264" in cmdline else "decoder"
        return self.roles[pid]

    def sample(self):
        for pid in self.family(self.root):
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        stat = f.read()
                except OSError:
                    continue
                comm = stat[stat.index("(") + 1:stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2:].split()
                cpu = (int(fields[11]) + int(fields[12])) / self.tck
                part = self.role(pid, comm)
                if part is None:
                    continue
                key = (pid, tid, part)
                self.booked[key] = self.booked.get(key, 0.0) + cpu - self.seen.get((pid, tid), 0.0)
                self.seen[(pid, tid)] = cpu

    def parts(self, total):
        """CPU seconds per part of CPU_PARTS; `total` is the whole tree's CPU time from wait4."""
        parts = {name: 0.0 for name, _ in CPU_PARTS}
        trackers = {(pid, tid) for (pid, tid, part) in self.booked if part == "mc-track"}
        for (pid, tid, part), seconds in self.booked.items():
            # The tracker thread loads the models under ONNX Runtime's workers' name (so that
            # they inherit it) before it takes its own.
            if part == "mc-ort" and (pid, tid) in trackers:
                part = "load"
            parts[part] += seconds
        parts["unseen"] = max(0.0, total - sum(parts.values()))
        return parts


def cpu_budget(args, clip):
    """Runs `motiond extract` (every output) once while a CpuSampler reads its threads every 10 ms.
    Returns (CPU seconds per part, wall seconds, frames, the sampler's own CPU seconds)."""
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryFile("w+") as log:
        own_cpu = time.process_time()
        started = time.perf_counter()
        proc = subprocess.Popen([args.motiond, "--data-dir", args.data_dir, "extract", clip, "--out", out],
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        sampler = CpuSampler(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            sampler.sample()
            time.sleep(0.01)
        wall = time.perf_counter() - started
        own_cpu = time.process_time() - own_cpu
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"motiond extract {clip} failed: {output.strip()[-2000:]}")
    # wait4 counts motiond and every child it waited for (tokio reaps each ffmpeg).
    parts = sampler.parts(usage.ru_utime + usage.ru_stime)
    return parts, wall, int(re.search(r"(\d+) frames", output).group(1)), own_cpu


def budget_lines(clip, budget, floor_ms_per_frame, cores, runs):
    """The CPU budget table and what it implies for the floor goal."""
    parts, wall, frames, sampler_cpu = budget
    total = sum(parts.values())
    ms = lambda seconds: seconds * 1000.0 / frames
    lines = ["", f"**Where the CPU time goes** (`{os.path.basename(clip)}`, every output; each thread and child process "
             f"sampled from /proc every 10 ms, the total from `wait4`; of {runs} runs the one that used the least CPU: "
             f"{frames} frames in {wall:.2f} s, while the sampler itself used {ms(sampler_cpu):.1f} ms of CPU a frame): "
             "CPU milliseconds per frame.", "",
             "| part | CPU ms per frame | share |", "|---|---|---|"]
    for name, what in CPU_PARTS:
        lines.append(f"| {what} | {ms(parts[name]):.1f} | {parts[name] / total:.0%} |")
    goal = 1.25 * floor_ms_per_frame
    lines += [f"| **all** | **{ms(total):.1f}** | |", "",
              f"On {cores} cores no schedule can finish a frame in less than the CPU time of all parts divided by "
              f"the cores: {ms(total) / cores:.1f} ms here, against {goal:.1f} ms allowed by the goal "
              f"(1.25 × the floor's {floor_ms_per_frame:.2f} ms); the run took {wall * 1000.0 / frames:.1f} ms a "
              "frame."]
    return lines


def peer(args, clip):
    proc = subprocess.run([args.python, os.path.join(HERE, "mediapipe_peer.py"), clip], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mediapipe peer failed on {clip}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def piped_pix_fmt(clip):
    """The pixel format `motiond extract` has ffmpeg pipe for `clip` (crates/motion-capture/src/media/decode.rs):
    the stream's own 8-bit 4:2:0 YUV for an even-sized, square-pixel yuv420p/yuvj420p stream, rgb24 otherwise."""
    proc = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "V:0", "-show_entries",
                           "stream=pix_fmt,width,height,sample_aspect_ratio", "-of", "json", clip],
                          capture_output=True, text=True, check=True)
    s = json.loads(proc.stdout)["streams"][0]
    w, h = s.get("width", 0), s.get("height", 0)
    square = s.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1", "N/A")
    if s.get("pix_fmt") in ("yuv420p", "yuvj420p") and w % 2 == 0 and h % 2 == 0 and square:
        return s["pix_fmt"]
    return "rgb24"


def floor_ms(args, threads, beside_decode_of=None):
    """The landmark model's time per frame; with `beside_decode_of`, while ffmpeg decodes that clip to
    the pixels `motiond extract` pipes (one thread, in a loop, as it does) on the other core: the least that
    any pipeline which decodes on the same machine can hope for."""
    decoder = None
    if beside_decode_of:
        decoder = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-stream_loop", "-1", "-i", beside_decode_of,
             "-f", "rawvideo", "-pix_fmt", piped_pix_fmt(beside_decode_of), "-"], stdout=subprocess.DEVNULL)
        time.sleep(0.3)
    try:
        proc = subprocess.run([args.python, os.path.join(HERE, "landmark_floor.py"), args.model, str(threads)],
                              capture_output=True, text=True, check=True)
    finally:
        if decoder:
            decoder.kill()
            decoder.wait()
    return json.loads(proc.stdout.strip().splitlines()[-1])["ms_per_frame"]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--motiond", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--profile", default="release")
    ap.add_argument("--repeat", type=int, default=3)
    # The landmark session's intra-op threads in `motiond extract` (crates/motiond/src/extract_cmd.rs):
    # the floor that the goal uses is measured with the same number.
    ap.add_argument("--landmark-threads", type=int, default=2)
    ap.add_argument("clips", nargs="+")
    args = ap.parse_args()

    # The machine may be shared: every cell is the best of `--repeat` interleaved runs. The floor
    # is measured with motiond's thread count (used for the goal) and with 1 thread (reported),
    # once before the clips and again beside every repetition of each clip, and the best of all
    # those is the floor: measured only at the start, a busy few seconds there (once, 2 threads
    # slower than 1) set every clip's floor.
    lt = args.landmark_threads
    floors = {t: [] for t in sorted({1, lt})}

    def sample_floors():
        for t in floors:
            floors[t].append(floor_ms(args, t))

    for _ in range(args.repeat):
        sample_floors()
    best = lambda runs, key: min(runs, key=lambda r: r[key])
    measured = []
    for clip in args.clips:
        fulls, bares, mps = [], [], []
        for _ in range(args.repeat):
            fulls.append(extract(args, clip, preview=True))
            bares.append(extract(args, clip, preview=False))
            mps.append(peer(args, clip))
            sample_floors()
        full, bare, mp = best(fulls, "seconds"), best(bares, "seconds"), best(mps, "seconds")
        full["rss_mib"] = max(r["rss_mib"] for r in fulls)
        beside_ms = min(floor_ms(args, lt, beside_decode_of=clip) for _ in range(args.repeat))
        measured.append((os.path.basename(clip), full, bare, mp, beside_ms))
        print(f"{os.path.basename(clip)}: motiond {full['fps']:.1f} fps (no preview {bare['fps']:.1f}), "
              f"mediapipe {mp['fps']:.1f} fps, floor beside the decoder {1000.0 / beside_ms:.1f} fps, "
              f"peak RSS {full['rss_mib']:.0f} MiB", flush=True)
    ms = min(floors[lt])
    ms_1 = min(floors[1])
    print(f"floor: {ms:.2f} ms a frame with {lt} threads, {ms_1:.2f} ms with 1 (best of {len(floors[lt])})",
          flush=True)
    rows = [(name, full, bare, mp, ms * full["frames"] / 1000.0, beside_ms * full["frames"] / 1000.0)
            for name, full, bare, mp, beside_ms in measured]

    # The CPU budget of the largest clip (the 1080p one run.sh makes): of `--repeat` runs, the one
    # that needed the least CPU in all (the most favourable to the floor goal).
    budget_clip = next((c for c in args.clips if "1080p" in os.path.basename(c)), args.clips[-1])
    budget = min((cpu_budget(args, budget_clip) for _ in range(args.repeat)), key=lambda b: sum(b[0].values()))

    lines = [START, "## Engine: `motiond extract` vs Python MediaPipe", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `benchmarks/engine/run.sh` on "
             f"{os.cpu_count()} cores ({cpu_name()}), motiond built `{args.profile}`. Each cell is the best of "
             f"{args.repeat} interleaved runs: the machine is a virtual one whose cores may be shared with other "
             f"work (load average {os.getloadavg()[0]:.1f} at the end, this benchmark's own processes included), so "
             "the absolute numbers are noisy.", "",
             "- **motiond**: the whole `motiond extract` process (probe, ONE decode pass, detector + landmark model "
             f"on the inference thread (the landmark session with {lt} intra-op threads in `motiond extract`), "
             "whole-clip solve, all files). *all outputs* includes `preview.mp4` (each tracked frame scaled to "
             "the preview size (≤ 1280 px), its 2D landmarks drawn, converted to yuv420p and fed to libx264 "
             "`ultrafast` (constant quantiser, `Preset::rate_control`) beside inference, from the same decode "
             "pass) and `cover.jpg`; *no preview* is `--no-preview`.",
             "- **MediaPipe**: Python `mediapipe==0.10.21`, legacy `solutions.pose` (model_complexity 1, smoothing "
             "on), frames decoded by ffmpeg from the same file (`mediapipe_peer.py`).",
             f"- **floor**: landmark model alone, {ms:.2f} ms per frame × frames (ONNX Runtime 1.31.1, "
             f"`landmark_floor.py`, {lt} intra-op thread{'s' if lt > 1 else ''} without spinning: the "
             f"same session settings as `motiond extract`; the best of {len(floors[lt])} runs, before the clips "
             f"and beside each repetition of each). With 1 thread the model takes {ms_1:.2f} ms per frame; the "
             "floor is whichever matches motiond.",
             "- **floor beside the decoder**: the same model run, timed while ffmpeg decodes that clip to the "
             "pixels motiond pipes (the stream's own YUV, one thread, looping) on the other core, as it must in any pipeline on this machine. The difference "
             "to the floor is what sharing caches and memory with the decoder alone costs the model.",
             "",
             "| clip | frames | motiond fps (all outputs) | motiond fps (no preview) | MediaPipe fps | ratio (all / no preview) | floor fps | floor fps beside the decoder | all outputs vs floor (vs beside) | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, full, bare, mp, floor_s, beside_s in rows:
        lines.append(
            f"| {name} | {full['frames']} | {full['fps']:.1f} | {bare['fps']:.1f} | {mp['fps']:.1f} | "
            f"{full['fps'] / mp['fps']:.2f}× / {bare['fps'] / mp['fps']:.2f}× | {full['frames'] / floor_s:.1f} | "
            f"{full['frames'] / beside_s:.1f} | {full['seconds'] / floor_s:.2f}× ({full['seconds'] / beside_s:.2f}×) | "
            f"{full['rss_mib']:.0f} MiB |")
    tot = lambda i, k: sum(r[i][k] for r in rows)
    frames = tot(1, "frames")
    all_fps = frames / tot(1, "seconds")
    bare_fps = frames / tot(2, "seconds")
    mp_fps = sum(r[3]["frames"] for r in rows) / tot(3, "seconds")
    floor_total = sum(r[4] for r in rows)
    beside_total = sum(r[5] for r in rows)
    lines += ["", f"**All clips together:** motiond {all_fps:.1f} fps with every output, {bare_fps:.1f} fps without "
              f"the preview; MediaPipe {mp_fps:.1f} fps; ratio {all_fps / mp_fps:.2f}× (goal ≥ 1.5×), "
              f"{bare_fps / mp_fps:.2f}× without the preview. Time vs the inference floor: "
              f"{tot(1, 'seconds') / floor_total:.2f}× with every output, {tot(2, 'seconds') / floor_total:.2f}× "
              f"without the preview (goal ≤ 1.25×); against the floor beside the decoder "
              f"{tot(1, 'seconds') / beside_total:.2f}× and {tot(2, 'seconds') / beside_total:.2f}×; the decoder alone "
              f"makes the model {beside_total / floor_total:.2f}× slower. Peak RSS on the 10 s 1080p clip: "
              f"{max(r[1]['rss_mib'] for r in rows if '1080p' in r[0]) if any('1080p' in r[0] for r in rows) else float('nan'):.0f} MiB "
              "(goal < 300 MB)."]
    lines += budget_lines(budget_clip, budget, ms, os.cpu_count(), args.repeat)
    lines += ["",
              "**Reading.** ffmpeg's decoder starts while ffprobe runs; one decode pass (the stream's own 4:2:0 "
              "YUV through the pipe, converted to rgb24 in process bit for bit as ffmpeg would; frame buffers "
              "recycled) feeds the inference thread; each tracked frame then goes (bounded channel) to the preview "
              "writer (one thread), which scales it to the preview size on our side, draws its landmarks, converts it to "
              "yuv420p and pipes it (1 MiB pipe) to the H.264 encoder (an ffmpeg process) while inference works "
              "on the next frame; the cover JPEG is encoded in process as soon as the middle frame is painted, and "
              "the encoder's flush runs beside the solve and the exports. What the preview still costs is that "
              "work (resize, drawing, colour conversion, x264 `ultrafast`) competing with inference for the same "
              "2 cores, and one more ffmpeg start-up. The two model sessions load ONNX Runtime's "
              "optimised graphs saved by the first run on this machine (`models/optimized.rs`). The service's worker keeps one landmark thread per job (two "
              "jobs side by side on 2 cores).", END]
    section = "\n".join(lines) + "\n"
    text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\n"
    if START in text and END in text:
        text = text[:text.index(START)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
