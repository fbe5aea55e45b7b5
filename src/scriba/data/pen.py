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
# With ``air`` (the pen's path between strokes, ``Preprocessing.pen_air``): a 7th feature, 1 on the points sampled
# along the straight line from one stroke's end to the next stroke's start while the pen is lifted, 0 on the ink.
PEN_AIR_FEATURES = 7
JUMP_CLIP = 5.0
# With ``context`` k (``Preprocessing.pen_context``): k * k more features per point, a map of the ink around it.
CONTEXT_SIZES = (0, 3, 5, 7, 9)
# A context cell's value is the length of ink in it over the cell's side, clipped here (a stroke crossing: ~1).
CONTEXT_CLIP = 3.0
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
    air: float = 0.0,
    context: int = 0,
    context_cell: float = 0.25,
) -> np.ndarray:
    """Ink -> float32 (PEN_FEATURES, T) point features (see the module docstring); with ``air``,
    (PEN_AIR_FEATURES, T) with the lifted pen's path as points too; with ``context``, ``context ** 2`` more
    rows (:func:`pen_feature_count`).

    Args:
        ink: strokes, each a (K, 2) array of x, y (y downward), in any unit.
        step: resampling distance along each stroke, in band heights (smaller: more points per letter).
        deskew: turn writing long enough to be a line so that it runs level first.
        rng: with ``augment`` above 0, draws a random shear and horizontal/vertical stretch (training).
        augment: strength of that random distortion, 0 (off) to 1.
        shear, x_scale, y_scale: a fixed distortion instead (test-time augmentation): x += -shear * y (in band
            heights; positive leans the tops of letters right), then x and y stretched by these factors.
        air: 0 (off), or the spacing in band heights of points put on the straight line between one stroke's
            end and the next one's start (at most ``JUMP_CLIP / air`` of them a jump), flagged by a 7th
            feature: their steps (dx, dy, in units of ``air``) and heights show where the pen went between
            strokes, e.g. the gap between words or the way back to dot an i, as points the model reads in
            order, where otherwise a stroke's first point alone holds the jump.
        context: 0 (off), or an odd k (``CONTEXT_SIZES``): per point a k x k map of the ink around it
            (:func:`_context_maps`), whatever the order it was written in. The dot of an i or the bar of a t
            is often written after the whole word, hundreds of points after the stem it belongs to; the map
            shows it beside the stem, as a drawing would (the "context map" of online handwriting
            recognizers, e.g. Graves et al. 2009 on IAM-OnDB).
        context_cell: the side of a context map's cell, in band heights.

    Raises:
        DataFormatError: the ink has no points.
        ValueError: a ``context`` not in ``CONTEXT_SIZES`` or a cell that is not positive.
    """
    if context not in CONTEXT_SIZES or context_cell <= 0:
        raise ValueError(
            f"pen context must be one of {CONTEXT_SIZES} with a positive cell, got {context}, {context_cell}"
        )
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
    places = []  # each column's point, for the context maps
    ink_places = []  # the points on the ink (not the lifted pen's), which the maps show
    width = PEN_AIR_FEATURES if air > 0 else PEN_FEATURES
    last_end: np.ndarray | None = None
    for stroke in strokes:
        y = (stroke[:, 1] - middle) / band
        x = stroke[:, 0] / band
        # Positive shear leans the tops of letters (negative y) to the right.
        normalized = np.stack([(x - shear * y) * sx, y * sy], axis=1)
        resampled = _resample(normalized, step)
        deltas = np.diff(resampled, axis=0, prepend=resampled[:1]) / step
        jump = np.zeros(2) if last_end is None else np.clip(resampled[0] - last_end, -JUMP_CLIP, JUMP_CLIP)
        if air > 0 and last_end is not None:
            flown, flown_at = _air_points(last_end, resampled[0], air)
            columns.append(flown)
            places.append(flown_at)
        features = np.zeros((len(resampled), width))
        features[:, 0:2] = deltas
        features[:, 2] = resampled[:, 1]
        features[0, 3] = 1.0
        features[0, 4:6] = jump
        columns.append(features)
        places.append(resampled)
        ink_places.append(resampled)
        last_end = resampled[-1]
    table = np.concatenate(columns)
    if context:
        maps = _context_maps(np.concatenate(places), np.concatenate(ink_places), step, context, context_cell)
        table = np.concatenate([table, maps], axis=1)
    return table.T.astype(np.float32)


