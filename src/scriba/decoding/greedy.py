"""Best-path (greedy) CTC decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from scriba.charset import BLANK


@dataclass
class Decoded:
    """One decoded sequence.

    Attributes:
        ids: character ids (no blanks, repeats collapsed).
        confidence: geometric mean of the characters' peak probabilities (for an empty result:
            the mean probability of blank), in [0, 1].
        char_confidences: each character's peak probability.
    """

    ids: list[int]
    confidence: float
    char_confidences: list[float]


def greedy_decode(log_probs: torch.Tensor, output_lengths: torch.Tensor) -> list[Decoded]:
    """Take the most likely class per frame, merge repeats, drop blanks.

    Args:
        log_probs: (T, N, C) log-probabilities.
        output_lengths: (N,) valid frames per sequence.

    Returns:
        N decoded sequences.
    """
    best_log_probs, best = log_probs.detach().float().max(dim=-1)  # (T, N)
    best_log_probs, best = best_log_probs.cpu(), best.cpu()
    results = []
    for n, length in enumerate(output_lengths.tolist()):
        path = best[:length, n].tolist()
        probs = best_log_probs[:length, n].exp().tolist()
        ids: list[int] = []
        peaks: list[float] = []
        previous = BLANK
        for label, p in zip(path, probs, strict=True):
            if label != BLANK and label != previous:
                ids.append(label)
                peaks.append(p)
            elif label != BLANK and p > peaks[-1]:
                peaks[-1] = p  # the same character held over several frames: keep its peak
            previous = label
        confidence = float(torch.tensor(peaks).log().mean().exp()) if peaks else float(sum(probs) / max(len(probs), 1))
        results.append(Decoded(ids, confidence, peaks))
    return results


def greedy_decode_one(log_probs: torch.Tensor) -> Decoded:
    """:func:`greedy_decode` of one sequence's (T, C) log-probabilities."""
    return greedy_decode(log_probs[:, None], torch.tensor([log_probs.shape[0]]))[0]
