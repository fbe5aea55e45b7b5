"""Running the CLI in-process in tests, and checking its one-line errors."""

from __future__ import annotations

import pytest

from scriba.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``scriba ARGS`` in this process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit status 2 and exactly one stderr line, ``scriba: error: ...``, containing every fragment."""
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scriba: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_failed_files(code: int, err: str, *expected: tuple[str, ...]) -> None:
    """Exit status 1 (some inputs failed) and one ``scriba: error: ...`` stderr line per failed file, the
    k-th holding every fragment of ``expected[k]``."""
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == len(expected), err
    for line, fragments in zip(lines, expected, strict=True):
        assert line.startswith("scriba: error: "), line
        for fragment in fragments:
            assert fragment in line, line