def pen_feature_count(air: bool = False, context: int = 0) -> int:
    """Rows of :func:`pen_features`' output: 6, 7 with the lifted pen's path, plus ``context ** 2``."""
    return (PEN_AIR_FEATURES if air else PEN_FEATURES) + context * context


def _context_maps(at: np.ndarray, ink: np.ndarray, step: float, size: int, cell: float) -> np.ndarray:
    """(len(at), size * size) maps of the ``ink`` points (resampled every ``step``) around each point of ``at``:
    the plane is cut into square cells of side ``cell``; a point's map is the size x size cells about its own
    (row by row, top first), each the length of ink in it over ``cell``, clipped to CONTEXT_CLIP.

    Written with numpy: a 2-D histogram and fancy indexing, O(points * size^2); no library gives this map."""
    radius = size // 2
    # Cells counted from the writing's top left corner, so that the maps do not change where the ink lies.
    origin = np.minimum(at.min(0), ink.min(0))
    cells = np.floor((ink - origin) / cell).astype(np.int64) + radius
    at_cells = np.floor((at - origin) / cell).astype(np.int64) + radius
    width, height = np.maximum(cells.max(0), at_cells.max(0)) + radius + 1
    grid = np.zeros((int(height), int(width)))
    np.add.at(grid, (cells[:, 1], cells[:, 0]), step / cell)
    np.minimum(grid, CONTEXT_CLIP, out=grid)
    offsets = np.arange(-radius, radius + 1)
    around_y = at_cells[:, 1, None, None] + offsets[None, :, None]
    around_x = at_cells[:, 0, None, None] + offsets[None, None, :]
    return grid[around_y, around_x].reshape(len(at), size * size)


def _air_points(start: np.ndarray, end: np.ndarray, air: float) -> tuple[np.ndarray, np.ndarray]:
    """(K, PEN_AIR_FEATURES) features of points evenly spread between two strokes, the ends left out: one per
    ``air`` of the distance (K may be 0), at most ``JUMP_CLIP / air``, so a longer jump gets them farther apart;
    and the (K, 2) points."""
    distance = float(np.hypot(*(end - start)))
    count = min(int(distance / air), int(JUMP_CLIP / air))
    if count == 0:
        return np.zeros((0, PEN_AIR_FEATURES)), np.zeros((0, 2))
    at = np.arange(1, count + 1)[:, None] / (count + 1)
    points = start + at * (end - start)
    features = np.zeros((count, PEN_AIR_FEATURES))
    features[:, 0:2] = np.diff(points, axis=0, prepend=start[None]) / air
    features[:, 2] = points[:, 1]
    features[:, 6] = 1.0
    return features, points


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


def features_to_ink(features: np.ndarray, step: float = 0.1, air: bool | None = None) -> Ink:
    """The strokes that ``features`` (:func:`pen_features`' rows, T) describe, in band heights (for pictures of
    what a pen model reads, e.g. ``scriba preview``): x follows the steps and jumps (a clipped jump draws
    nearer), y is the stored height. The lifted pen's points (``air``; None: the features have exactly
    PEN_AIR_FEATURES rows) are left out: the jumps hold where it went. Context maps are not needed."""
    if air is None:
        air = features.shape[0] == PEN_AIR_FEATURES
    if air:
        features = features[:, features[6] < 0.5]
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
