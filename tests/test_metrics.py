from __future__ import annotations

import math

import pytest

from scriba.metrics import (
    auroc,
    cer,
    character_stats,
    confidence_metrics,
    edit_distance,
    exact_match,
    positional_char_accuracy,
    summary_metrics,
    wer,
)


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance(["the", "cat"], ["the", "bat", "sat"]) == 2


def test_cer_is_corpus_level() -> None:
    assert cer(["abc"], ["abc"]) == 0.0
    assert cer(["abd"], ["abc"]) == pytest.approx(1 / 3)
    assert cer(["ab", "xyz"], ["abc", "xyz"]) == pytest.approx(1 / 6)
    # Total edits over total truth characters, (1 + 2) / (2 + 10), not the mean of the
    # per-line rates (1/2 + 2/10) / 2 = 0.35.
    assert cer(["a", "abcdefgh"], ["ab", "abcdefghij"]) == pytest.approx(3 / 12)
    assert cer(["abcdef"], ["abc"]) == pytest.approx(1.0)  # 3 insertions over 3 characters
    assert cer([], []) == 0.0


def test_wer() -> None:
    assert wer(["the cat sat"], ["the bat sat"]) == pytest.approx(1 / 3)
    assert wer(["the  cat   sat"], ["the cat sat"]) == 0.0  # any whitespace separates words
    assert wer(["thecat sat", "on mat"], ["the cat sat", "on the mat"]) == pytest.approx(3 / 6)


def test_exact_match() -> None:
    assert exact_match(["a", "b", "c", "d"], ["a", "x", "c", "D"]) == 0.5
    assert exact_match([], []) == 0.0


def test_positional_char_accuracy() -> None:
    assert positional_char_accuracy(["abxd"], ["abcd"]) == pytest.approx(3 / 4)
    assert positional_char_accuracy(["ab"], ["abc"]) == pytest.approx(2 / 3)
    assert positional_char_accuracy(["xabc"], ["abc"]) == 0.0  # one insertion shifts every position
    assert positional_char_accuracy(["abcdef"], ["abc"]) == 1.0  # extra characters are not counted
    assert positional_char_accuracy(["ab", "xy"], ["ab", "xz"]) == pytest.approx(3 / 4)


def test_mismatched_lengths_raise() -> None:
    for metric in (cer, wer, exact_match, positional_char_accuracy):
        with pytest.raises(ValueError):
            metric(["a", "b"], ["a"])


def test_character_stats_counts() -> None:
    # "cat" read as "cut" (a -> u), "cart" as "cat" (r deleted), "cat" as "cats" (s inserted).
    stats = character_stats(["cut", "cat", "cats"], ["cat", "cart", "cat"])
    assert dict(stats.substitutions) == {("a", "u"): 1}
    assert dict(stats.deletions) == {"r": 1}
    assert dict(stats.insertions) == {"s": 1}
    assert dict(stats.true_positives) == {"c": 3, "a": 2, "t": 3}
    assert dict(stats.false_positives) == {"u": 1, "s": 1}
    assert dict(stats.false_negatives) == {"a": 1, "r": 1}
    assert stats.most_missed(1) in ([("a", 1)], [("r", 1)])
    assert dict(stats.most_missed()) == {"a": 1, "r": 1}


def test_character_scores() -> None:
    scores = character_stats(["cut", "cat", "cats"], ["cat", "cart", "cat"]).scores()
    assert set(scores) == {"a", "c", "r", "s", "t", "u"}
    assert scores["c"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3}
    # a: 2 read correctly, 1 read as u, never predicted wrongly.
    assert scores["a"]["precision"] == 1.0
    assert scores["a"]["recall"] == pytest.approx(2 / 3)
    assert scores["a"]["f1"] == pytest.approx(0.8)
    assert scores["a"]["support"] == 3
    assert scores["r"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["u"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_character_stats_perfect_and_empty() -> None:
    stats = character_stats(["abc", ""], ["abc", ""])
    assert not stats.substitutions and not stats.deletions and not stats.insertions
    assert all(s["f1"] == 1.0 for s in stats.scores().values())
    empty = character_stats(["xy"], [""])
    assert dict(empty.insertions) == {"x": 1, "y": 1}


def test_summary_metrics() -> None:
    metrics = summary_metrics(["the cat", "dog"], ["the bat", "dog"])
    assert set(metrics) == {"cer", "wer", "exact_match", "positional_char_accuracy"}
    assert metrics["cer"] == pytest.approx(1 / 10)
    assert metrics["wer"] == pytest.approx(1 / 3)
    assert metrics["exact_match"] == 0.5
    assert metrics["positional_char_accuracy"] == pytest.approx(9 / 10)


def test_auroc_on_known_scores() -> None:
    assert auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.3, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5  # ties count half
    assert auroc([0.9, 0.2, 0.6, 0.4], [True, True, False, False]) == 0.5
    assert math.isnan(auroc([0.3, 0.4], [False, False]))


def test_confidence_metrics_on_known_readings() -> None:
    # Two readings at 0.95 that are right, one at 0.95 with 2 of 10 characters wrong, one at 0.3 all wrong.
    result = confidence_metrics([0.95, 0.95, 0.95, 0.3], [0, 0, 2, 5], [10, 10, 10, 5])
    assert result["cer_high"] == pytest.approx(2 / 30)
    assert result["cer_low"] == pytest.approx(1.0)
    assert result["share_high"] == 0.75
    # the bad readings (CER > 10%) against the good: the 0.3 one below both (2 pairs), the 0.95 one tied (2 halves)
    assert result["auroc_cer10"] == pytest.approx(3 / 4)
    # bin 0.9-1: mean confidence 0.95, mean accuracy (1 + 1 + 0.8) / 3; bin 0.3: 0.3 against 0
    assert result["ece"] == pytest.approx((3 * abs(0.95 - 2.8 / 3) + 0.3) / 4)
    perfect = confidence_metrics([1.0, 1.0, 0.0], [0, 0, 4], [4, 4, 4])
    assert perfect["ece"] == 0 and perfect["auroc_cer10"] == 1.0
    assert math.isnan(confidence_metrics([0.2], [0], [3])["cer_high"])
