"""Character n-gram LMs: modified Kneser-Ney estimates checked by hand, normalization, files."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scriba.errors import DataFormatError, ModelFileError
from scriba.lm import NgramLM, load_lm
from scriba.lm.estimate import BOS_ID
from scriba.lm.texts import read_texts


def _p(lm: NgramLM, history: str, char: str) -> float:
    state = lm.start
    for c in history:
        state = lm.score(state, lm.token(c))[1]
    return math.exp(lm.score(state, lm.token(char) if char != "</s>" else 2)[0])


def test_a_bigram_model_of_a_tiny_text_has_the_probabilities_worked_out_by_hand() -> None:
    # Sentences "ab" and "b": <s> a b </s>, <s> b </s>. Too few n-grams for modified Kneser-Ney's three
    # discounts, so every count is discounted by 0.5.
    lm = NgramLM.build(["ab", "b"], order=2)
    assert lm.vocab == ("<unk>", "<s>", "</s>", "a", "b")
    assert lm.tables.discounts == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    # Unigrams count distinct left neighbours: a {<s>} 1, b {<s>, a} 2, </s> {b} 1; total 4, 1.5 freed,
    # shared uniformly by the 4 predictable tokens (all but <s>): 0.375 / 4 = 0.09375 each.
    assert _p(lm, "", "a") == pytest.approx(0.359375)  # <s> a: (1 - 0.5) / 2 + 0.5 * p(a)
    assert math.exp(lm.tables.log_probs[0][lm.token("a")]) == pytest.approx(0.5 / 4 + 0.09375)
    assert math.exp(lm.tables.log_probs[0][lm.token("b")]) == pytest.approx(1.5 / 4 + 0.09375)
    assert math.exp(lm.tables.log_probs[0][0]) == pytest.approx(0.09375)  # <unk>: the uniform share alone
    assert lm.tables.log_probs[0][BOS_ID] < -200  # <s> is never predicted
    assert _p(lm, "", "b") == pytest.approx(0.25 + 0.5 * 0.46875)
    assert _p(lm, "", "</s>") == pytest.approx(0.5 * 0.21875)  # unseen after <s>: backoff 0.5 * p(</s>)
    assert _p(lm, "a", "b") == pytest.approx(0.5 + 0.5 * 0.46875)  # one count, gamma 0.5
    assert _p(lm, "ab", "</s>") == pytest.approx(0.75 + 0.25 * 0.21875)  # b </s> twice: gamma 0.5 / 2
    assert _p(lm, "x", "a") == pytest.approx(0.21875)  # after a character never seen (<unk>): the unigram
    assert lm.log_prob("ab") == pytest.approx(math.log(0.359375 * 0.734375 * 0.8046875))


def test_discounts_follow_chen_and_goodman_and_every_context_sums_to_one() -> None:
    rng = random.Random(0)
    words = [
        "the",
        "cat",
        "sat",
        "on",
        "a",
        "mat",
        "hat",
        "that",
        "this",
        "is",
        "was",
        "her",
        "his",
        "and",
        "to",
        "of",
        "in",
        "it",
        "at",
        "by",
    ]
    sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 8))) for _ in range(300)]
    lm = NgramLM.build(sentences, order=3)
    # The top order's discounts from its counts of counts, counted here independently:
    # Y = n1 / (n1 + 2 n2), Dk = k - (k + 1) Y n(k+1) / nk.
    trigrams = Counter()
    for s in sentences:
        tokens = ["<s>", *s, "</s>"]
        trigrams.update(tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2))
    n = [sum(1 for c in trigrams.values() if c == k) for k in range(5)]
    y = n[1] / (n[1] + 2 * n[2])
    expected = [k - (k + 1) * y * n[k + 1] / n[k] for k in (1, 2, 3)]
    assert lm.tables.discounts[2] == pytest.approx(expected)
    assert len(lm.tables.codes[2]) == len(trigrams)
    for history in ["", "t", "th", "the", "zz", "a m"]:
        total = sum(_p(lm, history, c) for c in [*lm.vocab[3:], "</s>"]) + _p(lm, history, "\x00")
        assert total == pytest.approx(1.0, abs=1e-9), history
    assert lm.perplexity(["the cat sat"]) < lm.perplexity(["tca hte ast"])


def test_the_same_text_in_any_order_gives_the_same_model(tmp_path: Path) -> None:
    sentences = ["hello world", "hello there", "world peace", "a b c"] * 3
    a = NgramLM.build(sentences, 4)
    b = NgramLM.build(list(reversed(sentences)), 4)
    for x, y in zip(a.tables.log_probs, b.tables.log_probs, strict=True):
        np.testing.assert_array_equal(x, y)
    a.save(tmp_path / "a.lm")
    b.save(tmp_path / "b.lm")
    assert (tmp_path / "a.lm").read_bytes() == (tmp_path / "b.lm").read_bytes()


def test_save_load_and_arpa(tmp_path: Path) -> None:
    lm = NgramLM.build(["ab ba", "abba"], 3, info={"text": ["tiny"]})
    loaded = load_lm(lm.save(tmp_path / "tiny.lm"))
    assert loaded.vocab == lm.vocab and loaded.order == 3 and loaded.info == {"text": ["tiny"]}
    assert loaded.log_prob("ab ba") == pytest.approx(lm.log_prob("ab ba"), abs=1e-5)
    arpa = lm.write_arpa(tmp_path / "tiny.arpa").read_text(encoding="utf-8").splitlines()
    assert f"ngram 1={len(lm.vocab)}" in arpa and f"ngram 3={len(lm.tables.codes[2])}" in arpa
    assert any(line.endswith("<space>\ta") or "\t<space> " in line or "<space>\t" in line for line in arpa)
    assert sum(1 for line in arpa if line.count("\t") >= 1) == len(lm)


def test_bad_files_and_texts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="unknown language model 'nope'"):
        load_lm("nope")
    with pytest.raises(ModelFileError, match="not found"):
        load_lm(tmp_path / "missing.lm")
    (tmp_path / "junk.lm").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot read language model"):
        load_lm(tmp_path / "junk.lm")
    with pytest.raises(ValueError, match="no text"):
        NgramLM.build(["", "   "], 3)
    with pytest.raises(ValueError, match="order"):
        NgramLM.build(["ab"], 0)
    (tmp_path / "t.csv").write_text("text,split\nab,train\ncd,val\n", encoding="utf-8")
    assert read_texts(tmp_path / "t.csv", ["train"]) == ["ab"]
    assert read_texts(tmp_path / "t.csv") == ["ab", "cd"]
    with pytest.raises(DataFormatError, match="no text in split"):
        read_texts(tmp_path / "t.csv", ["test"])
    with pytest.raises(DataFormatError, match="not found"):
        read_texts(tmp_path / "none.txt")
