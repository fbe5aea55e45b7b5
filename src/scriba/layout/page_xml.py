"""PAGE XML (2019-07-15 schema, PRImA): what Transkribus, eScriptorium, kraken and OCR-D exchange.

One TextRegion holds the lines in reading order; each TextLine has Coords (its polygon), Baseline, Words
(Coords, TextEquiv with conf) and its own TextEquiv. Written with the standard library's ``xml.etree``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from scriba.layout.geometry import Box, Point
from scriba.layout.page import Page

NAMESPACE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
SCHEMA_LOCATION = f"{NAMESPACE} {NAMESPACE}/pagecontent.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def points(coords: Sequence[Point]) -> str:
    """``x,y x,y ...`` (PAGE's and ALTO's points), clamped at 0; a single point is doubled (both need two)."""
    pts = [(max(0, int(x)), max(0, int(y))) for x, y in coords]
    if len(pts) == 1:
        pts *= 2
    return " ".join(f"{x},{y}" for x, y in pts)


def box_points(box: Box) -> str:
    """A box's four corners, clockwise from the top left (the inclusive last pixel)."""
    x0, y0, x1, y1 = box
    x1, y1 = max(x0, x1 - 1), max(y0, y1 - 1)
    return points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)


def _text_equiv(parent: ET.Element, text: str, conf: float | None = None) -> None:
    equiv = _sub(parent, "TextEquiv", **({} if conf is None else {"conf": f"{min(max(conf, 0.0), 1.0):.4f}"}))
    _sub(equiv, "Unicode").text = text


def to_page_xml(page: Page, creator: str = "scriba") -> str:
    """The page as a PAGE XML document (a str starting with the XML declaration)."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}PcGts", {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    metadata = _sub(root, "Metadata")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    _sub(metadata, "Creator").text = creator
    _sub(metadata, "Created").text = now
    _sub(metadata, "LastChange").text = now
    element = _sub(
        root, "Page", imageFilename=page.image or "image", imageWidth=str(page.width), imageHeight=str(page.height)
    )
    if page.lines:
        order = _sub(_sub(element, "ReadingOrder"), "OrderedGroup", id="ro_1", caption="reading order")
        _sub(order, "RegionRefIndexed", index="0", regionRef="r_1")
        region = _sub(element, "TextRegion", id="r_1", type="paragraph")
        boxes = [line.box for line in page.lines]
        outer = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        _sub(region, "Coords", points=box_points(outer))
        for i, line in enumerate(page.lines, start=1):
            line_id = f"r_1_l_{i}"
            text_line = _sub(region, "TextLine", id=line_id)
            _sub(text_line, "Coords", points=points(line.polygon) if len(line.polygon) > 2 else box_points(line.box))
            if line.baseline:
                _sub(text_line, "Baseline", points=points(line.baseline))
            for j, word in enumerate(line.words, start=1):
                element_word = _sub(text_line, "Word", id=f"{line_id}_w_{j}")
                _sub(element_word, "Coords", points=box_points(word.box))
                _text_equiv(element_word, word.text, word.confidence)
            _text_equiv(text_line, line.text, line.confidence)
        _text_equiv(region, page.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
