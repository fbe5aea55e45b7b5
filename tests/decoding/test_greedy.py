from __future__ import annotations

import math

import pytest
import torch

from scriba.charset import BLANK, Charset
from scriba.decoding import Decoded, greedy_decode, tidy_spaces, tidy_text

NUM_CLASSES = 5


def _frames(path: list[int], peaks: float | list[float] = 0.9) -> torch.Tensor:
    """(T, C) log-probs whose best class at frame t is path[t], with probability peaks[t]."""
    peaks = [peaks] * len(path) if isinstance(peaks, float) else peaks
    probs = torch.empty(len(path), NUM_CLASSES, dtype=torch.float64)
    for t, (label, p) in enumerate(zip(path, peaks, strict=True)):
        probs[t] = (1 - p) / (NUM_CLASSES - 1)
        probs[t, label] = p
    return probs.log().float()


def _decode_one(path: list[int], peaks: float | list[float] = 0.9):
    log_probs = _frames(path, peaks)[:, None]  # (T, 1, C)
    return greedy_decode(log_probs, torch.tensor([len(path)]))[0]


@pytest.mark.parametrize(
    ("path", "ids"),
    [
        ([1, 1, 1, 2, 2], [1, 2]),  # repeats collapse
        ([1, 0, 1], [1, 1]),  # a blank separates a repeated letter
        ([0, 1, 1, 0, 0, 1, 2, 0, 2], [1, 1, 2, 2]),
        ([3, 0, 0, 4, 3], [3, 4, 3]),
        ([0, 0, 0], []),
        ([2], [2]),
    ],
)
def test_collapse_and_blanks(path: list[int], ids: list[int]) -> None:
    decoded = _decode_one(path)
    assert decoded.ids == ids
    assert len(decoded.char_confidences) == len(ids)
    assert BLANK not in decoded.ids


def test_decodes_to_text_through_the_charset() -> None:
    charset = Charset("lo")  # l = 1, o = 2
    decoded = _decode_one([1, 1, 0, 1, 2, 2, 0, 2])
    assert charset.decode(decoded.ids) == "lloo"


def test_batch_and_output_lengths_truncate() -> None:
    a = _frames([1, 0, 2, 3, 3])
    b = _frames([4, 4, 0, 1, 2])  # only the first 3 frames are valid
    log_probs = torch.stack([a, b], dim=1)  # (T=5, N=2, C)
    decoded = greedy_decode(log_probs, torch.tensor([5, 3]))
    assert [d.ids for d in decoded] == [[1, 2, 3], [4]]
    assert greedy_decode(log_probs, torch.tensor([2, 0]))[1].ids == []


def test_confidence_is_geometric_mean_of_character_peaks() -> None:
    decoded = _decode_one([1, 0, 2], [0.9, 0.8, 0.4])
    assert decoded.char_confidences == pytest.approx([0.9, 0.4], rel=1e-5)
    assert decoded.confidence == pytest.approx(math.sqrt(0.9 * 0.4), rel=1e-5)


def test_held_character_keeps_its_peak() -> None:
    decoded = _decode_one([3, 3, 3], [0.5, 0.95, 0.7])
    assert decoded.ids == [3]
    assert decoded.char_confidences == pytest.approx([0.95], rel=1e-5)


def test_confidence_in_unit_interval_and_lower_for_lower_probabilities() -> None:
    path = [1, 0, 2, 2, 0, 3]
    sure = _decode_one(path, 0.95)
    unsure = _decode_one(path, 0.4)
    assert sure.ids == unsure.ids == [1, 2, 3]
    for d in (sure, unsure):
        assert 0.0 <= d.confidence <= 1.0
        assert all(0.0 <= c <= 1.0 for c in d.char_confidences)
    assert unsure.confidence < sure.confidence
    assert sure.confidence == pytest.approx(0.95, rel=1e-5)


def test_empty_result_confidence_is_mean_blank_probability() -> None:
    decoded = _decode_one([0, 0, 0, 0], [0.9, 0.7, 0.9, 0.7])
    assert decoded.ids == [] and decoded.char_confidences == []
    assert decoded.confidence == pytest.approx(0.8, rel=1e-5)
    assert greedy_decode(_frames([0])[:, None], torch.tensor([0]))[0].confidence == 0.0


def test_random_model_output() -> None:
    torch.manual_seed(0)
    log_probs = torch.randn(20, 3, NUM_CLASSES).log_softmax(-1)
    decoded = greedy_decode(log_probs, torch.tensor([20, 10, 1]))
    assert len(decoded) == 3
    best = log_probs.argmax(-1)
    for d in decoded:
        assert all(1 <= i < NUM_CLASSES for i in d.ids)
        assert 0.0 <= d.confidence <= 1.0
    # Reference: collapse then drop blanks, on the first sequence.
    path = best[:, 0].tolist()
    expected = [c for i, c in enumerate(path) if c != BLANK and (i == 0 or c != path[i - 1])]
    assert decoded[0].ids == expected
    assert len(decoded[2].ids) <= 1


@pytest.mark.parametrize(
    ("text", "tidy"),
    [(" ab", "ab"), ("a  b ", "a b"), ("   ", ""), ("", ""), ("ab", "ab"), (" a b  c ", "a b c"), ("a b", "a b")],
)
def test_tidy_spaces_drops_spaces_at_the_ends_and_repeated(text: str, tidy: str) -> None:
    charset = Charset("ab c")
    ids = [charset.encode(c)[0] for c in text]
    peaks = [0.5 + i / 100 for i in range(len(ids))]
    tidied = tidy_spaces(Decoded(ids, 0.7, peaks), charset.space_id)
    assert charset.decode(tidied.ids) == tidy == tidy_text(text)
    # Every letter is kept with its own confidence; the reading's confidence is untouched.
    letters = [(label, conf) for label, conf in zip(tidied.ids, tidied.char_confidences, strict=True) if label != 3]
    assert letters == [(label, p) for label, p in zip(ids, peaks, strict=True) if label != 3]
    assert tidied.confidence == 0.7


def test_tidy_spaces_without_a_space_in_the_charset_changes_nothing() -> None:
    decoded = Decoded([1, 2, 1], 0.9, [0.9, 0.8, 0.9])
    assert tidy_spaces(decoded, None) is decoded and Charset("ab").space_id is None
