"""Generated page images with known lines, for the layout tests: text drawn with cv2, each line on its own canvas
so that its true ink box (after any turn) is exact."""

from __future__ import annotations

import cv2
import numpy as np

from scriba.layout.geometry import Box

LINES = [
    "the quick brown fox jumps",
    "over a lazy dog: pack my box",
    "with five dozen liquor jugs",
    "how vexingly quick daft zebras",
    "jump; sphinx of black quartz",
    "judge my vow, gypsy joy",
]
FONT = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX


def _ink_box(canvas: np.ndarray) -> Box:
    ys, xs = np.nonzero(canvas < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _turn(canvas: np.ndarray, angle: float) -> np.ndarray:
    h, w = canvas.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(canvas, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def left(k: int) -> int:
    """Where line k starts: lines are indented by 0, 12 or 24 px from x = 60."""
    return 60 + 12 * (k % 3)


def word_spans(lines: list[str] = LINES, scale: float = 1.3) -> list[list[tuple[int, int]]]:
    """Each line's words' x extents (x0, x1) on an upright :func:`make_page`, from cv2's text widths."""
    spans = []
    for k, text in enumerate(lines):
        start, out = 0, []
        for word in text.split(" "):
            x0 = cv2.getTextSize(text[:start], FONT, scale, 2)[0][0] if start else 0
            x1 = cv2.getTextSize(text[: start + len(word)], FONT, scale, 2)[0][0]
            out.append((left(k) + x0, left(k) + x1))
            start += len(word) + 1
        spans.append(out)
    return spans


def make_page(
    lines: list[str] = LINES,
    spacing: float = 1.0,
    angle: float = 0.0,
    ruled: bool = False,
    header: str | None = None,
    scale: float = 1.3,
    size: tuple[int, int] = (900, 620),
) -> tuple[np.ndarray, list[Box]]:
    """A uint8 (H, W) page: ``lines`` of script text with ``spacing`` x 48 px between baselines (at scale 1.3),
    turned ``angle`` degrees counter-clockwise; ``ruled``: grey rules under every line across the page;
    ``header``: a printed line above them. Returns the page and each text line's true ink box, top to bottom
    (the header first when there is one)."""
    w, h = size
    page = np.full((h, w), 255, np.uint8)
    canvases = []
    top = 70
    if header is not None:
        canvas = np.full((h, w), 255, np.uint8)
        cv2.putText(canvas, header, (60, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2, cv2.LINE_AA)
        canvases.append(canvas)
        top = 110
    step = round(48 * spacing * scale / 1.3)
    for k, text in enumerate(lines):
        canvas = np.full((h, w), 255, np.uint8)
        baseline = top + 30 + k * step
        cv2.putText(canvas, text, (left(k), baseline), FONT, scale, 0, 2, cv2.LINE_AA)
        canvases.append(canvas)
        if ruled:
            cv2.line(page, (0, baseline + 4), (w - 1, baseline + 4), 170, 1)
    if angle:
        canvases = [_turn(c, angle) for c in canvases]
        page = _turn(page, angle)
    boxes = [_ink_box(c) for c in canvases]
    for canvas in canvases:
        page = np.minimum(page, canvas)
    return page, boxes
