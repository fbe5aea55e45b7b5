"""``scriba read`` on files: folders expanded, every file read or reported on its own, results printed as they come.

A bad file (missing, empty, not an image, a folder without images) prints one ``scriba: error: ...`` line on
stderr and the others are still read; the exit status is then 1. Files are loaded and read one batch at a
time, so memory does not grow with their number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriba.errors import ImageError, ScribaError

if TYPE_CHECKING:
    import numpy as np

    from scriba.data.records import Record
    from scriba.ensemble import Ensemble
    from scriba.layout.page import Page
    from scriba.recognizer import Reading, Recognizer

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pgm", ".ppm", ".pbm"})


def expand_paths(paths: Iterable[str], recursive: bool = False) -> Iterator[str]:
    """The paths given, with each folder replaced by the image files in it (sorted; in its subfolders too with
    ``recursive``). A folder without images yields itself, so that reading it reports the problem."""
    for given in paths:
        folder = Path(given)
        if not folder.is_dir():
            yield given
            continue
        found = sorted(
            p for p in (folder.rglob("*") if recursive else folder.iterdir())
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )  # fmt: skip
        yield from (str(p) for p in found) if found else [given]


def reading_row(key: str, path: str, reading: Reading) -> dict[str, Any]:
    """The JSON object of one reading: the file, text, confidence, per-character confidences (and alternatives)."""
    row: dict[str, Any] = {
        key: path,
        "text": reading.text,
        "confidence": round(reading.confidence, 4),
        "char_confidences": [round(c, 4) for c in reading.char_confidences],
    }
    if reading.alternatives is not None and len(reading.alternatives) > 1:
        row["alternatives"] = [
            {"text": a.text, "score": round(a.score, 4), "ctc": round(a.ctc, 4), "lm": round(a.lm, 4)}
            for a in reading.alternatives
        ]
    return row


def print_reading(path: str, reading: Reading) -> None:
    """``path<TAB>text<TAB>confidence``, and with alternatives each on an indented line with its scores."""
    print(f"{path}\t{reading.text}\t{reading.confidence:.3f}", flush=True)
    if reading.alternatives is not None and len(reading.alternatives) > 1:
        for k, a in enumerate(reading.alternatives, start=1):
            print(f"  {k}. {a.text}\tscore {a.score:.2f} (ctc {a.ctc:.2f}, lm {a.lm:.2f})")


def report_failure(path: str, err: Exception) -> None:
    """One stderr line for a file that could not be read (its path included)."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    shown = message if path in message else f"{path}: {message}"
    print(f"scriba: error: {shown}", file=sys.stderr, flush=True)


def read_files(
    reader: Recognizer | Ensemble,
    paths: Sequence[str],
    batch_size: int,
    emit: Callable[[str, Reading], None],
    emit_page: Callable[[str, Page], None] | None = None,
) -> int:
    """Read image files one batch at a time, calling ``emit`` for each reading in order; returns the number
    of files that failed (each reported on stderr). With ``emit_page``, an image that is clearly a page
    (:func:`scriba.layout.segment.is_page`) is read line by line and given to it instead (one model only)."""
    from scriba.data.images import load_image
    from scriba.data.records import Record
    from scriba.recognizer import Recognizer

    failed = 0
    for start in range(0, len(paths), batch_size):
        good: list[str] = []
        prepared: list[np.ndarray] = []
        pages: dict[str, Page] = {}
        for path in paths[start : start + batch_size]:
            try:
                if Path(path).is_dir():
                    raise ImageError(f"{path}: a folder without image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
                if not isinstance(reader, Recognizer):  # an ensemble's members each prepare their own later
                    image = load_image(path)
                    if emit_page is not None:
                        _refuse_page(image, path)
                    prepared.append(image)
                elif emit_page is not None and not reader.reads_pen:
                    image = load_image(path)
                    page = _page_or_none(reader, image, path, batch_size)
                    if page is not None:
                        pages[path] = page
                    else:
                        prepared.append(reader.prepare(image))
                else:
                    prepared.append(reader.prepare(path))
                good.append(path)
            except (ImageError, OSError) as err:  # this file; a model that reads no images fails the call
                failed += 1
                report_failure(path, err)
        lines = [p for p in good if p not in pages]
        readings: list[Reading] = []
        if lines and isinstance(reader, Recognizer):
            readings = reader.read_prepared(prepared, batch_size)
        elif lines:  # the images loaded above, not the files decoded again
            readings = reader.read_records([Record(None, image=image) for image in prepared], batch_size)
        found = dict(zip(lines, readings, strict=True))
        for path in good:
            if path in pages and emit_page is not None:
                emit_page(path, pages[path])
            else:
                emit(path, found[path])
    return failed


def _refuse_page(image: np.ndarray, path: str) -> None:
    """An ensemble reads lines only: an image that is clearly a page is an error, not one garbage line.

    Raises:
        ImageError: the image is a page (see ``is_page``).
    """
    from scriba.layout.segment import page_layout

    layout = page_layout(image)
    if layout is not None:
        raise ImageError(f"{path} looks like a page ({len(layout.lines)} lines): read it with one model and --page")


def _page_or_none(reader: Recognizer, image: np.ndarray, path: str, batch_size: int) -> Page | None:
    """The image read as a page if it clearly is one (three lines or more, see ``is_page``), else None."""
    from scriba.layout.read import read_layout
    from scriba.layout.segment import page_layout

    layout = page_layout(image)
    return read_layout(reader, image, layout, batch_size, Path(path).name) if layout is not None else None


def read_image_files(reader: Recognizer | Ensemble, paths: Sequence[str], batch_size: int, as_json: bool) -> int:
    """``scriba read`` of image files: print each reading (text, or a JSON list at the end); exit status 1 when
    any file failed, else 0. An image that is clearly a page is read line by line, with a note on stderr:
    ``path:k`` rows for its lines (JSON: its text and lines)."""
    from scriba.cli_page import note_page, page_row, print_page_lines

    rows: list[dict[str, Any]] = []

    def emit(path: str, reading: Reading) -> None:
        if as_json:
            rows.append(reading_row("image", path, reading))
        else:
            print_reading(path, reading)

    def emit_page(path: str, page: Page) -> None:
        note_page(path, page)
        if as_json:
            rows.append(page_row(path, page))
        else:
            print_page_lines(path, page)

    failed = read_files(reader, paths, batch_size, emit, emit_page)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def parse_ink_files(paths: Sequence[str]) -> tuple[list[str], list[Record], int]:
    """The ink files that parse (paths and records) and how many did not (each reported on stderr)."""
    from scriba.data.inkio import read_ink_file
    from scriba.data.records import Record

    good: list[str] = []
    records: list[Record] = []
    for path in paths:
        try:
            records.append(Record(None, ink=read_ink_file(path)))
            good.append(path)
        except (ScribaError, OSError) as err:
            report_failure(path, err)
    return good, records, len(paths) - len(good)


def print_readings(key: str, paths: Sequence[str], readings: Sequence[Reading], as_json: bool) -> None:
    """Readings as text lines (:func:`print_reading`) or one JSON list (:func:`reading_row`)."""
    if as_json:
        print(json.dumps([reading_row(key, p, r) for p, r in zip(paths, readings, strict=True)], indent=2))
    else:
        for path, reading in zip(paths, readings, strict=True):
            print_reading(path, reading)


__all__ = [
    "IMAGE_SUFFIXES",
    "expand_paths",
    "parse_ink_files",
    "print_readings",
    "read_files",
    "read_image_files",
    "reading_row",
]
