"""``scriba read --ink``: one line per ink file; bad files exit 2 with one stderr line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scriba.data.inkio import write_ink_file
from tests.cli_helpers import assert_failed_files, assert_one_line_error, run
from tests.conftest import EXAMPLES, read_labels


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


@pytest.fixture(scope="module")
def ink_examples() -> tuple[list[str], list[str]]:
    """examples/ink: seven words as InkML and canvas JSON files, and their texts."""
    examples = read_labels(EXAMPLES / "ink")
    return [str(path) for path, _ in examples], [text for _, text in examples]


def test_read_ink_prints_one_line_per_file(capsys, ink_examples: tuple[list[str], list[str]]) -> None:
    files, texts = ink_examples
    code, out, err = run(capsys, "read", "--ink", *files, "--model", "english_pen")
    assert code == 0, err
    fields = [line.split("\t") for line in out.strip("\n").split("\n")]
    assert [f[:2] for f in fields] == [[file, text] for file, text in zip(files, texts, strict=True)]
    assert all(len(f) == 3 and 0 < float(f[2]) <= 1 for f in fields)

    code, out, _ = run(capsys, "read", "--model", "english_pen", "--json", "--ink", *files)
    assert code == 0
    rows = json.loads(out)
    assert [r["ink"] for r in rows] == files and [r["text"] for r in rows] == texts
    assert [round(r["confidence"], 3) for r in rows] == [round(float(f[2]), 3) for f in fields]


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


def test_ink_files_given_as_images_are_read_as_ink(
    capsys, tiny_model: Path, ink_examples: tuple[list[str], list[str]]
) -> None:
    files, texts = ink_examples
    code, out, err = run(capsys, "read", *files, "--model", "english_pen")  # no --ink: known by the extension
    assert code == 0, err
    assert [line.split("\t")[1] for line in out.strip().splitlines()] == texts and "cannot decode" not in err
    code, _, err = run(capsys, "read", files[0], "examples/hello.png", "--model", str(tiny_model))
    assert_one_line_error(code, err, "separate calls")
