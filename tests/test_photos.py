"""Photos in, faces out: decoding of awkward inputs (corrupt, truncated, alpha, 16-bit, CMYK,
EXIF-rotated, 50 MP, HEIC), detection of no / one / two faces, and the embedding cache."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ASTRONAUT_FACE, PROJECT, astronaut, coffee, encode, gradient, jpeg, side_by_side, write
from pipeline import Settings, embed_folder
from pipeline.faces import primary_face_index
from pipeline.photos import MAX_SIDE, UnreadablePhoto, decode_photo, find_photos, list_non_images

SETTINGS = Settings()


def near(box, expected, tol=8) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, expected))


def embed_one(tmp_path, name: str, data: bytes, cache=None):
    """Embed a folder holding one photo; return (photo row, face rows, collection)."""
    folder = tmp_path / "one"
    write(folder, name, data)
    coll = embed_folder(folder, SETTINGS, cache)
    assert len(coll.photos) == 1
    return coll.photos.iloc[0], coll.faces, coll


# ---------------------------------------------------------------- unreadable inputs

@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff\xe0\x00\x10JFIF garbage garbage", b"hello, I am text\n" * 20],
                         ids=["empty", "corrupt-jpeg", "text"])
def test_not_an_image_is_unreadable_with_a_reason(tmp_path, data):
    with pytest.raises(UnreadablePhoto, match="x.jpg: not a readable image"):
        decode_photo(data, "x.jpg")
    row, faces, _ = embed_one(tmp_path, "x.jpg", data)
    assert row.status == "unreadable" and "not a readable image" in row.detail
    assert faces.empty


def test_truncated_jpeg_is_unreadable(tmp_path):
    # Decision: a JPEG cut in half is reported as unreadable (reason "truncated"), not embedded
    # from a half-grey picture that could produce a wrong face.
    full = jpeg(astronaut())
    row, faces, _ = embed_one(tmp_path, "half.jpg", full[: len(full) // 2])
    assert row.status == "unreadable"
    assert "truncated" in row.detail
    assert faces.empty


def test_unreadable_photo_does_not_stop_the_folder(tmp_path, small_folder):
    coll = embed_folder(small_folder, SETTINGS, None)
    status = dict(zip(coll.photos.image_filename, coll.photos.status))
    assert status == {"astro_0.jpg": "ok", "astro_1.jpg": "ok", "astro_2.jpg": "ok", "astro_3.jpg": "ok",
                      "broken.jpg": "unreadable", "coffee.jpg": "no_face"}
    assert coll.skipped_files == ["notes.txt"]
    assert coll.embeddings.shape == (4, 128)


def test_find_photos_and_non_images(tmp_path):
    for name in ["b.JPG", "a.png", "c.HEIC", "d.txt", ".hidden.jpg.swp", "e.webp"]:
        write(tmp_path, name, b"x")
    (tmp_path / "sub.jpg").mkdir()
    assert [p.name for p in find_photos(tmp_path)] == ["a.png", "b.JPG", "c.HEIC", "e.webp"]
    assert list_non_images(tmp_path) == ["d.txt"]
    with pytest.raises(FileNotFoundError, match="photo folder not found"):
        find_photos(tmp_path / "missing")


# ---------------------------------------------------------------- odd encodings, each with its face

def test_png_with_alpha_is_composited_on_white(tmp_path):
    rgba = np.dstack([astronaut(), np.full((512, 512), 255, np.uint8)])
    rgba[:, 400:, 3] = 0  # right strip transparent
    photo = decode_photo(encode(rgba, "PNG"), "alpha.png")
    assert photo.pixels.shape == (512, 512, 3)
    assert (photo.pixels[:, 400:] == 255).all()
    assert np.array_equal(photo.pixels[:, :400], astronaut()[:, :400])
    row, faces, _ = embed_one(tmp_path, "alpha.png", encode(rgba, "PNG"))
    assert row.status == "ok" and near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


def test_grayscale_jpeg(tmp_path):
    gray = np.asarray(Image.fromarray(astronaut()).convert("L"))
    data = jpeg(gray)
    photo = decode_photo(data, "gray.jpg")
    assert photo.pixels.shape == (512, 512, 3)
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 1])
    row, faces, _ = embed_one(tmp_path, "gray.jpg", data)
    assert row.status == "ok" and near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


def test_16_bit_png_uses_the_full_8_bit_range(tmp_path):
    gray = np.asarray(Image.fromarray(astronaut()).convert("L")).astype(np.uint16)
    dim16 = gray * 64  # 16-bit values 0..16320: a naive >>8 would give a near-black photo
    data = encode(Image.fromarray(dim16), "PNG")
    assert Image.open(__import__("io").BytesIO(data)).mode.startswith("I;16")
    photo = decode_photo(data, "deep.png")
    assert photo.pixels.min() == 0 and photo.pixels.max() == 255
    row, faces, _ = embed_one(tmp_path, "deep.png", data)
    assert row.status == "ok" and near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


def test_cmyk_jpeg(tmp_path):
    data = encode(Image.fromarray(astronaut()).convert("CMYK"), "JPEG", quality=95)
    photo = decode_photo(data, "cmyk.jpg")
    assert photo.pixels.shape == (512, 512, 3)
    assert np.abs(photo.pixels.astype(int) - astronaut()).mean() < 10  # colours survive, not inverted
    row, faces, _ = embed_one(tmp_path, "cmyk.jpg", data)
    assert row.status == "ok" and near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


def test_palette_png(tmp_path):
    data = encode(Image.fromarray(astronaut()).convert("P", palette=Image.Palette.ADAPTIVE), "PNG")
    photo = decode_photo(data, "pal.png")
    assert photo.pixels.shape == (512, 512, 3)
    row, faces, _ = embed_one(tmp_path, "pal.png", data)
    assert row.status == "ok" and len(faces) == 1


def exif_rotated(upright: np.ndarray, orientation: int = 6) -> bytes:
    """A JPEG storing ``upright`` turned 90 degrees counter-clockwise, with the EXIF tag telling
    viewers to turn it back (6 = rotate 90 CW to display)."""
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))
    exif = stored.getexif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", exif=exif.tobytes())


def test_exif_rotated_photo_is_turned_upright(tmp_path):
    upright = astronaut()[:400]  # 512 wide, 400 high: orientation matters for the shape
    data = exif_rotated(upright)
    assert Image.open(__import__("io").BytesIO(data)).size == (400, 512)  # as stored
    photo = decode_photo(data, "rot.jpg")
    assert photo.pixels.shape == (400, 512, 3)
    assert photo.original_size == (512, 400)
    assert np.abs(photo.pixels.astype(int) - upright).mean() < 6
    row, faces, _ = embed_one(tmp_path, "rot.jpg", data)
    assert (row.width, row.height) == (512, 400)
    assert near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


def test_exif_tag_is_what_turns_the_photo(tmp_path):
    # control for the test above: the same stored pixels without the tag are not upright
    stored = np.ascontiguousarray(np.rot90(astronaut()[:400], 1))
    photo = decode_photo(jpeg(stored), "norot.jpg")
    assert photo.pixels.shape == (512, 400, 3)


@pytest.fixture(scope="module")
def huge_jpeg(tmp_path_factory):
    """A 50-megapixel JPEG (8660 x 5774) with the astronaut's face large in the middle."""
    folder = tmp_path_factory.mktemp("huge")
    path = folder / "huge.jpg"
    canvas = Image.new("RGB", (8660, 5774), (128, 128, 128))
    canvas.paste(Image.fromarray(astronaut()).resize((5774, 5774), Image.Resampling.BILINEAR), (HUGE_LEFT, 0))
    canvas.save(path, "JPEG", quality=85)
    return path


