"""One run, end to end: folder -> faces -> groups -> artifacts. The CLI, the notebook and the app
all call :func:`run` (or its parts), so they share one code path."""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from . import artifacts
from .collection import FaceCollection, Progress, embed_folder
from .evaluation import read_labels, read_pair_labels, score_against_labels, score_pairs
from .grouping import Grouping, group_photos
from .projection import project_3d
from .settings import Settings, default_cache_dir
from .thumbnails import face_boxes, face_crop, grid_image

ERRORS_GRID = "grid_errors.png"
PACKAGES = ("deepface", "onnxruntime", "opencv-contrib-python-headless", "scikit-learn", "numpy", "pandas",
            "tensorflow-cpu", "pillow")


@dataclass
class RunResult:
    collection: FaceCollection
    grouping: Grouping
    points: np.ndarray
    files: list[str]
    record: dict
    scores: dict = field(default_factory=dict)


def run(
    images: str | Path,
    out: str | Path,
    settings: Settings | None = None,
    cache_dir: str | Path | None = "default",
    labels: str | Path | None = None,
    pairs: str | Path | None = None,
    progress: Progress | None = None,
    collection: FaceCollection | None = None,
    overrides=None,
) -> RunResult:
    """Embed ``images`` (or reuse ``collection``), cluster, and write every artifact into ``out``.

    ``labels`` (``image_filename,person_id``) and ``pairs`` (``image_a,image_b,same``) are
    optional; when given, their scores go into run.json and the wrongly merged / split people
    into ``grid_errors.png``. ``overrides`` (:class:`pipeline.overrides.Overrides`) are reviewer
    edits applied as constraints, as in :func:`pipeline.grouping.group_photos`.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    if collection is None:
        cache = default_cache_dir() if cache_dir == "default" else cache_dir
        collection = embed_folder(images, settings, cache, progress)
    grouping = group_photos(collection, settings, overrides=overrides)
    return write_artifacts(collection, grouping, settings, out, labels, pairs, started)


def write_artifacts(collection: FaceCollection, grouping: Grouping, settings: Settings, out: str | Path,
                    labels=None, pairs=None, started: float | None = None) -> RunResult:
    """Write clusters.csv, outliers.csv, viz_3d.png, grids and run.json for a finished grouping."""
    started = started or time.perf_counter()
    t_cluster = time.perf_counter()
    points = project_3d(grouping.embeddings, settings.projection, settings.seed)
    scores = {}
    if labels is not None:
        label_frame = read_labels(labels)
        scores["labels"] = score_against_labels(grouping.clusters, label_frame).as_dict()
    if pairs is not None:
        hashes = dict(zip(collection.photos["image_filename"], collection.photos["sha256"]))
        scores["pairs"] = score_pairs(grouping.clusters, read_pair_labels(pairs), hashes).as_dict()
    files = []
    with artifacts.staged_output(out) as stage:
        artifacts.write_clusters(stage, grouping.clusters, grouping.outliers)
        n_clusters = int(grouping.clusters["cluster_id"].max() + 1) if len(grouping.clusters) else 0
        artifacts.plot_3d(points, grouping.faces["cluster_id"].to_numpy(), f"{settings.model} embeddings, {settings.projection.upper()} "
                          f"- {n_clusters} clusters, {int((grouping.clusters.cluster_id == -1).sum())} outliers", stage / artifacts.VIZ_PNG)
        files += [artifacts.CLUSTERS_CSV, artifacts.OUTLIERS_CSV, artifacts.VIZ_PNG]
        files += artifacts.write_cluster_grids(stage, collection.folder, grouping.faces)
        grid = artifacts.write_outlier_grid(stage, collection.folder, grouping.outliers, grouping.faces)
        files += [grid] if grid else []
        if labels is not None and write_error_grid(stage, collection.folder, grouping, label_frame):
            files.append(ERRORS_GRID)
        record = run_record(collection, grouping, settings, scores, started, t_cluster)
        record["files"] = sorted(files + [artifacts.RUN_JSON])
        artifacts.write_run_json(stage, record)
    return RunResult(collection, grouping, points, record["files"], record, scores)


def run_record(collection: FaceCollection, grouping: Grouping, settings: Settings, scores: dict,
               started: float, t_cluster: float) -> dict:
    clusters = grouping.clusters
    reasons = grouping.outliers["reason"].value_counts().to_dict()
    return {
        "settings": settings.as_dict(),
        "images": str(collection.folder),
        "counts": {
            "photos": int(len(clusters)),
            "faces_detected": int(len(collection.faces)),
            "photos_with_several_faces": int((collection.photos["n_faces"] > 1).sum()),
            "clusters": int(clusters["cluster_id"].max() + 1) if (clusters["cluster_id"] >= 0).any() else 0,
            "outliers": int((clusters["cluster_id"] == -1).sum()),
            "outlier_reasons": {k: int(v) for k, v in sorted(reasons.items())},
            "skipped_non_images": collection.skipped_files,
        },
        "scores": scores,
        "timings_seconds": {
            **collection.timings,
            "cluster_and_write": round(time.perf_counter() - t_cluster, 3),
            "total": round(time.perf_counter() - started, 3),
        },
        "versions": {"python": platform.python_version(), **{p: _version(p) for p in PACKAGES}},
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def error_cases(clusters: pd.DataFrame, labels: pd.DataFrame) -> tuple[list[tuple], list[tuple]]:
    """Wrongly merged clusters ``(cluster_id, [people])`` and split people ``(person_id, [cluster ids])``.

    A true ``-1`` (not a real person) or a one-off person predicted inside a cluster counts as a
    merge; a recurring person spread over several clusters or partly marked outlier as a split.
    """
    merged = clusters.merge(labels[["image_filename", "person_id"]], on="image_filename")
    merges, splits = [], []
    for cid, group in merged[merged.cluster_id >= 0].groupby("cluster_id"):
        people = sorted(group.person_id.unique())
        if len(people) > 1 or people == ["-1"]:
            merges.append((int(cid), people))
    for person, group in merged[merged.person_id != "-1"].groupby("person_id"):
        ids = sorted(group.cluster_id.unique().tolist())
        if len(group) > 1 and (len(ids) > 1 or ids == [-1]):
            splits.append((person, ids))
    return merges, splits


def write_error_grid(folder: Path, photo_folder: Path, grouping: Grouping, labels: pd.DataFrame, limit: int = 64) -> bool:
    """Draw the photos of wrongly merged clusters and split people, captioned ``person→cluster``."""
    merges, splits = error_cases(grouping.clusters, labels)
    if not merges and not splits:
        return False
    truth = dict(zip(labels.image_filename, labels.person_id))
    cluster_of = dict(zip(grouping.clusters.image_filename, grouping.clusters.cluster_id))
    boxes = face_boxes(grouping.faces)
    names = []
    for cid, _ in merges:
        names += sorted(n for n, c in cluster_of.items() if c == cid)
    for person, _ in splits:
        names += sorted(n for n, p in truth.items() if p == person and n in cluster_of)
    names = list(dict.fromkeys(names))[:limit]
    tiles = [(face_crop(photo_folder, n, boxes.get(n)), f"{n}\ncluster {cluster_of[n]}\n{truth.get(n, '?')}") for n in names]
    title = f"errors: {len(merges)} wrongly merged clusters, {len(splits)} split people (captions: photo, predicted cluster, true person)"
    grid_image(tiles, title).save(folder / ERRORS_GRID)
    return True
