"""Pen trajectories (ink) to images.

Ink is a list of strokes, each a (K, 2) array of x, y points with y growing downward, in any unit:
rendering normalizes the scale from the writing itself, so tablet units, screen pixels and
IAM-OnDB's raw units all render alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scriba.data.records import Ink
from scriba.errors import DataFormatError


@dataclass(frozen=True)
class InkStyle:
    """How ink is drawn.

    Args:
        band_height: pixels between the 5th and 95th percentile of y (about the x-height plus
            ascenders/descenders of a typical line).
        padding: paper around the writing, in pixels.
        stroke_width: pen width in output pixels.
        supersample: drawing is done this many times larger, then downsampled with antialiasing.
    """

    band_height: float = 40.0
    padding: int = 8
    stroke_width: float = 2.6
    supersample: int = 3


def split_strokes(points: np.ndarray) -> Ink:
    """IAM-OnDB points (N, 3) = x, y, pen_up_after_this_point -> list of (K, 2) float strokes."""
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataFormatError(f"ink points must be (N, 3) x, y, pen_up; got shape {points.shape}")
    ends = np.flatnonzero(points[:, 2]) + 1
    strokes = np.split(points[:, :2].astype(np.float32), ends)
    return [s for s in strokes if len(s)]


def render_ink(strokes: Ink, style: InkStyle | None = None) -> np.ndarray:
    """Draw strokes as dark ink on white paper.

    Args:
        strokes: list of (K, 2) arrays (x, y), y downward.
        style: drawing parameters; defaults read well for IAM-OnDB.

    Returns:
        uint8 array (H, W), ink dark on a light background.

    Raises:
        DataFormatError: no points at all.
    """
    style = style or InkStyle()
    strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in strokes]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise DataFormatError("ink has no points")
    points = np.concatenate(strokes)
    low, high = np.percentile(points[:, 1], [5, 95])
    span = max(float(high - low), 1e-6)
    if span < 1e-3:  # a single dot or a flat line: fall back to the overall extent
        span = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1.0) / 4
    k = style.supersample
    scale = style.band_height / span * k
    origin = points.min(axis=0)
    pad = style.padding * k
    extent = (points.max(axis=0) - origin) * scale
    width, height = int(np.ceil(extent[0])) + 2 * pad + 1, int(np.ceil(extent[1])) + 2 * pad + 1
    canvas = np.full((height, width), 255, np.uint8)
    thickness = max(1, round(style.stroke_width * k))
    # cv2 draws with integer coordinates; 4 fractional bits keep sub-pixel detail at the supersampled scale.
    shift = 4
    for stroke in strokes:
        xy = np.round(((stroke - origin) * scale + pad) * (1 << shift)).astype(np.int32)
        if len(xy) == 1:
            cv2.circle(canvas, tuple(xy[0]), (thickness << shift) // 2, 0, -1, cv2.LINE_AA, shift)
        else:
            cv2.polylines(canvas, [xy], False, 0, thickness, cv2.LINE_AA, shift)
    if k == 1:
        return canvas
    out_size = (max(1, round(width / k)), max(1, round(height / k)))
    return cv2.resize(canvas, out_size, interpolation=cv2.INTER_AREA)
