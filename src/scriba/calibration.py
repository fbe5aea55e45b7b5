"""Calibrating a model's CTC output on labeled data: a blank penalty, a space bonus and a temperature.

A CTC model reading writers it has not seen tends to drop characters rather than invent them: the blank
wins frames that hold a faint letter, and a narrow gap between two words loses to the letters beside it
(the english model's character recall is below its precision, and missed spaces are its second most
missed character). A constant added to the blank's and to the space's output score trades deletions for
insertions; it is the "blank penalty" / "insertion bonus" knob of CTC decoders. :func:`calibrate` picks
the pair that gives the fewest character errors with greedy decoding on held-out labeled data, and
:func:`calibrate_model_file` folds it into the bias of the model's output layer: every way of reading
(greedy, ``--tta``, ``--lexicon``, ONNX) then sees the calibrated model, and the model file format stays
as it is (the offsets are recorded in its metadata, ``info.calibration``).

Then the confidence: a temperature T divides the output scores (:func:`fit_temperature`), so that a
reading's confidence (the geometric mean of its characters' probabilities) is on average the share of
its characters that are right. T is the one with the least squared gap between the two on the same data,
and is folded into the output layer too (weights and bias over T: the most likely class of every frame,
and so every greedy reading, stays the same).

The search decodes with a closed form instead of running the decoder for every pair: per frame only the
blank, the space and the best other character can win, so each pair costs a few tensor operations and
one edit distance per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein

from scriba.charset import BLANK, Charset
from scriba.data.cleaning import CleaningOptions
from scriba.data.ink import InkStyle
from scriba.data.records import Record
from scriba.decoding import greedy_decode_one, tidy_spaces, tidy_text
from scriba.errors import ConfigError
from scriba.evaluate import UnknownLabels, prepare_eval_data
from scriba.metrics import confidence_metrics, summary_metrics
from scriba.model_file import ModelFile, save_model_file
from scriba.models.layers import SequenceHead
from scriba.recognizer import Recognizer

# Offsets in log-probability units (natural log). Wide enough that the best pair of the shipped models
# lies well inside (english: blank -0.7, space +1.5 on its validation half), fine enough to matter.
TEMPERATURE_GRID = tuple(float(x) for x in np.round(np.arange(0.5, 4.0001, 0.05), 2))
BLANK_GRID = tuple(float(x) for x in np.round(np.arange(-3.0, 1.0001, 0.1), 2))
SPACE_GRID = tuple(float(x) for x in np.round(np.arange(-1.0, 3.0001, 0.1), 2))


@dataclass
class Calibration:
    """The offsets chosen and what they did on the calibration data.

    Attributes:
        blank: added to the blank's output score (negative: fewer deletions).
        space: added to the space's score (positive: more word breaks); 0 when the charset has no space.
        n: labeled samples searched on.
        before: ``cer``, ``wer``, ``exact_match``, ``positional_char_accuracy`` without the offsets.
        after: the same with them.
        data: what the samples were (for the record).
        temperature: the output scores are divided by this (1: the confidences were left as they were).
        confidence_before: :func:`scriba.metrics.confidence_metrics` of the readings with the offsets, before
            the temperature.
        confidence_after: the same with it.
    """

    blank: float
    space: float
    n: int
    before: dict[str, float]
    after: dict[str, float]
    data: str = ""
    temperature: float = 1.0
    confidence_before: dict[str, float] = field(default_factory=dict)
    confidence_after: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        b, a = self.before, self.after
        return (
            f"blank {self.blank:+.2f}, space {self.space:+.2f} on {self.n} samples: "
            f"CER {b['cer']:.2%} -> {a['cer']:.2%}, WER {b['wer']:.2%} -> {a['wer']:.2%}, "
            f"exact {b['exact_match']:.2%} -> {a['exact_match']:.2%}"
        ) + (
            f"; temperature {self.temperature:.2f}: confidence ECE {self.confidence_before['ece']:.3f} -> "
            f"{self.confidence_after['ece']:.3f}, AUROC (CER > 10%) {self.confidence_after['auroc_cer10']:.3f}"
            if self.confidence_after
            else ""
        )


class _Frames:
    """Every frame of the calibration data, reduced to what greedy decoding with offsets needs."""

    def __init__(self, log_probs: Sequence[torch.Tensor], space: int | None) -> None:
        scores = torch.cat([lp.float() for lp in log_probs])  # (F, C)
        lengths = torch.tensor([len(lp) for lp in log_probs])
        self.count = len(log_probs)
        self.space_id = space
        self.blank = scores[:, BLANK]
        self.space = scores[:, space] if space is not None else None
        others = scores.clone()
        others[:, BLANK] = -torch.inf
        if space is not None:
            others[:, space] = -torch.inf
        self.other, self.other_id = others.max(dim=-1)
        self.sequence = torch.repeat_interleave(torch.arange(self.count), lengths)
        self.first = torch.zeros(len(scores), dtype=torch.bool)
        self.first[(torch.cumsum(lengths, 0) - lengths)[lengths > 0]] = True

    def decode(self, blank: float, space: float) -> list[list[int]]:
        """Greedy decoding (best class per frame, repeats merged, blanks dropped) with the offsets."""
        label, best = self.other_id, self.other
        if self.space is not None and self.space_id is not None:
            spaced = self.space + space > best
            label = torch.where(spaced, self.space_id, label)
            best = torch.where(spaced, self.space + space, best)
        label = torch.where(self.blank + blank > best, BLANK, label)
        previous = torch.roll(label, 1)
        keep = (label != BLANK) & ((label != previous) | self.first)
        counts = torch.bincount(self.sequence[keep], minlength=self.count).tolist()
        return [part.tolist() for part in torch.split(label[keep], counts)]


def calibrate(
    log_probs: Sequence[torch.Tensor],
    truths: Sequence[str],
    charset: Charset,
    blank_grid: Sequence[float] = BLANK_GRID,
    space_grid: Sequence[float] = SPACE_GRID,
) -> Calibration:
    """Choose the blank and space offsets with the fewest character errors under greedy decoding.

    Args:
        log_probs: each sample's (T, C) log-probabilities from the model.
        truths: the samples' labels.
        charset: the model's charset.
        blank_grid, space_grid: offsets to try (the space grid is ignored without a space in the charset;
            0 is always tried, so the result is never worse on this data than no offsets).

    Returns:
        The best pair (ties: the one nearest to no offsets) and the scores before and after.

    Raises:
        ConfigError: no samples, or not one truth per sample.
    """
    if not log_probs or len(log_probs) != len(truths):
        raise ConfigError(f"calibration needs labeled samples: got {len(log_probs)} readings, {len(truths)} labels")
    space = charset.space_id
    frames = _Frames(log_probs, space)
    blanks = sorted({0.0, *blank_grid})
    spaces = sorted({0.0, *space_grid}) if space is not None else [0.0]

    def texts(b: float, s: float) -> list[str]:
        return [tidy_text(charset.decode(ids)) for ids in frames.decode(b, s)]

    def errors(b: float, s: float) -> int:
        return sum(Levenshtein.distance(t, truth) for t, truth in zip(texts(b, s), truths, strict=True))

    _, _, blank, offset = min((errors(b, s), abs(b) + abs(s), b, s) for b in blanks for s in spaces)
    before, after = (summary_metrics(texts(b, s), list(truths)) for b, s in ((0.0, 0.0), (blank, offset)))
    return Calibration(blank, offset, len(truths), before, after)


def fit_temperature(
    log_probs: Sequence[torch.Tensor],
    truths: Sequence[str],
    charset: Charset,
    grid: Sequence[float] = TEMPERATURE_GRID,
) -> tuple[float, dict[str, float], dict[str, float]]:
    """The temperature whose greedy readings' confidences best match their accuracy (least squared gap).

    Args:
        log_probs: each sample's (T, C) log-probabilities.
        truths: the samples' labels.
        charset: the model's charset.
        grid: temperatures to try (1 is always tried).

    Returns:
        The temperature, and :func:`scriba.metrics.confidence_metrics` at temperature 1 and at it.

    Raises:
        ConfigError: no samples, or not one truth per sample.
    """
    if not log_probs or len(log_probs) != len(truths):
        raise ConfigError(f"calibration needs labeled samples: got {len(log_probs)} readings, {len(truths)} labels")
    readings = [tidy_spaces(greedy_decode_one(lp.float()), charset.space_id) for lp in log_probs]
    edits = [Levenshtein.distance(charset.decode(r.ids), t) for r, t in zip(readings, truths, strict=True)]
    lengths = [len(t) for t in truths]
    accuracy = 1 - np.minimum(1.0, np.asarray(edits) / np.maximum(lengths, 1))

    def confidences(temperature: float) -> list[float]:
        # Greedy readings do not change with T (the best class of a frame stays the best): only their scores.
        return [greedy_decode_one(torch.log_softmax(lp.float() / temperature, -1)).confidence for lp in log_probs]

    temperatures = sorted({1.0, *grid})
    gaps = [float(np.mean((np.asarray(confidences(t)) - accuracy) ** 2)) for t in temperatures]
    best = temperatures[int(np.argmin(gaps))]
    before, after = (confidence_metrics(confidences(t), edits, lengths) for t in (1.0, best))
    return best, before, after


def apply_temperature(model_file: ModelFile, temperature: float) -> None:
    """Divide the output layer's weights and bias by ``temperature`` (in place): log-softmax(scores / T)."""
    layer = output_layer(model_file.model)
    with torch.no_grad():
        layer.weight.div_(temperature)
        layer.bias.div_(temperature)


