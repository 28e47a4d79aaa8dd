"""Shared state of the app (not a page): sidebar controls, and cached calls into ``pipeline``.

Everything heavy is a ``pipeline`` call; this module only keeps results so that a slider move
re-clusters from the cached distance matrix instead of re-embedding.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import streamlit as st

from pipeline import Settings, distance_matrix, group_photos, project_3d
from pipeline.collection import FaceCollection, embed_folder
from pipeline.overrides import OVERRIDES_JSON, Overrides
from pipeline.pairs import PAIR_LABELS_CSV
from pipeline.photos import find_photos
from pipeline.settings import ALGORITHMS, DETECTORS, METRICS, MODELS, PROJECTIONS, default_cache_dir
from pipeline.thumbnails import face_boxes, face_crop
from pipeline.weights import PROJECT_ROOT, model_weights_available

EPS_LABEL = "eps (distance threshold)"
EPS_RANGE = {"cosine": (0.05, 1.5, 0.01), "euclidean_l2": (0.05, 2.0, 0.01), "euclidean": (0.5, 40.0, 0.1)}
DETECTOR_NOTES = {"yunet": "offline", "opencv": "offline, Haar (weaker)", "mtcnn": "offline, slower"}


@st.cache_resource
def _store() -> dict:
    """Process-wide memory: collections, distance matrices and projections by key."""
    return {}


def artifacts_dir() -> Path:
    default = os.environ.get("FACE_GROUPING_ARTIFACTS", str(PROJECT_ROOT / "artifacts"))
    return Path(st.session_state.get("artifacts_dir", default))


def overrides_path() -> Path:
    return artifacts_dir() / OVERRIDES_JSON


def pair_labels_path() -> Path:
    return artifacts_dir() / PAIR_LABELS_CSV


def load_overrides() -> Overrides:
    try:
        return Overrides.load(overrides_path())
    except ValueError as err:
        st.error(f"{err} - edits ignored until the file is fixed or cleared")
        return Overrides()


def model_label(model: str) -> str:
    if model == "SFace":
        return "SFace (available)"
    return f"{model} ({'available' if model_weights_available(model) else 'weights missing: not usable offline'})"


def _run_marker():
    """An object unique to the current script run (Streamlit makes a new ``cursors`` dict per run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx, (ctx.cursors if ctx is not None else None)


def ensure_sidebar() -> None:
    """Render the sidebar unless app.py already did in this run (it does under ``st.navigation``;
    a page run on its own, as ``AppTest.switch_page`` does, renders it itself)."""
    ctx, marker = _run_marker()
    if ctx is None or getattr(ctx, "_face_grouping_sidebar", None) is not marker:
        sidebar_controls()


def sidebar_controls() -> None:
    """Model, detector, algorithm, metric, eps, min_samples, projection. Values in session_state."""
    ctx, marker = _run_marker()
    if ctx is not None:
        ctx._face_grouping_sidebar = marker
    sb = st.sidebar
    sb.header("Settings")
    model = sb.selectbox("Model", MODELS, key="model")
    sb.caption("Offline: " + ", ".join(model_label(m) for m in MODELS))
    sb.selectbox("Detector", DETECTORS, key="detector")
    sb.caption("Detectors: " + ", ".join(f"{d} ({note})" for d, note in DETECTOR_NOTES.items()))
    algorithm = sb.selectbox("Algorithm", ALGORITHMS, key="algorithm")
    metric = sb.selectbox("Metric", METRICS, key="metric")
    default = Settings(model=model, algorithm=algorithm, metric=metric).resolved_eps
    lo, hi, step = EPS_RANGE[metric]
    # one slider state per (model, algorithm, metric): switching shows that combination's default
    sb.slider(EPS_LABEL, lo, hi, float(default), step, key=f"eps:{model}:{algorithm}:{metric}",
              help=f"{metric} distance; calibrated default {default:g}"
              + (" (hdbscan: the largest distance to a cluster member)" if algorithm == "hdbscan" else ""))
    sb.slider("min_samples", 1, 20, Settings().min_samples, 1, key="min_samples")
    sb.selectbox("3D projection", PROJECTIONS, key="projection")


def current_settings() -> Settings:
    ss = st.session_state
    d = Settings()
    model, algorithm, metric = ss.get("model", d.model), ss.get("algorithm", d.algorithm), ss.get("metric", d.metric)
    eps = ss.get(f"eps:{model}:{algorithm}:{metric}")
    return Settings(model=model, detector=ss.get("detector", d.detector), algorithm=algorithm, metric=metric,
                    eps=float(eps) if eps is not None else None, min_samples=int(ss.get("min_samples", d.min_samples)),
                    projection=ss.get("projection", d.projection))


def photo_folder() -> Path | None:
    folder = st.session_state.get("photo_folder")
    return Path(folder) if folder else None


def _fingerprint(folder: Path) -> tuple:
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in find_photos(folder))


