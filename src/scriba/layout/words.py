"""Words of a line reading with their boxes, from the best CTC alignment of the reading to the frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scriba.layout.page import PageWord


def word_boxes(
    text: str,
    ids: Sequence[int],
    spans: Sequence[tuple[int, int, float]],
    frames: int,
    x_range: tuple[float, float],
    ink_rows: np.ndarray,
    y_offset: int,
) -> list[PageWord]:
    """The words of ``text`` (whose characters are ``ids``, aligned to ``spans`` of ``frames`` frames) with boxes.

    Args:
        x_range: the page x of the first frame's left edge and the last frame's right edge.
        ink_rows: bool (h, W) ink of the line over the page's columns from x = 0, rows from ``y_offset``: a
            word's y is its ink's extent over its columns (the line's where it has none, all h rows without ink).
    """
    if len(text) != len(ids) or len(ids) != len(spans):
        return []
    left, right = x_range
    per_frame = (right - left) / max(frames, 1)
    words: list[PageWord] = []
    start = 0
    for end in [*(i for i, c in enumerate(text) if c == " "), len(text)]:
        if end > start:
            first, last = spans[start][0], spans[end - 1][1]
            x0, x1 = int(left + first * per_frame), int(np.ceil(left + (last + 1) * per_frame))
            rows = np.flatnonzero(ink_rows[:, max(0, x0) : max(x0 + 1, x1)].any(axis=1))
            if not len(rows):
                rows = np.flatnonzero(ink_rows.any(axis=1))
            top, bottom = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, ink_rows.shape[0])
            y0, y1 = top + y_offset, bottom + y_offset
            peaks = np.array([max(s[2], 1e-9) for s in spans[start:end]])
            confidence = float(np.exp(np.log(peaks).mean()))
            words.append(PageWord(text[start:end], confidence, (x0, y0, x1, y1)))
        start = end + 1
    return words
