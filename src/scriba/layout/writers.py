"""A read page in the format asked for: ``text``, ``json``, ``page`` (PAGE XML) or ``alto`` (ALTO 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from scriba.layout.alto import to_alto
from scriba.layout.page import Page
from scriba.layout.page_xml import to_page_xml

PageFormat = Literal["text", "json", "page", "alto"]
PAGE_FORMATS: tuple[str, ...] = get_args(PageFormat)
SUFFIXES: dict[str, str] = {"text": ".txt", "json": ".json", "page": ".page.xml", "alto": ".alto.xml"}


def render_page(page: Page, fmt: PageFormat) -> str:
    """The page's document in ``fmt`` (``text``: the lines joined by newlines, with a final newline).

    Raises:
        ValueError: an unknown format.
    """
    if fmt == "text":
        return page.text + "\n"
    if fmt == "json":
        return json.dumps(page.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "page":
        return to_page_xml(page)
    if fmt == "alto":
        return to_alto(page)
    raise ValueError(f"format must be one of {', '.join(PAGE_FORMATS)}, not {fmt!r}")


def output_path(image: str | Path, fmt: PageFormat, out: str | Path | None = None) -> Path:
    """Where the document of ``image`` goes: beside it (``scan.png`` -> ``scan.page.xml``), or in ``out``."""
    image = Path(image)
    folder = Path(out) if out is not None else image.parent
    return folder / (image.stem + SUFFIXES[fmt])