HUGE_LEFT = 1443  # the astronaut, scaled 5774/512, starts here in the 8660 x 5774 photo


def test_50_megapixel_photo_is_downscaled_while_decoding(huge_jpeg):
    # in a fresh process, so the peak memory is that of the decode alone
    code = (
        "import resource, json, sys\n"
        "from pipeline.photos import read_photo\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"p = read_photo({str(huge_jpeg)!r})\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'shape': p.pixels.shape, 'original': p.original_size, 'scale': p.scale,"
        " 'peak_mb': (after - before) / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert max(info["shape"][:2]) == MAX_SIDE and info["shape"][2] == 3
    assert info["original"] == [8660, 5774]
    assert info["scale"] == pytest.approx(MAX_SIDE / 8660, rel=1e-3)
    # a full-size RGB decode alone is 150 MB; JPEG draft mode decodes at 1/4 scale
    assert info["peak_mb"] < 100, f"decoding the 50 MP photo raised peak memory by {info['peak_mb']:.0f} MB"


def test_50_megapixel_photo_face_is_found(tmp_path, huge_jpeg):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "huge.jpg").symlink_to(huge_jpeg)
    coll = embed_folder(folder, SETTINGS, None)
    row = coll.photos.iloc[0]
    assert row.status == "ok" and (row.width, row.height) == (1600, 1067)
    face = coll.faces.iloc[0]
    # the face box is in decoded-photo pixels (1600 / 8660 of the original)
    up, down = 5774 / 512, 1600 / 8660
    x, y, w, h = ASTRONAUT_FACE
    expected = ((HUGE_LEFT + x * up) * down, y * up * down, w * up * down, h * up * down)
    assert near(face[["x", "y", "w", "h"]], expected, tol=15)


