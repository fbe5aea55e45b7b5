"""Pen trajectories (ink) to images, clean or in a randomized writer/paper/camera style.

Ink is a list of strokes, each a (K, 2) array of x, y points with y growing downward, in any unit:
rendering normalizes the scale from the writing itself, so tablet units, screen pixels and
IAM-OnDB's raw units all render alike.

``InkStyle()`` draws clean black ink on white paper; its other fields add what real scans and photos
have (pen width and pressure, slant, wobbly baselines, gray ink, textured paper, ruled lines, blur,
noise, JPEG artifacts). :func:`sample_ink_style` draws a random style per training sample.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scriba.data.records import Ink
from scriba.errors import DataFormatError


@dataclass(frozen=True)
class InkStyle:
    """How ink is drawn. Every default leaves the clean rendering unchanged (model files store the style).

    Args:
        band_height: pixels between the 5th and 95th percentile of y (about the x-height plus
            ascenders/descenders of a typical line).
        padding: paper around the writing, in pixels.
        stroke_width: pen width in output pixels.
        supersample: drawing is done this many times larger, then downsampled with antialiasing.
        width_variation: pressure-like width change along each stroke (smooth, thinner at the
            ends), as a fraction of ``stroke_width``; 0 to below 1.
        slant: shear in degrees; positive leans the tops of letters to the right.
        scale: multiplies ``band_height`` (the writing's size relative to padding and pen).
        aspect: horizontal stretch; above 1 is wider writing.
        wobble: amplitude of a smooth vertical baseline wave, in band heights.
        wobble_period: wavelength of that wave, in band heights.
        jitter: standard deviation of per-point position noise, in output pixels.
        ink_level: gray level of the ink (0 black; about 100 is pencil).
        paper_level: gray level of the paper (255 white).
        paper_gradient: darkening across the page in a random direction (uneven light), gray levels.
        paper_texture: amplitude of smooth blotchy paper variation, gray levels.
        blur: Gaussian blur sigma in output pixels (0 off).
        noise: standard deviation of per-pixel Gaussian noise, gray levels (0 off).
        jpeg_quality: JPEG compression quality 1..100 (0 off).
        ruled_lines: spacing of horizontal ruled lines through the baseline, in band heights (0 off).
        ruled_level: gray level of the ruled lines.
        deskew: turn the writing so that it runs level before drawing it (see :func:`deskew_angle`):
            a line written rising or falling across a whiteboard otherwise spans a tall band of y, and
            the size normalization draws its letters small. Writing of one stroke is never turned.
        line_reach: 0 is off. Otherwise, in writing long enough to be a line (see :data:`DESKEW_MIN_LENGTH`)
            and of more than one stroke, ink farther than the band (5th to 95th percentile of y) is drawn
            nearer to it, smoothly, so that it reaches at most this many band heights above or below it:
            the ascenders, descenders and stray strokes of a whole line otherwise make its image tall, and
            scaled to the model's height its letters come out smaller than a word's.
    """

    band_height: float = 40.0
    padding: int = 8
    stroke_width: float = 2.6
    supersample: int = 3
    width_variation: float = 0.0
    slant: float = 0.0
    scale: float = 1.0
    aspect: float = 1.0
    wobble: float = 0.0
    wobble_period: float = 6.0
    jitter: float = 0.0
    ink_level: int = 0
    paper_level: int = 255
    paper_gradient: float = 0.0
    paper_texture: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    jpeg_quality: int = 0
    ruled_lines: float = 0.0
    ruled_level: int = 170
    deskew: bool = False
    line_reach: float = 0.0

    def __post_init__(self) -> None:
        positive = ("band_height", "stroke_width", "scale", "aspect", "wobble_period", "supersample")
        zero_ok = (
            "padding",
            "wobble",
            "jitter",
            "blur",
            "noise",
            "ruled_lines",
            "paper_gradient",
            "paper_texture",
            "line_reach",
        )
        bad = [f"{name} must be > 0" for name in positive if not getattr(self, name) > 0]
        bad += [f"{name} must be >= 0" for name in zero_ok if not getattr(self, name) >= 0]
        ranges = {
            "width_variation must be in [0, 1)": 0 <= self.width_variation < 1,
            "slant must be between -60 and 60 degrees": -60 < self.slant < 60,
            "ink_level must be below paper_level, both in 0..255": 0 <= self.ink_level < self.paper_level <= 255,
            "ruled_level must be in 0..255": 0 <= self.ruled_level <= 255,
            "jpeg_quality must be 0 (off) or 1..100": 0 <= self.jpeg_quality <= 100,
        }
        bad += [message for message, ok in ranges.items() if not ok]
        if bad:
            raise ValueError(f"invalid ink style: {'; '.join(bad)}")


# How sample_ink_style varies a field at strength 1: (low, high, how). "add" adds U(low, high) to the
# base value, "mul" multiplies it by U(low, high); strength s scales the change linearly (s=0: base).
STYLE_VARIATION: dict[str, tuple[float, float, str]] = {
    "stroke_width": (0.6, 1.6, "mul"),
    "width_variation": (0.0, 0.6, "add"),
    "slant": (-20.0, 20.0, "add"),
    "scale": (0.85, 1.15, "mul"),
    "aspect": (0.8, 1.25, "mul"),
    "wobble": (0.0, 0.12, "add"),
    "jitter": (0.0, 0.5, "add"),
    "ink_level": (0.0, 110.0, "add"),
    "paper_level": (-40.0, 0.0, "add"),
    "paper_gradient": (0.0, 40.0, "add"),
    "paper_texture": (0.0, 12.0, "add"),
    "noise": (0.0, 10.0, "add"),
}
# Effects that real images have only sometimes: probability at strength 1 and the range when applied.
BLUR_P, BLUR_RANGE = 0.5, (0.3, 1.2)
JPEG_P, JPEG_QUALITY_RANGE = 0.4, (30, 95)
RULED_P, RULED_SPACING_RANGE, RULED_DEPTH_RANGE = 0.25, (1.3, 2.2), (50.0, 110.0)
MIN_CONTRAST = 60  # sampled ink stays at least this much darker than the paper


# Named styles for evaluation. "unseen" lies outside everything sample_ink_style draws (pen wider than
# 4.16 px, blur above 1.2, noise above 10, texture above 12, paper darker than 215): it tests how a
# model copes with a style no training sample had.
INK_STYLE_PRESETS: dict[str, InkStyle] = {
    "clean": InkStyle(),
    "unseen": InkStyle(
        stroke_width=5.5, blur=2.0, noise=20.0, paper_texture=35.0, paper_level=195, ink_level=30, paper_gradient=20.0
    ),
}


def sample_ink_style(rng: np.random.Generator, strength: float = 1.0, base: InkStyle | None = None) -> InkStyle:
    """Draw a random style around ``base`` (see :data:`STYLE_VARIATION` and the ``*_P`` constants).

    At strength 1 with the default base: stroke width 1.56..4.16 px, slant -20..20 degrees, ink gray
    0..110 on paper 215..255, blur (sigma 0.3..1.2) half the time, JPEG (quality 30..95) 40% of the time,
    ruled lines a quarter of the time. ``band_height``, ``padding`` and ``supersample`` stay as in ``base``.

    Args:
        rng: the only source of randomness (same generator state, same style).
        strength: 0 returns ``base``; ranges and probabilities grow linearly with it (1 is the range above;
            larger values extrapolate, with the results clipped to valid styles).
        base: the style to vary; default ``InkStyle()``.
    """
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    base = base or InkStyle()
    s = float(strength)
    # A fixed number of draws per call keeps later styles from the same generator reproducible.
    u = rng.random(len(STYLE_VARIATION) + 8)
    if s == 0:
        return base
    values: dict[str, Any] = {}
    for i, (name, (low, high, how)) in enumerate(STYLE_VARIATION.items()):
        x = low + (high - low) * u[i]
        old = float(getattr(base, name))
        # A floor on factors keeps strengths above 1 (extrapolation) from making sizes zero or negative.
        values[name] = float(old * max(0.1, 1 + s * (x - 1)) if how == "mul" else old + s * x)
    j = len(STYLE_VARIATION)
    if u[j] < BLUR_P * s:
        values["blur"] = float(base.blur + s * (BLUR_RANGE[0] + (BLUR_RANGE[1] - BLUR_RANGE[0]) * u[j + 1]))
    if u[j + 2] < JPEG_P * s:
        quality = JPEG_QUALITY_RANGE[1] - s * (JPEG_QUALITY_RANGE[1] - JPEG_QUALITY_RANGE[0]) * u[j + 3]
        values["jpeg_quality"] = int(np.clip(round(quality), 1, 100))
    if u[j + 4] < RULED_P * s:
        values["ruled_lines"] = float(
            RULED_SPACING_RANGE[0] + (RULED_SPACING_RANGE[1] - RULED_SPACING_RANGE[0]) * u[j + 5]
        )
        depth = RULED_DEPTH_RANGE[0] + (RULED_DEPTH_RANGE[1] - RULED_DEPTH_RANGE[0]) * u[j + 6]
        values["ruled_level"] = values["paper_level"] - s * depth
    paper = int(np.clip(round(values["paper_level"]), MIN_CONTRAST + 1, 255))
    values.update(
        width_variation=min(values["width_variation"], 0.9),
        slant=float(np.clip(values["slant"], -45, 45)),
        ink_level=int(np.clip(round(values["ink_level"]), 0, paper - MIN_CONTRAST)),
        paper_level=paper,
        ruled_level=int(np.clip(round(values.get("ruled_level", base.ruled_level)), 0, 255)),
    )
    return dataclasses.replace(base, **values)


def split_strokes(points: np.ndarray) -> Ink:
    """IAM-OnDB points (N, 3) = x, y, pen_up_after_this_point -> list of (K, 2) float strokes."""
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataFormatError(f"ink points must be (N, 3) x, y, pen_up; got shape {points.shape}")
    ends = np.flatnonzero(points[:, 2]) + 1
    strokes = np.split(points[:, :2].astype(np.float32), ends)
    return [s for s in strokes if len(s)]


# The turns deskew_angle tries: IAM-OnDB's testset_t lines need up to 7 degrees (99th percentile); 20 leaves
# room for writing on a tablet or a web page's canvas.
DESKEW_ANGLES = np.deg2rad(np.arange(-20.0, 20.5, 1.0))
# Writing shorter than this many band heights (a word or two) is left as it is: its narrowest band is
# found at any angle (a descender at one end, a capital at the other), not along its baseline.
DESKEW_MIN_LENGTH = 10.0


def _is_line(length: float, band: float) -> bool:
    """Whether writing this long for its band is a line (deskewed, pulled in by ``line_reach``), not a word."""
    return length > DESKEW_MIN_LENGTH * band


def deskew_angle(points: np.ndarray) -> float:
    """The turn (radians, of DESKEW_ANGLES) after which the points' y spans the narrowest band between its
    5th and 95th percentile: the direction the writing runs in, the band the rendering normalizes.
    0 for writing shorter than DESKEW_MIN_LENGTH times that band (both measured after the turn).

    Written by hand: no library here estimates the skew of pen trajectories (image deskewing in OpenCV
    works on pixels), and the search over 41 angles takes 0.3 ms for a line of IAM-OnDB (~700 points).
    """
    centred = points - points.mean(axis=0)
    ys = np.outer(centred[:, 0], -np.sin(DESKEW_ANGLES)) + np.outer(centred[:, 1], np.cos(DESKEW_ANGLES))
    low, high = np.percentile(ys, [5, 95], axis=0)
    best = int(np.argmin(high - low))
    angle = float(DESKEW_ANGLES[best])
    length = np.ptp(centred[:, 0] * math.cos(angle) + centred[:, 1] * math.sin(angle))
    return angle if _is_line(float(length), float(high[best] - low[best])) else 0.0


def turn_strokes(strokes: list[np.ndarray], angle: float) -> list[np.ndarray]:
    """The strokes turned by ``angle`` about the origin (x' = x cos a + y sin a, y' = y cos a - x sin a)."""
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, -s], [s, c]], np.float32)
    return [stroke @ rotation for stroke in strokes]


def _pull_in(stroke: np.ndarray, low: float, high: float, reach: float) -> np.ndarray:
    """The stroke with y beyond [low, high] brought nearer: a distance d past the band becomes
    reach * tanh(d / reach), nearly d close to the band and never more than ``reach``."""
    y = stroke[:, 1].astype(np.float64)
    above, below = np.maximum(low - y, 0), np.maximum(y - high, 0)
    y = y + above - reach * np.tanh(above / reach) - below + reach * np.tanh(below / reach)
    return np.stack([stroke[:, 0], y.astype(np.float32)], axis=1)


def render_ink(strokes: Ink, style: InkStyle | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw strokes as dark ink on light paper.

    Args:
        strokes: list of (K, 2) arrays (x, y), y downward.
        style: drawing parameters; the defaults read well for IAM-OnDB.
        rng: randomness of jitter, wobble phase, pressure, paper and noise; None uses a fixed seed,
            so the same call always returns the same image.

    Returns:
        uint8 array (H, W), ink dark on a light background.

    Raises:
        DataFormatError: no points at all.
    """
    style = style or InkStyle()
    rng = rng if rng is not None else np.random.default_rng(0)
    strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in strokes]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise DataFormatError("ink has no points")
    # One stroke (a dash, a rule) is never a line: turned level or pulled in, its band is the pen's width.
    several = len(strokes) > 1
    if style.deskew and several:
        strokes = turn_strokes(strokes, deskew_angle(np.concatenate(strokes)))
    points = np.concatenate(strokes)
    low, high = np.percentile(points[:, 1], [5, 95])
    span = max(float(high - low), 1e-6)
    if span < 1e-3:  # a single dot or a flat line: fall back to the overall extent
        span = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1.0) / 4
    elif style.line_reach and several and _is_line(float(np.ptp(points[:, 0])), span):
        strokes = [_pull_in(s, float(low), float(high), style.line_reach * span) for s in strokes]
        points = np.concatenate(strokes)
    k = style.supersample
    # Same operation order as before the style fields existed: the clean rendering stays byte-identical.
    scale = style.band_height * style.scale / span * k
    band = style.band_height * style.scale * k  # supersampled pixels
    origin = points.min(axis=0)
    pad = style.padding * k
    placed = [(s - origin) * scale for s in strokes]
    baseline = float(high - origin[1]) * scale
    if style.slant or style.aspect != 1 or style.wobble or style.jitter:
        placed = _distort(placed, style, band, baseline, rng)
        corner = np.concatenate(placed).min(axis=0)
        placed = [p - corner for p in placed]
        baseline -= float(corner[1])
        extent = np.concatenate(placed).max(axis=0)
    else:
        extent = (points.max(axis=0) - origin) * scale
    width, height = int(np.ceil(extent[0])) + 2 * pad + 1, int(np.ceil(extent[1])) + 2 * pad + 1
    canvas: np.ndarray = np.full((height, width), 255, np.uint8)
    thickness = max(1, round(style.stroke_width * k))
    # cv2 draws with integer coordinates; 4 fractional bits keep sub-pixel detail at the supersampled scale.
    shift = 4
    for stroke in placed:
        xy = np.round((stroke + pad) * (1 << shift)).astype(np.int32)
        if len(xy) == 1:
            cv2.circle(canvas, tuple(xy[0]), (thickness << shift) // 2, 0, -1, cv2.LINE_AA, shift)
        elif style.width_variation:
            _draw_pressure_stroke(canvas, xy, stroke, style, band, rng)
        else:
            cv2.polylines(canvas, [xy], False, 0, thickness, cv2.LINE_AA, shift)
    if k != 1:
        out_size = (max(1, round(width / k)), max(1, round(height / k)))
        canvas = cv2.resize(canvas, out_size, interpolation=cv2.INTER_AREA)
    return _finish(canvas, style, (baseline + pad) / k, band / k, rng)


def _distort(
    strokes: list[np.ndarray], style: InkStyle, band: float, baseline: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Writer geometry on supersampled points: aspect, slant about the baseline, baseline wobble, jitter."""
    phases = rng.uniform(0, 2 * math.pi, 2)
    wavelength = style.wobble_period * band
    out = []
    for stroke in strokes:
        x, y = stroke[:, 0].astype(np.float64), stroke[:, 1].astype(np.float64)
        x = x * style.aspect
        # Two incommensurate waves: a single sine looks too regular to pass for a drifting hand.
        wave = 0.7 * np.sin(2 * np.pi * x / wavelength + phases[0]) + 0.3 * np.sin(5.3 * x / wavelength + phases[1])
        x = x + (baseline - y) * np.tan(np.radians(style.slant))
        y = y + style.wobble * band * wave
        if style.jitter:
            noise = rng.normal(0, style.jitter * style.supersample, (len(x), 2))
            x, y = x + noise[:, 0], y + noise[:, 1]
        out.append(np.stack([x, y], axis=1).astype(np.float32))
    return out


def _draw_pressure_stroke(
    canvas: np.ndarray, xy: np.ndarray, stroke: np.ndarray, style: InkStyle, band: float, rng: np.random.Generator
) -> None:
    """Draw one stroke whose width follows a smooth pressure curve, thinner where the pen lands and lifts."""
    width, variation = style.stroke_width * style.supersample, style.width_variation
    steps = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    phases = rng.uniform(0, 2 * math.pi, 2)
    turns = 2 * np.pi * arc / band
    pressure = 0.6 * np.sin(turns / 0.8 + phases[0]) + 0.4 * np.sin(turns / 2.3 + phases[1])
    ends = np.minimum(arc, arc[-1] - arc) / (0.15 * band)
    taper = 1 - 0.5 * variation * (1 - np.clip(ends, 0, 1))
    widths = width * (1 + variation * pressure) * taper
    # cv2 lines have one width each: draw runs of segments that round to the same integer width.
    segment = np.maximum(1, np.round((widths[:-1] + widths[1:]) / 2)).astype(int)
    starts = np.flatnonzero(np.diff(segment, prepend=-1))
    for a, b in zip(starts, [*starts[1:], len(segment)], strict=True):
        cv2.polylines(canvas, [xy[a : b + 1]], False, 0, int(segment[a]), cv2.LINE_AA, 4)


def _finish(ink: np.ndarray, style: InkStyle, baseline: float, band: float, rng: np.random.Generator) -> np.ndarray:
    """Ink (uint8, 255 = no ink) on paper, then camera effects; untouched when every effect is off."""
    image = ink
    paper_effects = (style.paper_gradient, style.paper_texture, style.ruled_lines, style.blur, style.noise)
    if style.ink_level != 0 or style.paper_level != 255 or any(paper_effects):
        paper = _paper(ink.shape[0], ink.shape[1], style, baseline, band, rng)
        alpha = (255 - ink.astype(np.float32)) / 255
        out: np.ndarray = paper * (1 - alpha) + style.ink_level * alpha
        if style.blur:
            out = cv2.GaussianBlur(out, (0, 0), style.blur)
        if style.noise:
            out = out + rng.normal(0, style.noise, out.shape).astype(np.float32)
        image = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if style.jpeg_quality:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality])
        decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if ok else None
        image = image if decoded is None else decoded
    return image


def _paper(h: int, w: int, style: InkStyle, baseline: float, band: float, rng: np.random.Generator) -> np.ndarray:
    """float32 (H, W) paper: flat gray, a shading gradient, smooth texture and ruled lines."""
    paper = np.full((h, w), float(style.paper_level), np.float32)
    if style.paper_gradient:
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = xs * math.cos(angle) + ys * math.sin(angle)
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
        paper -= style.paper_gradient * ramp
    if style.paper_texture:
        # Noise on a coarse grid, upsampled smoothly: blotches about a third of a band across.
        cell = max(2.0, band / 3)
        coarse = rng.normal(0, 1, (int(h / cell) + 2, int(w / cell) + 2)).astype(np.float32)
        paper += style.paper_texture * cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    if style.ruled_lines:
        spacing = style.ruled_lines * band
        thickness = max(1, round(band / 30))
        first = baseline - math.floor(baseline / spacing) * spacing
        for y in np.arange(first, h, spacing):
            cv2.line(paper, (0, round(y)), (w - 1, round(y)), float(style.ruled_level), thickness)
    return paper
