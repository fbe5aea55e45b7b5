"""Lexicon decoding: the reading is the lexicon entry near the greedy one with the best score."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scriba.charset import Charset
from scriba.data.corpus import Corpus
from scriba.decoding import Lexicon, LexiconDecoder
from scriba.errors import DataFormatError

CHARSET = Charset("ABCDE")  # ids 1..5, blank 0


def _frames(rows: list[dict[str, float]]) -> torch.Tensor:
    """(T, 6) log-probs from per-frame probabilities of some characters (the rest of the mass to blank)."""
    probs = torch.full((len(rows), 6), 1e-3)
    for t, row in enumerate(rows):
        for char, p in row.items():
            probs[t, CHARSET.encode(char)[0]] = p
        probs[t, 0] = max(1e-3, 1 - sum(row.values()))
    return (probs / probs.sum(-1, keepdim=True)).log()


def _log_likelihood(lp: torch.Tensor, text: str) -> float:
    ids = CHARSET.encode(text)
    loss = F.ctc_loss(lp[:, None], torch.tensor([ids]), torch.tensor([lp.shape[0]]), torch.tensor([len(ids)]),
                      reduction="sum")  # fmt: skip
    return -float(loss)


def _lexicon(counts: dict[str, float]) -> Lexicon:
    return Lexicon.from_corpus(Corpus.from_counts(counts), CHARSET)


# Greedy reads "ABD": the third character is D (0.5) over C (0.4).
ABD = _frames([{"A": 0.9}, {}, {"B": 0.9}, {}, {"D": 0.5, "C": 0.4}, {}])


def test_lexicon_keeps_writable_entries_with_log_frequencies(tmp_path: Path) -> None:
    lexicon = _lexicon({"ABC": 3, "BAD": 1, "ABX": 5})  # X is not in the charset
    assert lexicon.texts == ("ABC", "BAD") and lexicon.dropped == 1 and len(lexicon) == 2
    assert lexicon.log_prior("ABC") == pytest.approx(math.log(0.75)) and "BAD" in lexicon and "ABX" not in lexicon
    file = tmp_path / "words.txt"
    file.write_text("ABC\nABC\nBAD\n\n", encoding="utf-8")
    assert Lexicon.read(file, CHARSET).log_prior("BAD") == pytest.approx(math.log(1 / 3))
    with pytest.raises(DataFormatError, match="no lexicon entry"):
        _lexicon({"XYZ": 1})
    with pytest.raises(DataFormatError, match="not found"):
        Lexicon.read(tmp_path / "missing.txt", CHARSET)


def test_the_most_likely_entry_wins_over_the_greedy_reading() -> None:
    decoder = LexiconDecoder(_lexicon({"ABC": 1, "ABE": 1, "EEEE": 1}), CHARSET, prior_weight=0.0)
    result = decoder.decode([ABD])
    assert CHARSET.decode(result.ids) == "ABC" and result.in_lexicon
    assert CHARSET.decode(result.greedy_ids) == "ABD"
    assert result.margin == pytest.approx(_log_likelihood(ABD, "ABC") - _log_likelihood(ABD, "ABD"), rel=1e-4)
    assert result.margin < 0
    peaks = [float(ABD[t, CHARSET.encode(c)[0]].exp()) for t, c in ((0, "A"), (2, "B"), (4, "C"))]
    assert result.char_confidences == pytest.approx(peaks) and peaks[2] == pytest.approx(0.4, abs=0.01)
    assert result.confidence == pytest.approx(float(np.exp(np.mean(np.log(peaks)))))


def test_the_prior_decides_between_similar_likelihoods() -> None:
    entries = {"ABC": 1, "ABD": 1000}
    by_likelihood = LexiconDecoder(_lexicon(entries), CHARSET, prior_weight=0.0).decode([ABD])
    assert CHARSET.decode(by_likelihood.ids) == "ABD" and by_likelihood.margin == pytest.approx(0.0, abs=1e-5)
    # With the frames nearly undecided between C and D, a strong prior for the frequent entry wins.
    undecided = _frames([{"A": 0.9}, {}, {"B": 0.9}, {}, {"D": 0.45, "C": 0.44}, {}])
    frequent_c = LexiconDecoder(_lexicon({"ABC": 1000, "ABD": 1}), CHARSET, prior_weight=1.0)
    assert CHARSET.decode(frequent_c.decode([undecided]).ids) == "ABC"


def test_far_entries_are_not_candidates_and_open_vocabulary_keeps_the_greedy_reading() -> None:
    far = LexiconDecoder(_lexicon({"EEEEE": 1}), CHARSET).decode([ABD])
    assert CHARSET.decode(far.ids) == "ABD" and not far.in_lexicon and far.margin == 0.0
    # "ABC" is about 0.2 nats less likely than "ABD": a penalty below that keeps the greedy reading.
    gap = _log_likelihood(ABD, "ABD") - _log_likelihood(ABD, "ABC")
    lexicon = _lexicon({"ABC": 1})
    strict = LexiconDecoder(lexicon, CHARSET, oov_penalty=gap / 2).decode([ABD])
    assert CHARSET.decode(strict.ids) == "ABD" and not strict.in_lexicon
    lenient = LexiconDecoder(lexicon, CHARSET, oov_penalty=gap * 2).decode([ABD])
    assert CHARSET.decode(lenient.ids) == "ABC" and lenient.in_lexicon


def test_a_hard_constraint_reads_an_entry_even_when_none_is_near() -> None:
    """A closed vocabulary (``oov_penalty`` None, ``--oov-penalty inf``): a reading 3 edits from every entry
    (beyond the window of 2) still becomes the likeliest entry, where an open one keeps the greedy reading."""
    lexicon = _lexicon({"CEDA": 1, "EBEC": 1})
    assert LexiconDecoder(lexicon, CHARSET).nearest("ABD") == []
    open_vocabulary = LexiconDecoder(lexicon, CHARSET).decode([ABD])
    assert CHARSET.decode(open_vocabulary.ids) == "ABD" and not open_vocabulary.in_lexicon
    closed = LexiconDecoder(lexicon, CHARSET, prior_weight=0.0, oov_penalty=None).decode([ABD])
    likeliest = max(("CEDA", "EBEC"), key=lambda entry: _log_likelihood(ABD, entry))
    assert CHARSET.decode(closed.ids) == likeliest and closed.in_lexicon
    assert closed.margin == pytest.approx(_log_likelihood(ABD, likeliest) - _log_likelihood(ABD, "ABD"), rel=1e-4)


def test_variants_propose_candidates_and_sum_their_likelihoods() -> None:
    # The second variant clearly reads "ABE"; the entries near "ABD" alone would not include "EBE".
    abe = _frames([{"A": 0.3, "E": 0.6}, {}, {"B": 0.9}, {}, {"E": 0.9}, {}])
    decoder = LexiconDecoder(_lexicon({"ABD": 1, "EBE": 1}), CHARSET, prior_weight=0.0, max_edit_fraction=0.0)
    assert CHARSET.decode(decoder.decode([ABD]).ids) == "ABD"
    both = decoder.decode([ABD, abe, abe])
    sums = {t: sum(_log_likelihood(v, t) for v in (ABD, abe, abe)) for t in ("ABD", "EBE")}
    assert CHARSET.decode(both.ids) == max(sums, key=sums.__getitem__) == "EBE"


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="candidates"):
        LexiconDecoder(_lexicon({"A": 1}), CHARSET, candidates=0)
    with pytest.raises(ValueError, match="negative"):
        LexiconDecoder(_lexicon({"A": 1}), CHARSET, prior_weight=-1)
