"""Pairs of photos to label by hand, and the labels file (``pair_labels.csv``).

The pairs shown rotate through three kinds so that the labels measure both precision and
recall: pairs inside one cluster (are merges right?), near-threshold pairs across clusters
(the decisions the threshold is least sure about) and random pairs (unbiased). The labels are
an *evaluation* set (``cluster --pairs``); they are never fed back into the clustering.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import write_text
from .evaluation import read_pair_labels
from .overrides import pair_key  # noqa: F401  (the pages use it from here, with the labels)

PAIR_LABELS_CSV = "pair_labels.csv"
KINDS = ("within cluster", "near threshold", "random")


def next_pair(names: list[str], labels: np.ndarray, distances: np.ndarray, eps: float, done: set,
              step: int, seed: int = 0) -> tuple[str, str, str] | None:
    """The next pair to show ``(image_a, image_b, kind)``, skipping pairs in ``done`` (pair_key
    tuples); the kind rotates with ``step``; falls back to the other kinds when one runs out.
    ``None`` when every pair has been seen."""
    n = len(names)
    if n < 2:
        return None
    labels = np.asarray(labels)
    i, j = np.triu_indices(n, k=1)
    d = distances[i, j]
    same = (labels[i] == labels[j]) & (labels[i] != -1)
    rng = np.random.default_rng(seed)
    order_random = rng.permutation(len(i))
    candidates = {
        "within cluster": order_random[same[order_random]],
        "near threshold": np.flatnonzero(~same)[np.argsort(np.abs(d[~same] - eps), kind="stable")],
        "random": order_random,
    }
    start = step % len(KINDS)
    for kind in KINDS[start:] + KINDS[:start]:
        for k in candidates[kind]:
            a, b = names[i[k]], names[j[k]]
            if pair_key(a, b) not in done:
                return a, b, kind
    return None


def load_pair_labels(path: str | Path) -> pd.DataFrame:
    """``image_a, image_b, same`` (bool); empty when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame({"image_a": pd.Series(dtype=str), "image_b": pd.Series(dtype=str),
                             "same": pd.Series(dtype=bool)})
    return read_pair_labels(path)


def record_pair_label(path: str | Path, a: str, b: str, same: bool, hashes: dict[str, str] | None = None) -> pd.DataFrame:
    """Add (or replace) the label of the pair ``a, b`` and rewrite the file atomically; returns all labels.

    With ``hashes`` (filename -> sha256) the row also records ``sha256_a, sha256_b``, so the label
    is only ever scored against these very photos (folders often reuse names like image_001.jpg).
    """
    path = Path(path)
    frame = load_pair_labels(path)
    key = pair_key(a, b)
    keep = [pair_key(x, y) != key for x, y in zip(frame["image_a"], frame["image_b"])]
    row = {"image_a": [a], "image_b": [b], "same": [bool(same)]}
    if hashes is not None:
        row.update(sha256_a=[hashes.get(a, "")], sha256_b=[hashes.get(b, "")])
    frame = pd.concat([frame[keep], pd.DataFrame(row)], ignore_index=True)
    columns = ["image_a", "image_b", "same"] + [c for c in ("sha256_a", "sha256_b") if c in frame.columns]
    frame = frame[columns].fillna("") if len(columns) > 3 else frame[columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.assign(same=frame["same"].astype(bool).astype(int))
    write_text(path, out.to_csv(index=False, lineterminator="\n"))
    return frame
