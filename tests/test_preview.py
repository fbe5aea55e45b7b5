"""scriba preview: a contact sheet of training samples with their labels."""

from __future__ import annotations

from pathlib import Path

import cv2

from scriba.cli import main
from tests.conftest import REPO
from tests.synthetic import tiny_overrides


def test_preview_draws_a_sheet_of_augmented_samples(word_tables, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sheet.png"
    overrides = [
        *tiny_overrides(word_tables.train, word_tables.val, tmp_path),
        "data.augment=1.0",
        "data.synth.ratio=0.25",
    ]
    code = main(["preview", "--config", str(REPO / "configs" / "tiny.yaml"), "--out", str(out), "--count", "8",
                 "--set", *overrides])  # fmt: skip
    assert code == 0 and str(out) in capsys.readouterr().out
    sheet = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None and sheet.shape[0] > 100 and sheet.shape[1] > 400
    assert not (tmp_path / "tiny").exists()  # a preview leaves no run folder behind


def test_preview_shows_the_paper_augmentation(word_tables, tmp_path: Path, capsys) -> None:
    sheets = []
    for paper in ("0", "1.0"):
        out = tmp_path / f"sheet{paper}.png"
        overrides = [*tiny_overrides(word_tables.train, word_tables.val, tmp_path), f"data.paper={paper}"]
        overrides.append("preprocessing={height: 32, normalize: true}")
        code = main(["preview", "--config", str(REPO / "configs" / "tiny.yaml"), "--out", str(out), "--count", "8",
                     "--set", *overrides])  # fmt: skip
        assert code == 0
        sheets.append(cv2.imread(str(out), cv2.IMREAD_GRAYSCALE))
    plain, papered = sheets
    assert plain is not None and papered is not None
    # The same samples, seeded alike: on paper (grounds, grain, blur, JPEG, tilt, margins) they come out otherwise.
    assert plain.shape != papered.shape or (plain != papered).mean() > 0.05


def test_preview_of_a_pen_model_draws_the_distorted_trajectories(tmp_path: Path, capsys) -> None:
    from tests.synthetic import pen_overrides, write_ink_words

    train, val = write_ink_words(tmp_path / "train", 8), write_ink_words(tmp_path / "val", 4, split="testset_v")
    out = tmp_path / "sheet.png"
    code = main(["preview", "--config", str(REPO / "configs" / "tiny.yaml"), "--out", str(out), "--count", "4",
                 "--set", *pen_overrides(train, val, tmp_path), "data.augment=1.0"])  # fmt: skip
    assert code == 0 and str(out) in capsys.readouterr().out
    sheet = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None and sheet.shape[1] > 200
    assert (sheet < 128).mean() > 0.002  # strokes were drawn
