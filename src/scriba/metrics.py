"""Text recognition metrics over (prediction, truth) pairs.

CER/WER are corpus-level: total edits over total reference characters/words. Edit alignments come
from rapidfuzz (C++, orders of magnitude faster than a Python DP on thousands of lines).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

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
