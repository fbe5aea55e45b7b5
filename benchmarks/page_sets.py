"""Pages with known lines, built from ../shared/data for benchmarks/bench_pages.py.

- ``iam_lines_pages``: the lines of one `iam_lines` form with consecutive line numbers, stacked into a paragraph
  as written (some touching: descenders over the next line), each indented a little, on a page with margins and
  a little noise, two pages in three turned by up to 3 degrees.
- ``ondb_pages``: IAM-OnDB forms rendered whole from their pen strokes (the lines sit where the writer wrote
  them on the whiteboard), every line's box known from its strokes.

Each page comes with its lines cut by hand (each line drawn alone on the page and cut out), the reference for
the page's CER, and for `iam_lines` the dataset's own line images too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scriba.data.images import load_image
from scriba.data.ink import split_strokes
from scriba.data.normalize import crop_box, rotation

Box = tuple[int, int, int, int]


@dataclass
class PageSample:
    """A page image (uint8 (H, W)), its lines' boxes (x0, y0, x1, y1) and texts in reading order (None: a line
    not to score, e.g. IAM-OnDB's lines with #/* markers), each line cut by hand from the page (drawn alone on
    the page, turned with it, cut out with 8 px of paper) and, for `iam_lines`, the dataset's own line images."""

    name: str
    image: np.ndarray
    boxes: list[Box]
    texts: list[str | None]
    cut_lines: list[np.ndarray]
    original_lines: list[np.ndarray] | None = None


def _turn(page: np.ndarray, boxes: list[Box], angle: float, paper: int) -> tuple[np.ndarray, list[Box]]:
    """The page turned ``angle`` degrees counter-clockwise (canvas grown) and each box's corners with it."""
    matrix, size = rotation(page.shape[0], page.shape[1], angle)
    turned = cv2.warpAffine(page, matrix, size, flags=cv2.INTER_LINEAR, borderValue=paper)
    out = []
    for x0, y0, x1, y1 in boxes:
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ matrix.T
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        out.append((int(lo[0]), int(lo[1]), int(np.ceil(hi[0])), int(np.ceil(hi[1]))))
    return turned, out


def _paragraphs(labels: Path, split: str) -> list[list[tuple[Path, str]]]:
    """Runs of consecutive line numbers of one form (2 lines or more), in order."""
    rows: dict[str, list[tuple[int, Path, str]]] = {}
    with labels.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            match = re.fullmatch(r"images/(.+)-(\d+)\.png", row["path"])
            if row["split"] == split and match:
                rows.setdefault(match[1], []).append((int(match[2]), labels.parent / row["path"], row["text"]))
    out = []
    for form in sorted(rows):
        run: list[tuple[int, Path, str]] = []
        for item in sorted(rows[form]):
            if run and item[0] != run[-1][0] + 1:
                out.append(run)
                run = []
            run.append(item)
        out.append(run)
    return [[(p, t) for _, p, t in run] for run in out if len(run) >= 2]


def iam_lines_pages(root: Path, split: str = "val", seed: int = 0) -> Iterator[PageSample]:
    """Paragraphs of `iam_lines` (see the module's docstring); the first page of each form is upright."""
    rng = np.random.default_rng(seed)
    for k, paragraph in enumerate(_paragraphs(root / "labels.csv", split)):
        lines = [load_image(path) for path, _ in paragraph]
        # The scan's paper to the page's tone, grey patches kept: the line's paper (90th percentile) -> 245.
        lines = [np.clip(g.astype(np.float32) * (245.0 / max(np.percentile(g, 90), 1.0)), 0, 255) for g in lines]
        margin = int(rng.integers(40, 120))
        indents = rng.integers(0, 40, len(lines))
        width = max(g.shape[1] + i for g, i in zip(lines, indents, strict=True)) + 2 * margin
        gaps = rng.integers(-14, 10, len(lines))  # negative: the line's crop overlaps the one above
        height = sum(g.shape[0] + int(d) for g, d in zip(lines, gaps, strict=True)) + 2 * margin
        noise = rng.normal(0, 3, (height, width)).astype(np.float32)
        page = np.full((height, width), 245.0, np.float32)
        alone = []  # each line on the page by itself: what a perfect hand would cut out of the page
        boxes: list[Box] = []
        y = margin
        for g, indent, gap in zip(lines, indents, gaps, strict=True):
            y = max(margin, y + int(gap))
            x = margin + int(indent)
            region = (slice(y, y + g.shape[0]), slice(x, x + g.shape[1]))
            page[region] = np.minimum(page[region], g)
            paper = np.full((height, width), 245.0, np.float32)
            paper[region] = g
            alone.append(paper)
            top, bottom, left, right = crop_box(g.astype(np.uint8)) or (0, g.shape[0], 0, g.shape[1])
            boxes.append((x + left, y + top, x + right, y + bottom))
            y += g.shape[0]
        angle = 0.0 if k % 3 == 0 else float(rng.uniform(-3, 3))
        image = _uint8(page + noise)
        cut = [_uint8(paper + noise) for paper in alone]
        if angle:
            image, turned_boxes = _turn(image, boxes, angle, 245)
            cut = [_turn(c, boxes, angle, 245)[0] for c in cut]
            boxes = turned_boxes
        cut = [
            c[max(0, y0 - 8) : y1 + 8, max(0, x0 - 8) : x1 + 8] for c, (x0, y0, x1, y1) in zip(cut, boxes, strict=True)
        ]
        originals = [load_image(path) for path, _ in paragraph]
        yield PageSample(paragraph[0][0].stem[:-3], image, boxes, [t for _, t in paragraph], cut, originals)


