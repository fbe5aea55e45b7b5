"""Find the text lines of a page or paragraph image: classical, in a few array operations (~25-50 ms a page).

1. Ink (:func:`.profile.find_ink`): the paper's light divided out, Otsu's threshold, ruled lines removed.
2. Skew: the angle within +-6 degrees whose horizontal projection of the ink is sharpest.
3. Lines: peaks of the projection along that angle (smoothed over a third of a letter's height), at least
   0.6 letter apart with the profile dipping below 0.8 of the lower peak between them.
4. Connected components join the nearest line: vertical distance to its centre line, plus a quarter of their
   distance beyond its ends. Each line is refitted to its components (its slope within 3 degrees of the page's,
   its ends those of its main run of writing) and the components reassigned, six times. Twice, a line whose
   components fall into two groups 0.4 line spacing apart or more is split in two (a small, faint line under
   a bold one, which the projection showed as one peak), and writing stacked half a spacing under (or over)
   the line's other writing over the same stretch becomes a line of its own (a short last line, a word or two).
5. A component reaching across the centres of two lines where both run (touching lines) is cut pixel by pixel.

The result is a :class:`Layout`: lines in reading order (top to bottom) with box, polygon and baseline, and the
map of which ink pixel belongs to which line (to cut a line out without its neighbours' ascenders and
descenders). Measured in docs/pages.md (benchmarks/bench_pages.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from scriba.layout.geometry import LineGeometry, line_geometry
from scriba.layout.profile import estimate_skew, find_ink, find_peaks, sample_points, smooth

SPLIT_APART = 0.4  # a line's components in two groups this many line spacings apart are two lines
RUN_GAP = 4.0  # letters: a gap this wide in a line ends its run of writing (what lies beyond is another's)
STRAY_INK = (
    0.15  # share of a line's ink that writing stacked under it needs (chosen on iam_lines train, IAM-OnDB testset_v)
)
STRAY_OFF = 0.5  # line spacings: a piece this much farther from a line's centre than one it is stacked on
BEYOND_WEIGHT = 0.25  # how much a point's distance beyond a line's ends counts against it, vs. its distance across


@dataclass
class Layout:
    """The lines found in a page image.

    Attributes:
        lines: in reading order.
        owner: int32 (H, W): for each ink pixel the index + 1 of the line it belongs to, 0 for paper and for
            ink that is no line's (ruled lines, specks).
        skew: the page's skew in degrees (positive: lines fall to the right, y grows downward).
    """

    lines: list[LineGeometry]
    owner: np.ndarray
    skew: float


MIN_PAGE_HEIGHT = 100  # px: a shorter image is never read as a page (see is_page)


def may_be_page(gray: np.ndarray) -> bool:
    """Whether an image is tall enough to be a page at all: a line or word image (the 64 px `iam_lines`) is
    not, and skips :func:`find_lines` (2-5 ms an image) in ``scriba read``."""
    return gray.shape[0] >= MIN_PAGE_HEIGHT


def is_page(layout: Layout) -> bool:
    """Whether an image is clearly a page (read it as one) rather than a line, a word or a form field.

    Three lines or more, of a median height of 16 px or more, on an image 100 px tall or more. Measured on
    ../shared/data with :func:`find_lines`: the 1,842 `iam_lines` lines give 1 or 2 lines; 61 of the 564 Kaggle
    name crops give 3 (a printed label, the name and pieces at the edges, ~10 px each, on crops under 75 px);
    1 of the 3,900 `doctor` word crops gives 3 (69 px tall); the pages of benchmarks/bench_pages.py give 3 to
    11 lines of at least 47 px.
    """
    if len(layout.lines) < 3 or not may_be_page(layout.owner):
        return False
    return float(np.median([line.box[3] - line.box[1] for line in layout.lines])) >= 16


def page_layout(gray: np.ndarray) -> Layout | None:
    """The lines of an image that is clearly a page (:func:`is_page`), else None; an image too short to be one
    (:func:`may_be_page`) is not searched for lines."""
    if not may_be_page(gray):
        return None
    layout = find_lines(gray)
    return layout if is_page(layout) else None


def find_lines(gray: np.ndarray) -> Layout:
    """The text lines of a uint8 (H, W) dark-on-light image, in reading order (top to bottom).

    An image without ink has no lines; an image of one line has one.
    """
    h, w = gray.shape
    owner = np.zeros((h, w), np.int32)
    ink = find_ink(gray)
    if ink is None:
        return Layout([], owner, 0.0)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    areas, heights = stats[1:, cv2.CC_STAT_AREA], stats[1:, cv2.CC_STAT_HEIGHT]
    solid = areas >= 8
    if not solid.any():
        return Layout([], owner, 0.0)
    # Letter height: the median height of the larger pieces (dots, commas and specks would pull it down).
    big = areas >= max(8.0, float(np.percentile(areas[solid], 50)))
    letter = float(np.median(heights[big]))
    ys, xs = np.nonzero(np.isin(labels, np.flatnonzero(solid) + 1))
    xs_s, ys_s = sample_points(ys, xs, np.random.default_rng(0))
    skew = estimate_skew(xs_s, ys_s, max(2.0, letter / 4))
    slope = math.tan(math.radians(skew))
    offset = float(slope * w) if slope > 0 else 0.0
    projected = ys_s - slope * xs_s + offset
    profile = np.bincount(projected.astype(np.int64), minlength=int(h + abs(slope) * w + 2)).astype(np.float64)
    profile = smooth(profile, max(1.5, letter / 3))
    peaks = find_peaks(profile, 0.6 * letter)
    spacing = float(np.median(np.diff(peaks))) if len(peaks) > 1 else 1.5 * letter
    # Each line: y = slope * x + intercept, over x0..x1 (where its components are; at first everywhere).
    centres = [Centre(slope, p - offset, -math.inf, math.inf) for p in peaks]
    keep = np.flatnonzero(solid) + 1
    left, width = stats[keep, cv2.CC_STAT_LEFT], stats[keep, cv2.CC_STAT_WIDTH]
    pieces = Pieces(
        centroids[keep, 0],
        centroids[keep, 1],
        areas[keep - 1].astype(np.float64),
        left,
        left + width,
        heights[keep - 1],
    )
    for step in range(6):
        owners = pieces.nearest(centres)
        centres = [_refit(pieces[owners == k], c, slope, RUN_GAP, letter) for k, c in enumerate(centres)]
        if step in (2, 3):  # after the fits settle: two lines the profile saw as one (a faint one under a bold)
            owners = pieces.nearest(centres)
            centres = [part for k, c in enumerate(centres) for part in _split_double(pieces[owners == k], c, spacing)]
            owners = pieces.nearest(centres)
            centres = [part for k, c in enumerate(centres) for part in _split_stray(pieces[owners == k], c, spacing)]
    assigned = pieces.nearest(centres)
    lut = np.zeros(count, np.int32)
    lut[keep] = assigned + 1
    owner = lut[labels]
    _split_spanning(owner, labels, stats, keep, centres)
    _drop_specks(owner, letter)
    return _ordered_layout(owner, letter, skew, w)


class Centre(NamedTuple):
    """A line's centre line ``y = slope * x + intercept`` and the x range ``x0..x1`` its writing covers."""

    slope: float
    intercept: float
    x0: float
    x1: float


