"""Test-time augmentation: the variants it reads and how it picks among their readings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scriba.data.images import Preprocessing
from scriba.data.pen import pen_features
from scriba.decoding import ImageTestTimeAugmentation as TTA
from scriba.decoding import PenTestTimeAugmentation as PenTTA
from scriba.decoding import greedy_decode
from scriba.decoding.tta import PAPER

NUM_CLASSES = 5


def _frames(path: list[int], peak: float = 0.9) -> torch.Tensor:
    """(T, C) log-probs whose best class at frame t is path[t] with probability ``peak``."""
    probs = torch.full((len(path), NUM_CLASSES), (1 - peak) / (NUM_CLASSES - 1))
    probs[torch.arange(len(path)), torch.tensor(path)] = peak
    return probs.log()


def _log_likelihood(log_probs: torch.Tensor, text: list[int]) -> float:
    """log p(text | one variant), one CTC computation at a time (the reference for the batched scorer)."""
    if not text:
        return float(log_probs[:, 0].sum())
    loss = F.ctc_loss(log_probs[:, None], torch.tensor([text]), torch.tensor([log_probs.shape[0]]),
                      torch.tensor([len(text)]), reduction="sum")  # fmt: skip
    return -float(loss)


def _frames_needed(text: list[int]) -> int:
    """CTC needs a frame per character plus a blank between repeated ones."""
    return len(text) + sum(a == b for a, b in itertools.pairwise(text))


def test_variants_stretch_and_shift() -> None:
    image = np.full((32, 40), PAPER, np.uint8)
    image[10:20, 5:35] = 0
    tta = TTA()
    variants = tta.variants(image)
    assert len(variants) == len(tta) == 9
    assert np.array_equal(variants[0], image)  # the base variant comes first, untouched
    assert [v.shape for v in variants] == [(32, 40)] * 3 + [(32, 32)] * 3 + [(32, 50)] * 3
    up, down = variants[1], variants[2]
    assert np.array_equal(up[9:19], image[10:20]) and (up[19] == PAPER).all()
    assert np.array_equal(down[11:21], image[10:20]) and (down[10] == PAPER).all()
    assert all(v.dtype == np.uint8 for v in variants)


def test_shift_scales_with_height() -> None:
    image = np.full((64, 20), PAPER, np.uint8)
    image[30] = 0
    up = TTA(widths=(1.0,), shifts=(-1 / 32,)).variants(image)[0]
    assert (up[28] == 0).all() and (up[30] == PAPER).all()


def test_combine_picks_the_reading_with_the_best_summed_likelihood() -> None:
    tta = TTA(widths=(1.0,), shifts=(0.0, 0.1, -0.1))
    # The first variant weakly reads "1 2"; the other two read "1 3" firmly.
    variants = [_frames([1, 0, 2, 0], 0.4), _frames([1, 1, 0, 3], 0.9), _frames([1, 0, 3, 3], 0.9)]
    best = tta.combine(variants)
    assert best.ids == [1, 3]
    proposals = [[1, 2], [1, 3]]
    sums = [sum(_log_likelihood(v, p) for v in variants) for p in proposals]
    assert proposals[int(np.argmax(sums))] == best.ids
    # Confidences come from a variant that proposed the winner.
    assert best.char_confidences == pytest.approx([0.9, 0.9])


def test_combine_agrees_with_one_at_a_time_scoring_across_widths() -> None:
    tta = TTA(widths=(1.0, 0.8, 1.25), shifts=(0.0,))
    generator = torch.Generator().manual_seed(0)
    checked = 0
    for _ in range(30):
        blank_bias = torch.tensor([2.0] + [0.0] * (NUM_CLASSES - 1))  # mostly blanks, as trained models emit
        variants = [
            (torch.randn(n, NUM_CLASSES, generator=generator) * 2 + blank_bias).log_softmax(-1) for n in (12, 10, 15)
        ]
        proposals = [greedy_decode(v[:, None], torch.tensor([v.shape[0]]))[0].ids for v in variants]
        if any(_frames_needed(p) > v.shape[0] for p in proposals for v in variants):
            continue  # a reading too long for some variant: covered by the next test
        sums = [sum(_log_likelihood(v, p) for v in variants) for p in proposals]
        best = tta.combine(variants)
        assert best.ids in proposals
        assert sum(_log_likelihood(v, best.ids) for v in variants) == pytest.approx(max(sums), rel=1e-4)
        checked += 1
    assert checked >= 10


def test_a_variant_too_short_for_a_reading_does_not_veto_it() -> None:
    tta = TTA(widths=(1.0, 0.25), shifts=(0.0,))
    long_reading = _frames([1, 0, 2, 0, 3, 0, 4, 0], 0.95)  # "1 2 3 4"
    short = _frames([1], 0.5)  # one frame: only one character fits
    assert tta.combine([long_reading, short]).ids == [1, 2, 3, 4]


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="widths"):
        TTA(widths=(0.1,))
    with pytest.raises(ValueError, match="shifts"):
        TTA(shifts=(0.6,))
    with pytest.raises(ValueError, match="at least one"):
        TTA(widths=())
    with pytest.raises(ValueError, match="expected 9"):
        TTA().combine([_frames([1])])


def test_pen_variants_are_the_ink_distorted_first_as_written() -> None:
    t = np.linspace(0, 1, 40)
    ink = [np.stack([30 * t, 50 + 15 * np.sin(6 * t)], axis=1), np.stack([40 + 20 * t, 40 + 30 * t], axis=1)]
    preprocessing = Preprocessing(input="pen", height=6, pen_step=0.1)
    tta = PenTTA()
    variants = tta.variants(ink, preprocessing)
    assert len(variants) == len(tta) == 7
    np.testing.assert_array_equal(variants[0], pen_features(ink, 0.1))
    for (shear, x_scale, y_scale), variant in zip(tta.distortions, variants, strict=True):
        np.testing.assert_array_equal(variant, pen_features(ink, 0.1, shear=shear, x_scale=x_scale, y_scale=y_scale))
    assert len({v.tobytes() for v in variants}) == 7


@pytest.mark.parametrize("distortions", [(), ((2.0, 1.0, 1.0),), ((0.0, 0.1, 1.0),), ((0.0, 1.0, 5.0),)])
def test_pen_distortions_out_of_range_are_refused(distortions: tuple[tuple[float, float, float], ...]) -> None:
    with pytest.raises(ValueError, match=r"variant|shear"):
        PenTTA(distortions)


def test_pen_combine_picks_the_reading_with_the_best_summed_likelihood() -> None:
    tta = PenTTA(((0.0, 1.0, 1.0), (0.1, 1.0, 1.0), (0.0, 1.2, 1.0)))
    # Variants of different lengths (a stretched ink has more points): two read "1 3" firmly, one "1 2" weakly.
    variants = [_frames([1, 0, 2, 0], 0.4), _frames([1, 1, 0, 3, 3], 0.9), _frames([1, 0, 3, 3, 0, 0], 0.9)]
    assert tta.combine(variants).ids == [1, 3]
    with pytest.raises(ValueError, match="expected 3 variants"):
        tta.combine(variants[:2])
