"""Reviewer edits -> constraints applied after every clustering, whatever the sliders say.

Edits are stored per photo filename (cluster ids change when the sliders move, filenames do not)
in ``overrides.json``::

    {"version": 1,
     "must_link":   [["a.jpg", "b.jpg"], ...],   # merge two clusters, or "same person"
     "cannot_link": [["a.jpg", "c.jpg"], ...],   # "different people"
     "rejected":    ["d.jpg", ...],              # "not this person": always an outlier
     "names":       [{"name": "Alice", "members": ["a.jpg", "b.jpg"]}, ...]}

:func:`apply_overrides` is deterministic: rejected photos become outliers; clusters joined by a
must-link merge (transitively); a cluster holding both sides of a cannot-link is split in two
around those two photos (each must-linked unit goes to the side it is closer to on average);
finally clusters are renumbered by size like :func:`pipeline.clustering.canonical_labels`.
The most recent edit wins when two contradict (marking a pair "same" drops an earlier
"different" for that pair and vice versa; rejecting a photo drops its must-links).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .clustering import OUTLIER, canonical_labels

OVERRIDES_JSON = "overrides.json"
VERSION = 1


def pair_key(a: str, b: str) -> tuple[str, str]:
    """An unordered pair of filenames as a sorted tuple."""
    return (a, b) if a <= b else (b, a)


@dataclass
class Overrides:
    must_link: list[tuple[str, str]] = field(default_factory=list)
    cannot_link: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    names: list[dict] = field(default_factory=list)

    # ---- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "Overrides":
        """Read ``overrides.json``; a missing file means no edits. A malformed file raises ValueError."""
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                must_link=[pair_key(str(a), str(b)) for a, b in data.get("must_link", [])],
                cannot_link=[pair_key(str(a), str(b)) for a, b in data.get("cannot_link", [])],
                rejected=[str(n) for n in data.get("rejected", [])],
                names=[{"name": str(e["name"]), "members": [str(m) for m in e["members"]]}
                       for e in data.get("names", [])],
            )
        except (json.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError) as err:
            raise ValueError(f"{path}: not a valid overrides file ({err})") from err

    def as_dict(self) -> dict:
        return {"version": VERSION, "must_link": [list(p) for p in self.must_link],
                "cannot_link": [list(p) for p in self.cannot_link], "rejected": list(self.rejected),
                "names": [dict(e) for e in self.names]}

    def save(self, path: str | Path) -> None:
        from .artifacts import write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n")

    def is_empty(self) -> bool:
        return not (self.must_link or self.cannot_link or self.rejected)

    # ---- edits ---------------------------------------------------------------------------------
    def mark_pair(self, a: str, b: str, same: bool) -> None:
        """Record that ``a`` and ``b`` show the same person (must-link) or different people (cannot-link)."""
        if a == b:
            return
        p = pair_key(a, b)
        self.must_link = [q for q in self.must_link if q != p]
        self.cannot_link = [q for q in self.cannot_link if q != p]
        if same:
            self.rejected = [n for n in self.rejected if n not in p]
            self.must_link.append(p)
        else:
            self.cannot_link.append(p)

    def merge(self, members_a: list[str], members_b: list[str]) -> None:
        """Merge two clusters: must-link one member of each (clusters are whole after clustering,
        and every member keeps the link however the sliders split them later: chain all members)."""
        members = sorted(set(members_a) | set(members_b))
        for a, b in zip(members, members[1:]):
            p = pair_key(a, b)
            self.cannot_link = [q for q in self.cannot_link if q != p]
            if p not in self.must_link:
                self.must_link.append(p)
        # a cannot-link between the two merged groups would contradict the merge: drop it
        inside = set(members)
        self.cannot_link = [q for q in self.cannot_link if not (q[0] in inside and q[1] in inside)]

    def reject(self, filename: str) -> None:
        """"Not this person": the photo is an outlier from now on, whatever the sliders say."""
        if filename not in self.rejected:
            self.rejected.append(filename)
        self.must_link = [q for q in self.must_link if filename not in q]

    def restore(self, filename: str) -> None:
        self.rejected = [n for n in self.rejected if n != filename]

    def rename(self, members: list[str], name: str) -> None:
        """Name the cluster holding ``members`` (later, the cluster holding most of them)."""
        name = name.strip()
        key = set(members)
        self.names = [e for e in self.names if set(e["members"]) != key and e["name"] != name]
        if name:
            self.names.append({"name": name, "members": sorted(key)})


def apply_overrides(names: list[str], labels: np.ndarray, distances: np.ndarray, overrides: Overrides,
                    min_size: int = 2) -> np.ndarray:
    """Apply ``overrides`` to cluster ``labels`` of the photos ``names`` (aligned with ``distances``)."""
    labels = np.asarray(labels, dtype=int).copy()
    n = len(names)
    if n == 0 or overrides is None or overrides.is_empty():
        return labels
    index = {name: i for i, name in enumerate(names)}
    rejected = {index[r] for r in overrides.rejected if r in index}

    def pairs(links):
        out = []
        for a, b in links:
            if a in index and b in index and index[a] not in rejected and index[b] not in rejected:
                out.append((index[a], index[b]))
        return sorted(out)

    must, cannot = pairs(overrides.must_link), pairs(overrides.cannot_link)

    # must-linked units (connected by must-links only)
    unit = _UnionFind(n)
    for i, j in must:
        unit.union(i, j)
    # groups: clusters joined by must-links
    group = _UnionFind(n)
    first_of: dict[int, int] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab != OUTLIER and i not in rejected:
            group.union(first_of.setdefault(lab, i), i)
    for i, j in must:
        group.union(i, j)
    comp = np.array([group.find(i) for i in range(n)])
    for r in rejected:
        comp[r] = -1 - r  # alone

    # cannot-links: split the group holding both, around the two photos
    for _ in range(len(cannot) + 1):
        changed = False
        for i, j in cannot:
            if comp[i] != comp[j] or comp[i] < 0 or unit.find(i) == unit.find(j):
                continue  # satisfied, or contradicts a must-link (the must-link wins)
            members = np.flatnonzero(comp == comp[i])
            side_i = {x for x in members if unit.find(x) == unit.find(i)}
            side_j = {x for x in members if unit.find(x) == unit.find(j)}
            rest: dict[int, list[int]] = {}
            for x in members:
                if x not in side_i and x not in side_j:
                    rest.setdefault(unit.find(x), []).append(int(x))
            for u in sorted(rest, key=lambda u: min(rest[u])):
                xs = rest[u]
                di = distances[np.ix_(xs, sorted(side_i))].mean()
                dj = distances[np.ix_(xs, sorted(side_j))].mean()
                (side_i if di <= dj else side_j).update(xs)
            new_id = n + int(comp.max(initial=0)) + 1
            comp[sorted(side_j)] = new_id
            changed = True
        if not changed:
            break

    out = np.full(n, OUTLIER, dtype=int)
    for i in range(n):
        if comp[i] >= 0:
            out[i] = comp[i]
    return canonical_labels(out, min_size=min_size)


def cluster_names(clusters: pd.DataFrame, overrides: Overrides | None) -> dict[int, str]:
    """Cluster id -> reviewer's name: each name goes to the cluster holding most of its members
    (ties: the lower id); a later rename of the same cluster wins."""
    if overrides is None or not overrides.names:
        return {}
    ids = dict(zip(clusters["image_filename"], clusters["cluster_id"].astype(int)))
    out: dict[int, str] = {}
    for entry in overrides.names:
        counts: dict[int, int] = {}
        for m in entry["members"]:
            cid = ids.get(m, OUTLIER)
            if cid != OUTLIER:
                counts[cid] = counts.get(cid, 0) + 1
        if counts:
            best = min(counts, key=lambda c: (-counts[c], c))
            out[best] = entry["name"]
    return out


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


CLUSTER_NAMES_CSV = "cluster_names.csv"


def write_cluster_names(out_dir: str | Path, clusters: pd.DataFrame, overrides: Overrides | None) -> str | None:
    """Write ``cluster_names.csv`` (``cluster_id,name``) when clusters are named; returns its name."""
    from .artifacts import write_text

    names = cluster_names(clusters, overrides)
    if not names:
        return None
    frame = pd.DataFrame(sorted(names.items()), columns=["cluster_id", "name"])
    write_text(Path(out_dir) / CLUSTER_NAMES_CSV, frame.to_csv(index=False, lineterminator="\n"))
    return CLUSTER_NAMES_CSV