def test_heic_photo(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        data = encode(astronaut(), "HEIF", quality=90)
    except Exception as err:  # pragma: no cover - depends on the libheif build
        pytest.skip(f"pillow_heif cannot write HEIC here: {err}")
    row, faces, _ = embed_one(tmp_path, "phone.heic", data)
    assert row.status == "ok" and (row.width, row.height) == (512, 512)
    assert near(faces.iloc[0][["x", "y", "w", "h"]], ASTRONAUT_FACE)


# ---------------------------------------------------------------- no face, two faces

@pytest.mark.parametrize("make", [coffee, gradient], ids=["coffee", "gradient"])
def test_photo_without_a_face(tmp_path, make):
    row, faces, coll = embed_one(tmp_path, "noface.jpg", jpeg(make()))
    assert row.status == "no_face" and row.detail == "no face detected"
    assert row.n_faces == 0 and row.primary_face == -1
    assert faces.empty and coll.embeddings.shape[0] == 0


def test_two_faces_give_two_records_and_the_larger_is_primary(tmp_path):
    small = np.asarray(Image.fromarray(astronaut()).resize((256, 256)))
    canvas = np.full((512, 1024, 3), 128, np.uint8)
    canvas[:, :512] = astronaut()
    canvas[128:384, 640:896] = small
    row, faces, coll = embed_one(tmp_path, "two.jpg", jpeg(canvas))
    assert row.n_faces == 2 and len(faces) == 2 and coll.embeddings.shape == (2, 128)
    big, little = faces.iloc[0], faces.iloc[1]  # face_index 0 is the largest
    assert big.w * big.h > 3 * little.w * little.h
    assert near(big[["x", "y", "w", "h"]], ASTRONAUT_FACE)
    assert little.x > 640
    assert big.is_primary and not little.is_primary and row.primary_face == 0
    # the same person twice: the two embeddings are close
    a, b = coll.embeddings
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.7


def test_of_two_equal_faces_the_one_nearer_the_centre_is_primary(tmp_path):
    canvas = side_by_side(astronaut(), astronaut(), np.full((512, 512, 3), 128, np.uint8))  # 1536 wide
    row, faces, _ = embed_one(tmp_path, "pair.jpg", jpeg(canvas))
    assert row.n_faces == 2
    primary = faces[faces.is_primary].iloc[0]
    assert 512 < primary.x < 1024  # the middle astronaut, face centre ~735 vs image centre 768


def test_primary_face_index_rule():
    size = (1000, 1000)
    # a large face in the corner loses to a slightly smaller one in the centre
    assert primary_face_index(np.array([[0, 0, 200, 200], [420, 420, 160, 160]]), size) == 1
    # a tiny face in the centre loses to a big one near it
    assert primary_face_index(np.array([[480, 480, 40, 40], [300, 300, 300, 300]]), size) == 1
    assert primary_face_index(np.array([[10, 10, 50, 50]]), size) == 0


# ---------------------------------------------------------------- cache

def test_cache_second_run_embeds_nothing(tmp_path, small_folder):
    cache = tmp_path / "cache"
    first = embed_folder(small_folder, SETTINGS, cache)
    assert first.timings["photos_embedded"] == 5  # 4 astronauts + coffee (no face is cached too)
    assert first.timings["photos_from_cache"] == 0
    second = embed_folder(small_folder, SETTINGS, cache)
    assert second.timings["photos_embedded"] == 0
    assert second.timings["photos_from_cache"] == 5
    assert np.array_equal(first.embeddings, second.embeddings)
    assert first.photos.equals(second.photos) and first.faces.equals(second.faces)


def test_cache_changed_photo_is_embedded_again_and_renamed_photo_is_not(tmp_path, small_folder):
    cache = tmp_path / "cache"
    before = embed_folder(small_folder, SETTINGS, cache)
    old = before.embeddings[before.faces.image_filename == "astro_1.jpg"][0]
    # change one photo (mirror it), rename another
    write(small_folder, "astro_0.jpg", jpeg(np.ascontiguousarray(astronaut()[:, ::-1])))
    (small_folder / "astro_1.jpg").rename(small_folder / "renamed.jpg")
    after = embed_folder(small_folder, SETTINGS, cache)
    assert after.timings["photos_embedded"] == 1
    new = after.embeddings[after.faces.image_filename == "renamed.jpg"][0]
    assert np.array_equal(old, new)
    changed = after.faces.set_index("image_filename").loc["astro_0.jpg"]
    assert changed.x > 512 - ASTRONAUT_FACE[0] - ASTRONAUT_FACE[2] - 10  # mirrored: face on the right half


def test_a_damaged_cache_entry_is_recomputed(tmp_path, small_folder):
    cache = tmp_path / "cache"
    first = embed_folder(small_folder, SETTINGS, cache)
    for entry in cache.rglob("*.npz"):
        entry.write_bytes(b"garbage")
    second = embed_folder(small_folder, SETTINGS, cache)
    assert second.timings["photos_embedded"] == 5
    assert np.allclose(first.embeddings, second.embeddings)


def test_cache_is_keyed_by_embedding_settings(tmp_path, small_folder):
    cache = tmp_path / "cache"
    embed_folder(small_folder, SETTINGS, cache)
    other = embed_folder(small_folder, SETTINGS.with_(min_face_confidence=0.7), cache)
    assert other.timings["photos_embedded"] == 5
    # clustering parameters are not part of the key
    same = embed_folder(small_folder, SETTINGS.with_(eps=0.3, algorithm="dbscan"), cache)
    assert same.timings["photos_embedded"] == 0


def test_haar_detector_faces_without_found_eyes_are_still_embedded(monkeypatch):
    """DeepFace's opencv (Haar) detector often returns a face box without eyes; the face must be
    aligned from the box instead of being dropped."""
    from deepface.models.Detector import FacialAreaRegion

    from pipeline import faces

    class EyelessDetector:
        def detect_faces(self, img):
            return [FacialAreaRegion(x=170, y=60, w=110, h=110, confidence=0.9)]

    monkeypatch.setattr(faces, "detector_model", lambda name: EyelessDetector())
    found = faces.detect_faces(astronaut()[:, :, ::-1].copy(), "opencv", 0.6)
    assert len(found) == 1
    box, confidence, landmarks = found[0]
    assert box == (170, 60, 110, 110) and confidence == 0.9
    # eyes placed symmetrically in the upper half of the box
    assert landmarks.shape == (2, 2)
    assert 170 < landmarks[0, 0] < 225 < landmarks[1, 0] < 280 and landmarks[0, 1] == landmarks[1, 1] < 60 + 55


def test_haar_detector_end_to_end(tmp_path):
    write(tmp_path / "in", "a.jpg", jpeg(astronaut()))
    collection = embed_folder(tmp_path / "in", Settings(detector="opencv"), tmp_path / "cache")
    assert collection.photos.status.tolist() == ["ok"]
    assert collection.embeddings.shape == (1, 128)
