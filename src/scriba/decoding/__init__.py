"""Decoders: pure functions from log-probs (T, N, C) to ids."""

from scriba.decoding.beam import BeamDecoded, BeamSearch, Hypothesis
from scriba.decoding.greedy import Decoded, greedy_decode, greedy_decode_one, tidy_spaces, tidy_text
from scriba.decoding.lexicon import Lexicon, LexiconDecoded, LexiconDecoder
from scriba.decoding.tta import ImageTestTimeAugmentation, PenTestTimeAugmentation

__all__ = [
    "BeamDecoded",
    "BeamSearch",
    "Decoded",
    "Hypothesis",
    "ImageTestTimeAugmentation",
    "Lexicon",
    "LexiconDecoded",
    "LexiconDecoder",
    "PenTestTimeAugmentation",
    "greedy_decode",
    "greedy_decode_one",
    "tidy_spaces",
    "tidy_text",
]


def __getattr__(name: str) -> object:
    if name == "TestTimeAugmentation":
        from scriba.decoding.tta import warn_old_tta_name

        warn_old_tta_name()
        return ImageTestTimeAugmentation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