@dataclass
class Pieces:
    """Connected components of ink: centres ``cx``, ``cy``, ``areas`` (pixels), x extents ``left``..``right`` and
    ``heights``, each (K,)."""

    cx: np.ndarray
    cy: np.ndarray
    areas: np.ndarray
    left: np.ndarray
    right: np.ndarray
    heights: np.ndarray

    def __getitem__(self, mask: np.ndarray) -> Pieces:
        return Pieces(
            self.cx[mask], self.cy[mask], self.areas[mask], self.left[mask], self.right[mask], self.heights[mask]
        )

    def __len__(self) -> int:
        return len(self.cx)

    def nearest(self, centres: list[Centre]) -> np.ndarray:
        """(K,) the index of each piece's line: see :func:`_nearest_line`."""
        return _nearest_line(self.cx, self.cy, centres)


def _nearest_line(cx: np.ndarray, cy: np.ndarray, centres: list[Centre]) -> np.ndarray:
    """(K,) the index of the line nearest each point: vertical distance to its centre line, plus a quarter of
    the horizontal distance beyond the line's ends (the tail of a drifting line is not a short line's)."""
    lines = np.array(centres)  # (L, 4)
    distance = np.abs(cy[:, None] - (lines[None, :, 0] * cx[:, None] + lines[None, :, 1]))
    beyond = np.maximum(np.maximum(lines[None, :, 2] - cx[:, None], cx[:, None] - lines[None, :, 3]), 0)
    return np.asarray((distance + BEYOND_WEIGHT * beyond).argmin(axis=1))


