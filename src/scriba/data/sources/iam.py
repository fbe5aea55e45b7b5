"""IAM Handwriting Database: `words.txt` and `lines.txt` with the `words/` and `lines/` image trees.

words.txt rows: `a01-000u-00-00 ok 154 408 768 27 51 AT A` (id, segmentation ok/err, graylevel, x y w h,
grammatical tag, transcription). lines.txt rows: `a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to`
(id, ok/err, graylevel, components, x y w h, transcription with `|` between words). Lines starting with
`#` are comments.
"""

from __future__ import annotations

from pathlib import Path

from scriba.data.records import Record
from scriba.errors import DataFormatError


def read_iam_words(path: Path, include_err: bool = False, image_root: Path | None = None) -> list[Record]:
    """Read IAM words. ``path`` is words.txt or the folder holding it; images are under `words/`.

    Args:
        include_err: keep rows whose segmentation is marked `err` (dropped by default).
        image_root: folder holding `a01/a01-000u/...`; default `words/` beside words.txt.
    """
    return _read(path, "words", include_err=include_err, image_root=image_root)


def read_iam_lines(path: Path, include_err: bool = False, image_root: Path | None = None) -> list[Record]:
    """Read IAM lines. ``path`` is lines.txt or its folder; images are under `lines/`; `|` becomes a space."""
    return _read(path, "lines", include_err=include_err, image_root=image_root)


# Both files put the transcription from field 8 on.
_TEXT_FIELD = 8


def _read(path: Path, level: str, include_err: bool, image_root: Path | None) -> list[Record]:
    path = Path(path)
    if path.is_dir():
        path = path / f"{level}.txt"
    if not path.is_file():
        raise DataFormatError(f"IAM {level} file not found: {path}")
    root = Path(image_root) if image_root else path.parent / level
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(" ")
        if len(fields) <= _TEXT_FIELD or fields[1] not in ("ok", "err"):
            raise DataFormatError(f"{path}:{number}: not an IAM {level}.txt row: {line[:80]!r}")
        status = fields[1]
        if status == "err" and not include_err:
            continue
        # The transcription is the rest of the row; words.txt rows may contain a space inside it.
        text = " ".join(fields[_TEXT_FIELD:]).replace("|", " ")
        item_id = fields[0]
        parts = item_id.split("-")
        image = root / parts[0] / f"{parts[0]}-{parts[1]}" / f"{item_id}.png"
        records.append(
            Record(text=text, image=image, meta={"id": item_id, "source": f"iam_{level}", "segmentation": status})
        )
    return records
