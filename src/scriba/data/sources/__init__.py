"""Dataset readers: one per format, each returning ``list[Record]``.

A source is named by a :class:`SourceConfig` (kind + path + split); :func:`read_source` dispatches
through :data:`READERS`, and :func:`detect_kind` guesses the kind from a path for the CLI.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scriba.data.records import Record
from scriba.data.sources.iam import read_iam_lines, read_iam_words
from scriba.data.sources.iam_ondb import read_iam_ondb_lines, read_iam_ondb_words
from scriba.data.sources.kaggle_names import read_kaggle_names
from scriba.data.sources.table import read_csv_table, read_table
from scriba.errors import DataFormatError


@dataclass
class SourceConfig:
    """One dataset to read.

    Args:
        kind: a key of :data:`READERS` (``table``, ``kaggle_names``, ``iam_words``, ``iam_lines``,
            ``iam_ondb_words``, ``iam_ondb_lines``), or ``auto`` to detect it from ``path``.
        path: file or folder, as the reader takes it.
        split: subset to read, where the format has one.
        include_err: IAM only: keep rows whose segmentation is marked `err`.
        limit: read at most this many records (0: all), for quick experiments.
        subset: ``train``, ``val`` or ``test``: keep only the records a stable hash of their id assigns
            to that part (see :func:`subset_of`), for a dataset without an official split (or to split
            one further). Records of one group (an IAM-OnDB form) share a part.
        subset_fractions: the train / val / test shares of ``subset``.
    """

    path: str
    kind: str = "auto"
    split: str | None = None
    include_err: bool = False
    limit: int = 0
    subset: str | None = None
    subset_fractions: tuple[float, float, float] = (0.4, 0.15, 0.45)

    def __post_init__(self) -> None:
        if self.kind != "auto" and self.kind not in READERS:
            raise DataFormatError(f"unknown data kind {self.kind!r}; choose from {', '.join(sorted(READERS))}")
        if self.subset is not None and self.subset not in SUBSETS:
            raise DataFormatError(f"unknown subset {self.subset!r}; choose from {', '.join(SUBSETS)}")
        fractions = tuple(float(f) for f in self.subset_fractions)
        if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
            raise DataFormatError(f"subset_fractions must be 3 shares summing to 1, got {list(self.subset_fractions)}")
        self.subset_fractions = (fractions[0], fractions[1], fractions[2])


SUBSETS = ("train", "val", "test")


def subset_of(record_id: str, fractions: tuple[float, float, float] = (0.4, 0.15, 0.45)) -> str:
    """The part (``train``, ``val`` or ``test``) of a record by a stable hash of its id.

    The same id always lands in the same part, on any machine and whatever else the dataset holds, so a
    test part stays unseen when records are added (CRC-32, not Python's salted ``hash``).
    """
    position = zlib.crc32(Path(record_id).name.encode("utf-8")) / 2**32
    if position < fractions[0]:
        return "train"
    return "val" if position < fractions[0] + fractions[1] else "test"


def _table(c: SourceConfig) -> list[Record]:
    return read_table(Path(c.path), c.split)


READERS: dict[str, Callable[[SourceConfig], list[Record]]] = {
    "table": _table,
    "kaggle_names": lambda c: read_kaggle_names(Path(c.path), c.split),
    "iam_words": lambda c: read_iam_words(Path(c.path), c.include_err),
    "iam_lines": lambda c: read_iam_lines(Path(c.path), c.include_err),
    "iam_ondb_words": lambda c: read_iam_ondb_words(Path(c.path), c.split),
    "iam_ondb_lines": lambda c: read_iam_ondb_lines(Path(c.path), c.split),
}


def detect_kind(path: Path) -> str:
    """Guess the reader for ``path``: IAM-OnDB folder, IAM words/lines.txt, Kaggle CSV, or a table.

    Raises:
        DataFormatError: the path does not exist or matches no format.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "strokes.npz").is_file():
            return "iam_ondb_words"
        for level in ("words", "lines"):
            if (path / f"{level}.txt").is_file():
                return f"iam_{level}"
        if any(path.glob("written_name_*_v2.csv")):
            return "kaggle_names"
        raise DataFormatError(f"{path}: no dataset recognized in this folder")
    if not path.is_file():
        raise DataFormatError(f"dataset not found: {path}")
    if path.name in ("words.txt", "lines.txt"):
        return f"iam_{path.stem}"
    if path.suffix.lower() in (".csv", ".tsv", ".tab"):
        columns = set(read_csv_table(path, ()).columns)
        return "kaggle_names" if {"FILENAME", "IDENTITY"} <= columns else "table"
    raise DataFormatError(
        f"{path}: unknown dataset format (expected a CSV/TSV table, words.txt, lines.txt or a folder)"
    )


def _subset_key(record: Record) -> str:
    """What ``subset`` hashes: the record's group where the reader gives one (an IAM-OnDB form: its lines
    and the words cut from them stay together), else its id or image."""
    return str(record.meta.get("group") or record.meta.get("id", record.image))


def has_own_splits(path: str | Path, kind: str = "auto") -> bool:
    """Whether a dataset names its own splits: IAM-OnDB, a folder of Kaggle names CSVs, or a table with a
    ``split`` column (IAM words.txt/lines.txt and other tables have none).

    Raises:
        DataFormatError: the path does not exist, matches no format (with ``kind="auto"``) or a table's header
            cannot be read.
    """
    path = Path(path)
    kind = detect_kind(path) if kind == "auto" else kind
    if kind.startswith("iam_ondb"):
        return True
    if kind == "kaggle_names":
        return path.is_dir()
    if kind == "table" and path.is_file():
        import csv

        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                return "split" in next(csv.reader(handle, delimiter=delimiter), [])
        except (UnicodeDecodeError, csv.Error) as err:
            raise DataFormatError(f"cannot read table {path}: {err}") from err
    return False


def split_or_part(path: str | Path, kind: str, split: str | None) -> tuple[str | None, str | None]:
    """A command line's one ``--split`` as ``(split, subset)`` of a :class:`SourceConfig`: the dataset's own
    split where it has them (:func:`has_own_splits`), else ``train``, ``val`` or ``test`` as the hash part."""
    if split is None or split not in SUBSETS or has_own_splits(path, kind):
        return split, None
    return None, split


def read_source(config: SourceConfig) -> list[Record]:
    """Read one source into records (unfiltered: cleaning decides what to drop)."""
    kind = detect_kind(Path(config.path)) if config.kind == "auto" else config.kind
    records = READERS[kind](config)
    if config.subset is not None:
        fractions = config.subset_fractions
        records = [r for r in records if subset_of(_subset_key(r), fractions) == config.subset]
    return records[: config.limit] if config.limit else records


__all__ = [
    "READERS",
    "SUBSETS",
    "SourceConfig",
    "detect_kind",
    "has_own_splits",
    "read_source",
    "split_or_part",
    "subset_of",
]
