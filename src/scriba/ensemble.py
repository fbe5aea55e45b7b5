"""Several models reading the same handwriting: each proposes its greedy reading, every proposal is scored by
the CTC likelihood of each model, and the best weighted sum wins.

Different models (an image model and a model of pen trajectories, say) make different mistakes, and CTC
likelihood is alignment-free: it compares readings whatever each model's frames, inputs or charset, as
test-time augmentation compares a model's variants (:mod:`scriba.decoding.tta`). The members may read
different inputs of one record: an image model reads its ink drawn, a pen model its points.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from scriba.charset import Charset
from scriba.data.images import ImageLike, load_image
from scriba.data.records import Ink, Record
from scriba.decoding.beam import decoded_with_confidences
from scriba.decoding.ctc import ctc_log_likelihoods, worst_for_unfit
from scriba.decoding.greedy import greedy_decode_one
from scriba.decoding.rescore import PROPOSALS
from scriba.errors import ConfigError
from scriba.recognizer import Alternative, Reading, Recognizer, check_images, check_inks


class Ensemble:
    """Recognizers that read together: each variant a member reads (its test-time augmentation's, or the input
    alone) proposes its greedy reading, and a member's score for a reading is its mean over its variants;
    lexicons are not used.

    An ensemble decodes as its first model does: when that one reads with a language model (its beam search,
    ``Recognizer.decoder``), each member's beam search with the same LM and weights also proposes its best
    readings of its first variant, and a reading's score is the members' weighted mean score plus the LM's
    share as in :mod:`scriba.decoding.rescore` (``lm_weight * log p_lm + insertion_bonus * len``); the first
    model's ``alternatives`` best readings are listed. Load the first model with ``lm=None`` for greedy decoding.

    Args:
        recognizers: two or more loaded models.
        weights: how much each model's CTC log-likelihood counts (default: equally).

    Raises:
        ConfigError: fewer than two models, or weights that do not match them or are not positive.
    """

    def __init__(
        self,
        recognizers: Sequence[Recognizer],
        weights: Sequence[float] | None = None,
    ) -> None:
        if len(recognizers) < 2:
            raise ConfigError(f"an ensemble needs at least two models, got {len(recognizers)}")
        self.recognizers = list(recognizers)
        self.weights = [1.0] * len(self.recognizers) if weights is None else [float(w) for w in weights]
        if len(self.weights) != len(self.recognizers) or min(self.weights) <= 0:
            raise ConfigError(f"need one positive weight per model ({len(self.recognizers)}), got {self.weights}")
        decoder = self.decoder = self.recognizers[0].decoder
        self.alternatives = self.recognizers[0].alternatives
        self._searches = [dataclasses.replace(decoder, charset=r.charset) if decoder else None for r in recognizers]

    @property
    def name(self) -> str:
        return "+".join(r.name for r in self.recognizers)

    @property
    def charset(self) -> Charset:
        """The first model's charset: labels are checked against it."""
        return self.recognizers[0].charset

    def read_image(self, image: ImageLike) -> Reading:
        """Read one image (a path, numpy array or PIL image), as :meth:`Recognizer.read_image` does."""
        return self.read_images([image])[0]

    def read_images(self, images: Sequence[ImageLike], batch_size: int = 32) -> list[Reading]:
        """Read several images, one reading each, in order (each image decoded once for all the models).

        Raises:
            ImageError: an image is missing, empty or cannot be decoded.
            InputKindError: a member reads pen trajectories, not images.
        """
        check_images(images)
        return self.read_records([Record(None, image=load_image(image)) for image in images], batch_size)

    def read_ink(self, ink: Ink) -> Reading:
        """Read one pen trajectory: a list of (K, 2) strokes (x, y; y downward; any unit)."""
        return self.read_inks([ink])[0]

    def read_inks(self, inks: Sequence[Ink], batch_size: int = 32) -> list[Reading]:
        """Read several pen trajectories: an image model reads each drawn, a pen model its points.

        Raises:
            DataFormatError: an ink has no points.
        """
        check_inks(inks)
        return self.read_records([Record(None, ink=ink) for ink in inks], batch_size)

    @torch.inference_mode()
    def read_records(self, records: Sequence[Record], batch_size: int = 32) -> list[Reading]:
        """Read image or ink records (a pen model needs ink records).

        Raises:
            ImageError / DataFormatError / InputKindError: a record one of the models cannot read.
        """
        per_model = [r.variant_log_probs(records, batch_size) for r in self.recognizers]
        return [self._combine([lps[i] for lps in per_model]) for i in range(len(records))]

    def _combine(self, log_probs: list[list[torch.Tensor]]) -> Reading:
        """The best-supported reading of one record from each model's variants' (T_k, C_k) log-probabilities."""
        proposals: dict[str, Reading] = {}
        for recognizer, variants, search in zip(self.recognizers, log_probs, self._searches, strict=True):
            if search is not None:
                for h in search.search(variants[0], max(self.alternatives, PROPOSALS)):
                    reading = recognizer.reading_of(decoded_with_confidences(variants[0], [h], search.confidence_power))
                    proposals.setdefault(reading.text, reading)
            for lp in variants:
                reading = recognizer.reading_of(greedy_decode_one(lp))
                proposals.setdefault(reading.text, reading)
        if len(proposals) == 1 and self.decoder is None:
            return next(iter(proposals.values()))
        texts = list(proposals)
        ctc = torch.zeros(len(texts))
        for recognizer, variants, weight in zip(self.recognizers, log_probs, self.weights, strict=True):
            ctc += weight * _scores(recognizer, variants, texts)
        ctc /= sum(self.weights)  # a weighted mean, so that LM weights tuned for one model fit
        decoder = self.decoder
        if decoder is None:
            return proposals[texts[int(ctc.argmax())]]
        ranked = []
        for text, score in zip(texts, ctc.tolist(), strict=True):
            lm_lp = decoder.lm_log_prob(text)
            ranked.append(Alternative(text, decoder.score(score, lm_lp, len(text)), score, lm_lp))
        ranked.sort(key=lambda a: -a.score)
        best = proposals[ranked[0].text]
        return dataclasses.replace(best, alternatives=ranked[: self.alternatives])


def _scores(recognizer: Recognizer, variants: list[torch.Tensor], texts: list[str]) -> torch.Tensor:
    """(len(texts),) mean CTC log-likelihoods of the texts over one model's variants; a text it cannot write (a
    character outside its charset) or fit into a variant's frames gets that variant's worst finite score, so
    it does not veto the text."""
    charset = recognizer.charset
    writable = [i for i, text in enumerate(texts) if not charset.unknown(text)]
    scores = torch.full((len(variants), len(texts)), -torch.inf)
    if writable:
        ids = [charset.encode(texts[i]) if texts[i] else [] for i in writable]  # "" is all blanks
        scores[:, writable] = ctc_log_likelihoods(variants, ids)
    return worst_for_unfit(scores).mean(0)
