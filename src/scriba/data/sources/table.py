"""Generic `path,text` tables (CSV or TSV); paths are relative to the table's folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scriba.data.records import Record
from scriba.errors import DataFormatError

if TYPE_CHECKING:
    import pandas as pd


def read_csv_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV/TSV as strings, keeping empty cells as None; check the required columns.

    Raises:
        DataFormatError: the file is missing, unreadable or lacks a required column.
    """
    import pandas as pd  # here, not at the top: reading images never needs it, and it costs 0.2 s of start-up

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"table not found: {path}")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        # keep_default_na=False: a name like "NA" or "NULL" is a label, not a missing value.
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFormatError(f"cannot read table {path}: {err}") from err
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFormatError(
            f"table {path} lacks column(s) {', '.join(missing)}; it has: {', '.join(map(str, frame.columns))}"
        )
    return frame.astype(object).where(frame.notna(), None)


def read_table(path: Path, split: str | None = None) -> list[Record]:
    """Read a `path,text` table. An optional `split` column is filtered by ``split``; rows whose
    optional `pseudo` column is 1 are pseudo-labels (``meta["pseudo"]``, with their ``confidence``).

    Raises:
        DataFormatError: see :func:`read_csv_table`, or ``split`` given for a table without one or that none of
            its rows is in.
    """
    path = Path(path)
    frame = read_csv_table(path, ("path", "text"))
    if split is not None:
        if "split" not in frame.columns:
            raise DataFormatError(f"table {path} has no split column to select {split!r} from")
        selected = frame[frame["split"] == split]
        if selected.empty and not frame.empty:
            splits = sorted({str(value) for value in frame["split"] if value is not None})
            raise DataFormatError(f"table {path} has no rows of split {split!r}; its splits: {', '.join(splits)}")
        frame = selected
    root = path.parent
    pseudo = "pseudo" in frame.columns
    records = []
    for row in frame.itertuples(index=False):
        meta: dict[str, object] = {"id": row.path, "source": "table"}
        if split is not None:
            meta["split"] = split
        if pseudo and str(getattr(row, "pseudo", "")).strip() in ("1", "True", "true"):
            meta["pseudo"] = True  # a model's reading (self-training), not a person's label
            meta["confidence"] = float(getattr(row, "confidence", "nan") or "nan")
        records.append(Record(text=row.text, image=root / str(row.path), meta=meta))
    return records
