"""Evaluation: score a clustering against true labels or hand-labelled pairs.

Conventions (``../shared/data/README.md``): ``-1`` marks an outlier, predicted or true, and an
outlier is its own singleton, so it never forms a pair.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

OUTLIER = -1


@dataclass(frozen=True)
class LabelScores:
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    ari: float
    n_clusters: int
    outlier_rate: float
    outlier_precision: float
    outlier_recall: float
    n_photos: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    precision_ci: tuple[float, float]
    recall_ci: tuple[float, float]
    n_pairs: int
    n_same: int
    n_ignored: int = 0  # pairs naming a photo not in the clustering, or whose content differs

    def as_dict(self) -> dict:
        return asdict(self)


def singletons_for_outliers(labels) -> np.ndarray:
    """Give every ``-1`` its own unique negative id, so outliers never pair with each other."""
    labels = np.asarray(labels).astype(object)
    out = labels.copy()
    n = 0
    for i, value in enumerate(labels):
        if _is_outlier(value):
            n += 1
            out[i] = f"__outlier_{n}"
        else:
            out[i] = str(value)
    return out


def _is_outlier(value) -> bool:
    return str(value).strip() in ("-1", "-1.0")


def _pair_counts(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """(pairs same in both, pairs same in ``a``, pairs same in ``b``), counted via the contingency table."""
    table = pd.crosstab(a, b).to_numpy()
    both = int((table * (table - 1) // 2).sum())
    in_a = int(sum(n * (n - 1) // 2 for n in table.sum(axis=1)))
    in_b = int(sum(n * (n - 1) // 2 for n in table.sum(axis=0)))
    return both, in_a, in_b


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def score_labels(predicted, truth) -> LabelScores:
    """Score predicted cluster ids against true person ids (both sequences in the same photo order)."""
    predicted = list(predicted)
    truth = list(truth)
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} labels")
    if not predicted:
        raise ValueError("nothing to score: no photos")
    pred = singletons_for_outliers(predicted)
    true = singletons_for_outliers(truth)
    both, in_pred, in_true = _pair_counts(pred, true)
    # no predicted pairs: precision is vacuously 1 (nothing wrongly merged)
    precision = both / in_pred if in_pred else 1.0
    recall = both / in_true if in_true else 1.0
    # BCubed: per photo, overlap of its predicted and true clusters
    frame = pd.DataFrame({"p": pred, "t": true})
    joint = frame.groupby(["p", "t"]).size()
    size_p = frame.groupby("p").size()
    size_t = frame.groupby("t").size()
    overlap = joint.reindex(pd.MultiIndex.from_arrays([frame.p, frame.t])).to_numpy()
    b_precision = float(np.mean(overlap / size_p.reindex(frame.p).to_numpy()))
    b_recall = float(np.mean(overlap / size_t.reindex(frame.t).to_numpy()))
    pred_out = np.array([_is_outlier(v) for v in predicted])
    true_out = np.array([_is_outlier(v) for v in truth])
    # a true outlier is also a person who appears only once: nothing to group them with
    true_counts = pd.Series([str(v) for v in truth]).value_counts()
    true_alone = true_out | np.array([true_counts[str(v)] == 1 for v in truth])
    tp = int((pred_out & true_alone).sum())
    return LabelScores(
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
        ari=float(adjusted_rand_score(true, pred)),
        n_clusters=len({v for v in predicted if not _is_outlier(v)}),
        outlier_rate=float(pred_out.mean()),
        outlier_precision=tp / pred_out.sum() if pred_out.sum() else 1.0,
        outlier_recall=tp / true_alone.sum() if true_alone.sum() else 1.0,
        n_photos=len(predicted),
    )


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a labels CSV with columns ``image_filename`` and ``person_id`` (extra columns kept)."""
    frame = pd.read_csv(path, dtype=str)
    missing = {"image_filename", "person_id"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: labels CSV needs columns image_filename,person_id (missing {sorted(missing)})")
    return frame


def score_against_labels(clusters: pd.DataFrame, labels: pd.DataFrame) -> LabelScores:
    """Score a ``clusters.csv`` frame against a labels frame, matched by filename.

    Photos missing from either side are left out; raises when none match.
    """
    merged = clusters.merge(labels, on="image_filename", how="inner")
    if merged.empty:
        raise ValueError("no filename of the clusters appears in the labels")
    return score_labels(merged["cluster_id"].tolist(), merged["person_id"].tolist())


def read_pair_labels(path: str | Path) -> pd.DataFrame:
    """Read hand-labelled pairs: ``image_a,image_b,same`` with same in {1,0,true,false,yes,no}.

    Optional ``sha256_a,sha256_b`` columns pin each name to the photo's content (see :func:`score_pairs`).
    """
    frame = pd.read_csv(path, dtype=str)
    missing = {"image_a", "image_b", "same"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: pair labels need columns image_a,image_b,same (missing {sorted(missing)})")
    mapping = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    same = frame["same"].str.strip().str.lower().map(mapping)
    if same.isna().any():
        bad = frame.loc[same.isna(), "same"].iloc[0]
        raise ValueError(f"{path}: 'same' must be 1/0, true/false or yes/no, found {bad!r}")
    out = pd.DataFrame({"image_a": frame["image_a"], "image_b": frame["image_b"], "same": same.astype(bool)})
    for column in ("sha256_a", "sha256_b"):
        if column in frame.columns:
            out[column] = frame[column].fillna("")
    return out


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; (0, 1) when ``total`` is 0."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def score_pairs(clusters: pd.DataFrame, pairs: pd.DataFrame, hashes: dict[str, str] | None = None) -> PairScores:
    """Pairwise precision/recall of a clustering on hand-labelled pairs, with 95% Wilson intervals.

    A pair is predicted "same" when both photos share a cluster id that is not ``-1``.
    Pairs naming a photo not in ``clusters`` are ignored, and so are pairs whose recorded
    ``sha256_a/b`` differ from ``hashes`` (filename -> sha256): folders often reuse names such as
    ``image_001.jpg``, and a label about other photos must not be scored.
    """
    ids = dict(zip(clusters["image_filename"], clusters["cluster_id"].astype(int)))
    keep = pairs["image_a"].isin(ids) & pairs["image_b"].isin(ids)
    if hashes is not None:
        for side in ("a", "b"):
            column = f"sha256_{side}"
            if column in pairs.columns:
                recorded = pairs[column].astype(str)
                actual = pairs[f"image_{side}"].map(hashes).fillna("")
                keep &= (recorded == "") | (recorded == actual)
    known = pairs[keep]
    a = known["image_a"].map(ids).to_numpy()
    b = known["image_b"].map(ids).to_numpy()
    predicted = (a == b) & (a != OUTLIER)
    actual = known["same"].to_numpy(dtype=bool)
    tp = int((predicted & actual).sum())
    n_pred = int(predicted.sum())
    n_true = int(actual.sum())
    return PairScores(
        precision=tp / n_pred if n_pred else 1.0,
        recall=tp / n_true if n_true else 1.0,
        precision_ci=wilson_interval(tp, n_pred),
        recall_ci=wilson_interval(tp, n_true),
        n_pairs=len(known),
        n_same=n_true,
        n_ignored=int(len(pairs) - len(known)),
    )
