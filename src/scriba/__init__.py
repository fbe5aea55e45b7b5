"""scriba: read handwriting with a CRNN trained by CTC.

``from scriba import Recognizer``; ``Recognizer.load().read(["a.png"])`` -> ``[Reading(text, confidence, ...)]``.
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
    ScribaError,
    UnknownCharactersError,
)

if TYPE_CHECKING:  # imported lazily at run time (they pull in torch), seen by type checkers as they are
    from scriba.ensemble import Ensemble
    from scriba.recognizer import Alternative, Reading, Recognizer

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "Charset",
    "ConfigError",
    "DataFormatError",
    "Ensemble",
    "ImageError",
    "InputKindError",
    "LabelError",
    "ModelFileError",
    "Reading",
    "Recognizer",
    "ScribaError",
    "UnknownCharactersError",
    "__version__",
]

_LAZY = {"Recognizer": "scriba.recognizer", "Reading": "scriba.recognizer", "Alternative": "scriba.recognizer",
         "Ensemble": "scriba.ensemble"}  # fmt: skip


def __getattr__(name: str) -> object:
    # These pull in torch; import them on first use so that `import scriba` stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scriba' has no attribute {name!r}")
