"""``scriba read`` file by file: every kind of bad input gets its own error line while the good files are read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import assert_failed_files, assert_one_line_error, run
from tests.conftest import REPO

HELLO = REPO / "examples" / "hello.png"


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Unusual image files that are still images, and files that are not."""
    root = tmp_path_factory.mktemp("odd")
    gray = cv2.imread(str(HELLO), cv2.IMREAD_GRAYSCALE)
    files = {}
    files["one_pixel"] = root / "one.png"
    cv2.imwrite(str(files["one_pixel"]), np.full((1, 1), 255, np.uint8))
    files["blank"] = root / "blank.png"
    cv2.imwrite(str(files["blank"]), np.full((64, 300), 250, np.uint8))
    files["sixteen_bit"] = root / "deep.png"
    cv2.imwrite(str(files["sixteen_bit"]), gray.astype(np.uint16) * 257)
    files["cmyk"] = root / "cmyk.jpg"
    Image.fromarray(gray).convert("CMYK").save(files["cmyk"], quality=95)
    files["gif"] = root / "animated.gif"
    frame = Image.fromarray(gray)
    frame.save(files["gif"], save_all=True, append_images=[frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    files["huge"] = root / "huge.png"
    cv2.imwrite(str(files["huge"]), cv2.resize(gray, (20000, 200)))
    files["truncated"] = root / "truncated.png"
    files["truncated"].write_bytes(HELLO.read_bytes()[:200])
    files["text"] = root / "notes.png"
    files["text"].write_text("not an image", encoding="utf-8")
    files["empty"] = root / "empty.png"
    files["empty"].write_bytes(b"")
    return files


def test_a_mixture_of_good_and_bad_files(capsys, odd_files: dict[str, Path], tmp_path: Path) -> None:
    good = [str(HELLO), str(odd_files["sixteen_bit"]), str(odd_files["cmyk"]), str(odd_files["gif"])]
    bad = [str(tmp_path / "missing.png"), str(odd_files["truncated"]), str(odd_files["text"]),
           str(odd_files["empty"]), str(tmp_path)]  # fmt: skip
    code, out, err = run(capsys, "read", good[0], *bad, *good[1:], "--no-lm")
    assert_failed_files(code, err, ("not found", "missing.png"), ("truncated.png",), ("notes.png",), ("empty",),
                        (str(tmp_path), "folder"))  # fmt: skip
    lines = out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == good  # in the order given
    assert all(line.split("\t")[1] == "hello" for line in lines)  # 16-bit, CMYK and GIF frames read as they are


def test_tiny_blank_and_huge_images_read(capsys, caplog, odd_files: dict[str, Path]) -> None:
    files = [str(odd_files[k]) for k in ("one_pixel", "blank", "huge")]
    code, out, err = run(capsys, "read", *files, "--json")
    rows = json.loads(out)
    assert code == 0 and err == ""
    assert [r["text"] for r in rows[:2]] == ["", ""] and [r["confidence"] for r in rows[:2]] == [0.0, 0.0]
    assert "scaled down to 6000 x 60" in caplog.text and rows[2]["image"] == files[2]
    assert all(len(r["char_confidences"]) == len(r["text"]) for r in rows)


def test_folders_are_read_and_recursive_reads_subfolders(capsys, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    shutil.copy(HELLO, tmp_path / "b.png")
    shutil.copy(HELLO, tmp_path / "A.PNG")
    shutil.copy(HELLO, tmp_path / "sub" / "c.jpg.png")
    (tmp_path / "readme.txt").write_text("not read", encoding="utf-8")
    code, out, _ = run(capsys, "read", str(tmp_path), "--no-lm")
    assert code == 0 and [Path(line.split("\t")[0]).name for line in out.strip().splitlines()] == ["A.PNG", "b.png"]
    code, out, _ = run(capsys, "read", str(tmp_path), "--recursive", "--no-lm")
    assert code == 0 and len(out.strip().splitlines()) == 3
    empty = tmp_path / "sub" / "nothing"
    empty.mkdir()
    assert_failed_files(*run(capsys, "read", str(empty))[::2], ("folder without image files",))


def test_crop_takes_its_value_only_with_an_equals_sign(capsys) -> None:
    code, out, _ = run(capsys, "read", "--crop", str(HELLO), "--no-lm")  # the file is not swallowed as a value
    assert code == 0 and out.startswith(f"{HELLO}\thello")
    code, out, _ = run(capsys, "read", "--crop=0.2", str(HELLO), "--no-lm")
    assert code == 0 and "hello" in out
    assert_one_line_error(*run(capsys, "read", "--crop-margin", "5", str(HELLO))[::2], "--crop-margin")
    assert_one_line_error(*run(capsys, "read")[::2], "give image paths")


def test_a_closed_pipe_ends_quietly() -> None:
    scriba = shutil.which("scriba") or str(Path(sys.executable).parent / "scriba")
    many = [str(HELLO)] * 300
    done = subprocess.run(f"'{scriba}' read --no-lm {' '.join(many)} | head -1", shell=True, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.stdout.startswith(f"{HELLO}\thello") and "Traceback" not in done.stderr, done.stderr


def test_evaluate_says_what_it_dropped(capsys, word_tables, tmp_path: Path) -> None:
    rows = word_tables.val.read_text(encoding="utf-8").splitlines()
    table = tmp_path / "table.csv"
    folder = word_tables.val.parent
    lines = [rows[0]] + [f"{folder / r.split(',')[0]},{r.split(',')[1]}" for r in rows[1:4]] + ["nowhere.png,word"]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "evaluate", "--data", str(table), "--out", str(tmp_path / "eval"), "--no-lm")
    assert code == 0 and "on 3 samples" in out and "dropped 1 of 4 items: unreadable_image x1" in out
