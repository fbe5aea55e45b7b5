"""Evaluate a model (or an ensemble of models) on a labeled dataset: ``evaluate(recognizer, records) -> EvalReport``.

The report carries the summary metrics, per-character precision/recall/F1, the characters most
often missed or confused, the worst samples, and every prediction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from scriba.charset import Charset
from scriba.data.cleaning import CleaningOptions, CleaningReport, clean
from scriba.data.dataset import display_image, load_images
from scriba.data.ink import InkStyle
from scriba.data.records import Record
from scriba.ensemble import Ensemble
from scriba.errors import ConfigError, DataFormatError, UnknownCharactersError
from scriba.metrics import character_stats, confidence_metrics, edit_distance, summary_metrics
from scriba.plots import plot_char_f1, plot_sample_grid, plot_training_curves
from scriba.recognizer import Reading, Recognizer

log = logging.getLogger(__name__)

UnknownLabels = Literal["error", "skip", "score"]


@dataclass
class SampleResult:
    id: str
    truth: str
    prediction: str
    confidence: float
    edits: int
    alternatives: list[str] | None = None


@dataclass
class EvalReport:
    """Metrics of one model on one dataset. JSON keys follow the field names."""

    model: str
    n: int
    cer: float
    wer: float
    exact_match: float
    positional_char_accuracy: float
    mean_char_precision: float
    mean_char_recall: float
    mean_char_f1: float
    per_char: dict[str, dict[str, float | int]]
    most_missed: list[tuple[str, int]]
    most_confused: list[tuple[str, str, int]]
    worst: list[SampleResult]
    cleaning: dict[str, Any]
    samples: list[SampleResult] = field(repr=False, default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)
    alternatives: dict[str, float] = field(default_factory=dict)

    def to_dict(self, with_samples: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_samples:
            data.pop("samples")
        return data

    def save_json(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")

    def summary(self) -> str:
        """A short human-readable summary for the CLI."""
        lines = [
            f"model {self.model} on {self.n} samples",
            f"  cer {self.cer:.4f}   wer {self.wer:.4f}   exact_match {self.exact_match:.4f}   "
            f"positional_char_accuracy {self.positional_char_accuracy:.4f}",
            f"  mean char precision {self.mean_char_precision:.4f}  recall {self.mean_char_recall:.4f}  "
            f"f1 {self.mean_char_f1:.4f}",
            "  most missed: " + ", ".join(f"{c!r}x{k}" for c, k in self.most_missed[:8]),
            "  most confused (truth->read): " + ", ".join(f"{a!r}->{b!r}x{k}" for a, b, k in self.most_confused[:8]),
        ]
        if self.confidence:
            c = self.confidence
            lines.append(
                f"  confidence: ECE {c['ece']:.4f}   AUROC (CER > 10%) {c['auroc_cer10']:.4f}   "
                f"CER at >= 0.9 {c['cer_high']:.4f} ({c['share_high']:.1%} of samples), below {c['cer_low']:.4f}"
            )
        if self.alternatives:
            a = self.alternatives
            lines.append(
                f"  best of {a['k']:g} alternatives (the one nearest the truth): cer {a['cer']:.4f}   "
                f"wer {a['wer']:.4f}   exact_match {a['exact_match']:.4f}"
            )
        lines.append("  worst samples:")
        lines += [f"    {s.id}: truth {s.truth!r} read {s.prediction!r} ({s.confidence:.2f})" for s in self.worst[:5]]
        return "\n".join(lines)


def clean_eval_records(
    charset: Charset,
    name: str,
    records: list[Record],
    unknown_labels: UnknownLabels = "error",
    cleaning: CleaningOptions | None = None,
) -> tuple[list[Record], CleaningReport]:
    """The records to score: missing and placeholder labels dropped, and labels with characters outside
    ``charset`` (the model ``name``'s) handled per ``unknown_labels`` (see :func:`prepare_eval_data`).

    Raises:
        UnknownCharactersError: with ``unknown_labels="error"``, listing the characters.
    """
    options = cleaning or CleaningOptions(unknown_characters="keep")
    kept, report = clean(records, options)
    if unknown_labels != "score":
        # A list, not a dict by name: two records may share an image path.
        unknown = [(r.name, missing) for r in kept if (missing := charset.unknown(r.text or ""))]
        if unknown and unknown_labels == "error":
            chars = set().union(*(missing for _, missing in unknown))
            raise UnknownCharactersError(
                chars, f"in {len(unknown)} label(s) that model {name} cannot produce (e.g. {unknown[0][0]})"
            )
        kept, report2 = clean(kept, CleaningOptions(normalize_whitespace=False, special_labels=()), charset)
        report.dropped.update(report2.dropped)
        report.examples.update(report2.examples)
    return kept, report


def prepare_eval_data(
    recognizer: Recognizer,
    records: list[Record],
    unknown_labels: UnknownLabels = "error",
    cleaning: CleaningOptions | None = None,
    ink_style: InkStyle | None = None,
) -> tuple[list[Record], list[np.ndarray], CleaningReport]:
    """Clean labels and load images for evaluation.

    Args:
        unknown_labels: labels with characters the model cannot produce: ``error`` raises,
            ``skip`` drops them (counted), ``score`` keeps them (they count as errors).
        cleaning: label cleaning (default: drop missing and placeholder labels, keep the rest).
        ink_style: how ink records are drawn (default: the model's own style); not for a model of pen
            trajectories, which reads the ink's points and draws nothing.

    Raises:
        UnknownCharactersError: with ``unknown_labels="error"``, listing the characters.
        DataFormatError: nothing left to evaluate.
        ConfigError: an ``ink_style`` for a model of pen trajectories.
    """
    if ink_style is not None and recognizer.reads_pen:
        raise ConfigError(f"model {recognizer.name} reads pen trajectories and draws no ink: drop the ink style")
    kept, report = clean_eval_records(recognizer.charset, recognizer.name, records, unknown_labels, cleaning)
    kept, images = load_images(
        kept, recognizer.preprocessing, recognizer.charset, report, ink_style or recognizer.model_file.ink_style
    )
    if not kept:
        raise DataFormatError("nothing to evaluate after cleaning:\n" + report.summary())
    return kept, images, report


def evaluate(
    recognizer: Recognizer | Ensemble,
    records: list[Record],
    unknown_labels: UnknownLabels = "error",
    batch_size: int = 32,
    cleaning: CleaningOptions | None = None,
    ink_style: InkStyle | None = None,
) -> EvalReport:
    """Read every labeled record and score the predictions against the labels (see :func:`read_eval_records`;
    an :class:`~scriba.ensemble.Ensemble`'s models draw ink in their own styles, ``ink_style`` is for one model)."""
    kept, readings, report = read_eval_records(recognizer, records, unknown_labels, batch_size, cleaning, ink_style)
    return score_readings(recognizer.name, kept, readings, report)


CHUNK = 512  # records loaded, preprocessed and read at a time, so memory does not grow with the dataset


def read_eval_records(
    recognizer: Recognizer | Ensemble,
    records: list[Record],
    unknown_labels: UnknownLabels = "error",
    batch_size: int = 32,
    cleaning: CleaningOptions | None = None,
    ink_style: InkStyle | None = None,
) -> tuple[list[Record], list[Reading], CleaningReport]:
    """Clean the labels, then load, preprocess and read the records ``CHUNK`` at a time, keeping only the
    readings, not the images.

    Returns:
        The records read, their readings, and the cleaning report (unreadable images counted as dropped).

    Raises:
        UnknownCharactersError / DataFormatError / ConfigError: as :func:`prepare_eval_data`.
    """
    if ink_style is not None and isinstance(recognizer, Recognizer) and recognizer.reads_pen:
        raise ConfigError(f"model {recognizer.name} reads pen trajectories and draws no ink: drop the ink style")
    cleaned, report = clean_eval_records(recognizer.charset, recognizer.name, records, unknown_labels, cleaning)
    kept: list[Record] = []
    readings: list[Reading] = []
    for start in range(0, len(cleaned), CHUNK):
        chunk = cleaned[start : start + CHUNK]
        if isinstance(recognizer, Ensemble):  # each model draws and prepares the chunk its own way
            kept += chunk
            readings += recognizer.read_records(chunk, batch_size)
            continue
        style = ink_style or recognizer.model_file.ink_style
        chunk, images = load_images(chunk, recognizer.preprocessing, recognizer.charset, report, style)
        kept += chunk
        readings += recognizer.read_records(chunk, batch_size, prepared=images)
    report.kept = len(kept)
    if not kept:  # one line: the CLI prints an error's first line
        raise DataFormatError(
            "nothing to evaluate: " + "; ".join(line.strip() for line in report.summary().splitlines())
        )
    return kept, readings, report


def score_readings(
    name: str, records: list[Record], readings: Sequence[Reading], cleaning_report: CleaningReport | None = None
) -> EvalReport:
    """Score the readings of model ``name`` against their ``records``' labels."""
    truths = [r.text or "" for r in records]
    predictions = [r.text for r in readings]
    samples = [
        SampleResult(
            rec.name, t, p, reading.confidence, edit_distance(p, t),
            [a.text for a in reading.alternatives] if reading.alternatives and len(reading.alternatives) > 1 else None,
        )
        for rec, t, p, reading in zip(records, truths, predictions, readings, strict=True)
    ]  # fmt: skip
    stats = character_stats(predictions, truths)
    per_char = stats.scores()
    # Means over characters that occur in the truth, so invented characters do not dilute them.
    supported = [s for s in per_char.values() if s["support"]]

    def mean(key: str) -> float:
        return float(np.mean([s[key] for s in supported])) if supported else 0.0

    worst = sorted(samples, key=lambda s: (s.edits / max(len(s.truth), 1), s.edits), reverse=True)[:20]
    return EvalReport(
        model=name,
        n=len(samples),
        **summary_metrics(predictions, truths),
        mean_char_precision=mean("precision"),
        mean_char_recall=mean("recall"),
        mean_char_f1=mean("f1"),
        per_char=per_char,
        most_missed=stats.most_missed(15),
        most_confused=[(a, b, k) for (a, b), k in stats.substitutions.most_common(15)],
        worst=[s for s in worst if s.edits],
        cleaning=(cleaning_report or CleaningReport(total=len(records), kept=len(records))).to_dict(),
        samples=samples,
        confidence=confidence_metrics(
            [s.confidence for s in samples], [s.edits for s in samples], [len(s.truth) for s in samples]
        ),
        alternatives=_oracle(samples),
    )


def _oracle(samples: Sequence[SampleResult]) -> dict[str, float]:
    """With alternatives: the metrics of the alternative nearest each truth (what a perfect rescorer of the
    K best readings would reach); empty without them."""
    if not any(s.alternatives for s in samples):
        return {}
    nearest = [min(s.alternatives or [s.prediction], key=lambda a: edit_distance(a, s.truth)) for s in samples]
    k = max(len(s.alternatives or []) for s in samples)
    return {"k": float(k), **summary_metrics(nearest, [s.truth for s in samples])}


def evaluate_to_folder(
    recognizer: Recognizer | Ensemble,
    records: list[Record],
    out: Path,
    json_path: Path | None = None,
    unknown_labels: UnknownLabels = "error",
    batch_size: int = 32,
    grid: int = 12,
    ink_style: InkStyle | None = None,
) -> tuple[EvalReport, Path]:
    """Evaluate and write the JSON report plus PNG plots (per-character F1, a sample grid with
    predictions and truths, and the training curves stored in the model file) into ``out``. For an
    :class:`~scriba.ensemble.Ensemble` the grid shows the first model's input and the curves are its own.

    Returns:
        The report and the JSON path.
    """
    kept, readings, cleaning_report = read_eval_records(
        recognizer, records, unknown_labels, batch_size, ink_style=ink_style
    )
    report = score_readings(recognizer.name, kept, readings, cleaning_report)
    # The grid's few images are prepared again rather than every image kept through the reading.
    first = recognizer.recognizers[0] if isinstance(recognizer, Ensemble) else recognizer
    chosen = sample_images(report.samples, grid)
    pictures = [display_image(kept[i], first.prepare_record(kept[i])) for i in chosen]
    out = Path(out)
    json_path = Path(json_path) if json_path else out / "report.json"
    report.save_json(json_path)
    plot_char_f1(report.per_char, out / "char_f1.png")
    plot_sample_grid(
        pictures,
        [report.samples[i].prediction for i in chosen],
        [report.samples[i].truth for i in chosen],
        out / "samples.png",
    )
    history = first.model_file.info.get("history") or []
    if history:
        plot_training_curves(history, out / "curves.png")
    return report, json_path


def sample_images(results: Sequence[SampleResult], k: int, seed: int = 0) -> list[int]:
    """Indices of ``k`` samples for a grid: the worst half and a random half."""
    rng = np.random.default_rng(seed)
    by_error = sorted(range(len(results)), key=lambda i: results[i].edits, reverse=True)
    chosen = by_error[: k // 2]
    taken = set(chosen)
    rest = [i for i in range(len(results)) if i not in taken]
    chosen += list(rng.choice(rest, size=min(k - len(chosen), len(rest)), replace=False)) if rest else []
    return [int(i) for i in chosen]
