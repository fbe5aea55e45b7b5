"""Input normalization for images of paper: even light, cropped to the writing, a line turned level, slant undone.

Applied by :meth:`scriba.data.images.Preprocessing.apply` when ``normalize`` is on, to every image a model
trains on and reads (scans, photos, rendered ink and synthetic handwriting alike), so a photo with a wide
margin, a tilt, a shadow or light ink on a dark board reaches the network framed like its training data.
All functions take and return uint8 grayscale, dark ink on light paper (``load_image`` inverts light-on-dark
images before this). Written with OpenCV and numpy: each step is a few array operations, ~1 ms a line.
"""

from __future__ import annotations

import cv2
import numpy as np

# Turning is tried within +-MAX_ANGLE degrees in ANGLE_STEP steps, for writing at least LINE_ASPECT times as
# wide as tall (a line; a word's narrowest band is found at any angle, as the ink deskew found for words).
MAX_ANGLE, ANGLE_STEP, LINE_ASPECT = 8.0, 0.5, 4.0
SHEARS = np.arange(-0.7, 0.71, 0.1)  # slant is searched as a horizontal shear dx = s * dy (s = tan of the slant)
MAX_POINTS = 1500  # ink pixels sampled for the angle and slant searches (their cost, not their answer)


def percentiles(values: np.ndarray, qs: list[float]) -> list[np.ndarray]:
    """The ``qs`` percentiles along the last axis, exactly as ``np.percentile(values, qs, axis=-1)`` computes
    them (linear interpolation), from one ``np.partition`` at just the order statistics they need: 2-3x faster
    on the few thousand values a line gives, where numpy's generic path costs more than the partition."""
    n = values.shape[-1]
    positions = [q / 100 * (n - 1) for q in qs]
    lows = [int(np.floor(p)) for p in positions]
    kth = sorted({k for low in lows for k in (low, min(low + 1, n - 1))})
    part = np.partition(values, kth, axis=-1)
    out = []
    for position, low in zip(positions, lows, strict=True):
        a, b, t = part[..., low], part[..., min(low + 1, n - 1)], position - low
        difference = b - a
        out.append(b - difference * (1 - t) if t >= 0.5 else a + difference * t)  # numpy's two-sided lerp
    return out


def otsu_ink(gray: np.ndarray) -> np.ndarray | None:
    """The ink of a dark-on-light image as a uint8 0/1 mask (Otsu's threshold), or None for blank paper
    (less than 32 gray levels between darkest and lightest), where Otsu's threshold would split noise."""
    if float(gray.max()) - float(gray.min()) < 32:
        return None
    return cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]


