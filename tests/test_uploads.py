"""Uploads: photos keep their names in a content-addressed folder; unsafe zip entries and zip
bombs are refused with a message; non-images are listed, not fatal."""
from __future__ import annotations

import io
import stat
import zipfile

import pytest

from pipeline.uploads import ArchiveRefused, read_zip, safe_basename, save_uploads, zip_files

JPEG = b"\xff\xd8\xff\xe0" + b"fake jpeg bytes"  # content is not decoded here


def make_zip(entries: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buf.getvalue()


def test_photos_are_saved_under_the_content_hash_and_keep_their_names(tmp_path):
    files = [("a.jpg", JPEG + b"1"), ("b.PNG", JPEG + b"2"), ("notes.txt", b"hello")]
    report = save_uploads(files, tmp_path)
    assert report.folder.parent == tmp_path / "uploads"
    assert sorted(p.name for p in report.folder.iterdir()) == ["a.jpg", "b.PNG"]
    assert (report.folder / "a.jpg").read_bytes() == JPEG + b"1"
    assert report.non_images == ["notes.txt"] and report.refused == []
    again = save_uploads(list(reversed(files)), tmp_path)
    assert again.folder == report.folder  # same photos, same folder (and the embedding cache hits)
    other = save_uploads([("a.jpg", JPEG + b"other")], tmp_path)
    assert other.folder != report.folder


def test_same_name_different_content_gets_a_suffix(tmp_path):
    report = save_uploads([("x/a.jpg", JPEG + b"1"), ("y/a.jpg", JPEG + b"2"), ("z/a.jpg", JPEG + b"1")], tmp_path)
    assert report.photos == ["a-2.jpg", "a.jpg"]


def test_zip_refuses_traversal_absolute_and_symlink_entries(tmp_path):
    data = make_zip([("set/good.jpg", JPEG), ("../evil.jpg", JPEG), ("set/../../evil2.jpg", JPEG),
                     ("/abs.jpg", JPEG), ("C:/win.jpg", JPEG), ("readme.md", b"# hi"), ("__MACOSX/._good.jpg", b"x")],
                    symlinks={"link.jpg": "/etc/passwd"})
    root = tmp_path / "artifacts"
    report = save_uploads([("photos.zip", data)], root)
    assert report.photos == ["good.jpg"]
    assert sorted(p.name for p in report.folder.iterdir()) == ["good.jpg"]
    refused = dict(report.refused)
    assert "'..'" in refused["photos.zip/../evil.jpg"]
    assert "'..'" in refused["photos.zip/set/../../evil2.jpg"]
    assert "absolute" in refused["photos.zip//abs.jpg"]
    assert "absolute" in refused["photos.zip/C:/win.jpg"]
    assert "symbolic link" in refused["photos.zip/link.jpg"]
    assert report.non_images == ["readme.md"]
    # nothing escaped the upload folder
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"artifacts/uploads/{report.folder.name}/good.jpg"]


def test_zip_bomb_and_oversized_archives_are_refused_with_a_message(tmp_path):
    bomb = make_zip([("big.jpg", b"\0" * (20 << 20))])  # 20 MB of zeros -> ~20 kB
    with pytest.raises(ArchiveRefused, match="zip bomb"):
        read_zip(bomb)
    report = save_uploads([("bomb.zip", bomb), ("ok.jpg", JPEG)], tmp_path)
    assert report.photos == ["ok.jpg"]  # the rest of the upload still works
    assert "zip bomb" in dict(report.refused)["bomb.zip"]
    small = make_zip([("a.jpg", JPEG * 100)])
    report = save_uploads([("big.zip", small)], tmp_path, max_archive_bytes=100)
    assert report.folder is None and "over the" in report.messages[0]
    report = save_uploads([("big.zip", small)], tmp_path, max_total_bytes=10)
    assert "expands to" in report.messages[0]
    report = save_uploads([("broken.zip", b"PK not really")], tmp_path)
    assert "not a readable zip" in report.messages[0]


def test_safe_basename():
    assert safe_basename("a/b\\c d.jpg") == "c d.jpg"
    assert safe_basename("../.hidden.jpg") == "hidden.jpg"
    assert safe_basename("x/") == "unnamed"
    assert safe_basename("we;ird$.jpg") == "we_ird_.jpg"


def test_zip_files_round_trip(tmp_path):
    (tmp_path / "clusters.csv").write_text("image_filename,cluster_id\n")
    (tmp_path / "run.json").write_text("{}\n")
    data = zip_files(tmp_path, ["clusters.csv", "run.json", "missing.png"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["clusters.csv", "run.json"]
        assert archive.read("clusters.csv") == b"image_filename,cluster_id\n"
