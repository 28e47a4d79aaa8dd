"""Clustering on small synthetic embeddings / distance matrices, Settings validation, and
deterministic grouping of a synthetic FaceCollection."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from pipeline import FaceCollection, Settings, SettingsError, group_photos
from pipeline.artifacts import clusters_csv_text
from pipeline.clustering import canonical_labels, cluster_distances, cluster_embeddings, distance_matrix, k_distances, knee_of
from pipeline.evaluation import score_labels


def blobs(sizes, dim=64, spread=0.02, seed=0):
    """Unit-norm embeddings around random directions (cosine distance ~1 between blobs, ~0.02 inside)."""
    rng = np.random.default_rng(seed)
    x, truth = [], []
    for k, n in enumerate(sizes):
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        pts = centre + rng.normal(scale=spread, size=(n, dim))
        x.append(pts / np.linalg.norm(pts, axis=1, keepdims=True))
        truth += [k] * n
    return np.vstack(x), np.array(truth)


def same_partition(a, b) -> bool:
    """True when two labelings group the items identically (ids may differ)."""
    a, b = np.asarray(a), np.asarray(b)
    return all((a[i] == a[j]) == (b[i] == b[j]) for i in range(len(a)) for j in range(i + 1, len(a)))


@pytest.mark.parametrize("algorithm", ["agglomerative", "dbscan", "hdbscan"])
def test_well_separated_blobs_are_recovered(algorithm):
    x, truth = blobs([6, 5, 4, 3])
    labels = cluster_embeddings(x, "cosine", algorithm=algorithm, eps=0.4, min_samples=2)
    assert same_partition(labels, truth)
    assert (labels >= 0).all()
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3]


@pytest.mark.parametrize("algorithm", ["agglomerative", "dbscan", "hdbscan"])
def test_isolated_points_are_outliers(algorithm):
    x, truth = blobs([6, 5])
    rng = np.random.default_rng(7)
    noise = rng.normal(size=(3, x.shape[1]))
    x = np.vstack([x, noise / np.linalg.norm(noise, axis=1, keepdims=True)])
    labels = cluster_embeddings(x, "cosine", algorithm=algorithm, eps=0.4, min_samples=2)
    assert (labels[-3:] == -1).all()
    assert same_partition(labels[:-3], truth)
    assert (labels[:-3] >= 0).all()


def test_cluster_of_one_is_an_outlier_and_min_samples_sets_the_smallest_cluster():
    x, _ = blobs([5, 2, 1])
    labels = cluster_embeddings(x, "cosine", algorithm="agglomerative", eps=0.4, min_samples=2)
    assert labels.tolist() == [0] * 5 + [1, 1] + [-1]
    labels3 = cluster_embeddings(x, "cosine", algorithm="agglomerative", eps=0.4, min_samples=3)
    assert labels3.tolist() == [0] * 5 + [-1, -1, -1]


def test_trivial_inputs():
    assert cluster_distances(np.zeros((0, 0))).tolist() == []
    assert cluster_distances(np.zeros((1, 1))).tolist() == [-1]
    two = np.array([[0.0, 0.1], [0.1, 0.0]])
    assert cluster_distances(two, eps=0.3).tolist() == [0, 0]
    assert cluster_distances(two, eps=0.05).tolist() == [-1, -1]


def test_canonical_ids_are_ordered_by_size_then_first_index():
    raw = np.array([5, 9, 7, 7, 5, 7, 9, 3, -1, 4, 4])
    # sizes: 7 -> 3; 5, 9, 4 -> 2 each (first at 0, 1, 9); 3 -> 1 (dropped)
    assert canonical_labels(raw).tolist() == [1, 2, 0, 0, 1, 0, 2, -1, -1, 3, 3]
    assert canonical_labels(raw, min_size=3).tolist() == [-1, -1, 0, 0, -1, 0, -1, -1, -1, -1, -1]


def test_cluster_ids_from_clustering_follow_size_order():
    # the smallest blob first in the input: it must still get the largest id
    x, _ = blobs([2, 6, 4], seed=3)
    labels = cluster_embeddings(x, "cosine", algorithm="agglomerative", eps=0.4)
    assert labels.tolist() == [2, 2] + [0] * 6 + [1] * 4


def test_labels_do_not_depend_on_input_order():
    x, truth = blobs([6, 5, 4], seed=2)
    perm = np.random.default_rng(0).permutation(len(x))
    a = cluster_embeddings(x, "cosine", eps=0.4)
    b = cluster_embeddings(x[perm], "cosine", eps=0.4)
    assert same_partition(a[perm], b)


def gap_matrix(seed=0):
    """Two tight groups A (4) and B (4) at ~0.45 from each other, each ~0.10 inside, and a loose
    group C (6) whose members are all ~0.45 apart; C is 0.95 from A and B."""
    rng = np.random.default_rng(seed)
    groups = [0] * 4 + [1] * 4 + [2] * 6
    n = len(groups)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            gi, gj = groups[i], groups[j]
            if gi == gj:
                base = 0.10 if gi < 2 else 0.45
            elif {gi, gj} == {0, 1}:
                base = 0.45
            else:
                base = 0.95
            d[i, j] = d[j, i] = base + rng.uniform(-0.02, 0.02)
    return d, np.array(groups)


def test_gap_split_separates_tight_groups_but_keeps_a_loose_group_whole():
    d, groups = gap_matrix()
    labels = cluster_distances(d, "agglomerative", eps=0.6, min_samples=2, split_ratio=2.0)
    assert same_partition(labels, groups)
    assert (labels >= 0).all()
    # C is the largest group: id 0; A and B are two different clusters
    assert set(labels[groups == 2].tolist()) == {0}
    assert labels[0] != labels[4]


def test_without_gap_split_average_linkage_merges_the_tight_groups():
    d, groups = gap_matrix()
    labels = cluster_distances(d, "agglomerative", eps=0.6, min_samples=2, split_ratio=0.0)
    assert len(set(labels[groups < 2].tolist())) == 1  # A and B merged at ~0.45 < eps
    assert labels[0] != labels[-1]  # C still apart (0.95 > eps)


def test_gap_split_never_applies_below_half_eps():
    d, groups = gap_matrix()
    # eps 1.0: the A-B merge at 0.45 is below eps/2, so the gap rule does not refuse it
    labels = cluster_distances(d, "agglomerative", eps=1.0, min_samples=2, split_ratio=2.0)
    assert len(set(labels[groups < 2].tolist())) == 1


def test_dbscan_eps_is_a_radius():
    # a chain of points 0.3 apart: one cluster at eps 0.35 (density-reachable), all noise at 0.25
    n = 6
    pos = np.arange(n) * 0.3
    d = np.abs(pos[:, None] - pos[None, :])
    assert cluster_distances(d, "dbscan", eps=0.35, min_samples=2).tolist() == [0] * n
    assert cluster_distances(d, "dbscan", eps=0.25, min_samples=2).tolist() == [-1] * n


def test_distance_metrics_match_their_definitions():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 16)) * rng.uniform(0.5, 20, size=(7, 1))  # varied norms
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = distance_matrix(x, "cosine")
    l2 = distance_matrix(x, "euclidean_l2")
    eu = distance_matrix(x, "euclidean")
    for d in (cos, l2, eu):
        assert d.shape == (7, 7)
        assert np.array_equal(d, d.T)
        assert np.all(np.diag(d) == 0)
    off = ~np.eye(7, dtype=bool)
    assert np.allclose(cos[off], cdist(x, x, "cosine")[off])
    assert np.allclose(eu[off], cdist(x, x, "euclidean")[off])
    assert np.allclose(l2, np.sqrt(2 * cos))  # unit vectors: ||a-b||^2 = 2 (1 - cos)
    assert np.allclose(l2[off], cdist(u, u, "euclidean")[off])
    # cosine and euclidean_l2 ignore the norm, raw euclidean does not
    assert np.allclose(distance_matrix(3 * x, "cosine"), cos)
    assert np.allclose(distance_matrix(3 * x, "euclidean"), 3 * eu)
    assert np.allclose(distance_matrix(u, "euclidean"), l2)


def test_dbscan_gives_the_same_groups_in_cosine_and_equivalent_euclidean_l2():
    x, _ = blobs([5, 4, 3], spread=0.2, seed=4)
    eps = 0.3
    a = cluster_embeddings(x, "cosine", algorithm="dbscan", eps=eps)
    b = cluster_embeddings(x, "euclidean_l2", algorithm="dbscan", eps=math.sqrt(2 * eps))
    assert np.array_equal(a, b)


def test_default_eps_follows_the_metric():
    s = Settings()
    assert s.resolved_eps == 0.60
    assert s.with_(metric="euclidean_l2").resolved_eps == pytest.approx(math.sqrt(1.2), abs=1e-4)
    assert s.with_(eps=0.42).resolved_eps == 0.42


def test_bad_metric_or_algorithm_is_a_settings_error():
    with pytest.raises(SettingsError, match="metric"):
        distance_matrix(np.eye(3), "manhattan")
    with pytest.raises(SettingsError, match="algorithm"):
        cluster_distances(np.zeros((3, 3)), "kmeans")
    with pytest.raises(ValueError):
        distance_matrix(np.zeros(5))


def test_k_distances_and_knee():
    pos = np.array([0.0, 0.1, 0.3, 1.0])
    d = np.abs(pos[:, None] - pos[None, :])
    # nearest other point: 0.1, 0.1, 0.2, 0.7 (sorted)
    assert np.allclose(k_distances(d, 1), [0.1, 0.1, 0.2, 0.7])
    # second nearest: 0->0.3, 0.1->0.2, 0.3->0.3, 1.0->0.9
    assert np.allclose(k_distances(d, 2), [0.2, 0.3, 0.3, 0.9])
    assert len(k_distances(d, 4)) == 0
    curve = np.array([0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.5, 0.9])
    assert knee_of(curve) == pytest.approx(0.15)
    assert math.isnan(knee_of(np.array([0.1, 0.2])))


@pytest.mark.parametrize("changes, word", [
    ({"model": "VGG-Face"}, "model"),
    ({"detector": "retinaface"}, "detector"),
    ({"algorithm": "kmeans"}, "algorithm"),
    ({"metric": "manhattan"}, "metric"),
    ({"projection": "mds"}, "projection"),
    ({"alignment": "none"}, "alignment"),
    ({"eps": 0.0}, "eps"),
    ({"eps": -0.5}, "eps"),
    ({"eps": float("nan")}, "eps"),
    ({"min_samples": 0}, "min_samples"),
    ({"min_samples": 2.5}, "min_samples"),
    ({"min_face_confidence": 1.5}, "min_face_confidence"),
    ({"split_ratio": -1}, "split_ratio"),
    ({"max_faces_per_photo": 0}, "max_faces_per_photo"),
])
def test_settings_validation(changes, word):
    with pytest.raises(SettingsError, match=word):
        Settings(**changes)


def synthetic_collection(tmp_path: Path) -> FaceCollection:
    """A FaceCollection without any model: 3 + 2 photos of two people, one loner, one photo with
    no face, one unreadable; one photo holds a second (non-primary) face."""
    x, _ = blobs([3, 2, 1], seed=5)
    names = ["p1.jpg", "p2.jpg", "p3.jpg", "q1.jpg", "q2.jpg", "z_lonely.jpg"]
    photos = pd.DataFrame({
        "image_filename": names + ["empty.jpg", "bad.jpg"],
        "sha256": [f"{i:064x}" for i in range(8)],
        "status": ["ok"] * 6 + ["no_face", "unreadable"],
        "detail": [""] * 6 + ["no face detected", "not a readable image (truncated)"],
        "n_faces": [1, 2, 1, 1, 1, 1, 0, 0],
        "width": [100] * 8, "height": [100] * 8,
        "primary_face": [0] * 6 + [-1, -1],
    }).sort_values("image_filename").reset_index(drop=True)
    face_names = names[:2] + ["p2.jpg"] + names[2:]
    faces = pd.DataFrame({
        "image_filename": face_names, "face_index": [0, 0, 1, 0, 0, 0, 0],
        "x": 10, "y": 10, "w": 50, "h": 50, "confidence": 0.9,
        "is_primary": [True, True, False, True, True, True, True],
    })
    # the second face in p2.jpg is the lonely person: clustering must ignore it
    emb = np.vstack([x[0], x[1], x[5], x[2], x[3], x[4], x[5]]).astype(np.float32)
    return FaceCollection(folder=tmp_path, photos=photos, faces=faces, embeddings=emb)


def test_group_photos_uses_primary_faces_and_explains_every_outlier(tmp_path):
    g = group_photos(synthetic_collection(tmp_path), Settings())
    ids = dict(zip(g.clusters.image_filename, g.clusters.cluster_id))
    assert list(g.clusters.image_filename) == sorted(ids)
    assert ids["p1.jpg"] == ids["p2.jpg"] == ids["p3.jpg"] == 0
    assert ids["q1.jpg"] == ids["q2.jpg"] == 1
    assert ids["z_lonely.jpg"] == ids["empty.jpg"] == ids["bad.jpg"] == -1
    reasons = dict(zip(g.outliers.image_filename, g.outliers.reason))
    assert reasons == {"bad.jpg": "unreadable", "empty.jpg": "no_face", "z_lonely.jpg": "noise"}
    detail = g.outliers.set_index("image_filename").detail
    assert "nearest face" in detail["z_lonely.jpg"] and "eps 0.600" in detail["z_lonely.jpg"]
    assert "truncated" in detail["bad.jpg"]
    assert len(g.faces) == 6 and len(g.embeddings) == 6


def test_grouping_is_deterministic_to_the_byte(tmp_path):
    texts = [clusters_csv_text(group_photos(synthetic_collection(tmp_path), Settings()).clusters) for _ in range(2)]
    assert texts[0] == texts[1]
    assert texts[0].startswith("image_filename,cluster_id\n")


def test_score_of_synthetic_grouping_is_perfect(tmp_path):
    g = group_photos(synthetic_collection(tmp_path), Settings())
    truth = {"p1.jpg": "p", "p2.jpg": "p", "p3.jpg": "p", "q1.jpg": "q", "q2.jpg": "q",
             "z_lonely.jpg": "z", "empty.jpg": "-1", "bad.jpg": "-1"}
    s = score_labels(g.clusters.cluster_id, [truth[n] for n in g.clusters.image_filename])
    assert s.pairwise_f1 == 1.0 and s.outlier_precision == 1.0 and s.outlier_recall == 1.0


def test_noise_outliers_report_their_face_size_and_detection_score(tmp_path):
    collection = synthetic_collection(tmp_path)
    lonely = collection.faces.image_filename == "z_lonely.jpg"
    collection.faces.loc[lonely, ["w", "h", "confidence"]] = [24, 30, 0.62]
    detail = group_photos(collection, Settings()).outliers.set_index("image_filename").detail["z_lonely.jpg"]
    assert "face 24x30 px, detection score 0.62 (small face, uncertain detection)" in detail
    collection.faces.loc[lonely, ["w", "h", "confidence"]] = [80, 90, 0.95]
    detail = group_photos(collection, Settings()).outliers.set_index("image_filename").detail["z_lonely.jpg"]
    assert detail.endswith("face 80x90 px, detection score 0.95")