def _refit(pieces: Pieces, centre: Centre, slope: float, run_gap: float, letter: float) -> Centre:
    """A line refitted to its pieces: its x range is the run of pieces (none more than ``run_gap`` of the line's
    own letter heights from the next: lines of small and large writing share a page) with the most ink, its centre
    line the area-weighted least-squares fit to them, its slope within 3 degrees of the page's; the old centre
    where there are none. ``letter``: the page's letter height, for a line of too few pieces to have its own."""
    if len(pieces) == 0:
        return centre
    big = pieces.areas >= 0.5 * float(np.median(pieces.areas))
    gap = run_gap * (float(np.median(pieces.heights[big])) if big.sum() >= 3 else letter)
    order = np.argsort(pieces.left, kind="stable")
    reach = np.maximum.accumulate(pieces.right[order])
    breaks = np.flatnonzero(pieces.left[order[1:]] - reach[:-1] > gap) + 1
    run = pieces[max(np.split(order, breaks), key=lambda r: float(pieces.areas[r].sum()))]
    x0, x1 = float(run.left.min()) - gap / 2, float(run.right.max()) + gap / 2
    cx, cy, weights = run.cx, run.cy, run.areas
    if len(cx) < 3 or np.ptp(cx) < 1e-3:
        return Centre(slope, float(np.average(cy - slope * cx, weights=weights)), x0, x1)
    fitted = np.polyfit(cx, cy, 1, w=np.sqrt(weights))
    limit = math.tan(math.radians(3.0))
    s = float(np.clip(fitted[0], slope - limit, slope + limit))
    return Centre(s, float(np.average(cy - s * cx, weights=weights)), x0, x1)


def _split_double(pieces: Pieces, centre: Centre, spacing: float) -> list[Centre]:
    """A line's centre, or two when its components' offsets from it fall into two groups (the best 2-means split)
    whose means are half a line spacing apart or more, with a gap of 0.15 spacing between them, each with at
    least 3 components and 15% of the ink."""
    cx, cy, weights = pieces.cx, pieces.cy, pieces.areas
    if len(cx) < 6:
        return [centre]
    s, b = centre.slope, centre.intercept
    offsets = cy - (s * cx + b)
    order = np.argsort(offsets)
    d, wt = offsets[order], weights[order]
    cw, cwd = np.cumsum(wt), np.cumsum(wt * d)
    total, total_d = cw[-1], cwd[-1]
    best, cut = np.inf, -1
    for i in range(2, len(d) - 3):  # groups d[: i + 1] and d[i + 1 :], each of 3 or more
        m1, m2 = cwd[i] / cw[i], (total_d - cwd[i]) / (total - cw[i])
        spread = float(np.sum(wt[: i + 1] * (d[: i + 1] - m1) ** 2) + np.sum(wt[i + 1 :] * (d[i + 1 :] - m2) ** 2))
        if spread < best:
            best, cut = spread, i
    m1, m2 = cwd[cut] / cw[cut], (total_d - cwd[cut]) / (total - cw[cut])
    clean = d[cut + 1] - d[cut] >= 0.15 * spacing  # a gap between the groups, not a spread of one
    if not clean or m2 - m1 < SPLIT_APART * spacing or min(cw[cut], total - cw[cut]) < 0.15 * total:
        return [centre]
    xs = cx[order]
    reach = np.ptp(xs)
    if min(np.ptp(xs[: cut + 1]), np.ptp(xs[cut + 1 :])) < 0.25 * reach:  # each group runs along the line
        return [centre]
    return [centre._replace(intercept=b + float(m1)), centre._replace(intercept=b + float(m2))]


