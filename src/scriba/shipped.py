"""Files found by name: shipped models (``english`` -> english.safetensors) and language models (``english`` ->
english.lm), in ``$SCRIBA_MODELS`` (os.pathsep-separated folders) and then the package's own ``scriba/zoo``
(package data: in a checkout, ``models/`` links to it; an installed wheel carries it). Light on imports: the
CLI lists them without loading torch."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from scriba.errors import ModelFileError


def shipped_dirs() -> list[Path]:
    """Folders searched for names: ``$SCRIBA_MODELS`` (os.pathsep-separated), then the package's ``zoo``."""
    dirs = [Path(p) for p in os.environ.get("SCRIBA_MODELS", "").split(os.pathsep) if p]
    return [*dirs, Path(str(resources.files("scriba").joinpath("zoo")))]


def available(suffix: str) -> list[str]:
    """Names of the files ending in ``suffix`` found in :func:`shipped_dirs`."""
    return sorted({p.stem for d in shipped_dirs() if d.is_dir() for p in d.glob(f"*{suffix}")})


def resolve(name_or_path: str | Path, suffix: str, what: str) -> Path:
    """A file from a path, or a name found in :func:`shipped_dirs` with ``suffix``.

    Args:
        what: what the file is, for the error (``model``, ``language model``).

    Raises:
        ModelFileError: neither an existing file nor a known name (the message lists the known names).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    name = str(name_or_path)
    for folder in shipped_dirs():
        candidate = folder / (name if name.endswith(suffix) else name + suffix)
        if candidate.is_file():
            return candidate
    if path.suffix or os.sep in name:
        raise ModelFileError(f"{what} file not found: {name_or_path}")
    known = ", ".join(available(suffix)) or "none installed"
    raise ModelFileError(f"unknown {what} {name!r}; available: {known}")


__all__ = ["available", "resolve", "shipped_dirs"]