def collection_key(folder: Path, settings: Settings) -> tuple:
    return (str(folder.resolve()), _fingerprint(folder), settings.embedding_key())


def get_collection(show_progress: bool = True) -> FaceCollection | None:
    """The embedded photos of the chosen folder for the chosen model/detector; embeds them (with a
    progress bar, count and ETA) the first time, from the on-disk cache on a second visit."""
    folder = photo_folder()
    if folder is None or not folder.is_dir():
        return None
    settings = current_settings()
    key = collection_key(folder, settings)
    store = _store()
    if key in store:
        return store[key]
    bar = st.progress(0.0, text="Embedding photos...") if show_progress else None
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if bar is None:
            return
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done) if done else 0.0
        bar.progress(done / max(total, 1), text=f"Embedding photos: {done}/{total}, ETA {eta:.0f} s")

    try:
        collection = embed_folder(folder, settings, default_cache_dir(), progress)
    except Exception as err:  # e.g. missing Facenet512 weights: one clear sentence, no traceback
        if bar is not None:
            bar.empty()
        st.error(f"Could not embed the photos with {settings.model}/{settings.detector}: {err} "
                 "(choose another model or detector in the sidebar)")
        return None
    if bar is not None:
        bar.empty()
    store[key] = collection
    store[("latest",)] = key
    return collection


def get_distances(collection: FaceCollection, metric: str) -> np.ndarray:
    store = _store()
    key = ("distances", id(collection), metric)
    if key not in store:
        _, embeddings = collection.primary_faces()
        store[key] = distance_matrix(embeddings, metric) if len(embeddings) else np.zeros((0, 0))
    return store[key]


def get_points(collection: FaceCollection, projection: str, seed: int) -> np.ndarray:
    store = _store()
    key = ("points", id(collection), projection, seed)
    if key not in store:
        _, embeddings = collection.primary_faces()
        store[key] = project_3d(embeddings, projection, seed)
    return store[key]


def get_grouping(collection: FaceCollection, settings: Settings | None = None):
    """Re-cluster from the cached distances with the current sliders and the saved edits.
    Returns ``(grouping, seconds)``."""
    settings = settings or current_settings()
    distances = get_distances(collection, settings.metric)
    started = time.perf_counter()
    grouping = group_photos(collection, settings, distances=distances, overrides=load_overrides())
    return grouping, time.perf_counter() - started


@st.cache_data(max_entries=20000, show_spinner=False)
def crop(folder: str, filename: str, box: tuple | None, size: int = 112):
    """A face crop (or the whole photo when ``box`` is None), cached."""
    return face_crop(folder, filename, box, size=size)


@st.cache_data(max_entries=200, show_spinner=False)
def full_photo(folder: str, filename: str):
    from pipeline.photos import read_photo

    return read_photo(Path(folder) / filename).pixels


def boxes_of(grouping) -> dict[str, tuple]:
    return face_boxes(grouping.faces)


def photo_page(title: str) -> tuple[FaceCollection, object, float]:
    """Start a page that works on the chosen photos: sidebar, title, then (collection, grouping,
    re-cluster seconds); stops the page with a hint when no photos are chosen yet."""
    ensure_sidebar()
    st.title(title)
    loaded = require_photos()
    if loaded is None:
        st.stop()
    return loaded


def require_photos() -> tuple[FaceCollection, object, float] | None:
    """Collection + grouping for pages that need photos; a hint and None when there are none yet."""
    collection = get_collection()
    if collection is None:
        st.info("Choose photos first on the **Photos** page (upload, zip, or a folder on disk).")
        return None
    if len(collection.photos) == 0:
        st.warning("The chosen folder holds no photos.")
        return None
    grouping, seconds = get_grouping(collection)
    return collection, grouping, seconds
