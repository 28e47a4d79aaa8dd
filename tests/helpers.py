"""Builders of real test photos (from the scikit-image wheel) and paths to the shared data sets."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"
GENLIFT = SHARED_DATA / "genlift"
LFW_DEV = SHARED_DATA / "lfw_dev"
CLUSTER = [sys.executable, "-m", "pipeline.cli"]

# where YuNet finds the astronaut's face in skimage.data.astronaut() (512x512): x, y, w, h
ASTRONAUT_FACE = (178, 63, 91, 113)


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def coffee() -> np.ndarray:
    from skimage import data

    return data.coffee()


def gradient(width: int = 320, height: int = 240) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float64)
    y = np.linspace(0, 255, height, dtype=np.float64)
    return np.stack([np.add.outer(y * 0, x), np.add.outer(y, x * 0), np.add.outer(y, x) / 2], axis=2).astype(np.uint8)


def encode(array_or_image, fmt: str = "JPEG", **kwargs) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(np.ascontiguousarray(array_or_image))
    if fmt == "JPEG":
        kwargs.setdefault("quality", 92)
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def jpeg(array: np.ndarray, **kwargs) -> bytes:
    return encode(array, "JPEG", **kwargs)


def side_by_side(*arrays: np.ndarray) -> np.ndarray:
    return np.concatenate(arrays, axis=1)


def varied_astronaut(k: int) -> np.ndarray:
    """The astronaut with a small, deterministic change of brightness and framing: the same
    person in a slightly different photo."""
    a = astronaut().astype(np.int16)
    a = np.clip(a + (k * 7) % 25 - 12, 0, 255).astype(np.uint8)
    shift = (k * 5) % 17
    return np.ascontiguousarray(a[shift: 512 - (16 - shift), shift: 512 - (16 - shift)])


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def run_cli(args: list[str], env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(CLUSTER + [str(a) for a in args], cwd=PROJECT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
