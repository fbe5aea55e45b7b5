"""Line finding on generated pages: counts, boxes, reading order, skew, ruled lines, a printed header, touching
lines; and what is not a page."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from scriba.layout.geometry import box_iou
from scriba.layout.segment import find_lines, is_page
from tests.layout.pages import LINES, make_page


def assert_lines_match(found: list, truth: list, iou: float = 0.7) -> None:
    """As many lines as true ones, the k-th found line overlapping the k-th true line (reading order)."""
    assert len(found) == len(truth), [line.box for line in found]
    for k, (line, box) in enumerate(zip(found, truth, strict=True)):
        assert box_iou(line.box, box) >= iou, (k, line.box, box)


def test_finds_the_lines_of_a_page_in_reading_order() -> None:
    page, boxes = make_page()
    layout = find_lines(page)
    assert_lines_match(layout.lines, boxes)
    assert [line.centre_y for line in layout.lines] == sorted(line.centre_y for line in layout.lines)
    assert abs(layout.skew) <= 0.5


@pytest.mark.parametrize("angle", [-3.0, 2.0, 4.0])
def test_turned_pages(angle: float) -> None:
    page, boxes = make_page(angle=angle)
    layout = find_lines(page)
    assert_lines_match(layout.lines, boxes, iou=0.6)
    # cv2 turns counter-clockwise: the lines then rise to the right, a negative skew in y-down terms.
    assert layout.skew == pytest.approx(-angle, abs=1.0)


def test_ruled_lines_are_not_text_lines() -> None:
    page, boxes = make_page(ruled=True)
    assert_lines_match(find_lines(page).lines, boxes, iou=0.6)


def test_a_printed_header_is_a_line_of_its_own() -> None:
    page, boxes = make_page(header="INVOICE 2024 - printed header")
    assert_lines_match(find_lines(page).lines, boxes)


def test_touching_lines_are_told_apart() -> None:
    """Baselines 26 px apart: descenders reach into the next line's letters."""
    page, boxes = make_page(spacing=0.55)
    assert sum(a[3] > b[1] for a, b in itertools.pairwise(boxes)) >= 3  # boxes overlap: lines touch
    layout = find_lines(page)
    assert_lines_match(layout.lines, boxes, iou=0.5)


def test_owner_map_gives_each_line_its_ink() -> None:
    page, boxes = make_page()
    layout = find_lines(page)
    for k, box in enumerate(boxes, start=1):
        x0, y0, x1, y1 = box
        inside = layout.owner[y0:y1, x0:x1]
        assert (inside == k).sum() > 0.8 * (inside > 0).sum()


def test_polygon_and_baseline_lie_on_the_line() -> None:
    layout = find_lines(make_page()[0])
    for line in layout.lines:
        x0, y0, x1, y1 = line.box
        xs, ys = np.array(line.polygon).T
        assert xs.min() == x0 and xs.max() == x1 and ys.min() == y0 and ys.max() == y1
        (bx0, by0), (bx1, by1) = line.baseline
        assert bx0 == x0 and bx1 == x1 - 1
        # the letters sit on it: below the middle of the line's box
        assert (y0 + y1) / 2 < by0 < y1 and (y0 + y1) / 2 < by1 < y1


def test_blank_paper_and_a_single_line() -> None:
    assert find_lines(np.full((300, 400), 240, np.uint8)).lines == []
    page, boxes = make_page(lines=LINES[:1], size=(700, 140))
    layout = find_lines(page)
    assert_lines_match(layout.lines, boxes)
    assert not is_page(layout)


def test_is_page() -> None:
    assert is_page(find_lines(make_page()[0]))
    assert not is_page(find_lines(make_page(lines=LINES[:2])[0]))
    # three lines shrunk to a 75 px strip (like a form field's crop: a label, the writing, pieces at the edges)
    three = make_page(lines=LINES[:3], size=(900, 260))[0]
    assert is_page(find_lines(three))
    small = cv2.resize(three, (260, 75), interpolation=cv2.INTER_AREA)
    assert len(find_lines(small).lines) == 3
    assert not is_page(find_lines(small))
