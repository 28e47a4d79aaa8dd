"""Faces -> groups: cluster the primary face of every photo and explain each outlier."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clustering import OUTLIER, cluster_distances, distance_matrix
from .collection import STATUS_OK, FaceCollection
from .settings import Settings

REASON_NOISE = "noise"
REASON_REJECTED = "rejected"


@dataclass
class Grouping:
    """Result of clustering a :class:`FaceCollection`.

    ``clusters``: ``image_filename, cluster_id`` for every photo, sorted by filename (``-1`` =
    outlier). ``outliers``: ``image_filename, reason, detail``. ``faces``: the primary face rows
    (with ``cluster_id``) that were clustered, aligned with ``embeddings`` and ``distances``.
    """

    clusters: pd.DataFrame
    outliers: pd.DataFrame
    faces: pd.DataFrame
    embeddings: np.ndarray
    distances: np.ndarray
    eps: float


def group_photos(collection: FaceCollection, settings: Settings, distances: np.ndarray | None = None,
                 overrides=None) -> Grouping:
    """Cluster the primary faces with ``settings``; photos without a usable face become outliers.

    ``distances`` may be passed in (the app re-clusters from a cached matrix while sliders move).
    ``overrides`` (:class:`pipeline.overrides.Overrides`, reviewer edits) are applied after the
    clustering as must-link / cannot-link constraints; rejected photos become outliers.
    """
    faces, embeddings = collection.primary_faces()
    if distances is None:
        distances = distance_matrix(embeddings, settings.metric) if len(faces) else np.zeros((0, 0))
    eps = settings.resolved_eps
    labels = cluster_distances(distances, settings.algorithm, eps, settings.min_samples, settings.split_ratio)
    rejected: set[str] = set()
    if overrides is not None and not overrides.is_empty():
        from .overrides import apply_overrides

        labels = apply_overrides(faces["image_filename"].tolist(), labels, distances, overrides)
        rejected = set(overrides.rejected)
    faces = faces.assign(cluster_id=labels)
    by_name = dict(zip(faces["image_filename"], labels))
    photos = collection.photos
    clusters = pd.DataFrame({
        "image_filename": photos["image_filename"],
        "cluster_id": [int(by_name.get(name, OUTLIER)) for name in photos["image_filename"]],
    }).sort_values("image_filename", kind="stable").reset_index(drop=True)

    nearest = _nearest_other(distances, faces["image_filename"].tolist())
    quality = {r.image_filename: r for r in faces.itertuples()}
    rows = []
    for name, status, detail in photos[["image_filename", "status", "detail"]].itertuples(index=False):
        if status != STATUS_OK:
            rows.append((name, status, detail))
        elif name in rejected and by_name.get(name, OUTLIER) == OUTLIER:
            rows.append((name, REASON_REJECTED, "marked 'not this person' in review"))
        elif by_name.get(name, OUTLIER) == OUTLIER:
            other, dist = nearest.get(name, ("", float("nan")))
            why = (f"nearest face {other} at {settings.metric} distance {dist:.3f}; eps {eps:.3f}"
                   if other else "the only face in the set")
            rows.append((name, REASON_NOISE, f"{why}; {_face_quality(quality[name])}"))
    outliers = pd.DataFrame(rows, columns=["image_filename", "reason", "detail"])
    return Grouping(clusters, outliers.sort_values("image_filename").reset_index(drop=True), faces,
                    embeddings, distances, eps)


# below these a face is flagged as a likely cause of its outlier status (explanation only:
# the clustering does not use them)
SMALL_FACE_PX = 40
LOW_DETECTION_SCORE = 0.75


def _face_quality(face) -> str:
    """``face WxH px, detection score S`` plus a warning when the face is small or uncertain."""
    text = f"face {int(face.w)}x{int(face.h)} px, detection score {face.confidence:.2f}"
    warnings = (["small face"] if min(face.w, face.h) < SMALL_FACE_PX else []) + \
        (["uncertain detection"] if face.confidence < LOW_DETECTION_SCORE else [])
    return text + (f" ({', '.join(warnings)})" if warnings else "")


def _nearest_other(distances: np.ndarray, names: list[str]) -> dict[str, tuple[str, float]]:
    if len(names) < 2:
        return {}
    d = distances + np.diag(np.full(len(names), np.inf))
    j = np.argmin(d, axis=1)
    return {names[i]: (names[j[i]], float(d[i, j[i]])) for i in range(len(names))}
