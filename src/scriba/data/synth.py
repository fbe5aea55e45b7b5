"""Text rendered with handwriting fonts installed from PyPI (the ``fontpkg-*`` packages, OFL).

This is the plain renderer used for the shipped example images and quick tests; each glyph is
placed with a small random jitter so the result is not perfectly regular.
"""

from __future__ import annotations

from pathlib import Path

import fontpkg
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scriba.errors import ScribaError


def handwriting_fonts() -> dict[str, Path]:
    """Installed fontpkg font families (slug -> font file)."""
    return {slug: fontpkg.path(slug) for slug in sorted(fontpkg.families())}


def render_text(
    text: str, font: str = "caveat", size: int = 48, jitter: float = 0.06, seed: int | None = None, padding: int = 10
) -> np.ndarray:
    """Draw ``text`` in a handwriting font, glyph by glyph with random offsets.

    Args:
        text: what to write.
        font: a fontpkg family slug (see :func:`handwriting_fonts`) or a path to a TTF/OTF file.
        size: font size in pixels.
        jitter: per-glyph vertical offset and spacing variation, as a fraction of ``size``.
        seed: random seed for the jitter.
        padding: paper around the text, in pixels.

    Returns:
        uint8 (H, W) dark ink on white paper.

    Raises:
        ScribaError: unknown font or empty text.
    """
    if not text.strip():
        raise ScribaError("nothing to render: empty text")
    fonts = handwriting_fonts()
    font_path = fonts.get(font) or Path(font)
    if not Path(font_path).is_file():
        raise ScribaError(f"unknown font {font!r}; installed: {', '.join(fonts)}")
    face = ImageFont.truetype(str(font_path), size)
    rng = np.random.default_rng(seed)
    ascent, descent = face.getmetrics()
    width = int(face.getlength(text) * (1 + jitter)) + 2 * padding + size
    height = ascent + descent + 2 * padding + int(2 * jitter * size)
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    x = float(padding)
    for char in text:
        dy = rng.normal(0, jitter * size / 2)
        draw.text((x, padding + jitter * size + dy), char, font=face, fill=int(rng.integers(0, 40)))
        x += face.getlength(char) * (1 + rng.uniform(-jitter, jitter))
    array = np.asarray(canvas)
    columns = np.flatnonzero(array.min(axis=0) < 200)
    right = min(width, int(columns.max()) + padding + 1) if len(columns) else width
    return np.ascontiguousarray(array[:, :right])
