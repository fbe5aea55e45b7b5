"""CTC scores of given texts: batched likelihoods and the best alignment's character confidences."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from scriba.decoding.ctc import ctc_char_confidences, ctc_log_likelihoods, summed_scores

NUM_CLASSES = 4


def _random_frames(frames: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(frames, NUM_CLASSES, generator=generator).mul(2).log_softmax(-1)


def _collapse(path: tuple[int, ...]) -> list[int]:
    return [label for label, _ in itertools.groupby(path) if label != 0]


def test_likelihoods_match_one_at_a_time_ctc_and_are_minus_infinity_when_a_text_cannot_fit() -> None:
    variants = [_random_frames(6, 0), _random_frames(4, 1)]
    texts = [(1,), (1, 2), (2, 2), (1, 2, 3), (3, 3, 3)]  # (3, 3, 3) needs 5 frames: not in the 4-frame variant
    scores = ctc_log_likelihoods(variants, texts)
    assert scores.shape == (2, 5)
    for i, lp in enumerate(variants):
        for j, text in enumerate(texts):
            loss = F.ctc_loss(lp[:, None], torch.tensor([text]), torch.tensor([lp.shape[0]]),
                              torch.tensor([len(text)]), reduction="sum")  # fmt: skip
            assert float(scores[i, j]) == pytest.approx(-float(loss), rel=1e-5)
    assert scores[1, 4] == float("-inf") and torch.isfinite(scores[0]).all()
    # Summed over variants, the text the short variant cannot hold gets that variant's worst finite score.
    summed = summed_scores(variants, texts)
    assert float(summed[4]) == pytest.approx(float(scores[0, 4] + scores[1, :4].min()))
    assert float(summed[0]) == pytest.approx(float(scores[:, 0].sum()))


def test_char_confidences_follow_the_best_alignment() -> None:
    """Against brute force: every frame labelling that collapses to the text, the most likely one."""
    for seed, text in itertools.product(range(6), [(1,), (1, 2), (2, 2), (1, 3, 1)]):
        lp = _random_frames(6, seed)
        paths = [p for p in itertools.product(range(NUM_CLASSES), repeat=6) if _collapse(p) == list(text)]
        best = max(paths, key=lambda p: sum(float(lp[t, c]) for t, c in enumerate(p)))
        # Each character's peak probability over the frames of its run on that path.
        expected, k = [], -1
        for t, (label, previous) in enumerate(zip(best, (0, *best[:-1]), strict=True)):
            if label != 0 and label != previous:
                expected.append(0.0)
                k += 1
            if label != 0:
                expected[k] = max(expected[k], float(lp[t, label].exp()))
        assert ctc_char_confidences(lp, text) == pytest.approx(expected, rel=1e-5)


def test_char_confidences_of_an_empty_or_impossible_text() -> None:
    lp = _random_frames(3, 0)
    assert ctc_char_confidences(lp, []) == []
    assert ctc_char_confidences(lp, [1, 1, 1]) is None  # needs 5 frames
