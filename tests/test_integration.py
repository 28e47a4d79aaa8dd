"""End to end on the shared labelled sets with DEFAULT settings (skipped when ../shared/data is
absent). Both sets are embedded once per session into an empty temporary cache."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import GENLIFT, LFW_DEV
from pipeline import Settings, embed_folder, group_photos, run
from pipeline.artifacts import clusters_csv_text
from pipeline.evaluation import read_labels, score_against_labels

pytestmark = pytest.mark.slow

# genlift's true outliers: three painted caricatures (labelled -1) and two one-off people
GENLIFT_TRUE_OUTLIERS = {"single_man_401", "single_woman_399", "-1"}


def test_genlift_default_settings(genlift_collection):
    labels = read_labels(GENLIFT / "labels.csv")
    grouping = group_photos(genlift_collection, Settings())
    clusters = grouping.clusters
    assert len(clusters) == 405 == len(labels)
    s = score_against_labels(clusters, labels)
    assert s.n_photos == 405
    assert s.pairwise_f1 >= 0.995, s
    merged = clusters.merge(labels, on="image_filename")
    loners = merged[merged.person_id.isin(GENLIFT_TRUE_OUTLIERS)]
    assert len(loners) == 5
    assert (loners.cluster_id == -1).all(), loners[["image_filename", "person_id", "cluster_id"]].to_string()
    # 26 recurring people: the clustering finds that many groups
    assert s.n_clusters == merged[~merged.person_id.isin(GENLIFT_TRUE_OUTLIERS)].person_id.nunique() == 26


def test_lfw_dev_default_settings(lfw_collection):
    labels = read_labels(LFW_DEV / "labels.csv")
    clusters = group_photos(lfw_collection, Settings()).clusters
    assert len(clusters) == 296
    s = score_against_labels(clusters, labels)
    assert s.pairwise_f1 >= 0.98, s  # issue 4 target; measured 0.9973
    # many photos hold a second face; the centred one decides the cluster
    assert (lfw_collection.photos.n_faces > 1).sum() > 0


def test_genlift_runs_are_byte_identical(tmp_path, genlift_collection, session_cache):
    a, b = tmp_path / "a", tmp_path / "b"
    ra = run(GENLIFT / "faces", a, Settings(), session_cache)
    rb = run(GENLIFT / "faces", b, Settings(), session_cache)
    assert ra.record["timings_seconds"]["photos_from_cache"] == 405
    for name in ("clusters.csv", "outliers.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "clusters.csv").read_text() == clusters_csv_text(group_photos(genlift_collection, Settings()).clusters)


def test_lfw_dev_embedding_is_reproducible_without_cache(tmp_path, lfw_collection):
    # embed 60 of the photos again from scratch, no cache: exactly the same faces and vectors
    subset = tmp_path / "subset"
    subset.mkdir()
    names = sorted(p.name for p in (LFW_DEV / "faces").iterdir())[::5][:60]
    for name in names:
        (subset / name).symlink_to(LFW_DEV / "faces" / name)
    fresh = embed_folder(subset, Settings(), None)
    assert fresh.timings["photos_embedded"] == len(names) == 60
    mask = lfw_collection.faces.image_filename.isin(names).to_numpy()
    pd.testing.assert_frame_equal(fresh.faces, lfw_collection.faces[mask].reset_index(drop=True))
    assert np.array_equal(fresh.embeddings, lfw_collection.embeddings[mask])
