"""Lexicon decoding: read the lexicon entry the model finds most likely.

The candidates are the lexicon entries closest to the greedy reading by edit distance (rapidfuzz, C++:
about a millisecond over 35,000 names); each is scored by its exact CTC likelihood over all alignments
plus ``prior_weight`` times its log relative frequency, and the best one wins. A lexicon-constrained beam
search over a prefix trie would find the same reading whenever the truth is within the edit-distance
window of the greedy reading, which is what a whole-word lexicon is for (names, single words); this is
a fraction of the code and the scores are exact rather than beam-pruned.

The greedy reading stays when the best entry is more than ``oov_penalty`` less likely (natural log) than it:
a lexicon helps a reading and never overrules what the image clearly says (None: a hard constraint for a closed
vocabulary, every reading becomes an entry: when no entry is within the edit-distance window, the nearest
entries however far are scored; on doctors' handwritten medicine names, 78 entries, that window had left 22 of
780 readings of a fine-tuned model outside the list, and scoring the nearest entries raised exact match from
93.2% to 95.3%). Measured with the shipped ``names`` model on the Kaggle names, whose
lexicon holds about two thirds of the labeled names (the rest are names it lacks, as with any real list):
exact match on the 251-name ``test`` part 74.5% greedy, 60.6% as a hard constraint, 79.3% with the default
penalty of 6 (chosen on the 84-name ``val`` part: penalty 2 77.4%, 4 78.6%, 6 79.8%, 8 79.8%, 10 76.2%).
With a language model, :mod:`scriba.decoding.rescore` ranks lexicon entries with the beam's readings instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rapidfuzz import distance, process

from scriba.charset import Charset
from scriba.data.corpus import Corpus, read_corpus
from scriba.decoding.ctc import ctc_char_confidences, summed_scores
from scriba.decoding.greedy import Decoded, greedy_decode_one, tidy_text
from scriba.errors import DataFormatError

log = logging.getLogger(__name__)

OOV_PENALTY = 6.0  # nats; chosen on the names' val part (the module doc)


@dataclass(frozen=True)
class Lexicon:
    """Distinct texts a model can write, with log relative frequencies.

    Attributes:
        texts: the entries.
        log_priors: (len(texts),) natural-log probabilities (from repeats in the source; 0 = all of it).
        dropped: entries of the source left out because the charset lacks one of their characters.
    """

    texts: tuple[str, ...]
    log_priors: np.ndarray
    dropped: int = 0
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.texts)})

    @classmethod
    def from_corpus(cls, corpus: Corpus, charset: Charset) -> Lexicon:
        """The corpus entries ``charset`` can write, with the corpus' probabilities as priors.

        Raises:
            DataFormatError: no entry can be written with ``charset``.
        """
        keep = [i for i, text in enumerate(corpus.texts) if not charset.unknown(text)]
        if not keep:
            raise DataFormatError("no lexicon entry can be written with the model's characters")
        weights = corpus.weights[keep]
        log_priors = np.log(weights / weights.sum())
        return cls(tuple(corpus.texts[i] for i in keep), log_priors, len(corpus.texts) - len(keep))

    @classmethod
    def read(cls, path: str | Path, charset: Charset) -> Lexicon:
        """A lexicon file: a CSV/TSV with a ``text`` column or one entry per line (repeats = frequency).

        Raises:
            DataFormatError: missing or unreadable file, no usable entry.
        """
        try:
            corpus = read_corpus(path)
        except DataFormatError as err:
            raise DataFormatError(f"lexicon: {err}") from err
        return cls.from_corpus(corpus, charset)

    def __len__(self) -> int:
        return len(self.texts)

    def __contains__(self, text: object) -> bool:
        return text in self._index

    def log_prior(self, text: str) -> float:
        return float(self.log_priors[self._index[text]])


@dataclass
class LexiconDecoded(Decoded):
    """A lexicon reading, with what greedy decoding read and how the two compare.

    Attributes:
        greedy_ids: the greedy reading (of the first variant).
        margin: CTC log-likelihood of the reading minus that of the greedy reading (0 when they agree;
            very negative when the lexicon forced a reading the image does not support).
        in_lexicon: whether the reading is a lexicon entry (False: no candidate, or the greedy reading
            kept under ``oov_penalty``).
    """

    greedy_ids: list[int] = field(default_factory=list)
    margin: float = 0.0
    in_lexicon: bool = False


@dataclass
class LexiconDecoder:
    """Chooses each reading among the lexicon entries near the greedy reading (see the module doc).

    Args:
        lexicon: the entries.
        charset: the model's characters (to turn entries into ids and greedy ids into text).
        prior_weight: weight of an entry's log relative frequency in its score (0: likelihood only).
        candidates: at most this many nearest entries are scored.
        max_edit_fraction: entries more than this fraction of the greedy reading's length (at least 2)
            edits away are not candidates.
        oov_penalty: keep the greedy reading when its log-likelihood exceeds the best entry's by more than
            this; None: always read a lexicon entry (a hard constraint, for a closed vocabulary: with no entry
            in the window, the ``candidates`` nearest are scored however far they are).
    """

    lexicon: Lexicon
    charset: Charset
    prior_weight: float = 0.3
    candidates: int = 100
    max_edit_fraction: float = 0.5
    oov_penalty: float | None = OOV_PENALTY

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be 1 or more")
        if self.prior_weight < 0 or self.max_edit_fraction < 0 or (self.oov_penalty or 0) < 0:
            raise ValueError("prior_weight, max_edit_fraction and oov_penalty must not be negative")

    @classmethod
    def read(
        cls, path: str | Path, charset: Charset, prior_weight: float = 0.3, oov_penalty: float | None = OOV_PENALTY
    ) -> LexiconDecoder:
        """A decoder over the lexicon file ``path`` (see :meth:`Lexicon.read`) for a model writing ``charset``;
        entries it cannot write are left out with a warning.

        Raises:
            DataFormatError: missing or unreadable file, no usable entry.
        """
        lexicon = Lexicon.read(path, charset)
        if lexicon.dropped:
            log.warning("lexicon: %d entries with characters the model cannot write left out", lexicon.dropped)
        return cls(lexicon, charset, prior_weight=prior_weight, oov_penalty=oov_penalty)

    def nearest(self, text: str) -> list[str]:
        """The ``candidates`` entries nearest ``text`` by edit distance, within the window of ``max_edit_fraction``
        (under a hard constraint, ``oov_penalty`` None, the nearest however far when none is within it)."""
        cutoff = max(2, math.ceil(self.max_edit_fraction * len(text)))
        found = process.extract(
            text, self.lexicon.texts, scorer=distance.Levenshtein.distance, limit=self.candidates, score_cutoff=cutoff
        )
        if not found and self.oov_penalty is None:
            found = process.extract(
                text, self.lexicon.texts, scorer=distance.Levenshtein.distance, limit=self.candidates
            )
        return [entry for entry, _, _ in found]

    def decode(self, log_probs: Sequence[torch.Tensor]) -> LexiconDecoded:
        """One image's reading from its (T, C) log-probabilities, or several variants' (the first is the
        image itself; see :class:`ImageTestTimeAugmentation`): candidates come from every variant's greedy
        reading and are scored by their likelihood summed over the variants.
        """
        greedy = [greedy_decode_one(lp) for lp in log_probs]
        base = greedy[0]
        names: dict[str, None] = {}
        for decoded in greedy:
            names.update(dict.fromkeys(self.nearest(tidy_text(self.charset.decode(decoded.ids)))))
        if not names:
            return LexiconDecoded(base.ids, base.confidence, base.char_confidences, base.ids, 0.0, False)
        entries = list(names)
        ids = [tuple(self.charset.encode(entry)) for entry in entries]
        texts = [*ids, tuple(base.ids)]
        likelihoods = summed_scores(log_probs, texts)
        greedy_score = float(likelihoods[-1])
        priors = torch.tensor([self.lexicon.log_prior(entry) for entry in entries], dtype=torch.float32)
        scores = likelihoods[:-1] + self.prior_weight * priors
        best = int(scores.argmax())
        margin = float(likelihoods[best]) - greedy_score
        keep_greedy = self.oov_penalty is not None and margin < -self.oov_penalty
        peaks = ctc_char_confidences(log_probs[0], ids[best])
        if keep_greedy or peaks is None or not math.isfinite(margin):
            in_lexicon = tidy_text(self.charset.decode(base.ids)) in self.lexicon
            return LexiconDecoded(base.ids, base.confidence, base.char_confidences, base.ids, 0.0, in_lexicon)
        confidence = float(np.exp(np.mean(np.log(np.maximum(peaks, 1e-12))))) if peaks else base.confidence
        return LexiconDecoded(list(ids[best]), confidence, peaks, base.ids, margin, True)


__all__ = ["Lexicon", "LexiconDecoded", "LexiconDecoder"]
