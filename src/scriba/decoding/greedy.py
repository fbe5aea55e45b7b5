"""Best-path (greedy) CTC decoding."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

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


D = TypeVar("D", bound=Decoded)


def tidy_spaces(decoded: D, space: int | None) -> D:
    """The reading without spaces at either end or right after another space (ids and confidences).

    Labels never hold such spaces (cleaning normalizes whitespace), so a reading that does is wrong there;
    a model may still emit them, e.g. on the margins of an image. ``space``: the space's id (None: the
    charset has none, nothing changes). See :func:`tidy_text` for the same on text.
    """
    if space is None or space not in decoded.ids:
        return decoded
    ids = decoded.ids
    keep: list[int] = []
    for i, label in enumerate(ids):
        if label != space or (keep and ids[keep[-1]] != space):
            keep.append(i)
    while keep and ids[keep[-1]] == space:
        keep.pop()
    return dataclasses.replace(
        decoded, ids=[ids[i] for i in keep], char_confidences=[decoded.char_confidences[i] for i in keep]
    )


def tidy_text(text: str) -> str:
    """:func:`tidy_spaces` on a decoded text: no space at either end or after another space."""
    return " ".join(part for part in text.split(" ") if part)


def greedy_decode_one(log_probs: torch.Tensor) -> Decoded:
    """:func:`greedy_decode` of one sequence's (T, C) log-probabilities."""
    return greedy_decode(log_probs[:, None], torch.tensor([log_probs.shape[0]]))[0]
