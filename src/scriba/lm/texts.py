"""The text a language model is built from: plain text files (one sentence a line) or tables with a ``text``
column (a names lexicon, a labels table), optionally only the rows of some splits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scriba.data.sources.table import read_csv_table
from scriba.errors import DataFormatError

TABLE_SUFFIXES = (".csv", ".tsv", ".tab")


def read_texts(path: str | Path, splits: Sequence[str] = ()) -> list[str]:
    """The sentences of one file, in file order, repeats kept (they are counts).

    Args:
        path: a text file (one sentence a line) or a CSV/TSV with a ``text`` column.
        splits: for a table with a ``split`` column, only the rows of these splits (e.g. ``trainset``,
            ``train``); ignored for tables without one and for text files.

    Raises:
        DataFormatError: missing or unreadable file, a table without ``text``, or no text at all.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"text file not found: {path}")
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame = read_csv_table(path, ("text",))
        if splits and "split" in frame.columns:
            frame = frame[frame["split"].isin(list(splits))]
        texts = [str(t) for t in frame["text"] if t is not None]
    else:
        try:
            texts = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise DataFormatError(f"text file {path} is not UTF-8: {err}") from err
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataFormatError(f"{path} holds no text" + (f" in split(s) {', '.join(splits)}" if splits else ""))
    return texts


__all__ = ["read_texts"]
