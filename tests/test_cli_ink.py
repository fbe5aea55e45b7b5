"""``scriba read --ink``: one line per ink file; bad files exit 2 with one stderr line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scriba.data.inkio import write_ink_file
from tests.cli_helpers import assert_failed_files, assert_one_line_error, run


def _word_ink(seed: int) -> list[np.ndarray]:
    """A few wavy strokes side by side, in screen-pixel-like units."""
    rng = np.random.default_rng(seed)
    strokes = []
    for i in range(3):
        t = np.linspace(0, 1, 25)
        x = 40 * i + 30 * t
        y = 50 + 20 * np.sin(t * 6 + rng.uniform(0, 3))
        strokes.append(np.stack([x, y], axis=1))
    return strokes


@pytest.fixture
def ink_files(tmp_path: Path) -> list[str]:
    names = ["a.json", "b.inkml", "c.json"]
    return [str(write_ink_file(tmp_path / name, _word_ink(i))) for i, name in enumerate(names)]


def test_read_ink_prints_one_line_per_file(capsys, tiny_model: Path, ink_files: list[str]) -> None:
    code, out, err = run(capsys, "read", "--ink", *ink_files, "--model", str(tiny_model))
    assert code == 0, err
    lines = out.strip("\n").split("\n")
    assert len(lines) == len(ink_files)
    fields = [line.split("\t") for line in lines]
    assert [f[0] for f in fields] == ink_files
    assert all(len(f) == 3 and 0 <= float(f[2]) <= 1 for f in fields)

    code, out, _ = run(capsys, "read", "--model", str(tiny_model), "--json", "--ink", *ink_files)
    assert code == 0
    rows = json.loads(out)
    assert [r["ink"] for r in rows] == ink_files and {"text", "confidence"} <= set(rows[0])
    # The same readings as the tab-separated output.
    assert [r["text"] for r in rows] == [f[1] for f in fields]


def test_a_bad_ink_file_is_one_error_line_and_the_good_ones_are_read(
    capsys, tiny_model: Path, ink_files: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.inkml"
    bad.write_text("<ink><trace>1 2, 3 x</trace></ink>")
    code, out, err = run(capsys, "read", "--ink", ink_files[0], str(bad), "--model", str(tiny_model))
    assert_failed_files(code, err, (str(bad), "trace 0, point 1"))
    assert out.startswith(ink_files[0] + "\t") and len(out.strip().splitlines()) == 1  # the good file is read

    empty = tmp_path / "empty.json"
    empty.write_text('{"strokes": [[]]}')
    code, _, err = run(capsys, "read", "--ink", str(empty), "--model", str(tiny_model))
    assert_failed_files(code, err, ("no strokes with points",))

    code, _, err = run(capsys, "read", "--ink", str(tmp_path / "missing.json"), "--model", str(tiny_model))
    assert_failed_files(code, err, ("ink file not found",))


def test_bad_ink_file_fails_before_the_model_loads(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "drawing.svg"
    bad.write_text("<svg/>")
    code, _, err = run(capsys, "read", "--ink", str(bad), "--model", str(tmp_path / "no_model.safetensors"))
    assert_failed_files(code, err, ("unsupported ink file type '.svg'",))  # not a word about the missing model


def test_ink_and_images_together_is_an_error(capsys, tmp_path: Path, ink_files: list[str]) -> None:
    code, _, err = run(capsys, "read", "image.png", "--ink", ink_files[0])
    assert_one_line_error(code, err, "--ink")


def test_ink_files_given_as_images_are_read_as_ink(capsys, tiny_model: Path, ink_files: list[str]) -> None:
    code, with_flag, _ = run(capsys, "read", "--ink", *ink_files, "--model", str(tiny_model))
    assert code == 0
    code, without, err = run(capsys, "read", *ink_files, "--model", str(tiny_model))
    assert code == 0, err
    assert without == with_flag and "cannot decode" not in err
    code, _, err = run(capsys, "read", ink_files[0], "examples/hello.png", "--model", str(tiny_model))
    assert_one_line_error(code, err, "separate calls")
