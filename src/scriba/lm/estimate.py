"""Estimate a character n-gram language model with interpolated modified Kneser-Ney smoothing.

Chen & Goodman (1998), as KenLM's ``lmplz`` does it: the highest order counts n-grams, lower orders count
how many different characters precede them (continuation counts; n-grams that begin a sentence keep their
counts), each order has three discounts (for counts 1, 2 and 3+) from its counts of counts, and every
order interpolates with the next lower one, down to a uniform distribution over the vocabulary. The result
is stored in backoff form (ARPA's): each seen n-gram's interpolated probability, and each context's
interpolation weight as its backoff.

Written with numpy rather than taken from a library: KenLM's estimator is a C++ program that pip cannot
install without a compiler, and NLTK's is pure Python and about 100x slower. Counting is vectorized: each
n-gram is one int64 (its tokens as base-V digits), so counting is ``np.unique`` and finding an n-gram's
context or suffix is integer division or modulo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, BOS, EOS)
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
FALLBACK_DISCOUNT = 0.5
LOG_ZERO = -99.0 * np.log(10)  # ARPA's "-99" for <s>, which is never predicted


@dataclass(frozen=True)
class NgramTables:
    """A backoff n-gram model as arrays.

    Attributes:
        vocab: the tokens: ``<unk>``, ``<s>``, ``</s>``, then single characters in code-point order.
        codes: per order n (index n - 1), sorted int64 codes of the n-grams (tokens as base-len(vocab) digits,
            the first token most significant).
        log_probs: per order, the natural-log interpolated probability of each n-gram's last token given the rest.
        backoffs: per order, the natural-log backoff weight of each n-gram as a context (0 where it is none;
            all 0 for the highest order).
        discounts: per order, the (D1, D2, D3+) discounts used.
    """

    vocab: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    log_probs: tuple[np.ndarray, ...]
    backoffs: tuple[np.ndarray, ...]
    discounts: tuple[tuple[float, float, float], ...]

    @property
    def order(self) -> int:
        return len(self.codes)


def tidy_sentence(text: str) -> str:
    """A corpus line as the LM sees it: whitespace runs become one space, none at either end (as labels are)."""
    return " ".join(text.split())


def estimate(sentences: Iterable[str], order: int) -> NgramTables:
    """A modified Kneser-Ney character model of ``order`` from sentences (each one line of text).

    Deterministic: the same sentences in any order give the same tables.

    Raises:
        ValueError: order below 1, no text, or a vocabulary too large for int64 codes at this order.
    """
    if order < 1:
        raise ValueError(f"order must be 1 or more, got {order}")
    texts = [t for t in (tidy_sentence(s) for s in sentences) if t]
    if not texts:
        raise ValueError("no text to build a language model from")
    vocab = (*SPECIALS, *sorted(set("".join(texts))))
    base = len(vocab)
    if order * np.log2(base) > 62:
        raise ValueError(f"{base} distinct characters are too many for an order-{order} model")
    index = {c: i for i, c in enumerate(vocab)}
    tokens, sentence = _flatten(texts, index)
    raw = [_count(tokens, sentence, n, base) for n in range(1, order + 1)]
    # The unigram <s> is never predicted: it only conditions.
    raw[0] = (raw[0][0][raw[0][0] != BOS_ID], raw[0][1][raw[0][0] != BOS_ID])
    adjusted = [_adjusted_counts(raw, n, base) for n in range(1, order + 1)]
    discounts = tuple(_discounts(counts, n) for n, (_, counts) in enumerate(adjusted, start=1))

    codes_out: list[np.ndarray] = []
    probs_out: list[np.ndarray] = []
    backoffs_out: list[np.ndarray] = []
    lower: np.ndarray | None = None  # the previous order's interpolated probabilities (not logs)
    for n in range(1, order + 1):
        codes, counts = adjusted[n - 1]
        d = np.array(discounts[n - 1])
        discount = d[np.minimum(counts, 3) - 1]
        contexts = codes // base
        # Per context: total adjusted count and the mass the discounts free (the backoff weight's numerator).
        unique_contexts, group = np.unique(contexts, return_inverse=True)
        totals = np.bincount(group, weights=counts.astype(np.float64))
        freed = np.bincount(group, weights=discount)
        gamma = freed / totals
        probs = (counts - discount) / totals[group]
        if n == 1:
            # Interpolate with a uniform distribution over the tokens that can be predicted (all but <s>).
            probs = probs + gamma[group] / (base - 1)
        else:
            assert lower is not None
            suffix = codes % base ** (n - 1)
            probs = probs + gamma[group] * lower[np.searchsorted(codes_out[-1], suffix)]
            # This order's contexts are the previous order's n-grams: their backoff is this order's gamma.
            where = np.searchsorted(codes_out[-1], unique_contexts)
            backoffs_out[-1][where] = np.log(gamma)
        if n == 1:
            codes, probs = _complete_unigrams(codes, probs, float(gamma[0]), base)
        lower = probs
        codes_out.append(codes)
        probs_out.append(probs)
        backoffs_out.append(np.zeros(len(codes)))
    log_probs = []
    for n, probs in enumerate(probs_out, start=1):
        with np.errstate(divide="ignore"):
            lp = np.log(probs)
        if n == 1:
            lp[BOS_ID] = LOG_ZERO
        log_probs.append(lp)
    return NgramTables(vocab, tuple(codes_out), tuple(log_probs), tuple(backoffs_out), discounts)


def _flatten(texts: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """All sentences as one token array, each ``<s> chars </s>``, and each token's sentence number."""
    pieces, owners = [], []
    for k, text in enumerate(texts):
        ids = [BOS_ID, *(index[c] for c in text), EOS_ID]
        pieces.append(np.array(ids, np.int64))
        owners.append(np.full(len(ids), k, np.int64))
    return np.concatenate(pieces), np.concatenate(owners)


