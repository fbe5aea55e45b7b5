"""scriba: read handwriting with a CRNN trained by CTC."""

from scriba.charset import Charset
from scriba.errors import (
    ConfigError,
    DataFormatError,
    ImageError,
    LabelError,
    ModelFileError,
    ScribaError,
    UnknownCharactersError,
)

__version__ = "0.1.0"

__all__ = [
    "Charset",
    "ConfigError",
    "DataFormatError",
    "ImageError",
    "LabelError",
    "ModelFileError",
    "Recognizer",
    "ScribaError",
    "UnknownCharactersError",
    "__version__",
]


def __getattr__(name: str) -> object:
    # Recognizer pulls in torch; import it lazily so `import scriba` stays cheap.
    if name == "Recognizer":
        from scriba.recognizer import Recognizer

        return Recognizer
    raise AttributeError(name)
