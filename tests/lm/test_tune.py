"""Tuning decoding on labeled log-probabilities: the weight grid and the confidence power."""

from __future__ import annotations

import pytest
import torch

from scriba.charset import Charset
from scriba.decoding.beam import BeamSearch
from scriba.lm import NgramLM
from scriba.lm.tune import best_result, fit_confidence_power, tune_decoding
from tests.log_probs import frames

CHARSET = Charset("acot")


def _frames(rows: list[dict[str, float]]) -> torch.Tensor:
    return frames(CHARSET, rows)


# The image leans to "cot"; the truth (and the LM's text) is "cat".
UNSURE = _frames([{"c": 0.9}, {}, {"o": 0.5, "a": 0.4}, {}, {"t": 0.9}, {}])
LM = NgramLM.build(["cat"] * 30 + ["tac", "act"], order=3)


def test_the_grid_measures_greedy_first_and_finds_the_weight_that_reads_right() -> None:
    results = tune_decoding(CHARSET, [UNSURE] * 4, ["cat"] * 4, LM, weights=[0.0, 1.0], bonuses=[0.0])
    assert [r.lm_weight for r in results] == [None, 0.0, 1.0]
    assert results[0].cer > 0 and results[1].cer > 0 and results[2].cer == 0.0
    best = best_result(results, "cer")
    assert best.lm_weight == 1.0 and best.exact == 1.0 and best.loss("exact") == 0.0


def test_a_power_below_one_lifts_the_confidence_of_readings_the_lm_mended() -> None:
    search = BeamSearch(CHARSET, LM, lm_weight=1.0, insertion_bonus=0.0)
    assert search.decode(UNSURE).confidence < 0.8  # "a" had 0.4 in the image
    power, before, after = fit_confidence_power(search, [UNSURE] * 5, ["cat"] * 5)
    assert power < 1 and after["ece"] < before["ece"]
    lifted = BeamSearch(CHARSET, LM, lm_weight=1.0, insertion_bonus=0.0, confidence_power=power).decode(UNSURE)
    assert lifted.confidence == pytest.approx(search.decode(UNSURE).confidence ** power, rel=1e-6)
    with pytest.raises(ValueError, match="confidence_power"):
        BeamSearch(CHARSET, LM, confidence_power=0.0)
