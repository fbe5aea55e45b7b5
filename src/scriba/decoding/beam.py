"""CTC prefix beam search with a character n-gram language model (Hannun et al. 2014, "First-pass LVCSR").

Each hypothesis is a prefix with two CTC log-probabilities (its paths ending in blank and in its last
character); a prefix grows by a character when a frame gives it one, and its score is

    log p_ctc(prefix) + lm_weight * log p_lm(prefix) + insertion_bonus * len(prefix)

(the bonus offsets the LM's cost per character, which would otherwise favour short readings). A reading
ends with the LM's end-of-text probability. Characters below ``min_log_prob`` in a frame are not tried:
most frames of a handwriting line are blank with near certainty and cost one update per hypothesis.

Written here rather than taken from a library: pyctcdecode pins numpy<2 and wants a word-level KenLM model;
flashlight-text (a wheel bundling KenLM) has a lexicon-free decoder that would do, but needs KenLM's own
files and offers no way to score given readings (test-time augmentation's variants, an ensemble's models,
lexicon entries: :mod:`scriba.decoding.rescore`) exactly as its search does. This is a hundred lines of
Python over numpy: 160 lines a second on one core at beam 16, 260 once the LM's memo is warm
(benchmarks/bench_decoding.py). A new prefix is looked up in the LM only when its image score plus the
bonus (an upper bound: the LM's log-probabilities are <= 0) could still beat the worst prefix kept, which
halves the time and keeps the search exact.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from scriba.charset import BLANK, Charset
from scriba.decoding.ctc import ctc_char_confidences
from scriba.decoding.greedy import Decoded
from scriba.lm.ngram import NgramLM

NEG_INF = -math.inf


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b))."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


@dataclass
class Hypothesis:
    """One reading of a beam search.

    Attributes:
        ids: character ids.
        score: what the search ranks by: ``ctc + lm_weight * lm + insertion_bonus * len(ids)``.
        ctc: natural-log CTC probability of the reading (summed over the alignments the beam kept).
        lm: natural-log LM probability of the reading, its end included (0 without an LM).
    """

    ids: list[int]
    score: float
    ctc: float
    lm: float


@dataclass
class BeamDecoded(Decoded):
    """A beam search reading, with the alternatives it ranked below it.

    Attributes:
        hypotheses: the best readings, best first (the first is this one).
        greedy_ids: with a lexicon: the greedy reading of the input as it is.
        margin: with a lexicon: the reading's mean CTC log-likelihood minus the greedy reading's.
    """

    hypotheses: list[Hypothesis] = field(default_factory=list)
    greedy_ids: list[int] | None = None
    margin: float | None = None


@dataclass
class BeamSearch:
    """Prefix beam search over one sequence's (T, C) log-probabilities (see the module doc).

    Args:
        charset: the model's characters.
        lm: the character language model (None: CTC alone, which finds readings greedy decoding misses by
            summing a reading's alignments).
        lm_weight: how much the LM's log-probability counts against the image's.
        insertion_bonus: added per character.
        beam: hypotheses kept after each frame.
        min_log_prob: characters less likely than this in a frame are not tried there.
        confidence_power: the reading's character confidences (image probabilities) are raised to this
            power: with an LM the characters are right more often than the image alone says (fitted by
            ``scriba lm tune``; 1 leaves them).
    """

    charset: Charset
    lm: NgramLM | None = None
    lm_weight: float = 0.5
    insertion_bonus: float = 1.0
    beam: int = 16
    min_log_prob: float = -5.0
    confidence_power: float = 1.0

    def __post_init__(self) -> None:
        if self.beam < 1:
            raise ValueError(f"beam must be 1 or more, got {self.beam}")
        if self.lm_weight < 0:
            raise ValueError(f"lm_weight must not be negative, got {self.lm_weight}")
        if self.confidence_power <= 0:
            raise ValueError(f"confidence_power must be positive, got {self.confidence_power}")
        lm = self.lm
        # The LM's token for each class id (blank's is unused).
        self._lm_tokens = [lm.token(c) if lm is not None else 0 for c in ["", *self.charset.characters]]

    def search(self, log_probs: torch.Tensor | np.ndarray, alternatives: int = 1) -> list[Hypothesis]:
        """The ``alternatives`` best readings of (T, C) log-probabilities, best first (one, empty, for T = 0)."""
        lp = log_probs.detach().float().cpu().numpy() if isinstance(log_probs, torch.Tensor) else log_probs
        lp = np.asarray(lp, np.float64)
        lm, weight, bonus = self.lm, self.lm_weight, self.insertion_bonus
        tokens = self._lm_tokens
        # Prefixes are nodes of a trie: parent, last id, LM state, weighted LM score + bonus so far.
        last: list[int] = [BLANK]
        parent: list[int] = [-1]
        states: list[int] = [lm.start if lm is not None else 0]
        extra: list[float] = [0.0]
        lm_sum: list[float] = [0.0]
        children: dict[int, int] = {}  # node * classes + id -> the child node
        classes = lp.shape[1]

        def grow(node: int, c: int, key: int) -> int:
            step, state = lm.score(states[node], tokens[c]) if lm is not None else (0.0, 0)
            children[key] = len(last)
            last.append(c)
            parent.append(node)
            states.append(state)
            lm_sum.append(lm_sum[node] + step)
            extra.append(extra[node] + weight * step + bonus)
            return children[key]

        floor, width = self.min_log_prob, self.beam
        beam: dict[int, tuple[float, float]] = {0: (0.0, NEG_INF)}  # node -> (log p ending in blank, in a char)
        frames = lp.tolist()  # Python floats: indexing a list is several times faster than an array
        tried = [(np.flatnonzero(row) + 1).tolist() for row in lp[:, 1:] > floor]
        for frame, chars in zip(frames, tried, strict=True):
            blank = frame[BLANK]
            if not chars:  # blank only: every prefix stays as it is
                beam = {node: (_add(b, nb) + blank, NEG_INF) for node, (b, nb) in beam.items()}
                continue
            # The paths of each prefix ending in blank (only the prefix itself leads there) and in a character;
            # prefixes new to the trie wait in ``fresh`` (with their one path) until they may enter the beam.
            in_blank: dict[int, float] = {}
            in_char: dict[int, float] = {}
            fresh: list[tuple[float, int, float]] = []
            for node, (b, nb) in beam.items():
                total = _add(b, nb)
                in_blank[node] = total + blank
                end = last[node]
                if end != BLANK and frame[end] > floor:  # the last character held one more frame
                    old = in_char.get(node)
                    in_char[node] = nb + frame[end] if old is None else _add(old, nb + frame[end])
                for c in chars:
                    key = node * classes + c
                    # A repeated character needs a blank between: only paths ending in blank extend.
                    gain = (b if c == end else total) + frame[c]
                    grown = children.get(key)
                    if grown is None:
                        # The LM can only lower this bound (log-probabilities are <= 0).
                        fresh.append((gain + extra[node] + bonus, key, gain))
                    else:
                        old = in_char.get(grown)
                        in_char[grown] = gain if old is None else _add(old, gain)
            ranked = [(_add(in_blank.get(n, NEG_INF), v) + extra[n], n, in_blank.get(n, NEG_INF), v)
                      for n, v in in_char.items()]  # fmt: skip
            ranked += [(b + extra[n], n, b, NEG_INF) for n, b in in_blank.items() if n not in in_char]
            kept = heapq.nlargest(width, ranked)
            if fresh:
                # Best bound first; only prefixes that may still beat the worst kept one are scored by the LM.
                heapq.heapify(kept)
                for bound, key, gain in sorted(fresh, reverse=True):
                    if len(kept) >= width and bound <= kept[0][0]:
                        break
                    node = grow(key // classes, key % classes, key)
                    entry = (gain + extra[node], node, NEG_INF, gain)
                    if len(kept) < width:
                        heapq.heappush(kept, entry)
                    elif entry > kept[0]:
                        heapq.heapreplace(kept, entry)
            beam = {n: (b, v) for _, n, b, v in kept}

        finals = []
        for node, (b, nb) in beam.items():
            end_lp = lm.end(states[node]) if lm is not None else 0.0
            ctc = _add(b, nb)
            finals.append((ctc + extra[node] + weight * end_lp, ctc, lm_sum[node] + end_lp, node))
        finals.sort(key=lambda f: -f[0])
        out = []
        for score, ctc, lm_lp, node in finals[: max(1, alternatives)]:
            ids = []
            while node > 0:
                ids.append(last[node])
                node = parent[node]
            out.append(Hypothesis(ids[::-1], score, ctc, lm_lp))
        return out

    def decode(self, log_probs: torch.Tensor, alternatives: int = 1) -> BeamDecoded:
        """The best reading of one sequence's (T, C) log-probabilities with its character confidences (see
        :func:`decoded_with_confidences`) and the ``alternatives`` best readings."""
        return decoded_with_confidences(log_probs, self.search(log_probs, alternatives), self.confidence_power)

    def lm_log_prob(self, text: str) -> float:
        """The LM's natural-log probability of a text, its end included (0 without an LM)."""
        return self.lm.log_prob(text) if self.lm is not None else 0.0

    def score(self, ctc: float, lm: float, length: int) -> float:
        """What the search ranks a reading of ``length`` characters by, given its CTC and LM log-probabilities."""
        return ctc + self.lm_weight * lm + self.insertion_bonus * length

    def hypothesis(self, ids: Sequence[int], ctc: float, bonus: float = 0.0) -> Hypothesis:
        """A reading scored as the search scores one, given its CTC log-likelihood (plus ``bonus``)."""
        lm = self.lm_log_prob(self.charset.decode(ids))
        return Hypothesis(list(ids), self.score(ctc, lm, len(ids)) + bonus, ctc, lm)


def decoded_with_confidences(log_probs: torch.Tensor, hypotheses: list[Hypothesis], power: float = 1.0) -> BeamDecoded:
    """The first of ``hypotheses`` (best first) as a reading of (T, C) frames, with its characters' peak
    probabilities on its best alignment (as greedy decoding reports them; 0 for a reading too long for the
    frames) raised to ``power``, and their geometric mean; an empty reading's confidence is the mean
    probability of blank."""
    best = hypotheses[0]
    peaks = (ctc_char_confidences(log_probs, best.ids) if best.ids else []) or [0.0] * len(best.ids)
    peaks = [p**power for p in peaks]
    if peaks:
        confidence = float(np.exp(np.mean(np.log(np.maximum(peaks, 1e-12)))))
    else:
        blank = log_probs[:, BLANK].detach().float().exp() if len(log_probs) else torch.zeros(1)
        confidence = float(blank.mean())
    return BeamDecoded(best.ids, confidence, peaks, hypotheses)


__all__ = ["BeamDecoded", "BeamSearch", "Hypothesis", "decoded_with_confidences"]
