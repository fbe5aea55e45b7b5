"""One command-line dialect: ``--model``, ``--out`` and ``--json`` mean the same on every command, one ``--split``,
unknown labels scored with a note, ``--version``; each old spelling still works with a one-line notice.

Reads with the shipped ``names`` model (small, no training needed) on ``examples/``.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import scriba
from scriba.data.sources import subset_of
from scriba.model_file import load_model_file
from tests.cli_helpers import assert_one_line_error, run
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "labels.csv"


def notices(err: str) -> list[str]:
    """The deprecation notices among the stderr lines."""
    return [line for line in err.splitlines() if line.startswith("scriba: warning: ") and "is deprecated" in line]


def assert_one_notice(err: str, *fragments: str) -> None:
    found = notices(err)
    assert len(found) == 1, err
    for fragment in fragments:
        assert fragment in found[0], found[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        expected = importlib.metadata.version("scriba")
    except importlib.metadata.PackageNotFoundError:
        expected = scriba.__version__
    with pytest.raises(SystemExit) as exited:
        run(capsys, "--version")
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"scriba {expected}\n"
    done = subprocess.run([sys.executable, "-m", "scriba.cli", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"scriba {expected}\n"


def test_set_preprocessing_takes_model_and_out_as_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new, old, mixed = (tmp_path / f"{name}.safetensors" for name in ("new", "old", "mixed"))
    code, out, err = run(capsys, "set-preprocessing", "--model", "names", "--out", str(new), "stretch=1.25")
    assert code == 0 and str(new) in out and notices(err) == []
    code, out, err = run(capsys, "set-preprocessing", "names", str(old), "stretch=1.25")
    assert code == 0 and str(old) in out
    assert_one_notice(err, "positional MODEL OUT", "--model MODEL --out OUT")
    code, _, err = run(capsys, "set-preprocessing", "--out", str(mixed), "names", "stretch=1.25")
    assert code == 0
    assert_one_notice(err, "positional MODEL", "--model MODEL")
    assert {load_model_file(p).preprocessing.stretch for p in (new, old, mixed)} == {1.25}
    # changes on both sides of an option, and the old MODEL before --out OUT
    both, before = tmp_path / "both.safetensors", tmp_path / "before.safetensors"
    code, _, err = run(
        capsys, "set-preprocessing", "stretch=1.2", "--out", str(both), "tall_height=44", "--model", "names"
    )
    assert code == 0 and notices(err) == []
    assert (load_model_file(both).preprocessing.stretch, load_model_file(both).preprocessing.tall_height) == (1.2, 44)
    code, _, err = run(capsys, "set-preprocessing", "names", "--out", str(before), "stretch=1.25")
    assert code == 0 and load_model_file(before).preprocessing.stretch == 1.25
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "set-preprocessing", "--model", "names", "--out", str(both), "stretch=1.2", "--bogus")
    assert exit_.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
    code, _, err = run(capsys, "set-preprocessing", "--model", "names", "stretch=1.25")
    assert_one_line_error(code, err, "needs --out FILE")
    assert not list(tmp_path.glob("*.safetensors.*"))


def test_average_takes_its_models_with_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for args in (["--model", "names", "names"], ["--model", "names", "--model", "names"]):
        code, out, err = run(capsys, "average", *args, "--out", str(tmp_path / "soup.safetensors"))
        assert code == 0 and "mean of 2 models" in out and notices(err) == []
    code, out, err = run(capsys, "average", "names", "names", "--out", str(tmp_path / "old.safetensors"))
    assert code == 0 and "mean of 2 models" in out
    assert_one_notice(err, "scriba average MODEL", "--model A B")
    code, _, err = run(capsys, "average", "names", "--model", "names", "--out", str(tmp_path / "both.safetensors"))
    assert_one_line_error(code, err, "give the models once")
    assert not (tmp_path / "both.safetensors").exists()


def test_calibrate_takes_model_as_a_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    names = str(REPO / "examples" / "names" / "labels.csv")
    new, old = tmp_path / "new.safetensors", tmp_path / "old.safetensors"
    code, out, err = run(capsys, "calibrate", "--model", "names", "--data", names, "--out", str(new))
    assert code == 0 and out.startswith(f"{new}: ") and notices(err) == []
    code, out_old, err = run(capsys, "calibrate", "names", "--data", names, "--out", str(old))
    assert code == 0 and out_old.split(": ", 1)[1] == out.split(": ", 1)[1]
    assert_one_notice(err, "positional MODEL of `scriba calibrate`", "--model MODEL")
    code, _, err = run(capsys, "calibrate", "names", "--model", "names", "--data", names, "--out", str(old))
    assert_one_line_error(code, err, "give the model once")


def test_export_takes_model_as_a_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime", reason="export checks the ONNX file with onnxruntime (scriba[onnx])")
    check = str(REPO / "examples" / "names" / "LEA.png")
    code, out, err = run(capsys, "export", "--model", "names", "--out", str(tmp_path / "new.onnx"), "--check", check)
    assert code == 0 and "greedy text identical on 100.0% of 1 images" in out and notices(err) == []
    code, out, err = run(capsys, "export", "names", "--out", str(tmp_path / "old.onnx"), "--check", check)
    assert code == 0 and (tmp_path / "old.onnx").is_file()
    assert_one_notice(err, "positional MODEL of `scriba export`", "--model MODEL")


def test_evaluate_json_prints_the_report_and_json_file_still_writes_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["evaluate", "--model", "names", "--data", str(EXAMPLES)]
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "new"), "--json")
    assert code == 0 and notices(err) == []
    report = json.loads(out)  # stdout is the JSON alone
    assert report == json.loads((tmp_path / "new" / "report.json").read_text(encoding="utf-8"))
    labels = list(csv.DictReader(EXAMPLES.open(encoding="utf-8")))
    assert report["n"] == len(labels) and {s["truth"] for s in report["samples"]} == {r["text"] for r in labels}
    # The old `--json FILE` (and --json=FILE) writes the report there and prints the summary.
    for spelling in (["--json", str(tmp_path / "old.json")], [f"--json={tmp_path / 'old2.json'}"]):
        code, out, err = run(capsys, *args, "--out", str(tmp_path / "old"), *spelling)
        assert code == 0 and out.startswith("model names on ")
        assert_one_notice(err, "--json FILE", "use --json")
    for name in ("old.json", "old2.json"):
        assert json.loads((tmp_path / name).read_text(encoding="utf-8"))["cer"] == report["cer"]


def test_one_split_option_and_subset_as_its_old_alias(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``--split val`` of a table without a split column is the hash part ``--subset val`` was."""
    parts = [subset_of(row["path"]) for row in csv.DictReader(EXAMPLES.open(encoding="utf-8"))]
    args = ["evaluate", "--model", "names", "--data", str(EXAMPLES), "--out", str(tmp_path), "--json"]
    for part in ("test", "val"):
        code, out, err = run(capsys, *args, "--split", part)
        assert code == 0 and notices(err) == [] and json.loads(out)["n"] == parts.count(part) > 0
        code, out, err = run(capsys, *args, "--subset", part)
        assert code == 0 and json.loads(out)["n"] == parts.count(part)
        assert_one_notice(err, f"--subset {part}", f"use --split {part}")


