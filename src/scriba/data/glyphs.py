"""Handwriting from fonts, glyph by glyph: font files, glyph coverage, inked coverage maps.

:func:`render_text` is the plain renderer used for the shipped example images and quick tests;
:func:`render_ink` writes a text with per-glyph jitter of position, rotation, scale, spacing and
pressure, a stroke weight and a baseline drift; :mod:`scriba.data.synth` lays the result out as
names in form fields, words and lines. Fonts come from the ``fontpkg-*`` packages (OFL).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import fontpkg
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scriba.errors import ScribaError

# Glyphs are drawn at twice the output size and reduced with area averaging: rotated and scaled
# glyphs keep smooth edges and positions get half-pixel precision.
SUPERSAMPLE = 2


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


def resolve_font(font: str | Path) -> Path:
    """A fontpkg slug or a font file path -> the font file.

    Raises:
        ScribaError: neither an installed family nor an existing file.
    """
    fonts = handwriting_fonts()
    path = fonts.get(str(font)) or Path(font)
    if not path.is_file():
        raise ScribaError(f"unknown font {str(font)!r}; installed: {', '.join(fonts)}")
    return path


@lru_cache(maxsize=64)
def font_characters(path: Path) -> frozenset[str]:
    """The characters ``path`` has a glyph for (from its cmap; by rendering where fontTools is absent)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return _characters_unlike_notdef(path)
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(chr(code) for code in cmap)


def _characters_unlike_notdef(path: Path) -> frozenset[str]:
    # A missing character renders as the .notdef glyph: compare each candidate with a private-use
    # code point that no handwriting font maps. Only Latin characters are checked. The basic layout
    # engine renders one glyph per character, as render_ink does.
    face = ImageFont.truetype(str(path), 32, layout_engine=ImageFont.Layout.BASIC)

    def mask(char: str) -> bytes:
        image = Image.new("L", (96, 64), 0)
        ImageDraw.Draw(image).text((16, 48), char, font=face, fill=255, anchor="ls")
        return image.tobytes()

    notdef = mask("\U0010fffd")
    candidates = [*map(chr, range(0x21, 0x7F)), *map(chr, range(0xA1, 0x250))]
    return frozenset([" ", *(c for c in candidates if mask(c) != notdef)])


def can_render(font: Path, text: str) -> bool:
    """Whether ``font`` has a glyph for every character of ``text`` (spaces need none)."""
    return set(text) - {" "} <= font_characters(font)


@lru_cache(maxsize=256)
def _face(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


@lru_cache(maxsize=64)
def _weight_axes(path: Path) -> tuple[tuple[float, float, float, bool], ...]:
    """(minimum, maximum, default, is_weight) per variation axis; empty for static fonts."""
    try:
        axes = _face(path, 12).get_variation_axes()
    except (OSError, AttributeError):  # not a variable font, or FreeType without variation support
        return ()
    described = []
    for axis in axes:
        name = axis.get("name") or b""
        text = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        low, high, default = float(axis["minimum"] or 0), float(axis["maximum"] or 0), float(axis["default"] or 0)
        described.append((low, high, default, "weight" in text.lower()))
    return tuple(described)


def _weighted_face(path: Path, size: int, weight: float) -> tuple[ImageFont.FreeTypeFont, int]:
    """The font at ``size`` and ``weight`` in [0, 1], and the outline width that stands in for weight."""
    face = _face(path, size)
    axes = _weight_axes(path)
    if any(is_weight for *_, is_weight in axes):
        # Set on every call: the cached face is shared between samples of different weights.
        face.set_variation_by_axes([lo + weight * (hi - lo) if w else d for lo, hi, d, w in axes])
        return face, 0
    # Static fonts: an outline of up to ~0.6 output pixels thickens the strokes.
    return face, round(weight * 0.6 * SUPERSAMPLE)


@lru_cache(maxsize=64)
def letter_height(path: Path, letter: str = "H") -> float:
    """Height of ``letter`` as a fraction of the font size: fonts are sized by what they draw.

    "H" gives the capital height (for names in capitals), "x" the x-height (for mixed case): one
    font size looks very different across fonts, e.g. Great Vibes' small lowercase.
    """
    top, bottom = _face(path, 100).getbbox(letter, anchor="ls")[1::2]
    return max(0.2, (bottom - top) / 100)


@dataclass(frozen=True)
class InkStyle:
    """How one sample is written.

    Attributes:
        size: font size in output pixels.
        weight: stroke weight in [0, 1] (a variable font's wght axis, else an outline).
        jitter: per-glyph position, rotation and scale spread, as a fraction of ``size``.
        spacing: extra advance after each glyph, as a fraction of ``size`` (the same for every
            letter: a narrow I keeps as much room to its neighbours as an M).
        word_space: width of a space, as a multiple of the font's.
        drift: baseline wave amplitude, as a fraction of ``size``.
        slant: horizontal shear (x offset per pixel of height; positive leans right).
    """

    size: float = 48.0
    weight: float = 0.3
    jitter: float = 0.05
    spacing: float = 0.0
    word_space: float = 1.0
    drift: float = 0.0
    slant: float = 0.0


def _glyph(
    face: ImageFont.FreeTypeFont, char: str, stroke: int, angle: float, scale: float
) -> tuple[np.ndarray, float, float]:
    """One glyph's coverage (float32 in [0, 1]) and its pen origin (left end of the baseline) inside it."""
    left, top, right, bottom = (int(v) for v in face.getbbox(char, anchor="ls", stroke_width=stroke))
    # Room to rotate around the origin without clipping the far end of the glyph.
    margin = int(0.25 * max(right - left, bottom - top)) + 2
    origin_x, origin_y = margin - left, margin - top
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    ImageDraw.Draw(image).text(
        (origin_x, origin_y), char, font=face, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255
    )
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, center=(origin_x, origin_y))
    if scale != 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image, np.float32) / 255, origin_x * scale, origin_y * scale


