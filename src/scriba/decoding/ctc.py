"""CTC scores of given texts: likelihoods over all alignments, and the single best alignment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from scriba.charset import BLANK


def ctc_log_likelihoods(log_probs: Sequence[torch.Tensor], texts: Sequence[Sequence[int]]) -> torch.Tensor:
    """(len(log_probs), len(texts)) log p(text | frames) for every pair, summed over all CTC alignments.

    Args:
        log_probs: one or more (T_k, C) log-probabilities (e.g. variants of one image), any lengths.
        texts: character ids (no blanks).

    Returns:
        -inf where a text cannot fit the frames (too long, counting the blanks repeats need).
    """
    k, m = len(log_probs), len(texts)
    frames = max(lp.shape[0] for lp in log_probs)
    padded = torch.zeros(frames, k, log_probs[0].shape[1])
    for i, lp in enumerate(log_probs):
        padded[: lp.shape[0], i] = lp.detach().float()
    inputs = padded.repeat_interleave(m, dim=1)  # (T, k*m): variant-major, text-minor
    input_lengths = torch.tensor([lp.shape[0] for lp in log_probs]).repeat_interleave(m)
    longest = max(1, max(len(t) for t in texts))
    targets = torch.ones(m, longest, dtype=torch.long)
    for j, text in enumerate(texts):
        targets[j, : len(text)] = torch.tensor(list(text), dtype=torch.long)
    target_lengths = torch.tensor([len(t) for t in texts])
    with torch.no_grad():
        loss = F.ctc_loss(
            inputs, targets.repeat(k, 1), input_lengths, target_lengths.repeat(k), reduction="none", zero_infinity=False
        )
    return -loss.view(k, m)


def summed_scores(log_probs: Sequence[torch.Tensor], texts: Sequence[Sequence[int]]) -> torch.Tensor:
    """(len(texts),) CTC log-likelihoods summed over the variants ``log_probs``.

    A text too long for one variant's frames gets that variant's worst finite score, so one short
    variant does not veto an otherwise good reading; a variant no text fits adds nothing.
    """
    return worst_for_unfit(ctc_log_likelihoods(log_probs, texts)).sum(0)


def worst_for_unfit(scores: torch.Tensor) -> torch.Tensor:
    """(variants, texts) log-likelihoods with each row's -inf (a text that does not fit) replaced by that
    row's worst finite score, and a row without any by 0, so that no one variant vetoes a text (in place)."""
    for i in range(scores.shape[0]):
        finite = torch.isfinite(scores[i])
        if not finite.any():
            scores[i] = 0.0
        else:
            scores[i, ~finite] = scores[i, finite].min()
    return scores


def ctc_char_confidences(log_probs: torch.Tensor, ids: Sequence[int]) -> list[float] | None:
    """Each character's peak probability on the best (Viterbi) CTC alignment of ``ids`` to (T, C) frames.

    What greedy decoding reports for its own reading, for any given text (e.g. a lexicon entry); None
    when the text cannot fit the frames.
    """
    spans = ctc_char_spans(log_probs, ids)
    return None if spans is None else [peak for _, _, peak in spans]


def ctc_char_spans(log_probs: torch.Tensor, ids: Sequence[int]) -> list[tuple[int, int, float]] | None:
    """For each character of ``ids``: (first frame, last frame, peak probability) on the best (Viterbi) CTC
    alignment to the (T, C) log-probabilities; None when the text cannot fit the frames.

    A few lines of numpy: the trellis is (T, 2L+1) and T is a few hundred at most, so a library (torchaudio,
    absent here) would not be faster.
    """
    lp = log_probs.detach().float().cpu().numpy()
    frames, n = lp.shape[0], len(ids)
    if n == 0:
        return []
    states = np.full(2 * n + 1, BLANK, np.int64)
    states[1::2] = ids
    # A character state may be entered from two states back when it differs from that character.
    skip = np.zeros(2 * n + 1, bool)
    skip[3::2] = states[3::2] != states[1:-2:2]
    score = np.full(2 * n + 1, -np.inf)
    score[:2] = lp[0, states[:2]]
    back = np.zeros((frames, 2 * n + 1), np.int8)  # 0: stay, 1: from previous state, 2: skip one
    for t in range(1, frames):
        stay, step = score, np.concatenate([[-np.inf], score[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        options = np.stack([stay, step, jump])
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
    return [(int(first), int(last), peak) for first, last, peak in spans]
