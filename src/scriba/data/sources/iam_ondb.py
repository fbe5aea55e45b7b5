"""IAM On-Line Handwriting Database as stored in ``../shared/data/iam_ondb`` (see its README).

`strokes.npz` holds every line's points (x, y, pen_up_after) with `line_offsets` and `line_ids`;
`lines.csv` the detokenized texts and the writer-independent split; `words.csv` the word boxes
(word k of a line = the strokes whose minimum x lies in [x_min, x_max]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scriba.data.ink import split_strokes
from scriba.data.records import Ink, Record
from scriba.data.sources.table import read_csv_table
from scriba.errors import DataFormatError

SPLITS = ("trainset", "testset_v", "testset_t")


def _load_strokes(root: Path) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    path = root / "strokes.npz"
    if not path.is_file():
        raise DataFormatError(f"IAM-OnDB strokes not found: {path}")
    with np.load(path) as data:
        points, offsets, ids = data["points"], data["line_offsets"], data["line_ids"]
    return points, offsets, {str(line_id): i for i, line_id in enumerate(ids)}


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise DataFormatError(f"unknown IAM-OnDB split {split!r}; choose from {', '.join(SPLITS)}")


def read_iam_ondb_lines(root: Path, split: str | None = None) -> list[Record]:
    """Read IAM-OnDB lines as ink records; lines flagged `has_marker` (IAM's #/* marks) are left out.

    Args:
        root: the folder with strokes.npz and lines.csv.
        split: ``trainset``, ``testset_v`` or ``testset_t``; None reads all.
    """
    _check_split(split)
    root = Path(root)
    lines = read_csv_table(root / "lines.csv", ("line_id", "split", "flag", "text"))
    points, offsets, index = _load_strokes(root)
    records = []
    for row in lines.itertuples(index=False):
        if (split is not None and row.split != split) or row.flag != "ok":
            continue
        i = index[row.line_id]
        ink = split_strokes(points[offsets[i] : offsets[i + 1]])
        records.append(
            Record(
                text=row.text,
                ink=ink,
                meta={"id": row.line_id, "group": _form(row.line_id), "split": row.split, "source": "iam_ondb_lines"},
            )
        )
    return records


def _form(line_id: str) -> str:
    """The form a line belongs to (``a01-003-01`` -> ``a01-003``): one writer's page, the unit that
    ``subset`` keeps together so a line and the words cut from it never land in different parts."""
    return line_id.rsplit("-", 1)[0]


def read_iam_ondb_words(root: Path, split: str | None = None) -> list[Record]:
    """Read IAM-OnDB words (cut from lines by their x ranges) as ink records.

    Args:
        root: the folder with strokes.npz and words.csv.
        split: ``trainset``, ``testset_v`` or ``testset_t``; None reads all.
    """
    _check_split(split)
    root = Path(root)
    words = read_csv_table(root / "words.csv", ("line_id", "word_index", "x_min", "x_max", "text", "split"))
    points, offsets, index = _load_strokes(root)
    cache: dict[str, tuple[Ink, np.ndarray]] = {}
    records = []
    for row in words.itertuples(index=False):
        if split is not None and row.split != split:
            continue
        if row.line_id not in cache:
            i = index[row.line_id]
            strokes = split_strokes(points[offsets[i] : offsets[i + 1]])
            cache = {row.line_id: (strokes, np.array([s[:, 0].min() for s in strokes]))}
        strokes, min_x = cache[row.line_id]
        chosen = np.flatnonzero((min_x >= float(row.x_min)) & (min_x <= float(row.x_max)))
        # A word with no strokes is kept: cleaning reports it as an image it cannot render.
        ink = [strokes[j] for j in chosen]
        word_id = f"{row.line_id}-{int(row.word_index):02d}"
        records.append(
            Record(
                text=row.text,
                ink=ink,
                meta={"id": word_id, "group": _form(row.line_id), "split": row.split, "source": "iam_ondb_words"},
            )
        )
    return records
