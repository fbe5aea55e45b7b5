"""CTC prefix beam search with a character LM, on hand-made log-probs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from scriba.charset import Charset
from scriba.decoding import greedy_decode_one
from scriba.decoding.beam import BeamSearch
from scriba.lm import NgramLM
from tests.log_probs import frames

CHARSET = Charset("acotx ")  # ids 1..6, blank 0


def _frames(rows: list[dict[str, float]]) -> torch.Tensor:
    return frames(CHARSET, rows)


def _text(decoder: BeamSearch, lp: torch.Tensor) -> str:
    return CHARSET.decode(decoder.decode(lp).ids)


LM = NgramLM.build(["a cat", "the cat", "cat"] * 20 + ["a cot"], order=4)


def test_the_lm_flips_a_reading_the_image_leaves_open() -> None:
    # The middle letter is o (0.5) or a (0.4): greedy reads "cot"; the LM knows "cat".
    lp = _frames([{"c": 0.9}, {}, {"o": 0.5, "a": 0.4}, {}, {"t": 0.9}, {}])
    assert CHARSET.decode(greedy_decode_one(lp).ids) == "cot"
    assert _text(BeamSearch(CHARSET, LM, lm_weight=1.0, insertion_bonus=0.0), lp) == "cat"
    assert _text(BeamSearch(CHARSET, None), lp) == "cot"  # without an LM the image decides


def test_the_image_overrules_the_lm_where_it_is_clear() -> None:
    lp = _frames([{"c": 0.98}, {}, {"o": 0.98, "a": 0.001}, {}, {"t": 0.98}, {}])
    assert _text(BeamSearch(CHARSET, LM, lm_weight=1.0, insertion_bonus=0.0), lp) == "cot"


def test_a_word_the_lm_never_saw_is_kept() -> None:
    lp = _frames([{"t": 0.95}, {"a": 0.95}, {}, {"x": 0.95}, {}, {"x": 0.95}])
    assert _text(BeamSearch(CHARSET, LM, lm_weight=0.5, insertion_bonus=1.0), lp) == "taxx"


def test_empty_and_blank_input_read_nothing() -> None:
    decoder = BeamSearch(CHARSET, LM)
    assert decoder.search(torch.zeros(0, CHARSET.num_classes))[0].ids == []
    decoded = decoder.decode(_frames([{}, {}, {}]))
    assert decoded.ids == [] and decoded.char_confidences == [] and decoded.confidence > 0.99


def test_without_an_lm_the_best_reading_sums_its_alignments() -> None:
    # Greedy's best path is blank-blank-blank ("" at 0.4^3); "a" has many paths and more total probability.
    lp = _frames([{"a": 0.3, "c": 0.3}, {"a": 0.3, "c": 0.3}, {"a": 0.3, "c": 0.3}])
    assert greedy_decode_one(lp).ids == []
    hypotheses = BeamSearch(CHARSET, None, insertion_bonus=0.0, beam=16).search(lp, alternatives=3)
    assert hypotheses[0].ids in ([1], [2])  # "a" or "c" (equally likely)
    assert len(hypotheses) == 3 and hypotheses[0].score >= hypotheses[1].score >= hypotheses[2].score
    # Each score is the exact CTC log-likelihood of its reading (every alignment survives a beam of 16 here).
    for h in hypotheses:
        ids = torch.tensor([h.ids]) if h.ids else torch.zeros(1, 0, dtype=torch.long)
        nll = F.ctc_loss(lp[:, None], ids, torch.tensor([3]), torch.tensor([len(h.ids)]), reduction="sum")
        assert h.ctc == pytest.approx(-float(nll), abs=1e-4) and h.lm == 0.0


def test_alternatives_carry_their_lm_scores() -> None:
    lp = _frames([{"c": 0.9}, {}, {"o": 0.5, "a": 0.4}, {}, {"t": 0.9}, {}])
    decoder = BeamSearch(CHARSET, LM, lm_weight=1.0, insertion_bonus=0.5)
    best, second = decoder.search(lp, alternatives=2)
    assert CHARSET.decode(best.ids) == "cat" and CHARSET.decode(second.ids) == "cot"
    assert best.lm == pytest.approx(LM.log_prob("cat"), abs=1e-6)
    assert best.score == pytest.approx(best.ctc + 1.0 * best.lm + 0.5 * 3, abs=1e-6)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="beam"):
        BeamSearch(CHARSET, beam=0)
    with pytest.raises(ValueError, match="lm_weight"):
        BeamSearch(CHARSET, lm_weight=-1)
    assert math.isfinite(BeamSearch(CHARSET).search(_frames([{"a": 0.9}]))[0].score)
