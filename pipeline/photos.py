"""Input and decoding: find photos in a folder and decode them safely to RGB arrays.

Every photo is identified by the sha256 of its bytes, so a renamed photo keeps its cached
embedding and a changed photo is embedded again.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")

# Longest side, in pixels, a photo is decoded at. Detection runs at <= 640 px anyway; a
# 50-megapixel photo decoded at full size would cost ~150 MB per copy for nothing.
MAX_SIDE = 1600

# Pillow refuses images above ~179 MP as "decompression bombs"; a photo that large is
# still a photo (draft mode and thumbnail() keep memory small), so we allow up to 400 MP.
Image.MAX_IMAGE_PIXELS = 400_000_000

try:  # HEIC/HEIF support is optional: pillow-heif registers an opener when installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the environment
    pass


class UnreadablePhoto(Exception):
    """Raised when a file cannot be decoded as an image; the message says why."""


@dataclass(frozen=True)
class Photo:
    """A decoded photo: ``pixels`` is RGB uint8 (H, W, 3), at most ``MAX_SIDE`` on its long side.

    ``scale`` is decoded size / original size (1.0 unless the photo was downscaled).
    """

    filename: str
    sha256: str
    pixels: np.ndarray
    original_size: tuple[int, int]  # (width, height) before downscaling
    scale: float


def find_photos(folder: str | Path) -> list[Path]:
    """Return the image files directly in ``folder`` (any letter case), sorted by name.

    Non-image files are ignored here; :func:`list_non_images` reports them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder not found: {folder}")
    return sorted(
        # hidden files (e.g. macOS "._name.jpg" resource forks) are not photos
        (p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: p.name,
    )


def list_non_images(folder: str | Path) -> list[str]:
    """Return names of files in ``folder`` that are skipped because they are not images."""
    return sorted(
        p.name
        for p in Path(folder).iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in IMAGE_SUFFIXES
    )


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_photo(data: bytes, filename: str, max_side: int = MAX_SIDE) -> Photo:
    """Decode image bytes to an RGB :class:`Photo`.

    EXIF orientation is applied; grayscale, palette, CMYK, 16-bit and alpha images become
    RGB (alpha composited on white); photos larger than ``max_side`` are downscaled.
    Raises :class:`UnreadablePhoto` with a one-line reason when the bytes are not an image.
    """
    import io

    digest = sha256_of(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Truncated File Read", "DecompressionBomb"
            image = Image.open(io.BytesIO(data))
            original_size = _oriented_size(image)
            # draft() lets JPEG decode at 1/2, 1/4, 1/8 scale: fast and small for huge photos
            if image.format == "JPEG" and max(image.size) > 2 * max_side:
                image.draft("RGB", (max_side, max_side))
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise UnreadablePhoto(f"{filename}: not a readable image ({_short(err)})") from err
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < 8:
        raise UnreadablePhoto(f"{filename}: image too small or malformed ({pixels.shape})")
    scale = image.size[0] / original_size[0] if original_size[0] else 1.0
    return Photo(filename, digest, pixels, original_size, scale)


def read_photo(path: str | Path, max_side: int = MAX_SIDE) -> Photo:
    """Read and decode one photo file; see :func:`decode_photo`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UnreadablePhoto(f"{path.name}: cannot read file ({_short(err)})") from err
    return decode_photo(data, path.name, max_side)


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not make the photo unreadable
        orientation = 1
    w, h = image.size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float grayscale: rescale the actual range to 8 bits
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        image = Image.fromarray(arr.astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]
