"""Words of a line reading with their boxes, from the best CTC alignment of the reading to the frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from scriba.charset import BLANK
from scriba.layout.page import PageWord


def char_frames(log_probs: torch.Tensor, ids: Sequence[int]) -> list[tuple[int, int, float]] | None:
    """For each character of ``ids``: (first frame, last frame, peak probability) on the best (Viterbi) CTC
    alignment to the (T, C) log-probabilities; None when the text cannot fit the frames.

    The same trellis as :func:`scriba.decoding.ctc.ctc_char_confidences` ((T, 2L+1), a few ms a line),
    keeping every frame's state instead of the peaks only.
    """
    lp = log_probs.detach().float().cpu().numpy()
    frames, n = lp.shape[0], len(ids)
    if n == 0:
        return []
    states = np.full(2 * n + 1, BLANK, np.int64)
    states[1::2] = ids
    skip = np.zeros(2 * n + 1, bool)
    skip[3::2] = states[3::2] != states[1:-2:2]
    score = np.full(2 * n + 1, -np.inf)
    score[:2] = lp[0, states[:2]]
    back = np.zeros((frames, 2 * n + 1), np.int8)  # 0: stay, 1: from the previous state, 2: skip a blank
    for t in range(1, frames):
        step = np.concatenate([[-np.inf], score[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        options = np.stack([score, step, jump])
        back[t] = options.argmax(0)
        score = options.max(0) + lp[t, states]
    state = 2 * n if score[2 * n] >= score[2 * n - 1] else 2 * n - 1
    if not np.isfinite(score[state]):
        return None
    spans: list[list[float]] = [[frames, -1, 0.0] for _ in range(n)]
    for t in range(frames - 1, -1, -1):
        if state % 2 == 1:
            span = spans[state // 2]
            span[0], span[1] = min(span[0], t), max(span[1], t)
            span[2] = max(span[2], float(np.exp(lp[t, states[state]])))
        state -= int(back[t, state])
    return [(int(a), int(b), p) for a, b, p in spans]


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
