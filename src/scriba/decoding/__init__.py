"""Decoders: pure functions from log-probs (T, N, C) to ids."""

from scriba.decoding.beam import BeamDecoded, BeamSearch, Hypothesis
from scriba.decoding.greedy import Decoded, greedy_decode, greedy_decode_one, tidy_spaces, tidy_text
from scriba.decoding.lexicon import Lexicon, LexiconDecoded, LexiconDecoder
from scriba.decoding.tta import PenTestTimeAugmentation, TestTimeAugmentation

__all__ = [
    "BeamDecoded",
    "BeamSearch",
    "Decoded",
    "Hypothesis",
    "Lexicon",
    "LexiconDecoded",
    "LexiconDecoder",
    "PenTestTimeAugmentation",
    "TestTimeAugmentation",
    "greedy_decode",
    "greedy_decode_one",
    "tidy_spaces",
    "tidy_text",
]
