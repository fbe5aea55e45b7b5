"""``scriba read --page``: read page images line by line and print their text or write JSON, PAGE XML or ALTO.

Like ``scriba read`` of images, a bad file prints one ``scriba: error: ...`` line on stderr, the others are
still read, and the exit status is then 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriba.cli_read import report_failure
from scriba.errors import ImageError, ScribaError

if TYPE_CHECKING:
    from scriba.layout.page import Page
    from scriba.layout.writers import PageFormat
    from scriba.recognizer import Recognizer


def read_page_files(
    recognizer: Recognizer,
    paths: Sequence[str],
    fmt: PageFormat,
    out: str | None,
    batch_size: int,
    as_json: bool = False,
) -> int:
    """Read each image as a page. ``text`` without ``out`` prints each page's text (after a ``==> path <==``
    line when there are several); otherwise the page's document goes beside its image or into ``out``
    (``scan.png`` -> ``scan.page.xml``) and a line says where. ``as_json`` prints one JSON list of the pages
    instead. Returns the exit status: 1 when any file failed, else 0.
    """
    from scriba.layout.writers import dump_json, output_path, render_page

    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    failed, rows = 0, []
    for path in paths:
        try:
            if Path(path).is_dir():
                raise ImageError(f"{path}: a folder without image files")
            page = recognizer.read_page(path, batch_size)
        except (ImageError, OSError) as err:
            failed += 1
            report_failure(path, err)
            continue
        if as_json:
            rows.append(page.to_dict() | {"image": path})
        elif fmt == "text" and out is None:
            if len(paths) > 1:
                print(f"==> {path} <==")
            print(page.text, flush=True)
        else:
            target = output_path(path, fmt, out)
            try:
                target.write_text(render_page(page, fmt), encoding="utf-8")
            except OSError as err:
                failed += 1
                report_failure(path, ScribaError(f"cannot write {target}: {err}"))
                continue
            lines = len(page.lines)
            print(f"{path}\t{lines} line{'' if lines == 1 else 's'}\t{target}", flush=True)
    if as_json:
        print(dump_json(rows))
    return 1 if failed else 0


def page_row(path: str, page: Page) -> dict[str, Any]:
    """The JSON object of an image that ``scriba read`` found to be a page: its text (lines joined by newlines),
    the lines' mean confidence and the page's lines (see :meth:`Page.to_dict`)."""
    confidences = [line.confidence for line in page.lines]
    return {
        "image": path,
        "text": page.text,
        "confidence": round(sum(confidences) / max(len(confidences), 1), 4),
        "lines": page.to_dict()["lines"],
    }


def print_page_lines(path: str, page: Page) -> None:
    """``path:k<TAB>text<TAB>confidence`` for each line k (from 1) of a page, in reading order."""
    for k, line in enumerate(page.lines, start=1):
        print(f"{path}:{k}\t{line.text}\t{line.confidence:.3f}", flush=True)


def note_page(path: str, page: Page) -> None:
    """The one stderr line that says an image given to plain ``scriba read`` was read as a page."""
    print(
        f"scriba: {path} looks like a page ({len(page.lines)} lines): read line by line; "
        "--page prints its text, --format json|page|alto writes its layout",
        file=sys.stderr,
        flush=True,
    )


__all__ = ["note_page", "page_row", "print_page_lines", "read_page_files"]
