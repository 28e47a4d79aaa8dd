"""Quality against eps / min_samples on labelled sets: a table, a plot, and the default's margin."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .clustering import distance_matrix
from .collection import FaceCollection
from .evaluation import score_against_labels, score_pairs
from .grouping import group_photos
from .settings import Settings


def sweep(
    sets: dict[str, tuple[FaceCollection, pd.DataFrame, str]],
    settings: Settings,
    eps_values: list[float],
    min_samples_values: list[int],
) -> pd.DataFrame:
    """Score every (set, eps, min_samples). ``sets`` maps a name to (collection, labels frame,
    kind) with kind ``labels`` (image_filename,person_id) or ``pairs`` (image_a,image_b,same)."""
    rows = []
    for name, (collection, truth, kind) in sets.items():
        _, embeddings = collection.primary_faces()
        distances = distance_matrix(embeddings, settings.metric)
        for min_samples in min_samples_values:
            for eps in eps_values:
                g = group_photos(collection, settings.with_(eps=float(eps), min_samples=int(min_samples)), distances)
                row = {"set": name, "eps": round(float(eps), 4), "min_samples": int(min_samples)}
                if kind == "labels":
                    s = score_against_labels(g.clusters, truth)
                    row.update(precision=s.pairwise_precision, recall=s.pairwise_recall, f1=s.pairwise_f1,
                               bcubed_f1=s.bcubed_f1, ari=s.ari, n_clusters=s.n_clusters, outlier_rate=s.outlier_rate)
                else:
                    s = score_pairs(g.clusters, truth)
                    f1 = 0.0 if s.precision + s.recall == 0 else 2 * s.precision * s.recall / (s.precision + s.recall)
                    row.update(precision=s.precision, recall=s.recall, f1=f1)
                rows.append(row)
    return pd.DataFrame(rows)


def margin(table: pd.DataFrame, default_eps: float, min_samples: int, drop: float = 0.01) -> pd.DataFrame:
    """Per set: F1 at the default eps, and how far eps can move down / up (within the swept grid)
    before F1 falls more than ``drop`` below it."""
    out = []
    for name, g in table[table.min_samples == min_samples].groupby("set", sort=False):
        g = g.sort_values("eps")
        at = g.iloc[(g.eps - default_eps).abs().argmin()]
        ok = g.f1 >= at.f1 - drop
        eps = g.eps.to_numpy()
        i = int(np.where(eps == at.eps)[0][0])
        lo = i
        while lo > 0 and ok.iloc[lo - 1]:
            lo -= 1
        hi = i
        while hi < len(g) - 1 and ok.iloc[hi + 1]:
            hi += 1
        out.append({"set": name, "default_eps": at.eps, "f1_at_default": at.f1, "eps_low": eps[lo], "eps_high": eps[hi],
                    "margin_down": round(at.eps - eps[lo], 4), "margin_up": round(eps[hi] - at.eps, 4)})
    return pd.DataFrame(out)


def plot_sweep(table: pd.DataFrame, default_eps: float, path: str | Path, metric_label: str = "eps") -> None:
    """F1 against eps, one line per (set, min_samples), the default marked."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(8, 4.5), dpi=110)
    ax = fig.subplots()
    for (name, ms), g in table.groupby(["set", "min_samples"], sort=False):
        g = g.sort_values("eps")
        ax.plot(g.eps, g.f1, marker="o", ms=3, label=f"{name} (min_samples={ms})")
    ax.axvline(default_eps, color="k", ls="--", lw=1, label=f"default {default_eps:g}")
    ax.set_xlabel(metric_label)
    ax.set_ylabel("pairwise F1")
    ax.set_ylim(max(0.0, float(table.f1.min()) - 0.05), 1.005)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
