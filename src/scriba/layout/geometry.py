"""The shape of one text line from its ink pixels: box, outline polygon, baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[int, int]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1 and y1 exclusive


@dataclass
class LineGeometry:
    """Where a line of writing lies on the page (pixels, y downward).

    Attributes:
        box: (x0, y0, x1, y1) around the line's ink, x1 and y1 exclusive.
        polygon: the outline, clockwise from the top left: the top of the ink left to right, then its bottom
            right to left (per slice a letter wide).
        baseline: two points, left and right ends of the line the letters sit on.
        centre_y: the line's centre (least-squares fit of its ink) at the page's middle: the reading order key.
    """

    box: Box
    polygon: list[Point]
    baseline: list[Point]
    centre_y: float


def line_geometry(xs: np.ndarray, ys: np.ndarray, letter: float, page_width: int) -> LineGeometry:
    """Geometry of a line from its ink pixels' coordinates (K,) each, a letter's height and the page's width."""
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    step = max(4, round(letter))
    slices = (xs - x0) // step
    order = np.argsort(slices, kind="stable")
    sorted_slices, sorted_ys = slices[order], ys[order]
    cuts = np.flatnonzero(np.diff(sorted_slices)) + 1
    top, bottom = np.minimum.reduceat(sorted_ys, np.r_[0, cuts]), np.maximum.reduceat(sorted_ys, np.r_[0, cuts])
    lefts = x0 + sorted_slices[np.r_[0, cuts]] * step
    rights = np.minimum(lefts + step, x1)
    upper: list[Point] = []
    lower: list[Point] = []
    for left, right, t, b in zip(lefts.tolist(), rights.tolist(), top.tolist(), bottom.tolist(), strict=True):
        upper += [(left, t), (right, t)]
        lower += [(left, b + 1), (right, b + 1)]
    ring = upper + lower[::-1]
    polygon = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]  # no point twice in a row
    if np.ptp(xs) > 0:
        slope, intercept = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)
    else:
        slope, intercept = 0.0, float(ys.mean())
    # The letters' feet: most ink lies above them, descenders (a sixth of a line's ink or less) below.
    below = float(np.percentile(ys - (slope * xs + intercept), 85))
    baseline = [
        (x0, int(np.clip(round(slope * x0 + intercept + below), y0, y1 - 1))),
        (x1 - 1, int(np.clip(round(slope * (x1 - 1) + intercept + below), y0, y1 - 1))),
    ]
    return LineGeometry((x0, y0, x1, y1), polygon, baseline, float(slope * page_width / 2 + intercept))


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
