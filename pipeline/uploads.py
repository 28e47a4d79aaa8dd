"""Uploaded photos and zip archives -> one folder of photos, safely.

Uploads land in ``<artifacts>/uploads/<sha of the content set>/``: the same photos uploaded again
give the same folder (and the embedding cache makes them instant). Filenames are kept (only the
base name), so ``clusters.csv`` matches a CLI run on the original folder.

Zip archives are read without ever writing outside that folder: entries with absolute paths,
``..`` components, drive letters or symlinks are refused with a message; an archive larger than
``max_archive_bytes``, expanding past ``max_total_bytes`` or by more than ``max_ratio`` x is refused
as a whole. Non-image files are listed, never fatal.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .photos import IMAGE_SUFFIXES

MAX_ARCHIVE_BYTES = 1 << 30          # 1 GiB compressed
MAX_TOTAL_BYTES = 4 << 30            # 4 GiB once expanded
MAX_RATIO = 100.0                    # expanded / compressed, whole archive or one entry
MAX_ENTRIES = 50_000
UPLOADS_DIR = "uploads"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


@dataclass
class UploadReport:
    """What happened to an upload: ``folder`` holds the accepted ``photos``."""

    folder: Path | None = None
    photos: list[str] = field(default_factory=list)
    non_images: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    @property
    def messages(self) -> list[str]:
        return [f"{name}: {why}" for name, why in self.refused]


class ArchiveRefused(ValueError):
    """A whole zip archive is refused (too large or a likely zip bomb); the message says why."""


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def safe_basename(name: str) -> str:
    """The file's own name without any folder part, with unusual characters replaced."""
    base = re.split(r"[\\/]", name)[-1].strip()
    base = _SAFE_NAME.sub("_", base).lstrip(".")
    return base or "unnamed"


def unsafe_entry_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry must not be extracted, or None when it is a plain relative file."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "refused: absolute path"
    parts = re.split(r"[\\/]", name)
    if ".." in parts:
        return "refused: '..' in path (would write outside the upload folder)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "refused: symbolic link"
    kind = stat.S_IFMT(mode)  # 0 when the archiver recorded permissions only
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "refused: not a regular file"
    if info.flag_bits & 0x1:
        return "refused: encrypted entry"
    return None


def read_zip(data: bytes, archive_name: str = "archive.zip", max_archive_bytes: int = MAX_ARCHIVE_BYTES,
             max_total_bytes: int = MAX_TOTAL_BYTES, max_ratio: float = MAX_RATIO,
             max_entries: int = MAX_ENTRIES) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Return ``([(entry name, bytes) of safe regular files], [(entry name, why refused)])``.

    Raises :class:`ArchiveRefused` for an archive past a limit or not a zip at all.
    """
    if len(data) > max_archive_bytes:
        raise ArchiveRefused(f"{archive_name}: {len(data) / 1e6:.0f} MB is over the {max_archive_bytes / 1e6:.0f} MB limit")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise ArchiveRefused(f"{archive_name}: not a readable zip archive ({err})") from err
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise ArchiveRefused(f"{archive_name}: {len(infos)} entries, over the {max_entries} limit")
    declared = sum(i.file_size for i in infos)
    if declared > max_total_bytes:
        raise ArchiveRefused(f"{archive_name}: expands to {declared / 1e6:.0f} MB, over the {max_total_bytes / 1e6:.0f} MB limit")
    if declared > max_ratio * max(len(data), 1):
        raise ArchiveRefused(f"{archive_name}: expands {declared / max(len(data), 1):.0f}x, over the {max_ratio:.0f}x "
                             "limit (a likely zip bomb)")
    files, refused = [], []
    total = 0
    for info in infos:
        why = unsafe_entry_reason(info)
        if why:
            refused.append((info.filename, why))
            continue
        if info.is_dir() or info.filename.startswith("__MACOSX/"):
            continue
        if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > 1 << 20:
            refused.append((info.filename, f"refused: expands {info.file_size / max(info.compress_size, 1):.0f}x"))
            continue
        # never trust the declared size: stop reading at the declared size + 1 byte
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
        if len(content) > info.file_size:
            refused.append((info.filename, "refused: larger than its header declares"))
            continue
        total += len(content)
        if total > max_total_bytes:
            raise ArchiveRefused(f"{archive_name}: expands past the {max_total_bytes / 1e6:.0f} MB limit")
        files.append((info.filename, content))
    return files, refused


def save_uploads(files: list[tuple[str, bytes]], artifacts_dir: str | Path, **zip_limits) -> UploadReport:
    """Save uploaded files (photos and/or zip archives) into ``<artifacts_dir>/uploads/<sha>/``.

    Photos keep their base names; a second photo with the same name but other bytes gets a
    ``-2`` suffix. Returns an :class:`UploadReport`; ``folder`` is None when no photo was accepted.
    """
    report = UploadReport()
    photos: dict[str, bytes] = {}
    for name, data in files:
        if name.lower().endswith(".zip"):
            try:
                entries, refused = read_zip(data, safe_basename(name), **zip_limits)
            except ArchiveRefused as err:
                report.refused.append((name, str(err).split(": ", 1)[-1]))
                continue
            report.refused += [(f"{name}/{entry}", why) for entry, why in refused]
            candidates = [(entry, content) for entry, content in entries]
        else:
            candidates = [(name, data)]
        for entry, content in candidates:
            base = safe_basename(entry)
            if not is_image_name(base):
                report.non_images.append(entry)
                continue
            _add_unique(photos, base, content)
    if not photos:
        return report
    digest = hashlib.sha256()
    for base in sorted(photos):
        digest.update(base.encode() + b"\0" + hashlib.sha256(photos[base]).digest())
    folder = Path(artifacts_dir) / UPLOADS_DIR / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    for base, content in sorted(photos.items()):
        target = folder / base
        if target.is_file() and target.stat().st_size == len(content):
            continue
        tmp = folder / f".{base}.part"
        tmp.write_bytes(content)
        os.replace(tmp, target)
    report.folder = folder
    report.photos = sorted(photos)
    return report


def _add_unique(photos: dict[str, bytes], base: str, content: bytes) -> None:
    if base not in photos or photos[base] == content:
        photos[base] = content
        return
    stem, suffix = os.path.splitext(base)
    k = 2
    while f"{stem}-{k}{suffix}" in photos and photos[f"{stem}-{k}{suffix}"] != content:
        k += 1
    photos[f"{stem}-{k}{suffix}"] = content


def zip_files(folder: str | Path, names: list[str]) -> bytes:
    """A zip (deflated) of ``names`` from ``folder``, in the given order; missing names are skipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            path = Path(folder) / name
            if path.is_file():
                archive.write(path, arcname=name)
    return buffer.getvalue()


def is_within(path: Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


__all__ = ["ArchiveRefused", "UploadReport", "read_zip", "safe_basename", "save_uploads", "unsafe_entry_reason", "zip_files"]
