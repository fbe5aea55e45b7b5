"""Text recognition metrics over (prediction, truth) pairs.

CER/WER are corpus-level: total edits over total reference characters/words. Edit alignments come
from rapidfuzz (C++, orders of magnitude faster than a Python DP on thousands of lines).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Levenshtein


def edit_distance(a: Sequence[str] | str, b: Sequence[str] | str) -> int:
    """Levenshtein distance between two strings or two token lists."""
    return int(Levenshtein.distance(a, b))


def cer(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """Character error rate: sum of edit distances / sum of truth lengths."""
    total = sum(len(t) for t in truths)
    return sum(edit_distance(p, t) for p, t in zip(predictions, truths, strict=True)) / max(total, 1)


def wer(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """Word error rate: edit distance over whitespace-separated words / number of truth words."""
    total = sum(len(t.split()) for t in truths)
    return sum(edit_distance(p.split(), t.split()) for p, t in zip(predictions, truths, strict=True)) / max(total, 1)


def exact_match(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """Fraction of predictions equal to their truth."""
    return sum(p == t for p, t in zip(predictions, truths, strict=True)) / max(len(truths), 1)


def positional_char_accuracy(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """The Kaggle names notebooks' metric: characters equal at the same position / truth characters."""
    correct = sum(sum(a == b for a, b in zip(p, t, strict=False)) for p, t in zip(predictions, truths, strict=True))
    return correct / max(sum(len(t) for t in truths), 1)


@dataclass
class CharacterStats:
    """Per-character counts from edit alignments, and the errors seen."""

    true_positives: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    false_negatives: Counter[str] = field(default_factory=Counter)
    substitutions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (truth, predicted)
    deletions: Counter[str] = field(default_factory=Counter)  # truth characters not predicted
    insertions: Counter[str] = field(default_factory=Counter)  # predicted characters not in truth

    def scores(self) -> dict[str, dict[str, float | int]]:
        """precision, recall, f1 and support (truth count) per character seen in truth or prediction."""
        chars = set(self.true_positives) | set(self.false_positives) | set(self.false_negatives)
        out: dict[str, dict[str, float | int]] = {}
        for c in sorted(chars):
            tp, fp, fn = self.true_positives[c], self.false_positives[c], self.false_negatives[c]
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[c] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
        return out

    def most_missed(self, k: int = 10) -> list[tuple[str, int]]:
        """Truth characters most often not read correctly (deleted or substituted)."""
        return self.false_negatives.most_common(k)


def character_stats(predictions: Sequence[str], truths: Sequence[str]) -> CharacterStats:
    """Align each pair (minimal edits) and count matches, substitutions, deletions and insertions."""
    stats = CharacterStats()
    for p, t in zip(predictions, truths, strict=True):
        for op in Levenshtein.opcodes(t, p):
            tag, t0, t1, p0, p1 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
            if tag == "equal":
                stats.true_positives.update(t[t0:t1])
            elif tag == "replace":
                for a, b in zip(t[t0:t1], p[p0:p1], strict=True):
                    stats.substitutions[(a, b)] += 1
                    stats.false_negatives[a] += 1
                    stats.false_positives[b] += 1
            elif tag == "delete":
                stats.deletions.update(t[t0:t1])
                stats.false_negatives.update(t[t0:t1])
            elif tag == "insert":
                stats.insertions.update(p[p0:p1])
                stats.false_positives.update(p[p0:p1])
    return stats


def summary_metrics(predictions: Sequence[str], truths: Sequence[str]) -> dict[str, float]:
    """cer, wer, exact_match and positional_char_accuracy."""
    return {
        "cer": cer(predictions, truths),
        "wer": wer(predictions, truths),
        "exact_match": exact_match(predictions, truths),
        "positional_char_accuracy": positional_char_accuracy(predictions, truths),
    }


def auroc(scores: Sequence[float] | np.ndarray, positives: Sequence[bool] | np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for telling ``positives`` from the rest (ties count half);
    NaN when either class is empty. The Mann-Whitney U statistic over the two classes' scores."""
    values, labels = np.asarray(scores, np.float64), np.asarray(positives, bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if not n_pos or not n_neg:
        return math.nan
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    # Average ranks over ties (1-based), so equal scores count half either way.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def confidence_metrics(
    confidences: Sequence[float], edits: Sequence[int], lengths: Sequence[int], bins: int = 10
) -> dict[str, float]:
    """How well readings' confidences tell good readings from bad ones.

    Each reading's accuracy is ``1 - min(1, edits / length)`` (its share of characters right); a calibrated
    confidence is that accuracy on average.

    Args:
        confidences: each reading's confidence, 0..1.
        edits: each reading's edit distance to its truth.
        lengths: each truth's length.
        bins: equal-width confidence bins of the expected calibration error.

    Returns:
        ``ece`` (expected calibration error: the readings-weighted mean gap between mean confidence and mean
        accuracy per bin), ``auroc_cer10`` (how well a low confidence flags readings with CER > 10%: 1 is
        perfect, 0.5 chance), ``cer_high`` / ``cer_low`` (CER of the readings with confidence >= 0.9 and
        below it; NaN when none) and ``share_high`` (the share of readings with confidence >= 0.9).
    """
    conf = np.asarray(confidences, np.float64)
    errs, lens = np.asarray(edits, np.float64), np.maximum(np.asarray(lengths, np.float64), 1)
    if not len(conf) == len(errs) == len(lens) or not len(conf):
        raise ValueError("confidence_metrics needs one confidence, edit count and length per reading")
    accuracy = 1 - np.minimum(1.0, errs / lens)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    members = [which == b for b in range(bins)]
    ece = sum(abs(conf[m].mean() - accuracy[m].mean()) * m.sum() for m in members if m.any()) / len(conf)
    high = conf >= 0.9

    def group_cer(mask: np.ndarray) -> float:
        return float(errs[mask].sum() / lens[mask].sum()) if mask.any() else math.nan

    return {
        "ece": float(ece),
        "auroc_cer10": auroc(-conf, errs / lens > 0.1),
        "cer_high": group_cer(high),
        "cer_low": group_cer(~high),
        "share_high": float(high.mean()),
    }