def output_layer(model: torch.nn.Module) -> torch.nn.Linear:
    """The linear layer whose outputs are the per-frame class scores.

    Raises:
        ConfigError: the model has no single :class:`SequenceHead` (an architecture this cannot calibrate).
    """
    heads = [m for m in model.modules() if isinstance(m, SequenceHead)]
    if len(heads) != 1:
        raise ConfigError(f"cannot calibrate {type(model).__name__}: expected one sequence head, found {len(heads)}")
    return heads[0].classifier


def apply_offsets(model_file: ModelFile, blank: float, space: float) -> None:
    """Add the offsets to the output layer's bias (in place); with log-softmax after it, this is the same as
    adding them to the log-probabilities and renormalizing."""
    bias = output_layer(model_file.model).bias
    with torch.no_grad():
        bias[BLANK] += blank
        if space and model_file.charset.space_id is not None:
            bias[model_file.charset.space_id] += space


def calibrate_model_file(
    recognizer: Recognizer,
    records: list[Record],
    out: str | Path,
    unknown_labels: UnknownLabels = "error",
    batch_size: int = 32,
    ink_style: InkStyle | None = None,
    cleaning: CleaningOptions | None = None,
    data: str = "",
    temperature: bool = True,
) -> Calibration:
    """Calibrate the recognizer's model on labeled ``records`` and write the calibrated model to ``out``:
    blank and space offsets (:func:`calibrate`), then, with ``temperature``, the confidence
    (:func:`fit_temperature`).

    The records should be held-out data of the kind the model will read (its validation set): offsets
    chosen on its training data would undo too little. The offsets are added to any earlier calibration's;
    ``info.calibration`` lists each one with its data and scores. The recognizer reads with the
    calibrated model afterwards (its model is changed in place).

    Raises:
        ConfigError: an architecture without a single output layer.
        DataFormatError, UnknownCharactersError, ImageError: as for evaluation (see
            :func:`scriba.evaluate.prepare_eval_data`).
    """
    model_file = recognizer.model_file
    output_layer(model_file.model)  # fail before reading the data
    kept, images, _ = prepare_eval_data(recognizer, records, unknown_labels, cleaning, ink_style)
    log_probs = recognizer.log_probs(images, batch_size)
    truths = [r.text or "" for r in kept]
    result = calibrate(log_probs, truths, model_file.charset)
    result.data = data
    apply_offsets(model_file, result.blank, result.space)
    if temperature:
        log_probs = recognizer.log_probs(images, batch_size)  # with the offsets
        result.temperature, result.confidence_before, result.confidence_after = fit_temperature(
            log_probs, truths, model_file.charset
        )
        apply_temperature(model_file, result.temperature)
    history: list[dict[str, Any]] = list(model_file.info.get("calibration", []))
    model_file.info["calibration"] = [*history, asdict(result)]
    save_model_file(out, model_file)
    return result
