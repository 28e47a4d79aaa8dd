"""Reviewer edits as constraints: rejected faces, merges, same/different pairs, names; the CLI's
--overrides; and the re-clustering latency for 1,000 faces (printed, not asserted)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import Settings, group_photos
from pipeline.clustering import distance_matrix
from pipeline.collection import FaceCollection
from pipeline.overrides import Overrides, apply_overrides, cluster_names, write_cluster_names


def synthetic_collection(people: int, per_person: int, dim: int = 128, noise: float = 0.025, seed: int = 0,
                         folder: Path = Path("/nonexistent")) -> FaceCollection:
    """``people`` tight groups of ``per_person`` embeddings around random unit centres; photo
    ``p{person:03d}_{k:02d}.jpg`` is person ``person``'s k-th photo."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    names, vectors = [], []
    for p in range(people):
        for k in range(per_person):
            names.append(f"p{p:03d}_{k:02d}.jpg")
            vectors.append(centres[p] + rng.normal(scale=noise, size=dim))
    n = len(names)
    photos = pd.DataFrame({"image_filename": names, "sha256": [""] * n, "status": ["ok"] * n, "detail": [""] * n,
                           "n_faces": [1] * n, "width": [100] * n, "height": [100] * n, "primary_face": [0] * n})
    faces = pd.DataFrame({"image_filename": names, "face_index": [0] * n, "x": [10] * n, "y": [10] * n,
                          "w": [50] * n, "h": [50] * n, "confidence": [0.9] * n, "is_primary": [True] * n})
    return FaceCollection(folder, photos, faces, np.array(vectors, dtype=np.float32))


def ids_of(grouping) -> dict[str, int]:
    return dict(zip(grouping.clusters["image_filename"], grouping.clusters["cluster_id"]))


@pytest.fixture
def three_people():
    return synthetic_collection(3, 5)


def test_without_edits_the_planted_people_are_found(three_people):
    ids = ids_of(group_photos(three_people, Settings()))
    assert len(set(ids.values())) == 3
    for p in range(3):
        assert len({ids[f"p{p:03d}_{k:02d}.jpg"] for k in range(5)}) == 1


@pytest.mark.parametrize("eps", [0.05, 0.3, 0.6, 1.2, 1.9])
def test_a_rejected_face_stays_out_whatever_the_sliders_say(three_people, eps):
    edits = Overrides()
    edits.reject("p000_02.jpg")
    for algorithm in ("agglomerative", "dbscan"):
        g = group_photos(three_people, Settings(eps=eps, algorithm=algorithm), overrides=edits)
        assert ids_of(g)["p000_02.jpg"] == -1
        row = g.outliers[g.outliers.image_filename == "p000_02.jpg"]
        assert row["reason"].tolist() == ["rejected"]
    # without the edit, a loose eps puts it back in a cluster: the edit is what keeps it out
    assert ids_of(group_photos(three_people, Settings(eps=1.9)))["p000_02.jpg"] != -1


def test_merge_survives_a_tighter_eps(three_people):
    g = group_photos(three_people, Settings())
    ids = ids_of(g)
    a = [n for n, c in ids.items() if c == ids["p000_00.jpg"]]
    b = [n for n, c in ids.items() if c == ids["p001_00.jpg"]]
    edits = Overrides()
    edits.merge(a, b)
    for eps in (0.6, 0.2, 0.01):  # at 0.01 every photo alone would be an outlier
        ids = ids_of(group_photos(three_people, Settings(eps=eps), overrides=edits))
        assert len({ids[n] for n in a + b}) == 1 and ids["p000_00.jpg"] != -1
        assert ids["p002_00.jpg"] != ids["p000_00.jpg"]


def test_cannot_link_splits_a_merged_cluster_around_the_two_photos(three_people):
    loose = Settings(eps=1.9, split_ratio=0)  # everything in one cluster
    assert len(set(ids_of(group_photos(three_people, loose)).values())) == 1
    edits = Overrides()
    edits.mark_pair("p000_00.jpg", "p001_00.jpg", same=False)
    ids = ids_of(group_photos(three_people, loose, overrides=edits))
    assert ids["p000_00.jpg"] != ids["p001_00.jpg"]
    assert len({ids[f"p000_{k:02d}.jpg"] for k in range(5)}) == 1  # each person goes with its own side
    assert len({ids[f"p001_{k:02d}.jpg"] for k in range(5)}) == 1


def test_same_pair_links_two_outliers_and_the_latest_edit_wins(three_people):
    tight = Settings(eps=0.001)
    a, b = "p000_00.jpg", "p002_00.jpg"
    assert ids_of(group_photos(three_people, tight))[a] == -1
    edits = Overrides()
    edits.mark_pair(a, b, same=True)
    ids = ids_of(group_photos(three_people, tight, overrides=edits))
    assert ids[a] == ids[b] != -1
    edits.mark_pair(b, a, same=False)
    assert edits.must_link == [] and edits.cannot_link == [(a, b)]
    ids = ids_of(group_photos(three_people, tight, overrides=edits))
    assert ids[a] == -1 and ids[b] == -1


