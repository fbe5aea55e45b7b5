"""Kaggle "Handwriting Recognition" names: `written_name_{split}_v2.csv` (FILENAME,IDENTITY) + images.

The Kaggle layout is `written_name_train_v2.csv` beside `train_v2/train/TRAIN_00001.jpg`; the image
folder is found from that layout unless given.
"""

from __future__ import annotations

from pathlib import Path

from scriba.data.records import Record
from scriba.data.sources.table import read_csv_table, read_table
from scriba.errors import DataFormatError


def read_kaggle_names(path: Path, split: str | None = None, image_dir: Path | None = None) -> list[Record]:
    """Read Kaggle names.

    Args:
        path: a `written_name_*_v2.csv`, a folder holding them (then ``split`` picks train/validation/test),
            or a `path,text` table of the same images (as in ``../shared/data/names/labels.csv``).
        split: ``train``, ``validation`` or ``test`` when ``path`` is a folder.
        image_dir: folder of the images; by default `{split}_v2/{split}` beside the CSV, else the CSV's folder.

    Raises:
        DataFormatError: no such file or folder, or the CSV has neither FILENAME,IDENTITY nor path,text.
    """
    path = Path(path)
    if path.is_dir():
        if split is None:
            raise DataFormatError(f"{path} is a folder: say which split (train, validation or test)")
        path = path / f"written_name_{split}_v2.csv"
    frame = read_csv_table(path, ())
    if {"path", "text"} <= set(frame.columns):
        return [_tag(r) for r in read_table(path)]
    if not {"FILENAME", "IDENTITY"} <= set(frame.columns):
        raise DataFormatError(
            f"{path} is not a Kaggle names table: expected columns FILENAME,IDENTITY or path,text; "
            f"it has: {', '.join(map(str, frame.columns))}"
        )
    image_dir = Path(image_dir) if image_dir else _guess_image_dir(path)
    return [
        Record(
            text=row.IDENTITY, image=image_dir / str(row.FILENAME), meta={"id": row.FILENAME, "source": "kaggle_names"}
        )
        for row in frame.itertuples(index=False)
    ]


def _tag(record: Record) -> Record:
    record.meta["source"] = "kaggle_names"
    return record


def _guess_image_dir(csv_path: Path) -> Path:
    stem = csv_path.stem  # written_name_train_v2
    split = stem.removeprefix("written_name_").removesuffix("_v2")
    for candidate in (
        csv_path.parent / f"{split}_v2" / split,
        csv_path.parent / f"{split}_v2",
        csv_path.parent / split,
    ):
        if candidate.is_dir():
            return candidate
    return csv_path.parent
