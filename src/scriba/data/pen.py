"""Pen trajectories as point sequences for models that read the ink itself (``Preprocessing(input="pen")``).

An image model sees ink drawn as pixels; a pen model sees the points in writing order, with the
timing of the strokes that rendering throws away. :func:`pen_features` turns ink into a float32
(PEN_FEATURES, T) array, one column per point, which the dataset and models treat like a (1, H, W)
image whose height is the number of features and whose width is the number of points.

The writing is normalized from itself, as :func:`scriba.data.ink.render_ink` does: turned level
(:func:`scriba.data.ink.deskew_angle`), scaled so the band between the 5th and 95th percentile of y is 1,
and each stroke resampled at an even spacing along its length, so the units of the tablet, the
screen or IAM-OnDB and the writing speed do not matter.
"""

from __future__ import annotations

import math

import numpy as np

from scriba.data.ink import deskew_angle, turn_strokes
from scriba.data.records import Ink
from scriba.errors import DataFormatError

# Per point: dx, dy (from the previous point of the stroke, in steps), y (in band heights about the band's
# middle), pen-down (1 at a stroke's first point), jump x, jump y (from the end of the last stroke to this
# stroke's start, in band heights, clipped to +-JUMP_CLIP: a jump to the next line start says no more than "far").
PEN_FEATURES = 6
JUMP_CLIP = 5.0
# At the strongest augmentation (1.0): shear x by up to +-0.35 of y, stretch x by 0.8..1.25 and y by 0.85..1.15.
SHEAR = 0.35
X_SCALE = 1.25
Y_SCALE = 1.15


def pen_features(
    ink: Ink,
    step: float = 0.1,
    deskew: bool = True,
    rng: np.random.Generator | None = None,
    augment: float = 0.0,
    shear: float = 0.0,
    x_scale: float = 1.0,
    y_scale: float = 1.0,
) -> np.ndarray:
    """Ink -> float32 (PEN_FEATURES, T) point features (see the module docstring).

    Args:
        ink: strokes, each a (K, 2) array of x, y (y downward), in any unit.
        step: resampling distance along each stroke, in band heights (smaller: more points per letter).
        deskew: turn writing long enough to be a line so that it runs level first.
        rng: with ``augment`` above 0, draws a random shear and horizontal/vertical stretch (training).
        augment: strength of that random distortion, 0 (off) to 1.
        shear, x_scale, y_scale: a fixed distortion instead (test-time augmentation): x += -shear * y (in band
            heights; positive leans the tops of letters right), then x and y stretched by these factors.

    Raises:
        DataFormatError: the ink has no points.
    """
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in ink]
    strokes = [s[np.isfinite(s).all(axis=1)] for s in strokes]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise DataFormatError("ink has no points")
    if deskew:
        angle = deskew_angle(np.concatenate(strokes))
        if angle:
            strokes = turn_strokes(strokes, angle)
    points = np.concatenate(strokes)
    low, high = np.percentile(points[:, 1], [5, 95])
    band = max(float(high - low), float(np.ptp(points[:, 0])) / 20, 1e-6)  # a flat stroke (a dash) has no band
    middle = (low + high) / 2
    sx, sy = x_scale, y_scale
    if rng is not None and augment > 0:
        shear = float(rng.uniform(-SHEAR, SHEAR)) * augment
        sx = math.exp(float(rng.uniform(-1, 1)) * math.log(X_SCALE) * augment)
        sy = math.exp(float(rng.uniform(-1, 1)) * math.log(Y_SCALE) * augment)
    columns = []
    last_end: np.ndarray | None = None
    for stroke in strokes:
        y = (stroke[:, 1] - middle) / band
        x = stroke[:, 0] / band
        # Positive shear leans the tops of letters (negative y) to the right.
        normalized = np.stack([(x - shear * y) * sx, y * sy], axis=1)
        resampled = _resample(normalized, step)
        deltas = np.diff(resampled, axis=0, prepend=resampled[:1]) / step
        jump = np.zeros(2) if last_end is None else np.clip(resampled[0] - last_end, -JUMP_CLIP, JUMP_CLIP)
        features = np.zeros((len(resampled), PEN_FEATURES))
        features[:, 0:2] = deltas
        features[:, 2] = resampled[:, 1]
        features[0, 3] = 1.0
        features[0, 4:6] = jump
        columns.append(features)
        last_end = resampled[-1]
    return np.concatenate(columns).T.astype(np.float32)


def _resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` along the stroke's length, its first and last point included: (K, 2) -> (K', 2).

    Written with numpy's interp: no library at hand resamples polylines by arc length.
    """
    lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    total = float(lengths[-1])
    if total < step:
        return stroke[[0, -1]] if total > 0 else stroke[:1]
    at = np.append(np.arange(0.0, total, step), total)
    return np.stack([np.interp(at, lengths, stroke[:, 0]), np.interp(at, lengths, stroke[:, 1])], axis=1)


def features_to_ink(features: np.ndarray, step: float = 0.1) -> Ink:
    """The strokes that ``features`` (:func:`pen_features`' rows, T) describe, in band heights (for pictures of
    what a pen model reads, e.g. ``scriba preview``): x follows the steps and jumps (a clipped jump draws
    nearer), y is the stored height."""
    starts = np.flatnonzero(features[3] > 0.5)
    if len(starts) == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    strokes: Ink = []
    x = 0.0
    for begin, end in zip(starts, [*starts[1:], features.shape[1]], strict=True):
        x += float(features[4, begin])
        xs = x + np.cumsum(np.concatenate([[0.0], features[0, begin + 1 : end] * step]))
        strokes.append(np.stack([xs, features[2, begin:end]], axis=1).astype(np.float32))
        x = float(xs[-1])
    return strokes