def render_ink(text: str, font: Path, style: InkStyle, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Write ``text`` glyph by glyph: the ink coverage, cropped to the ink, and the baseline row.

    Args:
        text: what to write (not only spaces).
        font: a font file that can render ``text`` (see :func:`can_render`).
        style: size, weight, jitter, spacing, drift and slant.
        rng: the source of every random choice (same state, same image).

    Returns:
        float32 (H, W) coverage in [0, 1] (1 = full ink), and the row of the (undrifted) baseline.
    """
    size = max(8, round(style.size * SUPERSAMPLE))
    face, stroke = _weighted_face(font, size, style.weight)
    spread = style.jitter * size
    period, phase = rng.uniform(6, 14) * size, rng.uniform(0, 2 * np.pi)
    tilt = rng.normal(0, 0.3 * style.drift)
    pieces: list[tuple[np.ndarray, int, int]] = []
    # Some script fonts have a space far narrower than people leave between words.
    space = max(face.getlength(" "), 0.6 * face.getlength("n"))
    x = 0.0
    for char in text:
        if char == " ":
            # Plus the letter spacing: in wide-spaced capitals a plain space would look like a letter gap.
            x += space * style.word_space * rng.uniform(0.8, 1.3) + style.spacing * size
            continue
        advance = face.getlength(char)
        scale = float(np.clip(1 + rng.normal(0, style.jitter), 0.8, 1.25))
        angle = float(np.clip(rng.normal(0, 60 * style.jitter), -12, 12))  # degrees, counterclockwise
        glyph, origin_x, origin_y = _glyph(face, char, stroke, angle, scale)
        baseline = style.drift * size * np.sin(2 * np.pi * x / period + phase) + tilt * x + rng.normal(0, spread / 2)
        left = x + rng.normal(0, spread / 8) - origin_x
        pressure = rng.uniform(0.8, 1.0)  # lighter and darker letters of one pen
        pieces.append((glyph * pressure, round(left), round(baseline - origin_y)))
        # Never less than most of the advance: narrow letters (i, l) would merge into their neighbours.
        x += max(advance * scale + style.spacing * size + rng.normal(0, spread / 3), 0.85 * advance)
    if not pieces:
        raise ScribaError(f"nothing to render: {text!r} has no visible character")
    x0 = min(p[1] for p in pieces)
    y0 = min(p[2] for p in pieces)
    width = max(p[1] + p[0].shape[1] for p in pieces) - x0
    height = max(p[2] + p[0].shape[0] for p in pieces) - y0
    canvas = np.zeros((height, width), np.float32)
    for glyph, left, top in pieces:
        region = canvas[top - y0 : top - y0 + glyph.shape[0], left - x0 : left - x0 + glyph.shape[1]]
        np.maximum(region, glyph, out=region)
    baseline_row = -y0
    if style.slant:
        # x' = x + slant * (baseline - y): the baseline stays put, the rest leans about it.
        shifts = (style.slant * baseline_row, style.slant * (baseline_row - height))
        matrix = np.array([[1, -style.slant, style.slant * baseline_row - min(shifts)], [0, 1, 0]], np.float32)
        extra = int(np.ceil(max(shifts) - min(shifts)))
        canvas = cv2.warpAffine(canvas, matrix, (width + extra, height), flags=cv2.INTER_LINEAR)
    out_size = (max(1, canvas.shape[1] // SUPERSAMPLE), max(1, canvas.shape[0] // SUPERSAMPLE))
    coverage = cv2.resize(canvas, out_size, interpolation=cv2.INTER_AREA)
    return _crop_to_ink(coverage, baseline_row // SUPERSAMPLE)


def _crop_to_ink(coverage: np.ndarray, baseline_row: int) -> tuple[np.ndarray, int]:
    rows = np.flatnonzero(coverage.max(axis=1) > 0.02)
    columns = np.flatnonzero(coverage.max(axis=0) > 0.02)
    if not len(rows):
        return coverage, baseline_row
    cropped = coverage[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    return np.ascontiguousarray(cropped), baseline_row - int(rows[0])


def ink_on_paper(
    layers: list[tuple[np.ndarray, float]],
    paper: float,
    rng: np.random.Generator,
    blur: float = 0.0,
    noise: float = 0.0,
) -> np.ndarray:
    """Lay coverage layers, each with its ink gray level, over paper; blur like a scan, add noise.

    Args:
        layers: (coverage float (H, W) in [0, 1], ink gray level) pairs, all the same shape.
        paper: the paper gray level.
        rng: random source of the noise.
        blur: Gaussian blur sigma in pixels (0: none).
        noise: standard deviation of the Gaussian noise, in gray levels (0: none).

    Returns:
        uint8 (H, W) image, dark ink on light paper.
    """
    image: np.ndarray = np.full(layers[0][0].shape, paper, np.float32)
    for coverage, ink in layers:
        image -= coverage * (image - ink)
    if blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    if noise > 0:
        image += rng.normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).round().astype(np.uint8)
