"""``scriba lm build|perplexity|tune`` and the decoding options of ``scriba read`` / ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scriba.lm import load_lm
from scriba.model_file import load_model_file
from scriba.recognizer import Recognizer
from tests.cli_helpers import assert_one_line_error, run


@pytest.fixture(scope="module")
def word_lm(word_tables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-gram LM of the synthetic words' labels (train and val tables), built with the CLI."""
    out = tmp_path_factory.mktemp("lm") / "words.lm"
    from scriba.cli import main

    assert main(["lm", "build", "--text", str(word_tables.train), str(word_tables.val), "--order", "4",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


def test_build_writes_a_model_with_its_card_and_arpa(capsys, tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("the cat sat\nthe hat\n\n", encoding="utf-8")
    table = tmp_path / "t.csv"
    table.write_text("text,split\na cat,train\nthe dog,val\n", encoding="utf-8")
    code, out, _ = run(capsys, "lm", "build", "--text", str(text), str(table), "--split", "train", "--order", "3",
                       "--out", str(tmp_path / "m.lm"), "--arpa", str(tmp_path / "m.arpa"),
                       "--heldout", str(table), "--heldout-split", "val")  # fmt: skip
    assert code == 0 and "order 3" in out and "from 3 sentences" in out and "perplexity" in out
    lm = load_lm(tmp_path / "m.lm")
    assert lm.info["sentences"] == 3 and lm.info["text"] == ["text.txt", "t.csv"] and "d" not in lm.vocab
    assert lm.info["perplexity"]["per_character"] > 1
    assert (tmp_path / "m.arpa").read_text(encoding="utf-8").startswith("\n\\data\\\nngram 1=")
    code, out, _ = run(capsys, "lm", "perplexity", "--lm", str(tmp_path / "m.lm"), "--text", str(text))
    assert code == 0 and "perplexity per character" in out


def test_bad_lm_input_is_one_line_errors(capsys, tmp_path: Path, image_file: Path) -> None:
    assert_one_line_error(*run(capsys, "lm", "build", "--text", str(tmp_path / "no.txt"), "--out",
                               str(tmp_path / "x.lm"))[::2], "not found")  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    assert_one_line_error(*run(capsys, "lm", "build", "--text", str(empty), "--out", str(tmp_path / "x.lm"))[::2],
                          "holds no text")  # fmt: skip
    assert_one_line_error(*run(capsys, "read", str(image_file), "--lm", "nope")[::2], "unknown language model")
    assert_one_line_error(*run(capsys, "read", str(image_file), "--beam", "0")[::2], "beam")
    assert_one_line_error(*run(capsys, "read", str(image_file), "--alternatives", "0")[::2], "alternatives")
    assert not (tmp_path / "x.lm").exists()


def test_read_with_an_lm_shows_alternatives(capsys, word_tables, word_lm: Path) -> None:
    images = sorted(str(p) for p in word_tables.val.parent.glob("*.png"))[:3]
    code, out, _ = run(capsys, "read", *images, "--model", "english", "--lm", str(word_lm), "--alternatives", "3")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 12 and lines[1].startswith("  1. ") and "score" in lines[1]
    assert lines[1].split("\t")[0][len("  1. ") :] == lines[0].split("\t")[1]  # the first alternative is the reading
    code, out, _ = run(capsys, "read", *images, "--model", "english", "--lm", str(word_lm), "--alternatives", "2",
                       "--json")  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and all(len(r["alternatives"]) == 2 and r["alternatives"][0]["text"] == r["text"] for r in rows)
    assert rows[0]["alternatives"][0]["score"] >= rows[0]["alternatives"][1]["score"]
    code, out, _ = run(capsys, "read", *images, "--model", "english", "--no-lm", "--json")
    assert code == 0 and all("alternatives" not in r for r in json.loads(out))


def test_tune_records_the_best_weights_and_the_model_then_reads_with_its_lm(
    capsys, word_tables, word_lm: Path, tmp_path: Path
) -> None:
    out_model = tmp_path / "tuned.safetensors"
    code, out, _ = run(capsys, "lm", "tune", "--model", "english", "--lm", str(word_lm), "--data", str(word_tables.val),
                       "--weights", "0.5,1", "--bonuses", "0,1", "--out", str(out_model))  # fmt: skip
    assert code == 0 and "greedy" in out and "best by cer" in out and "confidence power" in out
    decoding = load_model_file(out_model).info["decoding"]
    assert decoding["lm"] == str(word_lm.resolve()) and decoding["lm_weight"] in (0.5, 1.0)
    assert "12 samples" in decoding["tuned_on"] and decoding["confidence_power"] > 0
    tuned = Recognizer.load(out_model)
    assert tuned.decoder is not None and tuned.decoder.lm is not None and tuned.decoder.lm_weight in (0.5, 1.0)
    assert Recognizer.load(out_model, lm=None).decoder is None  # --no-lm
    code, out, _ = run(capsys, "evaluate", "--model", str(out_model), "--data", str(word_tables.val),
                       "--out", str(tmp_path / "eval"), "--alternatives", "3")  # fmt: skip
    assert code == 0 and "best of 3 alternatives" in out