def test_overrides_round_trip_and_bad_file(tmp_path):
    edits = Overrides()
    edits.reject("x.jpg")
    edits.mark_pair("b.jpg", "a.jpg", True)
    edits.rename(["a.jpg", "b.jpg"], "Alice")
    path = tmp_path / "sub" / "overrides.json"
    edits.save(path)
    again = Overrides.load(path)
    assert again.as_dict() == edits.as_dict()
    assert again.must_link == [("a.jpg", "b.jpg")]
    assert Overrides.load(tmp_path / "missing.json").is_empty()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid overrides file"):
        Overrides.load(tmp_path / "bad.json")


def test_names_follow_their_members_when_ids_change(three_people, tmp_path):
    g = group_photos(three_people, Settings())
    ids = ids_of(g)
    members = [n for n, c in ids.items() if c == ids["p002_00.jpg"]]
    edits = Overrides()
    edits.rename(members, "Carol")
    # grow person 0 so cluster ids are renumbered: names must follow the members, not the id
    edits.merge([n for n, c in ids.items() if c == ids["p000_00.jpg"]], [n for n, c in ids.items() if c == ids["p001_00.jpg"]])
    g2 = group_photos(three_people, Settings(), overrides=edits)
    names = cluster_names(g2.clusters, edits)
    assert names == {ids_of(g2)["p002_00.jpg"]: "Carol"}
    assert write_cluster_names(tmp_path, g2.clusters, edits) == "cluster_names.csv"
    assert (tmp_path / "cluster_names.csv").read_text() == f"cluster_id,name\n{ids_of(g2)['p002_00.jpg']},Carol\n"


def test_apply_overrides_ignores_unknown_names_and_keeps_labels_when_empty():
    labels = np.array([0, 0, 1, 1, -1])
    d = np.zeros((5, 5))
    names = list("abcde")
    assert apply_overrides(names, labels, d, Overrides()).tolist() == labels.tolist()
    edits = Overrides(must_link=[("zz", "a")], cannot_link=[("yy", "c")], rejected=["qq"])
    assert apply_overrides(names, labels, d, edits).tolist() == labels.tolist()


def test_cli_overrides_option_applies_the_edits(tmp_path):
    """``cluster --overrides`` gives the same clusters.csv as the app's grouping with those edits."""
    from helpers import GENLIFT

    from pipeline.artifacts import clusters_csv_text
    from pipeline.cli import main
    from pipeline.collection import embed_folder

    if not (GENLIFT / "faces").is_dir():
        pytest.skip(f"shared data not found at {GENLIFT}")
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((GENLIFT / "faces").glob("*.jpg"))[:12]:
        (folder / p.name).write_bytes(p.read_bytes())
    cache = tmp_path / "cache"
    collection = embed_folder(folder, Settings(), cache)
    plain = ids_of(group_photos(collection, Settings()))
    victim = sorted(n for n, c in plain.items() if c >= 0)[0]
    edits = Overrides()
    edits.reject(victim)
    edits.save(tmp_path / "overrides.json")
    out = tmp_path / "out"
    assert main(["--images", str(folder), "--out", str(out), "--quiet", "--cache", str(cache),
                 "--overrides", str(tmp_path / "overrides.json")]) == 0
    written = (out / "clusters.csv").read_text()
    assert f"{victim},-1\n" in written
    assert written == clusters_csv_text(group_photos(collection, Settings(), overrides=edits).clusters)
    outliers = pd.read_csv(out / "outliers.csv")
    assert outliers.loc[outliers.image_filename == victim, "reason"].tolist() == ["rejected"]
    assert json.loads((out / "run.json").read_text())["counts"]["outlier_reasons"]["rejected"] == 1


def test_recluster_1000_faces_from_cached_distances_is_fast_enough():
    """The app re-clusters on every slider move from a cached distance matrix. Printed figure
    (run pytest with -s to see it); the assertion is on the result, not the time."""
    collection = synthetic_collection(50, 20, seed=1)
    edits = Overrides()
    edits.reject("p000_00.jpg")
    edits.mark_pair("p001_00.jpg", "p002_00.jpg", same=True)
    timings = {}
    for metric in ("cosine", "euclidean_l2"):
        _, emb = collection.primary_faces()
        distances = distance_matrix(emb, metric)
        for algorithm in ("agglomerative", "dbscan", "hdbscan"):
            settings = Settings(metric=metric, algorithm=algorithm)
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                g = group_photos(collection, settings, distances=distances, overrides=edits)
                best = min(best, time.perf_counter() - started)
            timings[(metric, algorithm)] = best
            ids = ids_of(g)
            assert ids["p000_00.jpg"] == -1
            assert ids["p001_00.jpg"] == ids["p002_00.jpg"] != -1
            assert len(set(ids.values()) - {-1}) == 49  # 50 people, two merged by the edit
    print("\nre-cluster latency, 1,000 faces x 128-d, cached distances, with edits: "
          + ", ".join(f"{m}/{a} {t * 1000:.0f} ms" for (m, a), t in timings.items()))
