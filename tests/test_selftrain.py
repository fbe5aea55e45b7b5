"""Self-training (pseudo-labels on unlabeled images, retraining in rounds) and the hash subsets it relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scriba.config import load_config
from scriba.data.sources import SourceConfig, read_source, subset_of
from scriba.decoding import LexiconDecoder
from scriba.errors import ConfigError, DataFormatError
from scriba.model_file import load_model_file, read_metadata
from scriba.recognizer import Recognizer
from scriba.removed import drop_removed
from scriba.selftrain import pseudo_label, round_config, self_train
from tests.cli_helpers import assert_one_line_error, run
from tests.conftest import REPO
from tests.synthetic import WORDS, tiny_overrides, write_word_table

TINY = REPO / "configs" / "tiny.yaml"
SHIPPED = REPO / "models" / "iam_ondb_words.safetensors"


def test_subsets_are_stable_disjoint_and_cover_everything(tmp_path: Path) -> None:
    table = write_word_table(tmp_path, 60)
    parts = {s: read_source(SourceConfig(str(table), kind="table", subset=s)) for s in ("train", "val", "test")}
    ids = {s: {r.meta["id"] for r in records} for s, records in parts.items()}
    assert sum(len(v) for v in ids.values()) == 60
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    assert all(ids.values())
    # The part depends on the file name only, not on the folder or on the other records.
    assert subset_of("a/b/img_0_001.png") == subset_of("img_0_001.png")
    again = read_source(SourceConfig(str(table), kind="table", subset="test", limit=0))
    assert {r.meta["id"] for r in again} == ids["test"]
    shares = [subset_of(f"x{i}.jpg") for i in range(4000)]
    assert abs(shares.count("train") / 4000 - 0.4) < 0.03 and abs(shares.count("test") / 4000 - 0.45) < 0.03


def test_bad_subsets_are_refused() -> None:
    with pytest.raises(DataFormatError, match="unknown subset"):
        SourceConfig("x.csv", subset="dev")
    with pytest.raises(DataFormatError, match="summing to 1"):
        SourceConfig("x.csv", subset="train", subset_fractions=(0.5, 0.5, 0.5))


def test_pseudo_labels_keep_confident_readings_and_are_marked(tmp_path: Path) -> None:
    folder = tmp_path / "unlabeled"
    write_word_table(folder, 10, seed=7)
    images = sorted(folder.glob("*.png"))
    recognizer = Recognizer.load(SHIPPED)
    readings = recognizer.read_images(images)
    threshold = sorted(r.confidence for r in readings)[len(readings) // 2]
    result = pseudo_label(recognizer, images, threshold, tmp_path / "pseudo.csv")
    expected = [(str(p.resolve()), r.text) for p, r in zip(images, readings, strict=True)]
    expected = [e for e, r in zip(expected, readings, strict=True) if r.text and r.confidence >= threshold]
    table = pd.read_csv(result.path, keep_default_na=False)
    assert result.kept == len(table) == len(expected) > 0 and result.read == 10
    assert list(zip(table["path"], table["text"], strict=True)) == expected
    assert (table["pseudo"] == 1).all() and (table["confidence"] >= threshold - 1e-4).all()
    records = read_source(SourceConfig(str(result.path), kind="table"))
    assert all(r.meta["pseudo"] is True and 0 <= r.meta["confidence"] <= 1 for r in records)
    # A lexicon keeps only the confident readings it holds.
    lexicon = {expected[0][1]}
    checked = pseudo_label(recognizer, images, threshold, tmp_path / "checked.csv", lexicon=lexicon)
    kept = pd.read_csv(checked.path, keep_default_na=False)
    assert set(kept["text"]) == lexicon and checked.kept + checked.not_in_lexicon == len(expected)
    assert not result.tta and json.loads(result.path.with_suffix(".json").read_text())["tta"] is False
    # With test-time augmentation the readings are the augmented recognizer's, and the counts say so.
    augmented = Recognizer.load(SHIPPED, tta=True)
    with_tta = pseudo_label(augmented, images, threshold, tmp_path / "tta.csv")
    expected_tta = [(str(p.resolve()), r.text) for p, r in zip(images, augmented.read_images(images), strict=True)
                    if r.text and r.confidence >= threshold]  # fmt: skip
    table = pd.read_csv(with_tta.path, keep_default_na=False)
    assert list(zip(table["path"], table["text"], strict=True)) == expected_tta
    assert with_tta.tta and json.loads(with_tta.path.with_suffix(".json").read_text())["tta"] is True


def test_lexicon_decoded_pseudo_labels_keep_entries_the_image_supports(tmp_path: Path) -> None:
    folder = tmp_path / "unlabeled"
    write_word_table(folder, 10, seed=7)
    images = sorted(folder.glob("*.png"))
    # Only near misses of the words: every reading is overruled, by a margin that says how far.
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("cab\ndot\nrun\nten\ncore\nrend\nnose\nband\npan\ninky\nward\nlike\n", encoding="utf-8")
    recognizer = Recognizer.load(SHIPPED, lm=None)  # greedy, with the lexicon as a hard constraint
    recognizer.lexicon = LexiconDecoder.read(lexicon, recognizer.charset, oov_penalty=None)
    readings = recognizer.read_images(images)
    margins = sorted(r.lexicon_margin for r in readings if r.in_lexicon)
    assert len(margins) >= 8 and margins[0] < margins[-1] < 0
    min_margin = margins[len(margins) // 2]
    result = pseudo_label(recognizer, images, 0.0, tmp_path / "pseudo.csv", min_margin=min_margin)
    expected = [(str(p.resolve()), r.text, r.greedy_text) for p, r in zip(images, readings, strict=True)
                if r.in_lexicon and r.lexicon_margin >= min_margin]  # fmt: skip
    table = pd.read_csv(result.path, keep_default_na=False)
    assert list(zip(table["path"], table["text"], table["greedy"], strict=True)) == expected
    assert 0 < result.kept < len(margins) and result.kept + result.not_in_lexicon == len(readings)
    counts = json.loads(result.path.with_suffix(".json").read_text())
    assert counts["lexicon_decoding"] is True and counts["min_margin"] == pytest.approx(min_margin)
    records = read_source(SourceConfig(str(result.path), kind="table"))
    assert [r.text for r in records] == [e[1] for e in expected] and all(r.meta["pseudo"] for r in records)


def test_lexicon_decoding_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"needs self_training\.lexicon"):
        load_config(TINY, ["self_training.lexicon_decoding=true"])
    with pytest.raises(ConfigError, match="min_margin"):
        load_config(TINY, ["self_training.lexicon=words.txt", "self_training.min_margin=1"])


def test_unreadable_unlabeled_images_are_skipped_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "unlabeled"
    write_word_table(folder, 3, seed=8)
    (folder / "broken.png").write_bytes(b"not an image")
    images = sorted(folder.glob("*.png"))
    result = pseudo_label(Recognizer.load(SHIPPED), images, 0.0, tmp_path / "pseudo.csv")
    assert result.unreadable == 1 and result.read == 3


def self_train_overrides(tmp_path: Path) -> list[str]:
    train = write_word_table(tmp_path / "train", 8, seed=3)
    val = write_word_table(tmp_path / "val", 6, seed=4)
    write_word_table(tmp_path / "unlabeled", 12, seed=9)
    model = read_metadata(SHIPPED)
    return [
        *tiny_overrides(train, val, tmp_path / "runs", name="names_like", epochs=1),
        # the shipped file's architecture, less the options removed since it was written (at their defaults there)
        f"model.args={json.dumps(drop_removed('model.args', model['model_args'], SHIPPED, 'model_args'))}",
        f"training.init_from={SHIPPED}",
        "training.lr=1e-4",
        f"self_training.unlabeled={tmp_path / 'unlabeled'}",
        "self_training.threshold=0.0",
        "self_training.rounds=2",
        "self_training.min_gain=-1.0",  # keep every round: this test checks the loop, not the gain
    ]


def test_self_training_rounds_write_pseudo_labels_models_and_a_summary(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ relative to the working directory, as in the shipped recipes
    # data.root elsewhere: the pseudo-label tables in runs/ must not be looked for under it
    lexicon = tmp_path / "elsewhere" / "words.txt"
    lexicon.parent.mkdir()
    lexicon.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    overrides = [*self_train_overrides(tmp_path), "output_dir=runs", f"data.root={tmp_path / 'elsewhere'}",
                 "self_training.lexicon=words.txt", "self_training.lexicon_decoding=true",
                 "self_training.min_margin=-1000"]  # fmt: skip
    config = load_config(TINY, overrides)
    Path("runs/names_like_round1").mkdir(parents=True)  # a round stopped before its first checkpoint
    result = self_train(config)
    home = Path("runs") / "names_like"
    assert [r.round for r in result.rounds] == [1, 2] and all(r.kept for r in result.rounds)
    for r in result.rounds:
        card = json.loads((tmp_path / "runs" / f"names_like_round{r.round}" / "data_card.json").read_text())
        # 8 labeled training images + this round's pseudo-labels, counted as such
        assert card["pseudo_labeled_train_samples"] == r.pseudo.kept > 0
        assert card["train_samples"] == 8 + r.pseudo.kept
    # Round 2 starts from round 1's model and the best model is written to the run folder.
    recipe = read_metadata(result.rounds[1].model_path)["info"]["training_config"]
    assert recipe["training"]["init_from"] == str(result.rounds[0].model_path)
    assert result.model_path == home / "model.safetensors"
    load_model_file(result.model_path)
    summary = json.loads((home / "self_training.json").read_text())
    assert [r["pseudo_labeled"] for r in summary["rounds"]] == [r.pseudo.kept for r in result.rounds]
    assert summary["start_val_cer"] == pytest.approx(result.start_val_cer)
    # The pseudo-labels were lexicon-decoded: lexicon words, with what greedy decoding read beside them.
    assert all(r["lexicon_decoding"] for r in summary["rounds"])
    for r in result.rounds:
        table = pd.read_csv(r.pseudo.path, keep_default_na=False)
        assert set(table["text"]) <= set(WORDS) and "greedy" in table
    # Run again: finished rounds are neither pseudo-labeled nor trained again and give the same figures.
    stamps = {path: path.stat().st_mtime_ns for path in home.glob("pseudo_round*.csv")}
    again = self_train(config)
    assert [r.val_cer for r in again.rounds] == pytest.approx([r.val_cer for r in result.rounds])
    assert [r.pseudo.kept for r in again.rounds] == [r.pseudo.kept for r in result.rounds]
    assert stamps and all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())


def test_rounds_fine_tune_the_teacher_or_train_a_fresh_student(tmp_path: Path) -> None:
    overrides = self_train_overrides(tmp_path)
    teacher, table = tmp_path / "round1.safetensors", tmp_path / "pseudo.csv"
    fine_tune = round_config(load_config(TINY, overrides), 2, teacher, table)
    assert fine_tune.training.init_from == str(teacher) and fine_tune.name == "names_like_round2"
    assert fine_tune.data.train[-1].path == str(table.resolve())
    fresh = round_config(load_config(TINY, [*overrides, "self_training.student_init=pretrained.safetensors"]), 2,
                         teacher, table)  # fmt: skip
    assert fresh.training.init_from == "pretrained.safetensors" and fresh.data.train == fine_tune.data.train


def test_self_training_needs_a_start_model_and_unlabeled_images(tmp_path: Path, capsys) -> None:
    overrides = [o for o in self_train_overrides(tmp_path) if not o.startswith("training.init_from")]
    with pytest.raises(ConfigError, match="init_from"):
        self_train(load_config(TINY, overrides))
    overrides = [*self_train_overrides(tmp_path), f"self_training.unlabeled={tmp_path / 'nowhere'}"]
    code, _, err = run(capsys, "self-train", "--config", str(TINY), "--set", *overrides)
    assert_one_line_error(code, err, "unlabeled images not found", "nowhere")