def _split_stray(pieces: Pieces, centre: Centre, spacing: float) -> list[Centre]:
    """A line's centre, plus one for writing stacked under (or over) it: pieces of writing (not dots: a fifth of
    the median piece's ink or more) that share half their width with a piece of the line nearer its centre and
    STRAY_OFF line spacings or more above (below) them (a short last line, a word or two, tucked under a long
    one: the projection shows it as no peak of its own). Kept when they hold STRAY_INK of the line's ink or more."""
    if len(pieces) < 2:
        return [centre]
    weights = pieces.areas
    offsets = pieces.cy - (centre.slope * pieces.cx + centre.intercept)
    big = np.flatnonzero(weights >= 0.2 * float(np.median(weights)))
    widths = pieces.right - pieces.left
    stray = np.zeros(len(pieces), bool)
    for i in big:
        overlap = np.minimum(pieces.right[big], pieces.right[i]) - np.maximum(pieces.left[big], pieces.left[i])
        shared = overlap >= 0.5 * np.minimum(widths[big], widths[i])
        apart = np.sign(offsets[i]) * (offsets[i] - offsets[big]) >= STRAY_OFF * spacing
        stray[i] = bool((shared & apart & (np.abs(offsets[i]) > np.abs(offsets[big]))).any())
    extra = []
    for side in (1.0, -1.0):
        group = stray & (np.sign(offsets) == side)
        if float(weights[group].sum()) >= STRAY_INK * float(weights.sum()):
            mean = float(np.average(offsets[group], weights=weights[group]))
            extra.append(centre._replace(intercept=centre.intercept + mean))
    return [centre, *extra]


def _split_spanning(
    owner: np.ndarray, labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, centres: list[Centre]
) -> None:
    """Pieces that reach across the centres of two lines (lines that touch), where both lines' writing runs,
    are cut: each pixel goes to the nearest of those lines' centres (in place)."""
    if len(centres) < 2:
        return
    lines = np.array(centres)  # (L, 4)
    for label in keep:
        x, y, cw, ch = stats[label, :4]
        mid = x + cw / 2
        at = lines[:, 0] * mid + lines[:, 1]
        inside = np.flatnonzero((at > y) & (at < y + ch) & (lines[:, 2] <= mid) & (mid <= lines[:, 3]))
        if len(inside) < 2:
            continue
        box = (slice(y, y + ch), slice(x, x + cw))
        py, px = np.nonzero(labels[box] == label)
        gx, gy = px + x, py + y
        spanned = lines[inside]
        distance = np.abs(gy[:, None] - (spanned[None, :, 0] * gx[:, None] + spanned[None, :, 1]))
        owner[gy, gx] = inside[distance.argmin(axis=1)] + 1


def _drop_specks(owner: np.ndarray, letter: float) -> None:
    """Lines with less ink than a tenth of a letter's square (a speck the profile mistook for a line) are no
    lines: their pixels go back to 0 (in place)."""
    totals = np.bincount(owner.ravel())
    for k in np.flatnonzero(totals[1:] < 0.1 * letter * letter) + 1:
        owner[owner == k] = 0


def _ordered_layout(owner: np.ndarray, letter: float, skew: float, width: int) -> Layout:
    """Lines renumbered in reading order (centre at the page's middle, top to bottom) with their geometry."""
    ys, xs = np.nonzero(owner)
    ids = owner[ys, xs]
    order = np.argsort(ids, kind="stable")
    ys, xs, ids = ys[order], xs[order], ids[order]
    starts = np.searchsorted(ids, np.unique(ids))
    bounds = [*starts.tolist(), len(ids)]
    found = []
    for a, b in itertools.pairwise(bounds):
        found.append((int(ids[a]), line_geometry(xs[a:b], ys[a:b], letter, width)))
    found.sort(key=lambda item: item[1].centre_y)
    renumber = np.zeros(int(owner.max()) + 1, np.int32)
    for new, (old, _) in enumerate(found, start=1):
        renumber[old] = new
    owner[:] = renumber[owner]
    return Layout([geometry for _, geometry in found], owner, skew)
