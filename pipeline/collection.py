"""Folder -> faces: decode every photo, detect/align/embed its faces (or take them from the
cache), and keep one record per face. Failures are recorded per photo, never fatal."""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .cache import EmbeddingCache
from .faces import FaceRecord, face_records, primary_face_index
from .photos import UnreadablePhoto, decode_photo, find_photos, list_non_images, sha256_of
from .settings import Settings

# photo status -> outlier reason written to outliers.csv
STATUS_OK = "ok"
STATUS_NO_FACE = "no_face"
STATUS_UNREADABLE = "unreadable"

Progress = Callable[[int, int], None]


@dataclass
class FaceCollection:
    """Everything known about a folder's photos before clustering.

    ``photos``: one row per photo file (``image_filename, sha256, status, detail, n_faces,
    width, height, primary_face``), sorted by filename. ``faces``: one row per detected face
    (``image_filename, face_index, x, y, w, h, confidence, is_primary``); ``embeddings`` holds
    their vectors in the same row order.
    """

    folder: Path
    photos: pd.DataFrame
    faces: pd.DataFrame
    embeddings: np.ndarray
    skipped_files: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    def primary_faces(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The primary face of each photo that has one: (face rows, embeddings), by filename."""
        mask = self.faces["is_primary"].to_numpy(dtype=bool)
        return self.faces[mask].reset_index(drop=True), self.embeddings[mask]


def embed_folder(
    folder: str | Path,
    settings: Settings,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> FaceCollection:
    """Find, decode and embed every photo in ``folder``. ``cache_dir=None`` disables the cache.

    ``progress(done, total)`` is called after each photo.
    """
    started = time.perf_counter()
    folder = Path(folder)
    paths = find_photos(folder)
    cache = EmbeddingCache(cache_dir, settings.embedding_key())
    photo_rows, face_rows, vectors = [], [], []
    n_embedded = n_cached = 0
    for done, (path, data) in enumerate(_prefetch_bytes(paths), start=1):
        row = {"image_filename": path.name, "sha256": "", "status": STATUS_OK, "detail": "",
               "n_faces": 0, "width": 0, "height": 0, "primary_face": -1}
        faces: list[FaceRecord] = []
        if isinstance(data, OSError):
            row.update(status=STATUS_UNREADABLE, detail=f"cannot read file ({data})")
        else:
            row["sha256"] = sha256_of(data)
            cached = cache.get(row["sha256"])
            if cached is not None:
                faces, size = cached
                n_cached += 1
            else:
                try:
                    photo = decode_photo(data, path.name)
                except UnreadablePhoto as err:
                    row.update(status=STATUS_UNREADABLE, detail=str(err).split(": ", 1)[-1])
                    photo = None
                if photo is not None:
                    faces = face_records(photo, settings)
                    size = (photo.pixels.shape[1], photo.pixels.shape[0])
                    cache.put(row["sha256"], faces, size)
                    n_embedded += 1
            if row["status"] == STATUS_OK:
                row["width"], row["height"] = size
                row["n_faces"] = len(faces)
                if faces:
                    row["primary_face"] = primary_face_index(np.array([f.box for f in faces]), size)
                else:
                    row.update(status=STATUS_NO_FACE, detail="no face detected")
        for f in faces:
            x, y, w, h = f.box
            face_rows.append({"image_filename": path.name, "face_index": f.face_index, "x": x, "y": y,
                              "w": w, "h": h, "confidence": round(f.confidence, 4),
                              "is_primary": f.face_index == row["primary_face"]})
            vectors.append(f.embedding)
        photo_rows.append(row)
        if progress is not None:
            progress(done, len(paths))
    dim = vectors[0].shape[0] if vectors else 0
    return FaceCollection(
        folder=folder,
        photos=pd.DataFrame(photo_rows, columns=["image_filename", "sha256", "status", "detail", "n_faces",
                                                 "width", "height", "primary_face"]),
        faces=pd.DataFrame(face_rows, columns=["image_filename", "face_index", "x", "y", "w", "h",
                                               "confidence", "is_primary"]),
        embeddings=np.array(vectors, dtype=np.float32).reshape(len(vectors), dim),
        skipped_files=list_non_images(folder),
        timings={"embed_seconds": round(time.perf_counter() - started, 3), "photos_embedded": n_embedded,
                 "photos_from_cache": n_cached},
    )


def _prefetch_bytes(paths: list[Path], window: int = 4):
    """Yield ``(path, bytes or OSError)`` in order, reading a few files ahead on a thread."""

    def read(path: Path):
        try:
            return path.read_bytes()
        except OSError as err:
            return err

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque = deque()
        items = iter(paths)
        for path in items:
            pending.append((path, pool.submit(read, path)))
            if len(pending) >= window:
                break
        while pending:
            path, future = pending.popleft()
            nxt = next(items, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(read, nxt)))
            yield path, future.result()
