"""Word boxes from the CTC alignment of a reading: frames to page x, ink to y."""

from __future__ import annotations

import numpy as np
import pytest

from scriba.charset import Charset
from scriba.decoding.ctc import ctc_char_spans
from scriba.layout.words import word_boxes
from tests.log_probs import frames

CHARSET = Charset("ab ")


def test_char_frames_follow_the_best_path() -> None:
    # a a - b - _ _ a : "ab a" with a blank between the two b-less letters
    rows = [{"a": 0.9}, {"a": 0.8}, {}, {"b": 0.95}, {}, {" ": 0.9}, {}, {"a": 0.7}]
    lp = frames(CHARSET, rows)
    ids = CHARSET.encode("ab a")
    spans = ctc_char_spans(lp, ids)
    assert spans is not None
    assert [(a, b) for a, b, _ in spans] == [(0, 1), (3, 3), (5, 5), (7, 7)]
    assert [p for _, _, p in spans] == pytest.approx([0.9, 0.95, 0.9, 0.7], abs=1e-3)


def test_char_frames_of_a_text_too_long_for_the_frames() -> None:
    lp = frames(CHARSET, [{"a": 0.9}, {"a": 0.9}])
    assert ctc_char_spans(lp, CHARSET.encode("aa")) is None  # a repeat needs a blank between: 3 frames
    assert ctc_char_spans(lp, []) == []


def test_word_boxes_map_frames_to_page_x_and_ink_to_y() -> None:
    text = "ab a"
    spans = [(0, 1, 0.9), (3, 3, 0.8), (5, 5, 0.9), (7, 7, 0.5)]
    ink = np.zeros((20, 200), bool)
    ink[5:15, 100:140] = True  # the first word's ink
    ink[2:18, 170:180] = True  # the second's
    words = word_boxes(text, CHARSET.encode(text), spans, 8, (100.0, 180.0), ink, 40)
    assert [w.text for w in words] == ["ab", "a"]
    # 8 frames over x 100..180: 10 px a frame; "ab" is frames 0-3, "a" frame 7
    assert words[0].box == (100, 45, 140, 55)
    assert words[1].box == (170, 42, 180, 58)
    assert words[0].confidence == pytest.approx(float(np.sqrt(0.9 * 0.8)))


def test_word_boxes_refuse_a_mismatch() -> None:
    assert word_boxes("ab", [1], [(0, 0, 1.0)], 4, (0.0, 10.0), np.ones((4, 10), bool), 0) == []