def even_light(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's light (shadows, grey patches, uneven scans) and stretch the contrast.

    The paper's brightness at each pixel is a grey-level closing (the brightest value within a window larger
    than a stroke is wide), blurred; the image over it puts paper at 255 whatever the light. Then the darkest
    1% of the pixels (the ink's core) go to 0. Images with no contrast are returned as they are.
    """
    h, w = gray.shape
    if min(h, w) < 3 or int(gray.max()) - int(gray.min()) < 32:
        return gray
    size = max(9, (min(h, 3 * w) // 3) | 1)  # a third of the height: wider than any stroke of a framed line
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    paper = cv2.blur(cv2.morphologyEx(gray, cv2.MORPH_CLOSE, kernel), (size, size)).astype(np.float32)
    flat = np.clip(gray.astype(np.float32) / np.maximum(paper, 1.0) * 255.0, 0, 255)
    ink = float(percentiles(flat.ravel(), [1])[0])
    if ink > 200:  # almost no ink: leave the levels alone rather than stretch the paper's grain
        return flat.astype(np.uint8)
    return np.clip((flat - ink) * (255.0 / (255.0 - ink)), 0, 255).astype(np.uint8)


def ink_mask(gray: np.ndarray) -> np.ndarray | None:
    """Ink pixels (uint8 0/1: Otsu's threshold, specks of one pixel opened away), or None for blank paper."""
    ink = otsu_ink(gray)
    if ink is None:
        return None
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return ink if ink.any() else None


def has_writing(gray: np.ndarray) -> bool:
    """Whether an image holds something to read: not blank paper, not a few pixels, not noise.

    Noise (a camera's grain, a random image) thresholds into a maze of ink pieces and paper holes: 24-28 in each
    square as large as the image is tall at a model's 32-px input (hundreds at a photo's size), where writing
    has a few per letter: at most 6.6 on the 1,842 real IAM lines and the 564 Kaggle names, preprocessed for
    `english` and `names`. More than 15 is noise.
    """
    h, w = gray.shape
    if min(h, w) < 8:
        return False
    ink = ink_mask(gray)
    if ink is None:
        return False
    pieces = cv2.connectedComponents(ink, connectivity=8)[0] - 1
    holes = cv2.connectedComponents(1 - ink, connectivity=4)[0] - 1
    squares = max(1.0, w / h)
    return (pieces + holes) / squares <= 15


def crop_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the ink, bottom and right exclusive; None without ink."""
    ink = ink_mask(gray)
    if ink is None:
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def crop_with_margin(gray: np.ndarray, margin: float, paper: int = 255) -> np.ndarray:
    """Crop to the ink and pad ``margin`` x the ink's height of paper (gray level ``paper``) on every side
    (unchanged without ink)."""
    box = crop_box(gray)
    if box is None:
        return gray
    top, bottom, left, right = box
    crop = gray[top:bottom, left:right]
    pad = round(margin * crop.shape[0])
    return cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)


def _ink_points(ink: np.ndarray) -> np.ndarray:
    """(K, 2) float32 x, y of ink pixels, an even sample of at most MAX_POINTS."""
    ys, xs = np.nonzero(ink)
    step = max(1, len(xs) // MAX_POINTS)
    return np.column_stack([xs[::step], ys[::step]]).astype(np.float32)


def _bands(centred: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """The 5th-95th percentile spread of y after cv2's rotation by each of ``angles`` (degrees)."""
    radians = np.deg2rad(angles)
    ys = -np.sin(radians)[:, None] * centred[None, :, 0] + np.cos(radians)[:, None] * centred[None, :, 1]
    low, high = percentiles(ys, [5, 95])
    return np.asarray(high - low)


def line_angle(gray: np.ndarray) -> float:
    """The angle (degrees, counter-clockwise as ``cv2.getRotationMatrix2D`` takes it) that turns a line level:
    the one whose band of ink (5th to 95th percentile of y) is narrowest, searched in 1-degree steps and then
    half a degree either side. 0 for writing shorter than a line."""
    ink = ink_mask(gray)
    if ink is None:
        return 0.0
    points = _ink_points(ink)
    spread = points.max(axis=0) - points.min(axis=0)
    if spread[0] < LINE_ASPECT * max(spread[1], 1.0) or len(points) < 50:
        return 0.0
    centred = points - points.mean(axis=0)
    coarse = np.arange(-MAX_ANGLE, MAX_ANGLE + 1e-6, 1.0)
    bands = _bands(centred, coarse)
    # Among angles within 2% of the narrowest band, the one nearest 0: a level line is not turned by noise.
    near = np.flatnonzero(bands <= bands.min() * 1.02)
    best = float(coarse[near[np.argmin(np.abs(coarse[near]))]])
    fine = np.array([best - ANGLE_STEP, best, best + ANGLE_STEP])
    fine_bands = _bands(centred, fine)
    return float(fine[1] if fine_bands[1] <= fine_bands.min() * 1.02 else fine[np.argmin(fine_bands)])


def rotation(height: int, width: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The (2, 3) affine matrix that turns a ``height`` x ``width`` image ``angle`` degrees counter-clockwise
    about its centre onto a canvas large enough for all of it, and that canvas's (width, height)."""
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos))
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return matrix, (new_w, new_h)


def rotate(gray: np.ndarray, angle: float) -> np.ndarray:
    """Turn an image ``angle`` degrees counter-clockwise on a canvas large enough for all of it, filled with paper."""
    if angle == 0:
        return gray
    matrix, size = rotation(gray.shape[0], gray.shape[1], angle)
    return cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def slant(gray: np.ndarray) -> float:
    """The slant of the strokes as a shear s (dx = s * dy, y downward; :func:`shear` by -s undoes it):
    the median direction of the near-vertical stroke edges, from the image's gradients (an edge's tangent is
    perpendicular to its gradient). 0 without enough such edges or within 0.05 of upright."""
    if min(gray.shape) < 8 or int(gray.max()) - int(gray.min()) < 32:
        return 0.0
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    gx2, gy2 = cv2.multiply(gx, gx), cv2.multiply(gy, gy)
    squared = cv2.add(gx2, gy2)  # |gradient| > 0.25 max  <=>  squared > 0.0625 max of squared
    edges = (squared > 0.0625 * float(squared.max())) & (gx2 > 2.25 * gy2)  # |gx| > 1.5 |gy|
    picked = np.flatnonzero(edges)
    if len(picked) < 30:
        return 0.0
    s = float(np.median(-gy.ravel()[picked] / gx.ravel()[picked]))
    return 0.0 if abs(s) < 0.05 else float(np.clip(s, -1.0, 1.0))


def shear(gray: np.ndarray, s: float) -> np.ndarray:
    """Shear horizontally by ``s`` (dx = s * (y - centre)) on a canvas wide enough for all of it."""
    if s == 0:
        return gray
    h, w = gray.shape
    extra = int(np.ceil(abs(s) * h / 2))
    matrix = np.array([[1, s, extra - s * h / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(
        gray, matrix, (w + 2 * extra, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )


def normalize_image(gray: np.ndarray, margin: float = 0.1, deslant: bool = False) -> np.ndarray:
    """Even light, crop to the writing, turn a line level, (optionally) undo its slant, crop again.

    Args:
        gray: uint8 (H, W), dark ink on light paper.
        margin: paper kept around the writing, as a fraction of its height.
        deslant: shear the strokes upright (:func:`slant`).

    Returns:
        uint8 (H', W'), the writing framed by ``margin``; an image without writing (:func:`has_writing`: blank
        paper, a speck, noise) comes back as white paper of its size, which reads as nothing.
    """
    if not has_writing(gray):
        return np.full_like(gray, 255)
    gray = crop_with_margin(even_light(gray), margin)
    angle = line_angle(gray)
    if angle:
        gray = crop_with_margin(rotate(gray, angle), margin)
    if deslant:
        s = slant(gray)
        if s:
            gray = crop_with_margin(shear(gray, -s), margin)
    return gray
