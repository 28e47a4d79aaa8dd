"""Scoring against hand-computed values: pairwise P/R/F1, BCubed, ARI, -1 conventions, outlier
precision/recall, hand-labelled pairs with Wilson intervals, and the CSV readers."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline.evaluation import read_labels, read_pair_labels, score_against_labels, score_labels, score_pairs, wilson_interval

# truth: a a a b b -1 ; predicted: 0 0 1 1 1 -1
TRUTH = ["a", "a", "a", "b", "b", "-1"]
PRED = [0, 0, 1, 1, 1, -1]


def test_pairwise_scores_by_hand():
    s = score_labels(PRED, TRUTH)
    # true pairs: (0,1) (0,2) (1,2) (3,4) = 4; predicted: (0,1) (2,3) (2,4) (3,4) = 4; both: (0,1) (3,4)
    assert s.pairwise_precision == pytest.approx(2 / 4)
    assert s.pairwise_recall == pytest.approx(2 / 4)
    assert s.pairwise_f1 == pytest.approx(0.5)


def test_bcubed_by_hand():
    s = score_labels(PRED, TRUTH)
    # precision per photo: 1, 1, 1/3, 2/3, 2/3, 1 ; recall: 2/3, 2/3, 1/3, 1, 1, 1
    assert s.bcubed_precision == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3 + 1) / 6)
    assert s.bcubed_recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1 + 1) / 6)
    assert s.bcubed_f1 == pytest.approx(7 / 9)


def test_counts_and_outlier_scores_by_hand():
    s = score_labels(PRED, TRUTH)
    assert s.n_clusters == 2 and s.n_photos == 6
    assert s.outlier_rate == pytest.approx(1 / 6)
    assert s.outlier_precision == 1.0 and s.outlier_recall == 1.0
    # a one-off person ("b" once) counts as a true outlier too; "c" split into -1 and a cluster
    s = score_labels([0, 0, -1, -1, -1, 1], ["a", "a", "b", "-1", "c", "c"])
    assert s.outlier_precision == pytest.approx(2 / 3)  # predicted outliers 2,3,4: 2 and 3 are alone
    assert s.outlier_recall == 1.0


def test_outliers_never_pair():
    # two predicted -1 are not a predicted pair: no predicted pairs at all
    s = score_labels([-1, -1], ["a", "a"])
    assert s.pairwise_precision == 1.0 and s.pairwise_recall == 0.0 and s.pairwise_f1 == 0.0
    # two true -1 are not a true pair: merging them is a false positive
    s = score_labels([0, 0], ["-1", "-1"])
    assert s.pairwise_precision == 0.0 and s.pairwise_recall == 1.0
    assert s.bcubed_precision == pytest.approx(0.5)
    # all outliers on both sides: nothing to pair, everything right
    s = score_labels([-1, -1, -1], [-1, "-1", "-1.0"])
    assert s.pairwise_f1 == 1.0 and s.bcubed_f1 == 1.0 and s.n_clusters == 0 and s.outlier_rate == 1.0


def test_perfect_and_permuted_labels():
    perfect = score_labels([7, 7, 3, 3, 3, -1], ["x", "x", "y", "y", "y", "-1"])
    assert perfect.pairwise_f1 == 1.0 and perfect.bcubed_f1 == 1.0 and perfect.ari == pytest.approx(1.0)
    renamed = score_labels([1, 1, 0, 0, 0, -1], ["x", "x", "y", "y", "y", "-1"])
    assert renamed == perfect
    # label types do not matter: strings and ints score the same
    assert score_labels([str(v) for v in PRED], TRUTH) == score_labels(PRED, TRUTH)


def test_everything_merged_has_low_ari():
    s = score_labels([0] * 6, ["a", "a", "b", "b", "c", "c"])
    assert s.pairwise_precision == pytest.approx(3 / 15) and s.pairwise_recall == 1.0
    assert s.ari == pytest.approx(0.0)
    assert s.bcubed_precision == pytest.approx(1 / 3)


def test_score_labels_rejects_bad_input():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        score_labels([0, 0, 1], ["a", "a"])
    with pytest.raises(ValueError, match="no photos"):
        score_labels([], [])


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == 1.0
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # more evidence, narrower interval around the same proportion
    assert wilson_interval(80, 100)[1] - wilson_interval(80, 100)[0] < hi - lo


def clusters_frame():
    return pd.DataFrame({"image_filename": ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"], "cluster_id": [0, 0, 1, -1, -1]})


def test_score_pairs_by_hand():
    pairs = pd.DataFrame({
        "image_a": ["a.jpg", "a.jpg", "b.jpg", "d.jpg", "c.jpg", "a.jpg", "x.jpg"],
        "image_b": ["b.jpg", "c.jpg", "c.jpg", "e.jpg", "d.jpg", "d.jpg", "a.jpg"],
        "same": [True, True, False, True, False, False, True],
    })
    s = score_pairs(clusters_frame(), pairs)
    # x.jpg is unknown: 6 pairs. predicted same: (a,b) only; (d,e) are both -1 -> not same.
    # true same: (a,b) (a,c) (d,e) -> tp 1
    assert s.n_pairs == 6 and s.n_same == 3
    assert s.precision == 1.0 and s.recall == pytest.approx(1 / 3)
    assert s.precision_ci == wilson_interval(1, 1)
    assert s.recall_ci == wilson_interval(1, 3)


def test_score_against_labels_matches_by_filename():
    labels = pd.DataFrame({"image_filename": ["e.jpg", "a.jpg", "b.jpg", "c.jpg", "zzz.jpg"],
                           "person_id": ["q", "p", "p", "q", "r"]})
    s = score_against_labels(clusters_frame(), labels)
    # matched a,b,c,e (d unlabelled, zzz not clustered): pred 0 0 1 -1 vs p p q q
    assert s.n_photos == 4
    assert s.pairwise_precision == 1.0 and s.pairwise_recall == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="no filename"):
        score_against_labels(clusters_frame(), labels.assign(image_filename=["x1", "x2", "x3", "x4", "x5"]))


def test_csv_readers(tmp_path):
    good = tmp_path / "labels.csv"
    good.write_text("image_filename,person_id,source\na.jpg,007,x\nb.jpg,-1,y\n")
    frame = read_labels(good)
    assert frame.person_id.tolist() == ["007", "-1"]  # read as text: leading zeros kept
    bad = tmp_path / "bad.csv"
    bad.write_text("filename,person\na.jpg,p\n")
    with pytest.raises(ValueError, match="image_filename,person_id"):
        read_labels(bad)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image_a,image_b,same\na.jpg,b.jpg,Yes\na.jpg,c.jpg,0\nb.jpg,c.jpg, true \n")
    assert read_pair_labels(pairs).same.tolist() == [True, False, True]
    pairs.write_text("image_a,image_b,same\na.jpg,b.jpg,maybe\n")
    with pytest.raises(ValueError, match="maybe"):
        read_pair_labels(pairs)


def test_pairs_recorded_with_other_content_are_ignored():
    clusters = pd.DataFrame({"image_filename": ["a.jpg", "b.jpg", "c.jpg"], "cluster_id": [0, 0, -1]})
    pairs = pd.DataFrame({"image_a": ["a.jpg", "a.jpg"], "image_b": ["b.jpg", "c.jpg"], "same": [True, True],
                          "sha256_a": ["h1", "h1"], "sha256_b": ["h2", "other"]})
    hashes = {"a.jpg": "h1", "b.jpg": "h2", "c.jpg": "h3"}
    scored = score_pairs(clusters, pairs, hashes)
    assert (scored.n_pairs, scored.n_ignored, scored.recall) == (1, 1, 1.0)
    # without hashes the names alone decide: the a/c pair counts and is missed
    unpinned = score_pairs(clusters, pairs)
    assert (unpinned.n_pairs, unpinned.n_ignored, unpinned.recall) == (2, 0, 0.5)
