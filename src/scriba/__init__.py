"""scriba: read handwriting with a CRNN trained by CTC.

``from scriba import Recognizer``; ``Recognizer.load().read_image("a.png")`` -> ``Reading(text, confidence, ...)``;
``read_images([...])``, ``read_inks([...])`` -> one :class:`Reading` per input; ``read_page`` -> a :class:`Page`.
"""

from typing import TYPE_CHECKING

from scriba.charset import Charset
from scriba.errors import (
    ConfigError,
    DataFormatError,
    ImageError,
    InputKindError,
    LabelError,
    ModelFileError,
    RemovedOptionError,
    ScribaDeprecationWarning,
    ScribaError,
    UnknownCharactersError,
)

if TYPE_CHECKING:  # imported lazily at run time (they pull in torch or numpy), seen by type checkers as they are
    from scriba.decoding import ImageTestTimeAugmentation, LexiconDecoder, PenTestTimeAugmentation
    from scriba.ensemble import Ensemble
    from scriba.layout.page import Page, PageLine, PageWord
    from scriba.recognizer import Alternative, Reading, Recognizer, available_models

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "Charset",
    "ConfigError",
    "DataFormatError",
    "Ensemble",
    "ImageError",
    "ImageTestTimeAugmentation",
    "InputKindError",
    "LabelError",
    "LexiconDecoder",
    "ModelFileError",
    "Page",
    "PageLine",
    "PageWord",
    "PenTestTimeAugmentation",
    "Reading",
    "Recognizer",
    "RemovedOptionError",
    "ScribaDeprecationWarning",
    "ScribaError",
    "UnknownCharactersError",
    "__version__",
    "available_models",
]

# Each lazily imported name and its module; the TYPE_CHECKING imports above name the same (a test checks).
_LAZY = {
    "Recognizer": "scriba.recognizer",
    "Reading": "scriba.recognizer",
    "Alternative": "scriba.recognizer",
    "available_models": "scriba.recognizer",
    "Ensemble": "scriba.ensemble",
    "ImageTestTimeAugmentation": "scriba.decoding",
    "PenTestTimeAugmentation": "scriba.decoding",
    "LexiconDecoder": "scriba.decoding",
    "Page": "scriba.layout.page",
    "PageLine": "scriba.layout.page",
    "PageWord": "scriba.layout.page",
}


def __getattr__(name: str) -> object:
    # These pull in torch or numpy; import them on first use so that `import scriba` stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scriba' has no attribute {name!r}")
