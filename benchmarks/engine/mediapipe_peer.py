"""The peer of the engine benchmark: Python MediaPipe 0.10.21, legacy `solutions.pose`
(model_complexity=1, smooth_landmarks=True, video mode), on frames decoded from the same file
by ffmpeg (rgb24, the same command family the engine uses).

Usage: mediapipe_peer.py VIDEO  ->  one JSON line: frames, found, seconds, fps
"""
import json
import subprocess
import sys
import time

import numpy as np
import mediapipe as mp


def probe_size(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", path],
        check=True, capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    return s["width"], s["height"]


def main():
    path = sys.argv[1]
    started = time.perf_counter()
    # ffmpeg autorotates, so for rotated phone clips the frame size is the display size; the
    # benchmark clips have no rotation, so the coded size is right.
    width, height = probe_size(path)
    frame_bytes = width * height * 3
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        stdout=subprocess.PIPE)
    frames = found = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                enable_segmentation=False, min_detection_confidence=0.5,
                                min_tracking_confidence=0.5) as pose:
        while True:
            buf = ffmpeg.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            image = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
            result = pose.process(image)
            frames += 1
            found += result.pose_landmarks is not None
    ffmpeg.wait()
    seconds = time.perf_counter() - started
    print(json.dumps({"frames": frames, "found": found, "seconds": seconds, "fps": frames / seconds}))


main()
