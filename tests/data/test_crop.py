"""crop_to_ink and Preprocessing.margin: framing writing the same way whatever the image's margins."""

from __future__ import annotations

import numpy as np

from scriba.data.images import Preprocessing, crop_to_ink


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
