"""Typed exceptions of scriba's public API.

Every error a user can cause (bad paths, bad tables, bad labels, bad model files) is a
:class:`ScribaError`; the CLI prints its message on one line and exits non-zero.
"""

from __future__ import annotations


class ScribaError(Exception):
    """Base class of every error scriba raises on purpose."""


class ImageError(ScribaError):
    """An image is missing, empty or cannot be decoded."""


class DataFormatError(ScribaError):
    """A dataset file is missing or does not have the expected format (columns, fields)."""


class UnknownCharactersError(ScribaError):
    """A text holds characters that the charset cannot encode.

    Attributes:
        characters: the offending characters, sorted.
    """

    def __init__(self, characters: set[str], context: str = "") -> None:
        self.characters = sorted(characters)
        shown = " ".join(repr(c) for c in self.characters)
        where = f" {context}" if context else ""
        super().__init__(f"unknown characters{where}: {shown}")


class LabelError(ScribaError):
    """A label is empty or otherwise cannot be a training target."""


class ModelFileError(ScribaError):
    """A model file is missing, truncated, of another format version or does not match its architecture."""


class ConfigError(ScribaError):
    """A configuration file or override is invalid."""


class InputKindError(ScribaError):
    """A model was given input of a kind it does not read: an image for a model of pen trajectories."""


class RemovedOptionError(ConfigError, ModelFileError):
    """A recipe or a model file sets an option this scriba no longer has (see :mod:`scriba.removed`).

    Attributes:
        option: the option as a recipe spells it, e.g. ``preprocessing.pen_air``.
    """

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(message)


class ScribaDeprecationWarning(DeprecationWarning):
    """A name or call that still works for one release but is going away (the message says what replaces it).
    A subclass, so that ``-W error::scriba.errors.ScribaDeprecationWarning`` finds every use of such a name."""
