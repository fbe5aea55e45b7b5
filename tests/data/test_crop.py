"""crop_to_ink, writing_line and Preprocessing.margin / tall_band / band_above: framing writing the same way
whatever the image's margins."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scriba.data.images import Preprocessing, crop_to_ink, writing_line


def _page(draw, top: int, left: int, size: tuple[int, int] = (200, 400), paper: int = 255) -> np.ndarray:
    page = np.full(size, paper, np.uint8)
    word = draw(96, 32, seed=3)
    page[top : top + 32, left : left + 96] = np.minimum(word, paper)
    return page


def test_crop_frames_the_writing_with_a_margin(draw) -> None:
    page = _page(draw, 50, 120)
    cropped = crop_to_ink(page, 0.25)
    ink_rows = np.flatnonzero((cropped < 128).any(axis=1))
    ink_height = ink_rows[-1] - ink_rows[0] + 1
    # The margin above the ink is a quarter of its height (±1 px: Otsu's ink includes faint antialiased
    # edge pixels that the < 128 test here does not count).
    assert abs(ink_rows[0] - 0.25 * ink_height) <= 1.5
    assert abs(cropped.shape[0] - 1.5 * ink_height) <= 3
    assert cropped.shape[1] < 120  # most of the empty page is gone


def test_same_writing_same_input_whatever_the_margins(draw) -> None:
    pre = Preprocessing(height=32, margin=0.1)
    a, b = pre.apply(_page(draw, 10, 10)), pre.apply(_page(draw, 150, 290, size=(300, 500)))
    assert a.shape == b.shape and np.array_equal(a, b)
    assert Preprocessing(height=32).apply(_page(draw, 10, 10)).shape != a.shape  # off by default


def test_specks_blank_pages_and_paper_tone(draw) -> None:
    page = _page(draw, 50, 120, paper=230)
    page[5, 5] = 0  # a dust speck far from the word does not stretch the crop
    cropped = crop_to_ink(page, 0.1)
    assert cropped.shape[0] < 50 and cropped[0, 0] >= 220  # padded with the paper's tone
    blank = np.full((40, 80), 250, np.uint8)
    assert crop_to_ink(blank, 0.1) is blank


def _loose_crop(draw, label_on_the_line: bool = False) -> np.ndarray:
    """A 64x284 loose crop of a form field: a neighbouring field cut by the top edge, the printed label
    (bold) above the handwriting (rows 32-47), the next field's label cut by the bottom edge."""
    crop = np.full((64, 284), 255, np.uint8)
    crop[:3, 150:260] = 0  # the bottom of the handwritten digits of the field above
    cv2.putText(crop, "PRENOM", (20, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 2)  # rows ~11-20, bold
    crop[32:48, 40:200] = draw(160, 16, seed=5)
    if label_on_the_line:
        cv2.putText(crop, "NOM", (2, 44), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 2)
    crop[61:, 10:120] = 0  # the top of the next field's printed label
    return crop


def test_writing_line_keeps_the_handwriting_not_the_label_nor_the_cut_fields(draw) -> None:
    crop = _loose_crop(draw)
    ink_rows = np.flatnonzero((crop[32:48] < 128).any(axis=1)) + 32
    line = writing_line(crop)
    assert line.shape[1] == 284  # full width
    # The handwriting's rows, padded by 0.6 of their height (found by Otsu, so allow a row either way).
    height = ink_rows[-1] - ink_rows[0] + 1
    assert abs(line.shape[0] - 2.2 * height) <= 3
    top = next(y for y in range(64 - len(line) + 1) if np.array_equal(crop[y : y + len(line)], line))
    assert 20 < top <= ink_rows[0] and top + len(line) > ink_rows[-1]  # the handwriting, below the label
    assert top + len(line) < 61  # not the next field's label
    same_line = writing_line(_loose_crop(draw, label_on_the_line=True))
    assert abs(same_line.shape[0] - line.shape[0]) <= 2  # a label beside the writing stays with it


def test_writing_line_keeps_thin_strokes_whole() -> None:
    # A pen line one pixel wide (an opening would erase it, leaving the printed label as the only line).
    crop = np.full((64, 284), 255, np.uint8)
    cv2.putText(crop, "NOM", (20, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 2)
    for x in range(40, 200, 20):  # capitals 14 px tall, drawn with a 1-px line
        cv2.polylines(crop, [np.array([[x, 46], [x + 6, 32], [x + 12, 46]], np.int32)], False, 0, thickness=1)
    line = writing_line(crop)
    assert 32 <= len(line) <= 34  # rows 32-46 (15) + 2 x 0.6 x 15
    assert (line < 128).sum() == (crop[32:47] < 128).sum()  # all of the writing, none of the label


def test_writing_line_leaves_tight_and_blank_crops_alone(draw) -> None:
    tight = draw(200, 40)
    tight[:, 100:102] = 0  # a stroke from the top edge to the bottom one: everything touches an edge
    assert writing_line(tight) is tight
    blank = np.full((64, 200), 250, np.uint8)
    assert writing_line(blank) is blank


def test_tall_band_crops_only_images_taller_than_tall_height(draw) -> None:
    band = Preprocessing(height=32, tall_height=44, tall_band=True)
    widen = Preprocessing(height=32, tall_height=44)
    crop = _loose_crop(draw)
    line = writing_line(crop)
    assert band.apply(crop).shape == (32, round(284 * 32 / line.shape[0]))  # the line scaled to 32 px
    assert widen.apply(crop).shape == (32, round(284 * 32 / 44))
    short = draw(284, 40)
    assert np.array_equal(band.apply(short), widen.apply(short))  # not taller than 44: as before
    assert Preprocessing.from_dict({"height": 32, "tall_height": 44}).tall_band is False  # older model files
    for bad in ({"tall_band": True}, {"tall_band": True, "tall_height": 44, "mode": "fixed"}):
        with pytest.raises(ValueError, match="tall_band"):
            Preprocessing(height=32, **bad)


def test_band_above_zero_scales_up_small_writing_in_tight_crops(draw) -> None:
    # A tight 36-px crop whose writing (12 px) fills a third of it: tall_band alone leaves it (not taller than
    # tall_height); band_above=0 cuts it to the writing, which then fills the 32 px like a large hand's.
    crop = np.full((36, 200), 255, np.uint8)
    crop[6:18, 20:140] = draw(120, 12, seed=7)
    every = Preprocessing(height=32, tall_height=44, tall_band=True, band_above=0)
    tall_only = Preprocessing(height=32, tall_height=44, tall_band=True)
    line = writing_line(crop)
    assert len(line) < 36
    assert every.apply(crop).shape == (32, round(200 * 32 / len(line)))
    assert np.array_equal(tall_only.apply(crop), Preprocessing(height=32, tall_height=44).apply(crop))
    ink_rows = [int((p.apply(crop) < 128).any(axis=1).sum()) for p in (every, tall_only)]
    assert ink_rows[0] >= 1.4 * ink_rows[1]  # the writing is scaled 36 / 22 times larger (15 rows against 9)
    above_40 = Preprocessing(height=32, tall_height=44, tall_band=True, band_above=40)
    assert np.array_equal(above_40.apply(crop), tall_only.apply(crop))  # 36 px: not cut at 40
    assert Preprocessing.from_dict({"height": 32, "tall_height": 44, "tall_band": True}).band_above is None
    for bad in ({"band_above": 0}, {"tall_band": True, "band_above": -1}):
        with pytest.raises(ValueError, match="band_above"):
            Preprocessing(height=32, tall_height=44, **bad)


def test_tight_crops_whose_writing_touches_an_edge_stay_whole() -> None:
    # 31 px: a small printed label at the top, the name (20 px tall) below it touching the bottom edge.
    crop = np.full((31, 284), 255, np.uint8)
    cv2.putText(crop, "PRENOM", (4, 9), cv2.FONT_HERSHEY_SIMPLEX, 0.25, 0, 1)  # rows ~4-9
    for x in range(20, 200, 24):
        cv2.line(crop, (x, 12), (x + 8, 30), 0, 2)  # the name's strokes run into the bottom edge
    assert len(writing_line(crop)) < 20  # as a loose crop, the label would be taken for the writing
    assert writing_line(crop, tight=True) is crop
    every = Preprocessing(height=32, tall_height=44, tall_band=True, band_above=0)
    assert np.array_equal(every.apply(crop), Preprocessing(height=32, tall_height=44).apply(crop))
