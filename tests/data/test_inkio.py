"""Ink files: InkML (namespaces, traceGroups, extra channels, difference encoding) and canvas JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scriba.data.ink import render_ink
from scriba.data.inkio import (
    ink_from_inkml,
    ink_from_json,
    ink_to_inkml,
    ink_to_json,
    read_ink_file,
    write_ink_file,
)
from scriba.errors import DataFormatError

INK = [
    np.array([[0, 0], [10.5, 3.25], [20, -4.1]], np.float32),
    np.array([[1e-3, 1234567.0]], np.float32),  # a dot; a small and a large coordinate
    np.array([[5, 5], [6, 7], [8, 9], [100.125, 0.1]], np.float32),
]


def assert_same_ink(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.float32 and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("suffix", [".json", ".inkml", ".JSON"])
def test_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    path = write_ink_file(tmp_path / f"sample{suffix}", INK)
    assert_same_ink(read_ink_file(path), INK)
    assert_same_ink(read_ink_file(str(path)), INK)


def test_written_files_are_plain_and_readable() -> None:
    assert json.dumps(ink_to_json(INK[:1])) == '{"strokes": [[[0, 0], [10.5, 3.25], [20, -4.1]]]}'
    assert "<trace>0 0, 10.5 3.25, 20 -4.1</trace>" in ink_to_inkml(INK)


def test_round_trip_renders_the_same(iam_ondb_dir, tmp_path: Path) -> None:
    ink = iam_ondb_dir.strokes["a01-000u-01"]
    for suffix in (".json", ".inkml"):
        back = read_ink_file(write_ink_file(tmp_path / f"line{suffix}", ink))
        np.testing.assert_array_equal(render_ink(back), render_ink(ink))


# --- JSON -------------------------------------------------------------------------------------


def test_json_point_forms_and_empty_strokes() -> None:
    data = {
        "strokes": [
            [{"x": 1, "y": 2}, {"x": 3.5, "y": 4, "t": 17}],  # objects, extra keys ignored
            [],  # dropped
            [[5, 6, 0.3, 1000], [7, 8]],  # extra channels (pressure, time) ignored
        ]
    }
    ink = ink_from_json(data)
    assert [s.tolist() for s in ink] == [[[1, 2], [3.5, 4]], [[5, 6], [7, 8]]]
    assert_same_ink(ink_from_json([[[1, 2], [3.5, 4]]]), ink[:1])  # a bare list of strokes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lines": []}, "expected"),
        ("strokes", "expected"),
        ({"strokes": [[1, 2]]}, r"stroke 0, point 0: expected \[x, y\]"),
        ({"strokes": [{"x": 1, "y": 2}]}, "stroke 0 must be a list of points"),
        ({"strokes": [[[1, "2"]]]}, "with numbers"),
        ({"strokes": [[[1, True]]]}, "with numbers"),
        ({"strokes": [[{"x": 1}]]}, "with numbers"),
        ({"strokes": [[[1, float("nan")]]]}, "finite"),
        ({"strokes": [[], []]}, "no strokes with points"),
        ({"strokes": []}, "no strokes with points"),
    ],
)
def test_bad_json_shapes(data: object, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        ink_from_json(data, "canvas")


# --- InkML ------------------------------------------------------------------------------------

INKML = """<?xml version="1.0" encoding="UTF-8"?>
<ink xmlns="http://www.w3.org/2003/InkML">
  <definitions>
    <context xml:id="ctx0">
      <traceFormat>
        <channel name="X" type="decimal"/><channel name="Y" type="decimal"/><channel name="T" type="integer"/>
      </traceFormat>
    </context>
  </definitions>
  <annotation type="truth">hi</annotation>
  <trace id="t0">10 20 0, 11 22 8, 12 24 16</trace>
  <traceGroup>
    <annotation type="truth">i</annotation>
    <!-- a comment between traces -->
    <traceGroup>
      <trace>30 40 100,
             31 41 108</trace>
    </traceGroup>
    <trace>50 60 200</trace>
  </traceGroup>
  <trace></trace>
  <trace>70.5 -80.25 300, 71 -81 308,</trace>
</ink>
"""


def test_inkml_with_namespace_trace_groups_and_three_channels(tmp_path: Path) -> None:
    expected = [
        [[10, 20], [11, 22], [12, 24]],
        [[30, 40], [31, 41]],
        [[50, 60]],
        [[70.5, -80.25], [71, -81]],
    ]
    assert [s.tolist() for s in ink_from_inkml(INKML)] == expected
    path = tmp_path / "sample.inkml"
    path.write_text(INKML, encoding="utf-8")
    assert [s.tolist() for s in read_ink_file(path)] == expected
    no_namespace = INKML.replace(' xmlns="http://www.w3.org/2003/InkML"', "")
    assert [s.tolist() for s in ink_from_inkml(no_namespace.encode())] == expected


def test_inkml_difference_encoding() -> None:
    # Explicit, then first differences (velocity), then second differences (acceleration), then explicit.
    # The prefix holds for its channel until the next one; signs and prefixes separate values.
    trace = "<ink><trace>10 0, '1'2, 1 2, \"1\"0, 1 0, !5!-5</trace></ink>"
    x = [10, 11, 12, 14, 17, 5]  # velocity 1, 1, then 2, 3 (acceleration 1, 1)
    y = [0, 2, 4, 6, 8, -5]  # velocity 2, 2, then 2, 2 (acceleration 0, 0)
    assert ink_from_inkml(trace)[0].tolist() == [[a, b] for a, b in zip(x, y, strict=True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<ink><trace>1 2, 3</trace></ink>", "trace 0, point 1: needs at least x and y"),
        ("<ink><trace>1 2</trace><trace>1 2, 3 abc</trace></ink>", "trace 1, point 1: cannot read"),
        ("<ink><trace>T 2</trace></ink>", "must be numbers"),
        ("<ink><trace></trace></ink>", "no strokes with points"),
        ("<ink/>", "no strokes with points"),
        ("<svg><trace>1 2</trace></svg>", "root element is <svg>"),
        ("<ink><trace>1 2</ink>", "not valid XML"),
        ("not xml at all", "not valid XML"),
    ],
)
def test_bad_inkml(text: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=message) as info:
        ink_from_inkml(text, "pen.inkml")
    assert str(info.value).startswith("pen.inkml: ") and "\n" not in str(info.value)


# --- files ------------------------------------------------------------------------------------


def test_bad_files_raise_one_line_errors(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.json": "not found",
        tmp_path / "empty.inkml": "empty",
        tmp_path / "blank.json": "empty",
        tmp_path / "drawing.svg": "unsupported ink file type '.svg'",
        tmp_path / "noext": "unsupported ink file type",
        tmp_path / "broken.json": "not valid JSON",
        tmp_path / "broken.inkml": "not valid XML",
        tmp_path / "folder.json": "not found",
    }
    (tmp_path / "empty.inkml").write_bytes(b"")
    (tmp_path / "blank.json").write_text("  \n")
    (tmp_path / "drawing.svg").write_text("<svg/>")
    (tmp_path / "noext").write_text("{}")
    (tmp_path / "broken.json").write_text('{"strokes": [[[1, 2]]')
    (tmp_path / "broken.inkml").write_text("<ink><trace>1 2</trace>")
    (tmp_path / "folder.json").mkdir()
    for path, message in cases.items():
        with pytest.raises(DataFormatError, match=message) as info:
            read_ink_file(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value), info.value
    with pytest.raises(DataFormatError, match="unsupported"):
        write_ink_file(tmp_path / "out.txt", INK)
