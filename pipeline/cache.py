"""On-disk embedding cache keyed by (photo sha256, model, detector, alignment, ...).

A second run over the same photos embeds nothing; a changed photo has a new hash and is embedded
again; a renamed photo is found by its content. One small ``.npz`` per photo, written atomically.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .faces import FaceRecord

# bump when detection/alignment/embedding code changes what it stores
CACHE_VERSION = 2


class EmbeddingCache:
    """Face records per photo hash, in ``root/<settings.embedding_key()>/``. ``root=None`` disables it."""

    def __init__(self, root: str | Path | None, embedding_key: str):
        self.folder = Path(root) / f"v{CACHE_VERSION}-{embedding_key}" if root is not None else None

    def _path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.npz"

    def get(self, sha256: str) -> tuple[list[FaceRecord], tuple[int, int]] | None:
        """``(faces, decoded (width, height))`` of a photo, faces ``[]`` for a cached "no face";
        ``None`` when not cached."""
        if self.folder is None:
            return None
        path = self._path(sha256)
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                faces = [
                    FaceRecord(i, tuple(int(v) for v in data["boxes"][i]), float(data["confidences"][i]),
                               data["landmarks"][i], data["embeddings"][i])
                    for i in range(len(data["boxes"]))
                ]
                return faces, tuple(int(v) for v in data["size"])
        except (OSError, ValueError, KeyError, EOFError):
            return None  # a damaged entry is recomputed, not fatal

    def put(self, sha256: str, faces: list[FaceRecord], size: tuple[int, int]) -> None:
        if self.folder is None:
            return
        path = self._path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        k = max((len(f.landmarks) for f in faces), default=0)
        landmarks = np.zeros((len(faces), k, 2), np.float32)
        for i, f in enumerate(faces):
            landmarks[i, : len(f.landmarks)] = f.landmarks
        d = faces[0].embedding.shape[0] if faces else 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.part")
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                size=np.array(size, np.int32),
                boxes=np.array([f.box for f in faces], np.int32).reshape(-1, 4),
                confidences=np.array([f.confidence for f in faces], np.float32),
                landmarks=landmarks,
                embeddings=np.array([f.embedding for f in faces], np.float32).reshape(len(faces), d),
            )
        os.replace(tmp, path)
