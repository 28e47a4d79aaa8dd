"""Face crops and thumbnail grids (Pillow), shared by the artifacts and the app."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .photos import UnreadablePhoto, read_photo

THUMB = 112


def face_boxes(faces) -> dict[str, tuple[int, int, int, int]]:
    """Filename -> face box ``(x, y, w, h)`` from a faces frame (one primary face per photo)."""
    return {r.image_filename: (int(r.x), int(r.y), int(r.w), int(r.h)) for r in faces.itertuples()}


def face_crop(folder: str | Path, filename: str, box=None, size: int = THUMB, margin: float = 0.25) -> Image.Image:
    """A square crop around ``box`` (decoded-photo pixels, x/y/w/h) with ``margin``, resized to
    ``size``; the whole photo when ``box`` is None; a grey tile when the photo is unreadable."""
    try:
        photo = read_photo(Path(folder) / filename)
    except UnreadablePhoto:
        return Image.new("RGB", (size, size), (90, 90, 90))
    image = Image.fromarray(photo.pixels)
    if box is not None and all(v == v for v in box):
        x, y, w, h = (float(v) for v in box)
        side = max(w, h) * (1 + 2 * margin)
        cx, cy = x + w / 2, y + h / 2
        image = image.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
    else:
        side = min(image.size)
        left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
        image = image.crop((left, top, left + side, top + side))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def grid_image(tiles: list[tuple[Image.Image, str]], title: str, columns: int = 8) -> Image.Image:
    """Lay captioned tiles out in a grid under a title line; a caption may hold several lines."""
    font = ImageFont.load_default()
    size = tiles[0][0].size[0] if tiles else THUMB
    caption, header = 12 * max((t.count("\n") + 1 for _, t in tiles), default=1) + 2, 24
    columns = max(1, min(columns, len(tiles) or 1))
    rows = max(1, -(-len(tiles) // columns))
    sheet = Image.new("RGB", (columns * (size + 4) + 4, header + rows * (size + caption + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title, fill="black", font=font)
    for i, (tile, text) in enumerate(tiles):
        x = 4 + (i % columns) * (size + 4)
        y = header + (i // columns) * (size + caption + 4)
        sheet.paste(tile, (x, y))
        # the default bitmap font is ~6 px a character: cut each line to the tile's width
        lines = [line[: size // 6] for line in text.split("\n")]
        draw.text((x + 1, y + size + 1), "\n".join(lines), fill="black", font=font, spacing=1)
    return sheet
