"""The command line: outputs on good input; one-line errors and non-zero exits on bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from tests.cli_helpers import assert_failed_files, assert_one_line_error, run
from tests.conftest import EXAMPLES, REPO, read_labels


def test_models_lists_architectures_with_parameter_counts(capsys) -> None:
    code, out, _ = run(capsys, "models")
    assert code == 0
    for name in ("names_crnn", "resnet_crnn", "vgg_crnn"):
        assert name in out
    assert "2.44M" in out  # names_crnn: the Kaggle notebooks' model, ~2.4M parameters
    # Shipped models say how they decode; the shipped language models are listed for --lm.
    assert any(line.split()[:3] == ["english", "LM", "english,"] for line in out.splitlines())
    assert "language models (--lm NAME):" in out and "names.lm" in out


def test_read_prints_text_and_confidence(capsys) -> None:
    """One tab-separated row per image (path, text, confidence), the same readings as JSON and with --tta."""
    examples = read_labels(EXAMPLES)[:3]
    images, texts = [str(path) for path, _ in examples], [text for _, text in examples]
    code, out, _ = run(capsys, "read", *images, "--no-lm")
    assert code == 0
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [row[:2] for row in rows] == [[image, text] for image, text in zip(images, texts, strict=True)]
    assert all(0.5 < float(row[2]) <= 1 for row in rows)

    code, out, _ = run(capsys, "read", *images, "--no-lm", "--json")
    assert code == 0
    readings = json.loads(out)
    assert [(r["image"], r["text"]) for r in readings] == [
        (image, text) for image, text in zip(images, texts, strict=True)
    ]
    assert [round(r["confidence"], 3) for r in readings] == [round(float(row[2]), 3) for row in rows]

    code, out, _ = run(capsys, "read", *images, "--no-lm", "--tta")
    assert code == 0 and [line.split("\t")[:2] for line in out.strip().splitlines()] == [row[:2] for row in rows]


def test_read_in_bfloat16_reads_as_float32(capsys) -> None:
    images = sorted(str(p) for p in (REPO / "examples").glob("*.png"))
    code, out, _ = run(capsys, "read", *images)
    assert code == 0
    code, half, _ = run(capsys, "read", *images, "--precision", "bf16")
    assert code == 0
    texts = [[line.split("\t")[:2] for line in o.strip().splitlines()] for o in (out, half)]
    assert texts[0] == texts[1] and len(texts[0]) == len(images)


def test_precision_choices_are_the_recognizers() -> None:
    from scriba.cli import build_parser
    from scriba.recognizer import PRECISIONS

    parser = build_parser()
    for command in ("read", "evaluate"):
        args = parser.parse_args([command, "--precision", "bf16", *(["--data", "d"] if command == "evaluate" else [])])
        assert args.precision == "bf16"
    sub = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[attr-defined]
    for command in ("read", "evaluate"):
        action = next(a for a in sub[command]._actions if a.dest == "precision")
        assert tuple(action.choices) == PRECISIONS and action.default == "fp32"


def test_read_one_dataset_item_with_truth(capsys, tiny_model: Path, word_tables, tmp_path: Path) -> None:
    args = ["read", "--model", str(tiny_model), "--data", str(word_tables.val)]
    code, out, _ = run(capsys, *args, "--index", "3", "--save", str(tmp_path / "item.png"))
    assert code == 0
    truth = word_tables.val.read_text().splitlines()[1 + 3].split(",")[1]
    assert f"truth:      {truth}" in out and "prediction:" in out
    assert (tmp_path / "item.png").is_file()
    code, _, err = run(capsys, *args, "--index", "12")
    assert_one_line_error(code, err, "out of range", "12 items")


def test_evaluate_prints_and_saves(capsys, tiny_model: Path, word_tables, tmp_path: Path) -> None:
    out_dir = tmp_path / "eval"
    code, out, _ = run(capsys, "evaluate", "--model", str(tiny_model), "--data", str(word_tables.val),
                       "--out", str(out_dir))  # fmt: skip
    assert code == 0
    assert "cer" in out and "exact_match" in out and "positional_char_accuracy" in out
    assert json.loads((out_dir / "report.json").read_text())["n"] == 12
    code, out, _ = run(capsys, "evaluate", "--model", str(tiny_model), "--data", str(word_tables.val),
                       "--out", str(out_dir), "--tta")  # fmt: skip
    assert code == 0 and "cer" in out
    assert (out_dir / "samples.png").is_file() and (out_dir / "char_f1.png").is_file()


def test_bad_images(capsys, tiny_model: Path, corrupt_image: Path, empty_file: Path) -> None:
    model = ["--model", str(tiny_model)]
    # A file that cannot be read is a failed input (status 1), reported on one line with its path.
    assert_failed_files(*run(capsys, "read", "missing.png", *model)[::2], ("image not found", "missing.png"))
    assert_failed_files(*run(capsys, "read", str(corrupt_image), *model)[::2], ("cannot decode",))
    assert_failed_files(*run(capsys, "read", str(empty_file), *model)[::2], ("empty",))


def test_bad_models(capsys, tiny_model: Path, tmp_path: Path, image_file: Path) -> None:
    assert_one_line_error(*run(capsys, "read", str(image_file), "--model", "nope")[::2], "unknown model 'nope'")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(tiny_model.read_bytes()[:5000])
    assert_one_line_error(*run(capsys, "read", str(image_file), "--model", str(truncated))[::2], "truncated")
    other = tmp_path / "other.safetensors"
    data = tiny_model.read_bytes().replace(b'\\"format_version\\": 1', b'\\"format_version\\": 9', 1)
    assert data != tiny_model.read_bytes()
    other.write_bytes(data)
    assert_one_line_error(*run(capsys, "read", str(image_file), "--model", str(other))[::2], "format version 9")


def test_bad_tables_and_labels(capsys, tiny_model: Path, word_tables, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("file,label\na.png,cat\n")
    model = ["--model", str(tiny_model)]
    assert_one_line_error(*run(capsys, "evaluate", *model, "--data", str(wrong))[::2], "lacks column(s) path, text")
    strange = tmp_path / "strange.csv"
    image = word_tables.val.parent / "img_5_000.png"
    strange.write_text(f"path,text\n{image},Ωmega\n")
    assert_one_line_error(*run(capsys, "evaluate", *model, "--data", str(strange), "--unknown-labels", "error")[::2],
                          "unknown characters", "'Ω'")  # fmt: skip
    empty = tmp_path / "empty.csv"
    empty.write_text(f"path,text\n{image},\n{image},EMPTY\n")
    assert_one_line_error(*run(capsys, "evaluate", *model, "--data", str(empty))[::2], "nothing to evaluate")


def test_bad_configs(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: resnet_crnn\n  colour: blue\n")
    assert_one_line_error(*run(capsys, "train", "--config", str(bad))[::2], "unknown key(s) in model: colour")
    assert_one_line_error(*run(capsys, "train", "--config", str(tmp_path / "none.yaml"))[::2], "config not found")


def test_console_script_exit_code_without_traceback(tmp_path: Path) -> None:
    scriba = shutil.which("scriba") or str(Path(sys.executable).parent / "scriba")
    done = subprocess.run([scriba, "read", str(tmp_path / "missing.png")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1  # an input failed (2 is for usage errors)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("scriba: error: ")


def test_reading_imports_nothing_only_training_needs() -> None:
    """Start-up time: ``scriba read`` loads torch and the model, not the training, plotting or table stack."""
    code = (
        "import sys; from scriba.cli import main; main(['read', 'examples/hello.png']); "
        "print(sorted(m for m in ('pandas', 'albumentations', 'matplotlib', 'lightning') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_set_preprocessing_copies_a_model_with_other_settings(capsys, tiny_model: Path, tmp_path: Path) -> None:
    from scriba.model_file import load_model_file

    out = tmp_path / "tuned.safetensors"
    code, stdout, _ = run(
        capsys, "set-preprocessing", "--model", str(tiny_model), "--out", str(out), "tall_height=44", "stretch=1.25"
    )
    assert code == 0 and "tall_height" in stdout
    tuned, original = load_model_file(out), load_model_file(tiny_model)
    assert (tuned.preprocessing.tall_height, tuned.preprocessing.stretch) == (44, 1.25)
    assert tuned.info["preprocessing_changes"] == {"tall_height": 44, "stretch": 1.25}
    assert all(torch.equal(a, b) for a, b in zip(tuned.model.state_dict().values(),
                                                 original.model.state_dict().values(), strict=True))  # fmt: skip
    for bad, message in (("hieght=4", "unknown preprocessing field"), ("height=64", "fixed by the model"),
                         ("stretch=9", "stretch"), ("tall_height", "key.path=value"), ("ink=1", "ink.FIELD=VALUE"),
                         ("ink.deskw=true", "unknown ink style field"),
                         ("ink.stroke_width=0", "stroke_width")):  # fmt: skip
        bad_out = str(tmp_path / "bad.safetensors")
        code, _, err = run(capsys, "set-preprocessing", "--model", str(tiny_model), "--out", bad_out, bad)
        assert_one_line_error(code, err, message)
    assert not (tmp_path / "bad.safetensors").exists()


def test_set_preprocessing_sets_the_ink_style(capsys, tiny_model: Path, tmp_path: Path) -> None:
    """``ink.deskew=true`` lets a model trained before deskewing read levelled ink, same weights."""
    from scriba.model_file import load_model_file

    out = tmp_path / "deskewed.safetensors"
    code, stdout, _ = run(capsys, "set-preprocessing", "--model", str(tiny_model), "--out", str(out), "ink.deskew=true")
    assert code == 0 and "'deskew': True" in stdout
    tuned, original = load_model_file(out), load_model_file(tiny_model)
    assert tuned.ink_style == dataclasses.replace(original.ink_style, deskew=True)
    assert tuned.preprocessing == original.preprocessing
    assert tuned.info["ink_style_changes"] == {"deskew": True} and "preprocessing_changes" not in tuned.info


def test_average_writes_a_model_soup(capsys, tiny_model: Path, tmp_path: Path) -> None:
    from scriba.model_file import load_model_file

    out = tmp_path / "soup.safetensors"
    code, stdout, _ = run(
        capsys, "average", "--model", str(tiny_model), str(tiny_model), "--out", str(out), "--weights", "1", "3"
    )
    assert code == 0 and "mean of 2 models" in stdout
    soup, original = load_model_file(out), load_model_file(tiny_model)
    for a, b in zip(soup.model.state_dict().values(), original.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)  # the mean of a model with itself is that model
    assert [part["weight"] for part in soup.info["averaged_from"]] == [1.0, 3.0]
    for args, message in (([str(tiny_model)], "at least two"), ([str(tiny_model), "nowhere.safetensors"], "nowhere")):
        code, _, err = run(capsys, "average", "--model", *args, "--out", str(tmp_path / "bad.safetensors"))
        assert_one_line_error(code, err, message)
    assert not (tmp_path / "bad.safetensors").exists()


def test_read_and_evaluate_with_a_lexicon(capsys, caplog, word_tables, tmp_path: Path) -> None:
    images = sorted(str(p) for p in word_tables.val.parent.glob("*.png"))[:4]
    lexicon = tmp_path / "lexicon.csv"
    words = ["cat", "dog", "sun", "tea", "code", "read", "note", "hand", "pen", "ink", "word", "line", "naïve"]
    lexicon.write_text("text\n" + "\n".join(words) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "read", *images, "--model", "english", "--lexicon", str(lexicon))
    assert code == 0 and "lexicon: 1 entries with characters the model cannot write left out" in caplog.text
    assert {line.split("\t")[1] for line in out.strip().splitlines()} <= set(words[:-1])
    code, out, _ = run(capsys, "evaluate", "--model", "english", "--data", str(word_tables.val),
                       "--out", str(tmp_path / "eval"), "--lexicon", str(lexicon), "--lexicon-weight", "0")  # fmt: skip
    assert code == 0 and "cer" in out
    assert_one_line_error(*run(capsys, "read", images[0], "--lexicon", str(tmp_path / "no.csv"))[::2],
                          "lexicon", "not found")  # fmt: skip


def test_a_command_without_its_extra_says_how_to_install_it(capsys, monkeypatch, tmp_path: Path) -> None:
    import scriba.cli

    def missing(args):  # type: ignore[no-untyped-def]
        raise ModuleNotFoundError("No module named 'fontpkg'", name="fontpkg")

    monkeypatch.setattr(scriba.cli, "_synth", missing)
    code, _, err = run(capsys, "synth", "--kind", "words", "--count", "1", "--out", str(tmp_path / "s"))
    assert_one_line_error(code, err, "`scriba synth` needs the training extras", "pip install 'scriba[train]'")
