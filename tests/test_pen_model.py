"""Models of pen trajectories end to end: config checks, training, the model file, reading ink, refusing images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scriba.config import load_config
from scriba.data.inkio import read_ink_file, write_ink_file
from scriba.data.records import Record
from scriba.data.sources import SourceConfig, read_source
from scriba.decoding import ImageTestTimeAugmentation as ImageTTA
from scriba.decoding import PenTestTimeAugmentation
from scriba.decoding.greedy import greedy_decode_one
from scriba.errors import ConfigError, InputKindError
from scriba.evaluate import evaluate
from scriba.model_file import read_metadata
from scriba.recognizer import Recognizer
from tests.cli_helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES, REPO, read_labels
from tests.synthetic import pen_overrides, write_ink_words

TINY = REPO / "configs" / "tiny.yaml"


@pytest.fixture(scope="module")
def ink_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ink")
    return write_ink_words(root / "train", 36), write_ink_words(root / "val", 12, split="testset_v", seed=5)


@pytest.fixture(scope="module")
def pen_model(ink_folders: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-epoch ``pen_rnn`` run of configs/tiny.yaml on the synthetic ink words."""
    from scriba.training import fit

    output = tmp_path_factory.mktemp("runs")
    result = fit(load_config(TINY, pen_overrides(*ink_folders, output)))
    return result.model_path


def test_the_model_file_says_it_reads_pen_trajectories(pen_model: Path) -> None:
    metadata = read_metadata(pen_model)
    assert metadata["architecture"] == "pen_rnn"
    assert metadata["preprocessing"]["input"] == "pen" and metadata["preprocessing"]["height"] == 6
    recognizer = Recognizer.load(pen_model)
    assert recognizer.reads_pen
    assert not Recognizer.load("english").reads_pen


def test_reads_ink_in_any_batch_and_refuses_images(pen_model: Path, ink_folders: tuple[Path, Path]) -> None:
    records = read_source(SourceConfig(str(ink_folders[1]), "iam_ondb_lines", "testset_v"))
    recognizer = Recognizer.load(pen_model)
    inks = [r.ink or [] for r in records]
    readings = recognizer.read_inks(inks)
    assert len(readings) == len(records)
    assert all(0 <= r.confidence <= 1 and len(r.char_confidences) == len(r.text) for r in readings)
    # Alone or in a padded batch of other lengths, a trajectory reads the same.
    assert [recognizer.read_ink(ink).text for ink in inks[:4]] == [r.text for r in readings[:4]]
    assert recognizer.prepare_record(records[0]).shape[0] == 6
    with pytest.raises(InputKindError, match="reads pen trajectories"):
        recognizer.read_image(np.full((32, 90), 255, np.uint8))
    with pytest.raises(InputKindError, match="is an image"):
        recognizer.prepare_record(Record("cat", image=np.full((32, 90), 255, np.uint8)))
    with pytest.raises(InputKindError, match="TestTimeAugmentation varies images"):
        Recognizer.load(pen_model, tta=ImageTTA())
    with pytest.raises(InputKindError, match="PenTestTimeAugmentation varies pen trajectories"):
        Recognizer.load("english", tta=PenTestTimeAugmentation())


def ink_examples() -> list[Record]:
    """examples/ink: seven words as ink files, with their texts."""
    return [Record(text, ink=read_ink_file(path)) for path, text in read_labels(EXAMPLES / "ink")]


def test_test_time_augmentation_reads_distortions_of_the_ink() -> None:
    # english_pen, greedily: the variants of a word read differently (the 2-epoch test model reads "" in all).
    records = ink_examples()
    plain, augmented = Recognizer.load("english_pen", lm=None), Recognizer.load("english_pen", lm=None, tta=True)
    tta = augmented.tta
    assert isinstance(tta, PenTestTimeAugmentation) and len(tta) == 7
    inks = [r.ink or [] for r in records]
    readings = augmented.read_inks(inks)
    for ink, reading in zip(inks, readings, strict=True):
        # The winner is one of the variants' own greedy readings, the one their summed likelihood favours.
        variants = tta.variants(ink, plain.preprocessing)
        own = [r.text for r in plain.read_prepared(variants)]
        assert reading.text in own
        log_probs = plain.log_probs(variants)
        expected = plain.reading_of(tta.combine(log_probs)).text
        assert reading.text == expected
    assert sum(r.text == record.text for r, record in zip(readings, records, strict=True)) >= 6  # all but qinck
    assert [r.text for r in augmented.read_records(records)] == [r.text for r in readings]
    assert [s.prediction for s in evaluate(augmented, records).samples] == [r.text for r in readings]
    with pytest.raises(InputKindError, match="reads ink records, not prepared features"):
        augmented.read_prepared([plain.prepare_record(records[0])])


