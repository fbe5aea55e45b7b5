"""The JSON, PAGE XML and ALTO writers: valid against the official schemas, texts and coordinates read back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scriba.layout.alto import NAMESPACE as ALTO
from scriba.layout.page import Page, PageLine, PageWord
from scriba.layout.page_xml import NAMESPACE as PAGE
from scriba.layout.writers import output_path, render_page
from tests.conftest import REPO

SCHEMAS = REPO.parent / "shared" / "schemas"
# ALTO imports XLink from the web, which tests may not reach: a stub with the attribute group ALTO uses.
XLINK_STUB = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/1999/xlink">
  <xs:attributeGroup name="simpleLink"><xs:anyAttribute namespace="##targetNamespace" processContents="lax"/>
  </xs:attributeGroup>
</xs:schema>
"""


def sample_page() -> Page:
    """Two lines, one with words and characters XML must escape, one without words or baseline whose text looks
    like a JSON list."""
    first = PageLine(
        'Tom & "Jerry" <3 café',
        0.91,
        (10, 20, 410, 70),
        [(10, 22), (410, 20), (410, 70), (10, 68)],
        [(10, 60), (409, 58)],
        [
            PageWord("Tom", 0.95, (10, 25, 80, 62)),
            PageWord("&", 0.5, (90, 30, 110, 60)),
            PageWord('"Jerry"', 0.9, (120, 22, 250, 70)),
            PageWord("<3", 0.7, (260, 30, 300, 60)),
            PageWord("café", 0.99, (310, 24, 410, 66)),
        ],
    )
    second = PageLine("see [1,  2]", 0.0, (12, 90, 300, 130), [(12, 90), (300, 90), (300, 130), (12, 130)])
    return Page([first, second], 640, 480, "scan.png")


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory):
    """(PAGE schema, ALTO schema) as xmlschema validators; skipped where ../shared/schemas is absent."""
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema validates the documents (the dev extra)")
    if not (SCHEMAS / "pagecontent-2019-07-15.xsd").is_file() or not (SCHEMAS / "alto-4-4.xsd").is_file():
        pytest.skip(f"layout schemas not available: {SCHEMAS} is absent")
    stub = tmp_path_factory.mktemp("xlink") / "xlink.xsd"
    stub.write_text(XLINK_STUB, encoding="utf-8")
    page = xmlschema.XMLSchema(str(SCHEMAS / "pagecontent-2019-07-15.xsd"))
    alto = xmlschema.XMLSchema(str(SCHEMAS / "alto-4-4.xsd"), locations=[("http://www.w3.org/1999/xlink", str(stub))])
    return page, alto


def points(text: str) -> list[tuple[int, int]]:
    return [(int(x), int(y)) for x, y in (p.split(",") for p in text.split())]


def test_page_xml_is_valid_and_reads_back(schemas) -> None:
    page = sample_page()
    document = render_page(page, "page")
    schemas[0].validate(document)
    root = ET.fromstring(document)
    ns = {"p": PAGE}
    element = root.find("p:Page", ns)
    assert element is not None
    assert (element.get("imageFilename"), element.get("imageWidth"), element.get("imageHeight")) == (
        "scan.png",
        "640",
        "480",
    )
    lines = element.findall(".//p:TextLine", ns)
    assert [line.findtext("p:TextEquiv/p:Unicode", namespaces=ns) for line in lines] == [x.text for x in page.lines]
    assert points(lines[0].find("p:Coords", ns).get("points")) == page.lines[0].polygon
    assert points(lines[0].find("p:Baseline", ns).get("points")) == page.lines[0].baseline
    assert lines[1].find("p:Baseline", ns) is None
    words = lines[0].findall("p:Word", ns)
    assert [w.findtext("p:TextEquiv/p:Unicode", namespaces=ns) for w in words] == [w.text for w in page.lines[0].words]
    for word, element_word in zip(page.lines[0].words, words, strict=True):
        corners = points(element_word.find("p:Coords", ns).get("points"))
        xs, ys = zip(*corners, strict=True)
        assert (min(xs), min(ys), max(xs) + 1, max(ys) + 1) == word.box
        assert float(element_word.find("p:TextEquiv", ns).get("conf")) == pytest.approx(word.confidence, abs=1e-4)
    region = element.find("p:TextRegion", ns)
    assert region.findtext("p:TextEquiv/p:Unicode", namespaces=ns) == page.text


def test_alto_is_valid_and_reads_back(schemas) -> None:
    page = sample_page()
    document = render_page(page, "alto")
    schemas[1].validate(document)
    root = ET.fromstring(document)
    ns = {"a": ALTO}
    assert root.findtext("a:Description/a:MeasurementUnit", namespaces=ns) == "pixel"
    lines = root.findall(".//a:TextLine", ns)
    assert len(lines) == 2
    for line, element in zip(page.lines, lines, strict=True):
        strings = element.findall("a:String", ns)
        assert " ".join(s.get("CONTENT") for s in strings) == line.text
        x, y, w, h = (int(element.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
        assert (x, y, x + w, y + h) == line.box
    first = lines[0]
    assert len(first.findall("a:SP", ns)) == len(page.lines[0].words) - 1
    assert points(first.get("BASELINE")) == page.lines[0].baseline
    assert points(first.find("a:Shape/a:Polygon", ns).get("POINTS")) == page.lines[0].polygon
    for word, string in zip(page.lines[0].words, first.findall("a:String", ns), strict=True):
        x, y, w, h = (int(string.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
        assert (x, y, x + w, y + h) == word.box
        assert float(string.get("WC")) == pytest.approx(word.confidence, abs=1e-4)


def test_a_line_read_as_nothing_is_valid(schemas) -> None:
    page = Page([PageLine("", 0.0, (0, 0, 50, 20), [(0, 0), (50, 0), (50, 20), (0, 20)])], 100, 50, "x.png")
    schemas[0].validate(render_page(page, "page"))
    schemas[1].validate(render_page(page, "alto"))


def test_an_empty_page_is_valid(schemas) -> None:
    empty = Page([], 100, 50, None)
    schemas[0].validate(render_page(empty, "page"))
    schemas[1].validate(render_page(empty, "alto"))


def test_json_round_trip() -> None:
    page = sample_page()
    document = render_page(page, "json")
    assert '"box": [10, 20, 410, 70],' in document  # boxes and points on one line each
    assert '"baseline": [[10, 60], [409, 58]],' in document
    data = json.loads(document)
    assert data["text"] == 'Tom & "Jerry" <3 café\nsee [1,  2]'
    back = Page.from_dict(data)
    assert back.text == page.text and back.width == page.width and back.image == page.image
    for a, b in zip(back.lines, page.lines, strict=True):
        assert (a.box, a.polygon, a.baseline, [w.box for w in a.words]) == (
            b.box,
            b.polygon,
            b.baseline,
            [w.box for w in b.words],
        )
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


def test_text_and_unknown_format() -> None:
    assert render_page(sample_page(), "text") == 'Tom & "Jerry" <3 café\nsee [1,  2]\n'
    with pytest.raises(ValueError, match="format must be one of"):
        render_page(sample_page(), "hocr")  # type: ignore[arg-type]


def test_output_paths(tmp_path: Path) -> None:
    assert output_path("scans/a.png", "page") == Path("scans/a.page.xml")
    assert output_path("scans/a.png", "alto", tmp_path) == tmp_path / "a.alto.xml"
    assert output_path("a.jpg", "json") == Path("a.json")