def _count(tokens: np.ndarray, sentence: np.ndarray, n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct codes, counts) of the n-grams within sentences."""
    if len(tokens) < n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = len(tokens) - n + 1
    codes = np.zeros(starts, np.int64)
    for j in range(n):
        codes = codes * base + tokens[j : j + starts]
    inside = sentence[:starts] == sentence[n - 1 :]
    distinct, counts = np.unique(codes[inside], return_counts=True)
    return distinct, counts.astype(np.int64)


def _adjusted_counts(raw: list[tuple[np.ndarray, np.ndarray]], n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Kneser-Ney's counts of order n: raw counts at the highest order and for n-grams that begin with <s>;
    otherwise the number of distinct tokens seen before the n-gram (every such n-gram has one: <s> at least)."""
    codes, counts = raw[n - 1]
    if n == len(raw):
        return codes, counts
    longer = raw[n][0]
    suffixes, left = np.unique(longer % base**n, return_counts=True)
    first = codes // base ** (n - 1)
    adjusted = counts.copy()
    extendable = first != BOS_ID
    adjusted[extendable] = left[np.searchsorted(suffixes, codes[extendable])]
    return codes, adjusted


def _discounts(counts: np.ndarray, n: int) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ from the counts of counts; a constant where the text is too small for them."""
    n1, n2, n3, n4 = (int(np.sum(counts == k)) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) > 0:
        y = n1 / (n1 + 2 * n2)
        d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        if all(0 < dk < k for k, dk in enumerate(d, start=1)):
            return (float(d[0]), float(d[1]), float(d[2]))
    log.info("order %d: too few n-grams for modified Kneser-Ney discounts; using %s", n, FALLBACK_DISCOUNT)
    return (FALLBACK_DISCOUNT,) * 3


def _complete_unigrams(codes: np.ndarray, probs: np.ndarray, gamma: float, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Every token as a unigram (indexed by its id): unseen ones (``<unk>``) get the uniform share of the freed
    mass, ``<s>`` probability 0."""
    full = np.full(base, gamma / (base - 1))
    full[codes] = probs
    full[BOS_ID] = 0.0
    return np.arange(base, dtype=np.int64), full


__all__ = ["BOS", "EOS", "SPECIALS", "UNK", "NgramTables", "estimate", "tidy_sentence"]
