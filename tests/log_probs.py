"""Hand-made CTC log-probabilities for decoder tests."""

from __future__ import annotations

import torch

from scriba.charset import Charset


def frames(charset: Charset, rows: list[dict[str, float]], floor: float = 1e-4) -> torch.Tensor:
    """(T, C) log-probs from per-frame probabilities of some characters; the rest of each frame's mass goes to
    the blank, and every other class gets ``floor`` (before renormalizing)."""
    probs = torch.full((len(rows), charset.num_classes), floor)
    for t, row in enumerate(rows):
        for char, p in row.items():
            probs[t, charset.encode(char)[0]] = p
        probs[t, 0] = max(floor, 1 - sum(row.values()))
    return (probs / probs.sum(-1, keepdim=True)).log()
