"""End to end: Recognizer.read_page and ``scriba read --page`` / automatic page reading.

What is read and where the words lie are checked with ``english``, which reads the generated pages; the file
handling and the errors with the 2-epoch test model (which reads nothing: "" for every line)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import pytest

from scriba.layout.geometry import box_iou
from scriba.layout.page_xml import NAMESPACE as PAGE
from scriba.metrics import cer
from scriba.recognizer import Recognizer
from tests.cli_helpers import assert_failed_files, assert_one_line_error, run
from tests.layout.pages import LINES, make_page, word_spans


@pytest.fixture(scope="module")
def page_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 6-line page and a one-line image as PNG files."""
    root = tmp_path_factory.mktemp("pages")
    page, _ = make_page()
    line, _ = make_page(lines=LINES[:1], size=(700, 140))
    files = {"page": root / "page.png", "line": root / "line.png"}
    cv2.imwrite(str(files["page"]), page)
    cv2.imwrite(str(files["line"]), line)
    return files


def test_read_page_finds_reads_and_places_the_lines() -> None:
    recognizer = Recognizer.load("english", lm=None)
    image, boxes = make_page()
    page = recognizer.read_page(image)
    assert (page.width, page.height, page.image) == (image.shape[1], image.shape[0], None)
    assert len(page.lines) == len(boxes)
    assert page.text == "\n".join(line.text for line in page.lines)
    # Read greedily with a few slips (measured: 8.7% CER, "the quick brown fox jumps" right).
    assert page.lines[0].text == LINES[0]
    assert cer([line.text for line in page.lines], LINES) < 0.1
    for line, box in zip(page.lines, boxes, strict=True):
        assert box_iou(line.box, box) >= 0.7
        assert line.baseline is not None and len(line.polygon) >= 4
        assert 0 <= line.confidence <= 1
        assert [w.text for w in line.words] == (line.text.split(" ") if line.text else [])
        xs = [w.box[0] for w in line.words]
        assert xs == sorted(xs)
        for word in line.words:  # within the line, give or take the preprocessing's margin
            assert line.box[0] - 15 <= word.box[0] < word.box[2] <= line.box[2] + 15
            assert line.box[1] <= word.box[1] < word.box[3] <= line.box[3]


def test_a_single_line_reads_as_read_reads_it(page_files: dict[str, Path]) -> None:
    recognizer = Recognizer.load("english", lm=None)
    page = recognizer.read_page(page_files["line"])
    reading = recognizer.read_image(page_files["line"])
    assert len(page.lines) == 1 and page.image == "line.png"
    assert page.text == reading.text == LINES[0]
    assert page.lines[0].confidence == pytest.approx(reading.confidence)


def test_cli_page_formats(page_files: dict[str, Path], tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "read", "--page", str(page_files["page"]), "--model", "english")
    assert code == 0, err
    text = out.strip("\n").split("\n")  # the page's text, a line per line (with the LM: 3.7% CER)
    assert len(text) == len(LINES) and cer(text, LINES) < 0.05
    for fmt, suffix in (("page", ".page.xml"), ("alto", ".alto.xml"), ("json", ".json")):
        code, out, err = run(capsys, "read", "--page", str(page_files["page"]), "--model", "english",
                             "--format", fmt, "--out", str(tmp_path))  # fmt: skip
        assert code == 0, err
        target = tmp_path / f"page{suffix}"
        assert out.strip() == f"{page_files['page']}\t{len(LINES)} lines\t{target}"
        assert target.is_file()
    data = json.loads((tmp_path / "page.json").read_text(encoding="utf-8"))
    assert len(data["lines"]) == len(LINES) and data["image"] == "page.png"
    assert data["text"] == "\n".join(text)
    root = ET.parse(tmp_path / "page.page.xml").getroot()
    texts = [t.text or "" for t in root.iterfind(f".//{{{PAGE}}}TextLine/{{{PAGE}}}TextEquiv/{{{PAGE}}}Unicode")]
    assert texts == text


def test_cli_page_writes_beside_the_image_and_reports_bad_files(
    tiny_model: Path, page_files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    image = tmp_path / "scan.png"
    image.write_bytes(page_files["page"].read_bytes())
    missing = tmp_path / "missing.png"
    code, out, err = run(capsys, "read", "--page", str(missing), str(image), "--model", str(tiny_model),
                         "--format", "alto")  # fmt: skip
    assert_failed_files(code, err, ("missing.png", "not found"))
    assert (tmp_path / "scan.alto.xml").is_file() and "scan.alto.xml" in out


def test_cli_page_usage_errors(tiny_model: Path, page_files: dict[str, Path], capsys) -> None:
    code, _, err = run(capsys, "read", "--page", "--model", str(tiny_model))
    assert_one_line_error(code, err, "--page needs image paths")
    code, _, err = run(capsys, "read", "--page", str(page_files["page"]), "--ensemble", str(tiny_model))
    assert_one_line_error(code, err, "drop --ink, --data and --ensemble")
    code, _, err = run(capsys, "read", "--page", str(page_files["page"]), "--crop")
    assert_one_line_error(code, err, "drop --crop")
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "read", "--page", str(page_files["page"]), "--format", "hocr")
    assert exit_info.value.code == 2


def test_plain_read_says_a_page_is_a_page(tiny_model: Path, page_files: dict[str, Path], capsys) -> None:
    code, out, err = run(capsys, "read", str(page_files["line"]), str(page_files["page"]), "--model", str(tiny_model))
    assert code == 0
    rows = out.strip().split("\n")
    assert rows[0].startswith(f"{page_files['line']}\t")
    assert [r.split("\t")[0] for r in rows[1:]] == [f"{page_files['page']}:{k}" for k in range(1, len(LINES) + 1)]
    notes = err.strip().splitlines()
    assert len(notes) == 1 and "looks like a page (6 lines)" in notes[0] and "page.png" in notes[0]
    code, out, err = run(capsys, "read", str(page_files["page"]), "--model", str(tiny_model), "--json")
    row = json.loads(out)[0]
    assert len(row["lines"]) == len(LINES) and row["text"].count("\n") == len(LINES) - 1


def test_word_boxes_of_the_english_model_lie_on_the_words() -> None:
    """With a model that reads the generated page: the words of each line read with as many words as written
    have their centres within the written words' x extents, in order."""
    page = Recognizer.load("english", lm=None).read_page(make_page()[0])
    checked = 0
    for line, spans in zip(page.lines, word_spans(), strict=True):
        if len(line.words) != len(spans):
            continue
        checked += 1
        for word, (x0, x1) in zip(line.words, spans, strict=True):
            assert x0 <= (word.box[0] + word.box[2]) / 2 <= x1, (word, x0, x1)
    assert checked >= 2


def test_an_ensemble_refuses_a_page(tiny_model: Path, page_files: dict[str, Path], capsys) -> None:
    code, out, err = run(capsys, "read", str(page_files["page"]), str(page_files["line"]), "--model", str(tiny_model),
                         "--ensemble", str(tiny_model))  # fmt: skip
    assert_failed_files(code, err, ("page.png", "looks like a page (6 lines)", "--page"))
    assert out.startswith(f"{page_files['line']}\t")
