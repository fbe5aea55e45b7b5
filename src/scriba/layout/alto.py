"""ALTO v4 (Library of Congress): Layout / Page / PrintSpace / TextBlock / TextLine / String, SP between words.

Positions are pixels (MeasurementUnit ``pixel``): HPOS, VPOS, WIDTH, HEIGHT of every block, line and word;
a line's BASELINE and its outline (Shape/Polygon) as points; each word's CONTENT and WC (its confidence).
Written with the standard library's ``xml.etree``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from scriba.layout.geometry import Box
from scriba.layout.page import Page, PageWord
from scriba.layout.page_xml import points

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_LOCATION = f"{NAMESPACE} http://www.loc.gov/alto/v4/alto-4-4.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)


def _position(box: Box) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(max(0, x1 - x0)), "HEIGHT": str(max(0, y1 - y0))}


def to_alto(page: Page, creator: str = "scriba") -> str:
    """The page as an ALTO 4 document (a str starting with the XML declaration)."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}alto", {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    description = _sub(root, "Description")
    _sub(description, "MeasurementUnit").text = "pixel"
    _sub(_sub(description, "sourceImageInformation"), "fileName").text = page.image or "image"
    software = _sub(_sub(_sub(description, "Processing", ID="proc_1"), "processingSoftware"), "softwareName")
    software.text = creator
    layout = _sub(root, "Layout")
    element = _sub(layout, "Page", ID="page_1", PHYSICAL_IMG_NR="1", WIDTH=str(page.width), HEIGHT=str(page.height))
    space = _sub(element, "PrintSpace", **_position((0, 0, page.width, page.height)))
    if not page.lines:
        return _serialize(root)
    boxes = [line.box for line in page.lines]
    outer = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    block = _sub(space, "TextBlock", ID="block_1", **_position(outer))
    for i, line in enumerate(page.lines, start=1):
        attributes = _position(line.box)
        if line.baseline:
            attributes["BASELINE"] = points(line.baseline)
        text_line = _sub(block, "TextLine", ID=f"line_{i}", **attributes)
        if len(line.polygon) > 2:
            _sub(_sub(text_line, "Shape"), "Polygon", POINTS=points(line.polygon))
        # Without word boxes (or an empty reading), the line is one String: ALTO needs at least one.
        words = line.words or [PageWord(line.text, line.confidence, line.box)]
        for j, word in enumerate(words, start=1):
            if j > 1:
                _sub(text_line, "SP")
            wc = f"{min(max(word.confidence, 0.0), 1.0):.4f}"
            _sub(text_line, "String", ID=f"line_{i}_w_{j}", CONTENT=word.text, WC=wc, **_position(word.box))
    return _serialize(root)


def _serialize(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
