"""Choose a model's LM weight and insertion bonus on labeled validation data, and record them in its file.

The network reads the data once; every pair of weights then only decodes (a few milliseconds a line), so a
grid of 20 pairs over a thousand lines takes minutes on one core.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from scriba.data.records import Record
from scriba.decoding.beam import BeamSearch
from scriba.decoding.greedy import greedy_decode_one, tidy_text
from scriba.decoding.settings import DecodingSettings
from scriba.lm.ngram import NgramLM
from scriba.metrics import summary_metrics

if TYPE_CHECKING:
    from scriba.recognizer import Recognizer

Metric = Literal["cer", "wer", "exact"]


@dataclass(frozen=True)
class TuneResult:
    """The scores of one pair of weights (``lm_weight`` None: greedy decoding, the baseline)."""

    lm_weight: float | None
    insertion_bonus: float | None
    cer: float
    wer: float
    exact: float
    lines_per_second: float

    def loss(self, metric: Metric) -> float:
        return 1 - self.exact if metric == "exact" else getattr(self, metric)


def tune_decoding(
    recognizer: Recognizer,
    records: Sequence[Record],
    lm: NgramLM,
    weights: Sequence[float],
    bonuses: Sequence[float],
    beam: int = 16,
    batch_size: int = 32,
    prepared: Sequence[np.ndarray] | None = None,
) -> list[TuneResult]:
    """Greedy decoding, then beam search with ``lm`` for every (weight, bonus) pair, on labeled ``records``
    (``prepared``: their model inputs if already made; the recognizer's test-time augmentation is not used).

    Returns:
        The greedy result first, then one per pair in grid order.
    """
    tta, recognizer.tta = recognizer.tta, None
    try:
        log_probs = [v[0] for v in recognizer.variant_log_probs(list(records), batch_size, prepared)]
    finally:
        recognizer.tta = tta
    truths = [r.text or "" for r in records]
    charset = recognizer.charset

    def measure(weight: float | None, bonus: float | None) -> TuneResult:
        start = time.perf_counter()
        if weight is None:
            texts = [tidy_text(charset.decode(greedy_decode_one(lp).ids)) for lp in log_probs]
        else:
            settings = DecodingSettings.of_model(recognizer.model_file.info)
            search = BeamSearch(charset, lm, weight, bonus or 0.0, beam, settings.min_log_prob)
            texts = [tidy_text(charset.decode(search.search(lp)[0].ids)) for lp in log_probs]
        speed = len(log_probs) / max(time.perf_counter() - start, 1e-9)
        m = summary_metrics(texts, truths)
        return TuneResult(weight, bonus, m["cer"], m["wer"], m["exact_match"], speed)

    return [measure(None, None)] + [measure(w, b) for w, b in itertools.product(weights, bonuses)]


def best_result(results: Sequence[TuneResult], metric: Metric) -> TuneResult:
    """The beam search result with the lowest ``metric`` loss (ties: lower CER, then the first)."""
    searched = [r for r in results if r.lm_weight is not None]
    return min(searched, key=lambda r: (r.loss(metric), r.cer))


def write_decoding(path: str | Path, out: str | Path, settings: DecodingSettings) -> Path:
    """Write a copy of the model file ``path`` whose decoding defaults are ``settings`` (same weights)."""
    from scriba.model_file import load_model_file, save_model_file

    model_file = load_model_file(path)
    model_file.info["decoding"] = dataclasses.asdict(settings)
    return save_model_file(out, model_file)


__all__ = ["Metric", "TuneResult", "best_result", "tune_decoding", "write_decoding"]