def test_evaluate_scores_ink_records() -> None:
    records = ink_examples()
    recognizer = Recognizer.load("english_pen", lm=None)
    report = evaluate(recognizer, records)
    assert report.n == len(records) == 7
    assert [s.truth for s in report.samples] == [r.text for r in records]
    # Scored on what the recognizer reads from the same ink: all right but quinck for quick.
    predictions = [s.prediction for s in report.samples]
    assert predictions == [r.text for r in recognizer.read_inks([r.ink or [] for r in records])]
    assert [p for p, r in zip(predictions, records, strict=True) if p != r.text] == ["quinck"]
    assert report.cer == pytest.approx(1 / sum(len(r.text or "") for r in records))


def test_cli_reads_ink_files_and_gives_one_line_for_an_image(
    capsys: pytest.CaptureFixture[str], pen_model: Path, ink_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    records = read_source(SourceConfig(str(ink_folders[1]), "iam_ondb_lines", "testset_v"))
    path = str(write_ink_file(tmp_path / "word.json", records[0].ink or []))
    code, out, err = run(capsys, "read", "--ink", path, "--model", str(pen_model), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["ink"] == path
    image = tmp_path / "word.png"
    import cv2

    cv2.imwrite(str(image), np.full((32, 90), 255, np.uint8))
    code, out, err = run(capsys, "read", str(image), "--model", str(pen_model))
    assert_one_line_error(code, err, "reads pen trajectories", "not images")
    assert out == ""
    code, out, err = run(
        capsys, "evaluate", "--model", str(pen_model), "--data", str(ink_folders[1]), "--kind", "iam_ondb_lines",
        "--split", "testset_v", "--out", str(tmp_path / "eval"),
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "eval" / "samples.png").is_file() and "cer" in out
    code, _, err = run(
        capsys, "evaluate", "--model", str(pen_model), "--data", str(ink_folders[1]), "--kind", "iam_ondb_lines",
        "--split", "testset_v", "--out", str(tmp_path / "eval2"), "--ink-style", "unseen",
    )  # fmt: skip
    assert_one_line_error(code, err, "reads pen trajectories and draws no ink", "ink style")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["preprocessing={input: pen, height: 6}"], "model 'resnet_crnn' reads image input"),
        (["model.name=pen_rnn", "model.args={}"], "model 'pen_rnn' reads pen input"),
        (
            ["model.name=pen_rnn", "model.args={}", "preprocessing={input: pen}"],
            "features per point for pen input: 6, not 32",
        ),
        (
            ["model.name=pen_rnn", "model.args={}", "preprocessing={input: pen, height: 7}"],
            "features per point for pen input: 6, not 7",
        ),
        (
            ["model.name=pen_rnn", "model.args={}", "preprocessing={input: pen, height: 6}", "data.synth.ratio=0.2"],
            "data.synth.ratio make images",
        ),
    ],
)
def test_configs_that_mix_pen_and_image_are_refused(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(TINY, overrides)


def test_repeated_set_options_add_up(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Both overrides must reach the config (the second --set does not replace the first): the model alone
    # would be refused for its image preprocessing, the arguments alone would be a valid image config.
    code, _, err = run(
        capsys, "prepare", "--config", str(TINY), "--set", "model.name=pen_rnn", "--set", "model.args={}"
    )
    assert_one_line_error(code, err, "model 'pen_rnn' reads pen input")


def test_an_image_model_and_a_pen_model_read_ink_together(
    capsys: pytest.CaptureFixture[str],
    pen_model: Path,
    tiny_model: Path,
    ink_folders: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    from scriba.ensemble import Ensemble

    # english (drawing the ink) and english_pen, greedily: each misreads a word the other reads right.
    examples = ink_examples()
    members = [Recognizer.load("english", lm=None), Recognizer.load("english_pen", lm=None)]
    report = evaluate(Ensemble(members), examples, unknown_labels="score")
    assert report.n == len(examples) and report.model == "english+english_pen"
    # Every reading is one of the members' own greedy readings, each member's where the other is outvoted (letter,
    # not letten; guick, not quinck), and together they read as many right as the better alone (6 of 7).
    own = [[r.text for r in m.read_inks([rec.ink or [] for rec in examples])] for m in members]
    assert all(s.prediction in (own[0][i], own[1][i]) for i, s in enumerate(report.samples))
    for k in (0, 1):
        assert any(s.prediction == own[k][i] != own[1 - k][i] for i, s in enumerate(report.samples))
    right = [sum(t == r.text for t, r in zip(texts, examples, strict=True)) for texts in own]
    assert sum(s.prediction == s.truth for s in report.samples) >= max(right)

    # The command line, with the test models.
    records = read_source(SourceConfig(str(ink_folders[1]), "iam_ondb_lines", "testset_v"))
    members = [Recognizer.load(tiny_model), Recognizer.load(pen_model)]
    own = [[r.text for r in m.read_inks([rec.ink or [] for rec in records])] for m in members]

    data = ["--data", str(ink_folders[1]), "--kind", "iam_ondb_lines", "--split", "testset_v"]
    code, out, err = run(capsys, "evaluate", "--model", str(tiny_model), "--ensemble", str(pen_model), *data,
                         "--unknown-labels", "score", "--out", str(tmp_path / "eval"))  # fmt: skip
    assert code == 0, err
    assert "+" in out.splitlines()[0] and (tmp_path / "eval" / "report.json").is_file()
    code, _, err = run(capsys, "evaluate", "--model", str(tiny_model), "--ensemble", str(pen_model), *data,
                       "--lexicon", str(tmp_path / "missing.txt"))  # fmt: skip
    assert_one_line_error(code, err, "an ensemble", "--lexicon")
    # scriba read --ink with both models: one line per file, the reading one of the two models' own.
    path = str(write_ink_file(tmp_path / "word.json", records[0].ink or []))
    code, out, err = run(capsys, "read", "--ink", path, "--model", str(tiny_model), "--ensemble", str(pen_model))
    assert code == 0, err
    assert out.split("\t")[0] == path and out.split("\t")[1] in (own[0][0], own[1][0])


def test_an_ensemble_with_test_time_augmentation_reads_every_members_variants(
    capsys: pytest.CaptureFixture[str], ink_folders: tuple[Path, Path]
) -> None:
    from scriba.ensemble import Ensemble

    # The shipped models, greedily, on the synthetic ink (which they read as different strings, where the 2-epoch
    # test models read "" in every variant of every record, which any check of "which reading won" would pass).
    records = read_source(SourceConfig(str(ink_folders[1]), "iam_ondb_lines", "testset_v"))
    members = [Recognizer.load("english", lm=None, tta=True), Recognizer.load("english_pen", lm=None, tta=True)]
    variants = [m.variant_log_probs(records) for m in members]
    assert [len(v[0]) for v in variants] == [9, 7]
    readings = Ensemble(members).read_records(records)
    assert len({r.text for r in readings}) > len(records) // 2
    # Each reading is some variant's greedy reading, of either model.
    for i, reading in enumerate(readings):
        proposals = {m.reading_of(greedy_decode_one(lp)).text for m, v in zip(members, variants, strict=True)
                     for lp in v[i]}  # fmt: skip
        assert reading.text in proposals
    data = ["--data", str(ink_folders[1]), "--kind", "iam_ondb_lines", "--split", "testset_v"]
    out = ink_folders[1].parent / "eval_tta"
    code, _, err = run(capsys, "evaluate", "--model", "english", "--ensemble", "english_pen", "--no-lm", *data,
                       "--unknown-labels", "score", "--tta", "--out", str(out))  # fmt: skip
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert [s["prediction"] for s in report["samples"]] == [r.text for r in readings]
