"""Clustering of face embeddings: pure functions over arrays.

Three algorithms over one precomputed distance matrix:

- ``agglomerative`` (default): average linkage cut at ``eps``, with *gap splitting*: a merge
  above ``eps / 2`` of two groups of >= 3 faces each is refused when its distance exceeds
  ``split_ratio`` x the larger group's mean internal distance. Average linkage alone needs a
  loose threshold for photos in the wild (same person at cosine ~0.5) that merges look-alike
  people in studio sets (different people at ~0.47 but each tight, ~0.1-0.2 internally); the gap
  rule adapts to each group's own spread instead of one global number.
- ``dbscan``: scikit-learn DBSCAN, ``eps`` radius and ``min_samples``.
- ``hdbscan``: scikit-learn HDBSCAN, ``min_cluster_size = max(2, min_samples)``. HDBSCAN has no
  absolute distance limit (a face far from everyone can join a tight cluster), so ``eps`` is
  used as a ceiling: a member farther than ``eps`` from every other member becomes an outlier.

Labels: ``-1`` for noise and for groups smaller than ``min_samples`` (a cluster of one is an
outlier); others numbered 0, 1, ... by size (largest first), ties by the first member's index,
so ids are deterministic for the same inputs.
"""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import DBSCAN, HDBSCAN

from .settings import ALGORITHMS, METRICS, SettingsError

OUTLIER = -1


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def distance_matrix(embeddings: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Symmetric (n, n) float64 distances with a zero diagonal.

    ``cosine``: 1 - cosine similarity (0..2); ``euclidean_l2``: euclidean distance of unit vectors
    (0..2); ``euclidean``: euclidean distance of the raw embeddings.
    """
    if metric not in METRICS:
        raise SettingsError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be (n, d), got shape {x.shape}")
    if metric == "euclidean":
        sq = (x * x).sum(1)
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0))
    else:
        u = unit_rows(x)
        d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
        if metric == "euclidean_l2":
            d = np.sqrt(2.0 * d)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return d


def cluster_distances(
    distances: np.ndarray,
    algorithm: str = "agglomerative",
    eps: float = 0.6,
    min_samples: int = 2,
    split_ratio: float = 2.0,
) -> np.ndarray:
    """Cluster a precomputed distance matrix; returns int labels with ``-1`` for outliers."""
    if algorithm not in ALGORITHMS:
        raise SettingsError(f"algorithm must be one of {', '.join(ALGORITHMS)}; got {algorithm!r}")
    n = len(distances)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.full(1, OUTLIER)
    if algorithm == "agglomerative":
        labels = _agglomerative_gap(distances, eps, split_ratio)
    elif algorithm == "dbscan":
        labels = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(distances)
    else:
        labels = HDBSCAN(
            min_cluster_size=max(2, min_samples), min_samples=1, metric="precomputed", copy=True
        ).fit_predict(distances)
        labels = _detach_far_members(distances, labels, eps)
    return canonical_labels(labels, min_size=max(2, min_samples))


def cluster_embeddings(embeddings: np.ndarray, metric: str = "cosine", **kwargs) -> np.ndarray:
    """``cluster_distances(distance_matrix(embeddings, metric), **kwargs)``."""
    return cluster_distances(distance_matrix(embeddings, metric), **kwargs)


def _detach_far_members(distances: np.ndarray, labels: np.ndarray, eps: float) -> np.ndarray:
    labels = np.array(labels)
    for cid in set(labels.tolist()) - {OUTLIER}:
        members = np.flatnonzero(labels == cid)
        within = distances[np.ix_(members, members)] + np.diag(np.full(len(members), np.inf))
        labels[members[within.min(axis=1) > eps]] = OUTLIER
    return labels


def canonical_labels(labels: np.ndarray, min_size: int = 2) -> np.ndarray:
    """Renumber clusters 0.. by size (desc) then first index; groups under ``min_size`` become -1."""
    labels = np.asarray(labels)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab != OUTLIER:
            groups.setdefault(lab, []).append(i)
    kept = sorted((m for m in groups.values() if len(m) >= min_size), key=lambda m: (-len(m), m[0]))
    out = np.full(len(labels), OUTLIER, dtype=int)
    for new_id, members in enumerate(kept):
        out[members] = new_id
    return out


def _agglomerative_gap(distances: np.ndarray, eps: float, split_ratio: float) -> np.ndarray:
    n = len(distances)
    tree = linkage(squareform(distances, checks=False), method="average")
    size = np.ones(2 * n - 1)
    pair_sum = np.zeros(2 * n - 1)  # sum of distances over unordered pairs inside each node
    left = np.zeros(2 * n - 1, dtype=int)
    right = np.zeros(2 * n - 1, dtype=int)
    height = np.zeros(2 * n - 1)
    for k, (a, b, dist, count) in enumerate(tree):
        node, a, b = n + k, int(a), int(b)
        left[node], right[node], height[node], size[node] = a, b, dist, count
        # average linkage: the merge distance is the mean of the |a| x |b| cross distances
        pair_sum[node] = pair_sum[a] + pair_sum[b] + dist * size[a] * size[b]
    spread = np.where(size > 1, pair_sum / np.maximum(size * (size - 1) / 2, 1), 0.0)

    def merge_allowed(node: int) -> bool:
        a, b, dist = left[node], right[node], height[node]
        if dist > eps:
            return False
        if split_ratio > 0 and dist > eps / 2 and min(size[a], size[b]) >= 3:
            return dist <= split_ratio * max(spread[a], spread[b])
        return True

    labels = np.full(n, OUTLIER, dtype=int)
    next_id = 0
    stack = [2 * n - 2]
    while stack:
        node = stack.pop()
        if node < n:
            continue  # a single photo never merged: outlier
        if merge_allowed(node):
            labels[_leaves(node, n, left, right)] = next_id
            next_id += 1
        else:
            stack.extend((left[node], right[node]))
    return labels


def _leaves(node: int, n: int, left: np.ndarray, right: np.ndarray) -> list[int]:
    out, stack = [], [node]
    while stack:
        x = stack.pop()
        if x < n:
            out.append(x)
        else:
            stack.extend((left[x], right[x]))
    return out


def k_distances(distances: np.ndarray, k: int = 1) -> np.ndarray:
    """Distance from each point to its k-th nearest other point, sorted ascending (k-distance plot)."""
    n = len(distances)
    if n <= k:
        return np.zeros(0)
    d = distances + np.diag(np.full(n, np.inf))
    return np.sort(np.partition(d, k - 1, axis=1)[:, k - 1])


def knee_of(sorted_values: np.ndarray) -> float:
    """Knee of an ascending curve: the point farthest below the chord from first to last value.

    Used to suggest a DBSCAN eps from the k-distance plot; ``nan`` for fewer than 3 values.
    """
    y = np.asarray(sorted_values, dtype=float)
    if len(y) < 3 or y[-1] == y[0]:
        return float("nan")
    x = np.linspace(0.0, 1.0, len(y))
    yn = (y - y[0]) / (y[-1] - y[0])
    return float(y[int(np.argmax(x - yn))])
