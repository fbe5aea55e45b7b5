"""Language-model decoding with test-time augmentation or a lexicon: propose readings, then rank them all.

Beam search reads one sequence of frames, but test-time augmentation gives each input several (of different
lengths), and a lexicon adds readings the beam may not hold. So the beam's best readings of the input as it
is, each variant's greedy reading and the lexicon entries nearest the best reading are proposed, and each is
scored as the beam scores a reading, with the CTC log-likelihood averaged over the variants (alignment-free,
so any widths combine; an average so that the LM weight tuned on one reading still fits):

    mean_k log p_ctc(text | variant k) + lm_weight * log p_lm(text) + insertion_bonus * len(text)

plus the lexicon's ``oov_penalty`` for lexicon entries: a reading outside the lexicon wins only when it is
that much better supported, so the lexicon helps a reading and never overrules what the image clearly says.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from scriba.decoding.beam import BeamDecoded, BeamSearch, Hypothesis, decoded_with_confidences
from scriba.decoding.ctc import ctc_log_likelihoods, worst_for_unfit
from scriba.decoding.greedy import greedy_decode_one, tidy_text
from scriba.decoding.lexicon import LexiconDecoder

PROPOSALS = 8  # beam readings proposed: at least the alternatives asked for
FORCED = 1e9


def rescore(
    log_probs: Sequence[torch.Tensor],
    search: BeamSearch,
    lexicon: LexiconDecoder | None = None,
    alternatives: int = 1,
) -> BeamDecoded:
    """The best reading of one input from its variants' (T_k, C) log-probabilities (the input as it is first),
    with the ``alternatives`` best readings (see the module doc)."""
    beam = search.search(log_probs[0], max(alternatives, PROPOSALS))
    proposals: dict[tuple[int, ...], None] = dict.fromkeys(tuple(h.ids) for h in beam)
    for lp in log_probs[1:]:
        proposals.setdefault(tuple(greedy_decode_one(lp).ids), None)
    charset = search.charset
    if lexicon is not None:
        for entry in lexicon.nearest(tidy_text(charset.decode(beam[0].ids))):
            proposals.setdefault(tuple(charset.encode(entry)), None)
    texts = list(proposals)
    # With a lexicon, the greedy reading's likelihood too (for the margin), in the same CTC pass; each set is
    # then scored apart, as a text too long for a variant takes the worst score of its own set.
    greedy = tuple(greedy_decode_one(log_probs[0]).ids) if lexicon is not None else None
    extra = [greedy] if greedy is not None and greedy not in proposals else []
    likelihoods = ctc_log_likelihoods(log_probs, texts + extra)
    ctc = worst_for_unfit(likelihoods[:, : len(texts)].clone()).mean(0).tolist()
    penalty = 0.0
    if lexicon is not None:
        # No penalty set: the lexicon is a hard constraint, and any entry proposed beats any other reading.
        penalty = lexicon.oov_penalty if lexicon.oov_penalty is not None else FORCED
    hypotheses: list[Hypothesis] = []
    for ids, score in zip(texts, ctc, strict=True):
        known = lexicon is not None and tidy_text(charset.decode(ids)) in lexicon.lexicon
        hypotheses.append(search.hypothesis(ids, score, penalty if known else 0.0))
    hypotheses.sort(key=lambda h: -h.score)
    decoded = decoded_with_confidences(log_probs[0], hypotheses[: max(1, alternatives)], search.confidence_power)
    if greedy is not None:
        all_ctc = worst_for_unfit(likelihoods).mean(0).tolist() if extra else ctc
        decoded.greedy_ids = list(greedy)
        decoded.margin = hypotheses[0].ctc - all_ctc[(texts + extra).index(greedy)]
    return decoded


__all__ = ["rescore"]
