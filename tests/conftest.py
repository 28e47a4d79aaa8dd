"""Shared fixtures: real photo folders built from scikit-image's sample photos, and the shared
labelled sets (../shared/data), embedded once per session into a temporary cache."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import GENLIFT, LFW_DEV, SHARED_DATA, astronaut, coffee, jpeg, varied_astronaut, write  # noqa: E402


def require_set(folder: Path) -> Path:
    """The shared labelled set ``folder`` (faces/ + labels.csv), or skip saying why."""
    if not (folder / "faces").is_dir() or not (folder / "labels.csv").is_file():
        pytest.skip(f"shared data set not found at {folder} (expected ../shared/data beside the project; "
                    f"see {SHARED_DATA / 'README.md'})")
    return folder


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """An embedding cache that starts empty, shared by the whole session."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def genlift_collection(session_cache):
    from pipeline import Settings, embed_folder

    folder = require_set(GENLIFT)
    return embed_folder(folder / "faces", Settings(), session_cache)


@pytest.fixture(scope="session")
def lfw_collection(session_cache):
    from pipeline import Settings, embed_folder

    folder = require_set(LFW_DEV)
    return embed_folder(folder / "faces", Settings(), session_cache)


@pytest.fixture
def small_folder(tmp_path) -> Path:
    """Four photos of the same person (the astronaut, varied), one photo without a face, one
    corrupt file and one non-image file."""
    folder = tmp_path / "photos"
    for k in range(4):
        write(folder, f"astro_{k}.jpg", jpeg(varied_astronaut(k)))
    write(folder, "coffee.jpg", jpeg(coffee()))
    write(folder, "broken.jpg", b"\xff\xd8\xff\xe0 this is not really a jpeg")
    write(folder, "notes.txt", b"not a photo\n")
    return folder


@pytest.fixture
def astronaut_array():
    return astronaut()