def test_unknown_labels_are_scored_with_a_note(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The names model writes capitals only: every example label holds characters it cannot write."""
    args = ["evaluate", "--model", "names", "--data", str(EXAMPLES), "--out", str(tmp_path)]
    total = len(list(csv.DictReader(EXAMPLES.open(encoding="utf-8"))))
    code, out, err = run(capsys, *args)
    assert code == 0 and out.startswith(f"model names on {total} samples")
    note = [line for line in err.splitlines() if line.startswith("scriba: note: ")]
    assert len(note) == 1 and f"{total} of the {total} labels read hold characters model names cannot write" in note[0]
    assert "scored as errors" in note[0]
    code, _, err = run(capsys, *args, "--unknown-labels", "error")
    assert_one_line_error(code, err, "unknown characters")
    code, _, err = run(capsys, *args, "--unknown-labels", "skip")
    assert "left out" in err and "nothing to evaluate" in err.splitlines()[-1]


def test_every_out_is_a_flag_that_says_what_it_writes() -> None:
    from scriba.cli import build_parser

    def leaves(parser):  # type: ignore[no-untyped-def]
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            yield parser
        for action in subs:
            for sub in action.choices.values():
                yield from leaves(sub)

    outs = {}
    for parser in leaves(build_parser()):
        for action in parser._actions:
            if action.dest == "out" or "out" in action.option_strings:
                outs[parser.prog] = (action.option_strings, action.metavar, action.help)
            if action.dest == "model" and not action.option_strings:
                pytest.fail(f"{parser.prog} takes its model as a positional")
    assert len(outs) >= 10, outs
    for prog, (options, metavar, help_text) in outs.items():
        assert options == ["--out"] and metavar in ("DIR", "PNG", "MODEL_FILE", "ONNX_FILE", "LM_FILE"), prog
        assert help_text and help_text != "==SUPPRESS==", prog
