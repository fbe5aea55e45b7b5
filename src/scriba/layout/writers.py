"""A read page in the format asked for: ``text``, ``json``, ``page`` (PAGE XML) or ``alto`` (ALTO 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

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
        return to_json(page)
    if fmt == "page":
        return to_page_xml(page)
    if fmt == "alto":
        return to_alto(page)
    raise ValueError(f"format must be one of {', '.join(PAGE_FORMATS)}, not {fmt!r}")


def to_json(page: Page) -> str:
    """The page's JSON (:meth:`Page.to_dict`), indented, with each box, point and polygon on one line."""
    return dump_json(page.to_dict()) + "\n"


def dump_json(value: Any) -> str:
    """JSON indented by 2, with lists of numbers (boxes, points) and lists of them (polygons) on one line."""
    return _dumps(value, "")


def _dumps(value: Any, indent: str) -> str:
    """``json.dumps(value, indent=2)``, except that lists of numbers (boxes, points) and lists of such lists
    (polygons, baselines) stay on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and not _flat(value):
        return "[\n" + ",\n".join(inner + _dumps(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value, ensure_ascii=False)


def _flat(value: list[Any]) -> bool:
    """A list of numbers, or of lists of numbers."""
    return all(
        isinstance(v, int | float) or (isinstance(v, list) and all(isinstance(x, int | float) for x in v))
        for v in value
    )


def output_path(image: str | Path, fmt: PageFormat, out: str | Path | None = None) -> Path:
    """Where the document of ``image`` goes: beside it (``scan.png`` -> ``scan.page.xml``), or in ``out``."""
    image = Path(image)
    folder = Path(out) if out is not None else image.parent
    return folder / (image.stem + SUFFIXES[fmt])
