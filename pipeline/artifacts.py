"""Artifacts: clusters.csv, outliers.csv, viz_3d.png, thumbnail grids and run.json.

All files of one run are written into a staging folder next to the output and moved into place
only when every one of them is complete, so a crash mid-run leaves the last good artifacts intact.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .thumbnails import face_boxes, face_crop, grid_image

CLUSTERS_CSV = "clusters.csv"
OUTLIERS_CSV = "outliers.csv"
VIZ_PNG = "viz_3d.png"
RUN_JSON = "run.json"
GRID_PATTERN = "grid_cluster_{:02d}.png"
OUTLIER_GRID = "grid_outliers.png"


@contextmanager
def staged_output(out_dir: str | Path):
    """Yield a staging folder; on success move its files into ``out_dir`` (each by an atomic
    rename), replacing old grid files; on an exception delete it and leave ``out_dir`` as it was."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        yield staging
        for old in out_dir.glob("grid_cluster_*.png"):
            if not (staging / old.name).exists():
                old.unlink()
        for item in sorted(staging.iterdir()):
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clusters_csv_text(clusters: pd.DataFrame) -> str:
    """The exact bytes of clusters.csv: header ``image_filename,cluster_id``, sorted by filename, LF."""
    frame = clusters[["image_filename", "cluster_id"]].sort_values("image_filename", kind="stable")
    return frame.astype({"cluster_id": int}).to_csv(index=False, lineterminator="\n")


def write_text(path: Path, text: str) -> None:
    """Write text atomically (temp file in the same folder, then rename)."""
    # os.open with mode 0o666 lets the umask decide the permissions (mkstemp would make 0600)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_clusters(folder: Path, clusters: pd.DataFrame, outliers: pd.DataFrame) -> None:
    write_text(folder / CLUSTERS_CSV, clusters_csv_text(clusters))
    write_text(folder / OUTLIERS_CSV, outliers[["image_filename", "reason", "detail"]].to_csv(index=False, lineterminator="\n"))


def write_run_json(folder: Path, record: dict) -> None:
    write_text(folder / RUN_JSON, json.dumps(record, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def plot_3d(points: np.ndarray, labels: np.ndarray, title: str, path: Path, max_legend: int = 12) -> None:
    """3D scatter coloured by cluster, outliers grey crosses, legend of the largest clusters."""
    # a bare Figure (no pyplot) renders off-screen without switching the caller's backend
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 7), dpi=110)
    ax = fig.add_subplot(111, projection="3d")
    labels = np.asarray(labels)
    ids = sorted(set(labels.tolist()) - {-1})
    cmap = colormaps["tab20"]
    for k, cid in enumerate(ids):
        m = labels == cid
        ax.scatter(*points[m].T, s=22, color=cmap(k % 20), label=f"cluster {cid} ({m.sum()})" if k < max_legend else None, depthshade=False)
    m = labels == -1
    if m.any():
        ax.scatter(*points[m].T, s=30, color="0.55", marker="x", label=f"outliers ({m.sum()})", depthshade=False)
    ax.set_title(title)
    ax.set_xlabel("axis 1")
    ax.set_ylabel("axis 2")
    ax.set_zlabel("axis 3")
    if len(points):
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})


def write_cluster_grids(folder: Path, photo_folder: Path, faces: pd.DataFrame, n_grids: int = 3, per_grid: int = 24) -> list[str]:
    """One grid of face crops for each of the ``n_grids`` largest clusters; returns file names."""
    written = []
    clustered = faces[faces["cluster_id"] >= 0]
    for cid in sorted(clustered["cluster_id"].unique())[:n_grids]:
        members = clustered[clustered["cluster_id"] == cid].sort_values("image_filename")
        tiles = [(face_crop(photo_folder, r.image_filename, (r.x, r.y, r.w, r.h)), r.image_filename)
                 for r in members.head(per_grid).itertuples()]
        name = GRID_PATTERN.format(int(cid))
        grid_image(tiles, f"cluster {cid}: {len(members)} photos" + (f" (first {per_grid})" if len(members) > per_grid else "")).save(folder / name)
        written.append(name)
    return written


def write_outlier_grid(folder: Path, photo_folder: Path, outliers: pd.DataFrame, faces: pd.DataFrame, limit: int = 48) -> str | None:
    """Grid of the outliers (face crop when a face was found, else the photo) with their reasons."""
    if outliers.empty:
        return None
    boxes = face_boxes(faces)
    tiles = [(face_crop(photo_folder, r.image_filename, boxes.get(r.image_filename)), f"{r.image_filename}\n{r.reason}")
             for r in outliers.head(limit).itertuples()]
    grid_image(tiles, f"outliers: {len(outliers)} photos").save(folder / OUTLIER_GRID)
    return OUTLIER_GRID
