"""`scriba synth`: a dataset and a one-line summary; one-line errors and exit 2 on bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scriba.cli import main
from tests.cli_helpers import assert_one_line_error, run


def test_synth_writes_a_dataset_and_a_summary(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "names"
    code, out, _ = run(capsys, "synth", "--kind", "names", "--count", "4", "--out", str(out_dir), "--seed", "2")
    assert code == 0
    assert len(out.strip().splitlines()) == 1
    assert "wrote 4 names" in out and str(out_dir) in out and "fonts:" in out
    with (out_dir / "labels.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and all((out_dir / row["path"]).is_file() for row in rows)
    assert all(row["font"] in out for row in rows)


def test_synth_takes_texts_from_a_corpus(capsys, tmp_path: Path) -> None:
    corpus = tmp_path / "lexicon.csv"
    corpus.write_text("text\nBILEL\nJEAN-ROCH\n", encoding="utf-8")
    code, _, _ = run(
        capsys, "synth", "--kind", "words", "--count", "3", "--out", str(tmp_path / "o"), "--corpus", str(corpus)
    )
    assert code == 0
    with (tmp_path / "o" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        assert {row["text"] for row in csv.DictReader(handle)} <= {"BILEL", "JEAN-ROCH"}


def test_synth_missing_corpus_is_one_line_error(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "absent.txt"
    code, _, err = run(
        capsys, "synth", "--kind", "lines", "--count", "2", "--out", str(tmp_path / "o"), "--corpus", str(missing)
    )
    assert_one_line_error(code, err, "corpus not found", "absent.txt")


def test_synth_empty_corpus_is_one_line_error(capsys, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    code, _, err = run(
        capsys, "synth", "--kind", "words", "--count", "2", "--out", str(tmp_path / "o"), "--corpus", str(empty)
    )
    assert_one_line_error(code, err, "holds no text")


def test_synth_bad_count_is_one_line_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "synth", "--kind", "words", "--count", "0", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "at least 1")


def test_synth_unknown_kind_exits_2(capsys, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--kind", "poems", "--count", "2", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
