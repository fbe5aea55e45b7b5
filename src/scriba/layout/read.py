"""Read a page: find its lines, cut each out without its neighbours' ink, read them in one batch, place the words.

``Recognizer.read_page`` calls :func:`read_page`. An image with one line (or none) is read whole, exactly as
``Recognizer.read`` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from scriba.data.images import ImageLike, load_image
from scriba.data.normalize import crop_box, has_writing
from scriba.decoding.ctc import ctc_char_spans
from scriba.layout.geometry import Box, LineGeometry
from scriba.layout.page import Page, PageLine
from scriba.layout.segment import Layout, find_lines
from scriba.layout.words import word_boxes

if TYPE_CHECKING:
    import torch

    from scriba.recognizer import Reading, Recognizer

CUT_MARGIN = 0.15  # paper kept around a line's box, as a fraction of its height (4 to 24 px)
SHRINK_TO = 3  # line cuts taller than this many times the model's input height are scaled down first


def cut_line(gray: np.ndarray, layout: Layout, index: int, paper: int = 255) -> tuple[np.ndarray, Box]:
    """Line ``index`` of the page cut out: its box with a margin, other lines' ink painted over with ``paper``.

    Returns:
        the uint8 (h, w) line image and where it was cut from, (x0, y0, x1, y1) in page pixels.
    """
    x0, y0, x1, y1 = layout.lines[index].box
    pad = int(np.clip(CUT_MARGIN * (y1 - y0), 4, 24))
    h, w = gray.shape
    cut = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
    region = (slice(cut[1], cut[3]), slice(cut[0], cut[2]))
    image = gray[region].copy()
    owner = layout.owner[region]
    others = cv2.dilate(((owner != 0) & (owner != index + 1)).astype(np.uint8), np.ones((3, 3), np.uint8))
    image[(others > 0) & (owner != index + 1)] = paper
    return image, cut


def shrink(image: np.ndarray, height: int) -> tuple[np.ndarray, float]:
    """The image scaled down (area-averaged) to at most ``SHRINK_TO`` x ``height`` px tall, and the scale: the
    model scales a line to ``height`` anyway, and preprocessing (evening the light, levelling, deslanting) costs
    in proportion to the pixels (a 130 px cut took 10 ms, 2.5x a 64 px line)."""
    limit = SHRINK_TO * height
    if image.shape[0] <= limit:
        return image, 1.0
    scale = limit / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), limit)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _frame_span(recognizer: Recognizer, image: np.ndarray, cut: Box, scale: float) -> tuple[float, float]:
    """The page x of the first and last frame's edges, for the model's input made from ``image`` (``cut`` from
    the page and scaled by ``scale``): the image whole, or cropped to its ink with a margin of ``margin`` x the
    ink's height (normalizing preprocessing; its levelling and deslanting, a few pixels, are not undone)."""
    pre = recognizer.preprocessing
    box = crop_box(image) if pre.normalize or pre.margin >= 0 else None
    if box is None:
        return float(cut[0]), float(cut[2])
    top, bottom, left, right = box
    pad = (pre.margin if pre.margin >= 0 else 0.1) * (bottom - top)
    return cut[0] + (left - pad) / scale, cut[0] + (right + pad) / scale


def _readings(
    recognizer: Recognizer, prepared: list[np.ndarray], batch_size: int
) -> list[tuple[Reading, torch.Tensor]]:
    """Each input's reading (decoded as ``read`` decodes) and (T, C) log-probabilities, the network run once
    (twice with test-time augmentation, whose reading combines variants)."""
    from scriba.recognizer import Reading

    log_probs = recognizer.log_probs(prepared, batch_size)
    if recognizer.tta is not None:
        return list(zip(recognizer.read_prepared(prepared, batch_size), log_probs, strict=True))
    return [
        (recognizer.decode_log_probs(lp) if has_writing(x) else Reading("", 0.0, []), lp)
        for x, lp in zip(prepared, log_probs, strict=True)
    ]


def read_page(recognizer: Recognizer, image: ImageLike, batch_size: int = 32) -> Page:
    """Read a page or paragraph image line by line (see :meth:`scriba.recognizer.Recognizer.read_page`).

    Raises:
        ImageError: missing, empty or undecodable image.
        InputKindError: the model reads pen trajectories, not images.
    """
    gray = load_image(image)
    name = Path(image).name if isinstance(image, str | Path) else None
    return read_layout(recognizer, gray, find_lines(gray), batch_size, name)


def read_layout(
    recognizer: Recognizer, gray: np.ndarray, layout: Layout, batch_size: int = 32, name: str | None = None
) -> Page:
    """Read the lines ``layout`` found in the uint8 (H, W) image ``gray`` (``name``: the image file's name).

    With one line or none, the image is read whole, exactly as ``Recognizer.read`` reads it.
    """
    h, w = gray.shape
    if len(layout.lines) > 1:
        paper = int(np.percentile(gray[::4, ::4], 90))
        pieces = [cut_line(gray, layout, i, paper) for i in range(len(layout.lines))]
        cuts = [(*shrink(image, recognizer.preprocessing.height), cut) for image, cut in pieces]
        geometries = layout.lines
    else:
        cuts = [(gray, 1.0, (0, 0, w, h))]
        whole = LineGeometry((0, 0, w, h), [(0, 0), (w, 0), (w, h), (0, h)], [], h / 2)
        geometries = layout.lines or [whole]
    prepared = [recognizer.prepare(image) for image, _, _ in cuts]
    lines = []
    for k, ((reading, log_probs), (cut_image, scale, cut), geometry) in enumerate(
        zip(_readings(recognizer, prepared, batch_size), cuts, geometries, strict=True)
    ):
        ids = recognizer.charset.encode(reading.text, unknown="drop") if reading.text else []
        spans = ctc_char_spans(log_probs, ids) if ids else None
        words = []
        if spans is not None:
            y0, y1 = geometry.box[1], geometry.box[3]
            ink = layout.owner[y0:y1] == k + 1 if layout.lines else np.zeros((h, w), bool)
            span = _frame_span(recognizer, cut_image, cut, scale)
            words = word_boxes(reading.text, ids, spans, log_probs.shape[0], span, ink, y0)
        baseline = geometry.baseline or None
        lines.append(PageLine(reading.text, reading.confidence, geometry.box, geometry.polygon, baseline, words))
    return Page(lines, w, h, name)
