"""Artifact formats (clusters.csv, outliers.csv, viz_3d.png, grids, run.json), byte-identical
reruns, and the staged write: a crash mid-run leaves the previous artifacts untouched."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import jpeg, write
from pipeline import Settings, run
from pipeline import artifacts as artifacts_module

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def folder(small_folder):
    """small_folder plus one photo of another person (skimage's cameraman): a one-off face."""
    from skimage import data

    write(small_folder, "cameraman.jpg", jpeg(np.stack([data.camera()] * 3, axis=2)))
    return small_folder


def snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_clusters_csv_format(tmp_path, folder):
    out = tmp_path / "out"
    run(folder, out, Settings(), tmp_path / "cache")
    text = (out / "clusters.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == "image_filename,cluster_id"
    assert text.endswith("\n") and "\r" not in text
    rows = [line.split(",") for line in lines[1:]]
    names = [r[0] for r in rows]
    assert names == sorted(names)
    assert names == ["astro_0.jpg", "astro_1.jpg", "astro_2.jpg", "astro_3.jpg", "broken.jpg", "cameraman.jpg", "coffee.jpg"]
    ids = {name: int(cid) for name, cid in rows}
    assert {ids[f"astro_{k}.jpg"] for k in range(4)} == {0}
    assert ids["broken.jpg"] == ids["cameraman.jpg"] == ids["coffee.jpg"] == -1


def test_outliers_csv_reasons(tmp_path, folder):
    out = tmp_path / "out"
    run(folder, out, Settings(), tmp_path / "cache")
    frame = pd.read_csv(out / "outliers.csv")
    assert list(frame.columns) == ["image_filename", "reason", "detail"]
    reasons = dict(zip(frame.image_filename, frame.reason))
    assert reasons == {"broken.jpg": "unreadable", "cameraman.jpg": "noise", "coffee.jpg": "no_face"}
    detail = frame.set_index("image_filename").detail
    assert detail["cameraman.jpg"].startswith("nearest face astro_")
    assert "not a readable image" in detail["broken.jpg"]
    # every -1 in clusters.csv is explained, and nothing else is listed
    clusters = pd.read_csv(out / "clusters.csv")
    assert sorted(clusters[clusters.cluster_id == -1].image_filename) == sorted(frame.image_filename)


def test_viz_and_grids_are_pngs(tmp_path, folder):
    out = tmp_path / "out"
    result = run(folder, out, Settings(), tmp_path / "cache")
    for name in ["viz_3d.png", "grid_cluster_00.png", "grid_outliers.png"]:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        with Image.open(out / name) as image:
            assert image.format == "PNG" and min(image.size) > 100
    assert sorted(result.files) == sorted(p.name for p in out.iterdir())
    assert result.points.shape == (5, 3)  # 4 astronauts + the cameraman were projected


def test_run_json_records_settings_versions_counts_timings(tmp_path, folder):
    out = tmp_path / "out"
    run(folder, out, Settings(seed=3), tmp_path / "cache")
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["model"] == "SFace" and record["settings"]["seed"] == 3
    assert record["settings"]["resolved_eps"] == 0.6
    assert record["versions"]["python"] and record["versions"]["numpy"] == np.__version__
    assert record["versions"]["deepface"] == "0.0.103"
    assert record["counts"] == {
        "photos": 7, "faces_detected": 5, "photos_with_several_faces": 0, "clusters": 1, "outliers": 3,
        "outlier_reasons": {"no_face": 1, "noise": 1, "unreadable": 1}, "skipped_non_images": ["notes.txt"],
    }
    t = record["timings_seconds"]
    assert {"embed_seconds", "photos_embedded", "photos_from_cache", "cluster_and_write", "total"} <= set(t)
    assert t["photos_embedded"] == 6 and t["photos_from_cache"] == 0  # broken.jpg is neither
    assert t["total"] >= t["embed_seconds"] >= 0
    assert record["files"] == sorted(p.name for p in out.iterdir())
    assert record["scores"] == {}


def test_labels_are_scored_and_errors_drawn(tmp_path, folder):
    labels = tmp_path / "labels.csv"
    # claim the cameraman is the astronaut: the run splits that "person", which must show up
    rows = [f"astro_{k}.jpg,astro" for k in range(4)] + ["cameraman.jpg,astro", "coffee.jpg,-1", "broken.jpg,-1"]
    labels.write_text("image_filename,person_id\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    result = run(folder, out, Settings(), tmp_path / "cache", labels=labels)
    s = result.scores["labels"]
    assert s["pairwise_precision"] == 1.0 and s["pairwise_recall"] == pytest.approx(6 / 10)
    assert json.loads((out / "run.json").read_text())["scores"]["labels"] == pytest.approx(s)
    assert (out / "grid_errors.png").read_bytes().startswith(PNG_MAGIC)


def test_rerun_is_byte_identical(tmp_path, folder):
    a, b = tmp_path / "a", tmp_path / "b"
    run(folder, a, Settings(), tmp_path / "cache")
    run(folder, b, Settings(), tmp_path / "cache")
    for name in ["clusters.csv", "outliers.csv", "viz_3d.png", "grid_cluster_00.png"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_stale_cluster_grids_are_removed(tmp_path, folder):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grid_cluster_07.png").write_bytes(b"old")
    (out / "keep_me.txt").write_text("user file")
    run(folder, out, Settings(), tmp_path / "cache")
    assert not (out / "grid_cluster_07.png").exists()
    assert (out / "keep_me.txt").read_text() == "user file"


@pytest.mark.parametrize("broken", ["plot_3d", "write_run_json"])
def test_crash_mid_run_leaves_previous_artifacts_untouched(tmp_path, folder, monkeypatch, broken):
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    run(folder, out, Settings(), cache)
    before = snapshot(out)
    assert "clusters.csv" in before

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(artifacts_module, broken, explode)
    # different settings: had the write gone through, clusters.csv would change (nothing clusters)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(folder, out, Settings(eps=0.001), cache)
    assert snapshot(out) == before
    assert not list(out.glob(".staging-*"))
    monkeypatch.undo()
    run(folder, out, Settings(eps=0.001), cache)
    assert (out / "clusters.csv").read_bytes() != before["clusters.csv"]