def _uint8(page: np.ndarray) -> np.ndarray:
    return np.clip(page, 0, 255).astype(np.uint8)


def _draw(strokes: list[np.ndarray], size: tuple[int, int], stroke: float, k: int = 3) -> np.ndarray:
    """Strokes (already in output pixels) drawn at k x and downsampled with antialiasing: uint8 (H, W)."""
    w, h = size
    canvas = np.full((h * k, w * k), 255, np.uint8)
    shift = 4
    for s in strokes:
        xy = np.round(s * k * (1 << shift)).astype(np.int32)
        cv2.polylines(canvas, [xy], False, 0, max(1, round(stroke * k)), cv2.LINE_AA, shift)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)


def photograph(page: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A page as a careless photo or scan would give it, the same for the same ``seed``: light falling off to
    75% across the page in a random direction, grey paper, blur (sigma 0.8 px), noise (sigma 6 grey levels) and
    JPEG at quality 40; then turned by -3..3 degrees. Returns the uint8 image, the (2, 3) turn (to move boxes
    with) and the angle."""
    rng = np.random.default_rng(seed)
    h, w = page.shape
    direction = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = xs * np.cos(direction) / w + ys * np.sin(direction) / h
    light = 1.0 - 0.25 * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    paper = page.astype(np.float32) * (235.0 / 255.0) * light
    paper = cv2.GaussianBlur(paper, (0, 0), 0.8) + rng.normal(0, 6, page.shape).astype(np.float32)
    ok, jpeg = cv2.imencode(".jpg", np.clip(paper, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert ok
    image = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
    angle = float(rng.uniform(-3, 3))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turned = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=int(np.median(image)))
    return turned, matrix, angle


def _moved(box: Box, matrix: np.ndarray) -> Box:
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ matrix.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return int(lo[0]), int(lo[1]), int(np.ceil(hi[0])), int(np.ceil(hi[1]))


def ondb_pages(
    root: Path, split: str = "testset_t", band: float = 32.0, photographed: bool = False
) -> Iterator[PageSample]:
    """IAM-OnDB forms rendered whole (see the module's docstring): scaled so that the lines' median 5th-95th
    percentile band of y is ``band`` px, pen 2.6 px, 30 px of paper around the writing; ``photographed``: each
    page and each line drawn alone on it made into the same careless photo (:func:`photograph`)."""
    with np.load(root / "strokes.npz") as data:
        points, offsets, ids = data["points"], data["line_offsets"], data["line_ids"]
    index = {str(line_id): i for i, line_id in enumerate(ids)}
    forms: dict[str, list[tuple[str, str | None]]] = {}
    with (root / "lines.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] == split:
                text = row["text"] if row["flag"] == "ok" else None
                forms.setdefault(row["form_id"], []).append((row["line_id"], text))
    for form, rows in sorted(forms.items()):
        rows.sort()
        inks = [split_strokes(points[offsets[index[i]] : offsets[index[i] + 1]]) for i, _ in rows]
        bands = [np.subtract(*np.percentile(np.concatenate(ink)[:, 1], [95, 5])) for ink in inks]
        scale = band / max(float(np.median(bands)), 1e-6)
        everything = np.concatenate([np.concatenate(ink) for ink in inks])
        origin = everything.min(axis=0) - 30 / scale
        placed = [[(s - origin) * scale for s in ink] for ink in inks]
        extent = (everything.max(axis=0) - origin) * scale + 30
        size = (int(extent[0]), int(extent[1]))
        seed = int.from_bytes(form.encode()[-4:], "little")
        image = _draw([s for ink in placed for s in ink], size, 2.6)
        if photographed:
            image, matrix, _ = photograph(image, seed)
        boxes, cut = [], []
        for ink in placed:
            pts = np.concatenate(ink)
            (x0, y0), (x1, y1) = np.floor(pts.min(axis=0) - 1.3), np.ceil(pts.max(axis=0) + 1.3)
            box: Box = (int(x0), int(y0), int(x1), int(y1))
            alone = _draw(ink, size, 2.6)
            if photographed:
                alone, _, _ = photograph(alone, seed)
                box = _moved(box, matrix)
            boxes.append(box)
            x0, y0, x1, y1 = box
            cut.append(alone[max(0, y0 - 8) : y1 + 8, max(0, x0 - 8) : x1 + 8])
        yield PageSample(form, image, boxes, [t for _, t in rows], cut)
