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
import torch
from rapidfuzz.distance import Levenshtein

from scriba.charset import Charset
from scriba.data.records import Record
from scriba.decoding.beam import BeamSearch
from scriba.decoding.greedy import greedy_decode_one, tidy_text
from scriba.decoding.settings import DecodingSettings
from scriba.lm.ngram import NgramLM
from scriba.metrics import confidence_metrics, summary_metrics

if TYPE_CHECKING:
    from scriba.recognizer import Recognizer

Metric = Literal["cer", "wer", "exact"]
POWER_GRID = tuple(round(0.1 * k, 2) for k in range(2, 21))  # 0.2 .. 2.0


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


def validation_log_probs(
    recognizer: Recognizer,
    records: Sequence[Record],
    batch_size: int = 32,
    prepared: Sequence[np.ndarray] | None = None,
) -> list[torch.Tensor]:
    """Each record's (T, C) log-probabilities, read once (``prepared``: the records' model inputs if already
    made; the recognizer's test-time augmentation is not used)."""
    tta, recognizer.tta = recognizer.tta, None
    try:
        return [v[0] for v in recognizer.variant_log_probs(list(records), batch_size, prepared)]
    finally:
        recognizer.tta = tta


def tune_decoding(
    charset: Charset,
    log_probs: Sequence[torch.Tensor],
    truths: Sequence[str],
    lm: NgramLM,
    weights: Sequence[float],
    bonuses: Sequence[float],
    beam: int = 16,
    min_log_prob: float = DecodingSettings.min_log_prob,
) -> list[TuneResult]:
    """Greedy decoding, then beam search with ``lm`` for every (weight, bonus) pair, of labeled log-probabilities.

    Returns:
        The greedy result first, then one per pair in grid order.
    """

    def measure(weight: float | None, bonus: float | None) -> TuneResult:
        start = time.perf_counter()
        if weight is None:
            texts = [tidy_text(charset.decode(greedy_decode_one(lp).ids)) for lp in log_probs]
        else:
            search = BeamSearch(charset, lm, weight, bonus or 0.0, beam, min_log_prob)
            texts = [tidy_text(charset.decode(search.search(lp)[0].ids)) for lp in log_probs]
        speed = len(log_probs) / max(time.perf_counter() - start, 1e-9)
        m = summary_metrics(texts, list(truths))
        return TuneResult(weight, bonus, m["cer"], m["wer"], m["exact_match"], speed)

    return [measure(None, None)] + [measure(w, b) for w, b in itertools.product(weights, bonuses)]


def fit_confidence_power(
    search: BeamSearch, log_probs: Sequence[torch.Tensor], truths: Sequence[str], grid: Sequence[float] = POWER_GRID
) -> tuple[float, dict[str, float], dict[str, float]]:
    """The power ``a`` whose confidences ``c ** a`` best match the LM readings' accuracy (least squared gap).

    A language model mends characters the image left uncertain, so the readings' characters are right more
    often than their image probabilities say (e.g. ``english`` on ``iam_lines`` ``val``: expected calibration
    error 0.006 greedy, 0.094 with the LM); a power keeps the confidences' order and moves their level back.

    Returns:
        The power, and :func:`scriba.metrics.confidence_metrics` before (power 1) and after it.
    """
    decoded = [search.decode(lp) for lp in log_probs]
    charset = search.charset
    texts = [tidy_text(charset.decode(d.ids)) for d in decoded]
    edits = [Levenshtein.distance(t, truth) for t, truth in zip(texts, truths, strict=True)]
    lengths = [len(t) for t in truths]
    accuracy = 1 - np.minimum(1.0, np.asarray(edits) / np.maximum(lengths, 1))
    base = np.clip(np.asarray([d.confidence for d in decoded]), 1e-12, 1.0)
    power = min([1.0, *grid], key=lambda a: float(np.sum((base**a - accuracy) ** 2)))
    return (
        power,
        confidence_metrics(list(base), edits, lengths),
        confidence_metrics(list(base**power), edits, lengths),
    )


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


__all__ = [
    "Metric",
    "TuneResult",
    "best_result",
    "fit_confidence_power",
    "tune_decoding",
    "validation_log_probs",
    "write_decoding",
]
