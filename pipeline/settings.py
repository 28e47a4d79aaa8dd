"""Settings of one run: every parameter named once, validated at the edge, with units and defaults.

Defaults need no tuning: they are calibrated per model on studio portraits (genlift) and photos
in the wild (lfw_dev) together; the notebook and README show the evidence.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

MODELS = ("SFace", "Facenet512")
DETECTORS = ("yunet", "opencv", "mtcnn")
ALGORITHMS = ("agglomerative", "dbscan", "hdbscan")
METRICS = ("cosine", "euclidean", "euclidean_l2")
PROJECTIONS = ("pca", "umap", "tsne")
ALIGNMENTS = ("landmarks", "deepface")

# Distance thresholds per (model, algorithm) in cosine distance (1 - cosine similarity).
# SFace: measured on genlift + lfw_dev (see notebooks/analysis.ipynb, "Choosing eps"). Average
# linkage at 0.60 sits in a plateau 0.55-0.68 where both sets keep pairwise F1 >= 0.985.
# Facenet512: its weights are not available offline here, so these are DeepFace's own
# verification thresholds (cosine 0.30), not calibrated by us.
DEFAULT_EPS_COSINE = {
    ("SFace", "agglomerative"): 0.60,
    ("SFace", "dbscan"): 0.40,
    ("SFace", "hdbscan"): 0.60,
    ("Facenet512", "agglomerative"): 0.30,
    ("Facenet512", "dbscan"): 0.25,
    ("Facenet512", "hdbscan"): 0.30,
}
# Raw euclidean distances depend on each model's embedding norms: DeepFace's thresholds.
DEFAULT_EPS_EUCLIDEAN = {"SFace": 10.734, "Facenet512": 23.56}

DEFAULT_ALIGNMENT = {"SFace": "landmarks", "Facenet512": "deepface"}


class SettingsError(ValueError):
    """An unusable setting; the message names it and the allowed values."""


@dataclass(frozen=True)
class Settings:
    """Parameters of one run. ``None`` means "the calibrated default for this model/algorithm/metric".

    model: face recognition backbone run through DeepFace (``SFace`` offline; ``Facenet512`` needs
        ``facenet512_weights.h5``).
    detector: DeepFace face detector (``yunet`` default; ``opencv`` Haar and ``mtcnn`` also offline).
    alignment: ``landmarks`` warps the five detected landmarks onto the template the model was
        trained with; ``deepface`` uses DeepFace's own eye-rotation and box crop.
    min_face_confidence: detections scored below this (0..1) are ignored.
    algorithm: ``agglomerative`` (average linkage, with gap splitting), ``dbscan`` or ``hdbscan``.
    metric: ``cosine`` (default), ``euclidean`` (raw embeddings) or ``euclidean_l2`` (unit vectors).
    eps: distance threshold in units of ``metric``: DBSCAN's neighbourhood radius, or the largest
        average-linkage distance at which two groups merge.
    min_samples: DBSCAN/HDBSCAN core-point neighbourhood size (photos, including the point itself);
        for agglomerative, the smallest group that counts as a cluster. Smaller groups are outliers.
    split_ratio: agglomerative only. A merge above ``eps/2`` of two groups of >= 3 photos each is
        refused when its distance exceeds ``split_ratio`` x the larger group's mean internal
        distance: tight, well-separated look-alikes stay apart. 0 disables it.
    flip_tta: also embed the mirrored face and average (measured: no gain for SFace; off).
    projection: 3D projection for the plot: ``pca``, ``umap`` or ``tsne``.
    seed: seeds every random step (projection, sampling of pairs).
    """

    model: str = "SFace"
    detector: str = "yunet"
    alignment: str | None = None
    min_face_confidence: float = 0.6
    algorithm: str = "agglomerative"
    metric: str = "cosine"
    eps: float | None = None
    min_samples: int = 2
    split_ratio: float = 2.0
    flip_tta: bool = False
    projection: str = "pca"
    seed: int = 0
    max_faces_per_photo: int = 10

    def __post_init__(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check_choice("detector", self.detector, DETECTORS)
        _check_choice("algorithm", self.algorithm, ALGORITHMS)
        _check_choice("metric", self.metric, METRICS)
        _check_choice("projection", self.projection, PROJECTIONS)
        if self.alignment is not None:
            _check_choice("alignment", self.alignment, ALIGNMENTS)
        if self.eps is not None and not (self.eps > 0):
            raise SettingsError(f"eps must be a positive distance, got {self.eps}")
        if int(self.min_samples) != self.min_samples or self.min_samples < 1:
            raise SettingsError(f"min_samples must be a whole number >= 1, got {self.min_samples}")
        if not 0 <= self.min_face_confidence <= 1:
            raise SettingsError(f"min_face_confidence must be in [0, 1], got {self.min_face_confidence}")
        if self.split_ratio < 0:
            raise SettingsError(f"split_ratio must be >= 0 (0 disables it), got {self.split_ratio}")
        if self.max_faces_per_photo < 1:
            raise SettingsError(f"max_faces_per_photo must be >= 1, got {self.max_faces_per_photo}")

    @property
    def resolved_alignment(self) -> str:
        return self.alignment or DEFAULT_ALIGNMENT[self.model]

    @property
    def resolved_eps(self) -> float:
        """``eps`` or the calibrated default for this model, algorithm and metric."""
        if self.eps is not None:
            return float(self.eps)
        cosine = DEFAULT_EPS_COSINE[(self.model, self.algorithm)]
        if self.metric == "cosine":
            return cosine
        if self.metric == "euclidean_l2":
            # for unit vectors ||a - b|| = sqrt(2 * cosine distance)
            return round((2 * cosine) ** 0.5, 4)
        return DEFAULT_EPS_EUCLIDEAN[self.model]

    def embedding_key(self) -> str:
        """What the cached embeddings depend on (not the clustering parameters)."""
        conf = f"{self.min_face_confidence:g}"
        return f"{self.model}-{self.detector}-{self.resolved_alignment}-c{conf}-flip{int(self.flip_tta)}"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["resolved_eps"] = self.resolved_eps
        out["resolved_alignment"] = self.resolved_alignment
        return out


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def default_cache_dir() -> Path:
    """Embedding cache: ``$FACE_GROUPING_CACHE`` or ``.cache/embeddings`` in the project."""
    import os

    from .weights import PROJECT_ROOT

    return Path(os.environ.get("FACE_GROUPING_CACHE", PROJECT_ROOT / ".cache" / "embeddings"))
