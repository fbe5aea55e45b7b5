"""Reading paper: a photographed line (larger, a wide margin, tilted, light on dark) reads as its clean scan on a
model that normalizes its input, and nothing to read reads as nothing, with confidence 0."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from scriba.config import load_config
from scriba.data.images import load_image
from scriba.data.normalize import rotate
from scriba.recognizer import Recognizer
from tests.conftest import REPO
from tests.synthetic import tiny_overrides, write_line_table


@pytest.fixture(scope="module")
def line_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny model trained 40 epochs on 96 three-word lines with ``preprocessing.normalize`` (~40 s), and its
    validation table (12 lines)."""
    from scriba.training import fit

    root = tmp_path_factory.mktemp("lines")
    train, val = write_line_table(root / "train", 96), write_line_table(root / "val", 12, seed=9)
    sets = tiny_overrides(train, val, root / "runs", epochs=40)
    sets += ["preprocessing={height: 32, stretch: 1.5, normalize: true}", "training.lr=0.005", "training.patience=100"]
    result = fit(load_config(REPO / "configs" / "tiny.yaml", sets))
    assert result.best_val_cer < 0.1  # it reads: otherwise agreeing on nothing would prove nothing
    return result.model_path, val


def photograph(gray: np.ndarray) -> np.ndarray:
    """Twice as large, on a wide grey margin, turned 3 degrees, light ink on dark."""
    big = cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return 255 - rotate(cv2.copyMakeBorder(big, 40, 40, 90, 60, cv2.BORDER_CONSTANT, value=240), 3.0)


def test_a_photographed_line_reads_as_its_scan(line_model: tuple[Path, Path]) -> None:
    model, table = line_model
    rows = list(csv.DictReader(table.open()))
    clean = [load_image(table.parent / row["path"]) for row in rows]
    photos = [photograph(gray) for gray in clean]
    recognizer = Recognizer.load(model)
    assert recognizer.preprocessing.normalize
    scans, photographed = ([r.text for r in recognizer.read_images(images)] for images in (clean, photos))
    assert sum(a == b for a, b in zip(scans, photographed, strict=True)) >= 7  # of 12 (8 when written)
    # The same weights without the normalization read the photos as something else (here: mostly nothing).
    recognizer.preprocessing = dataclasses.replace(recognizer.preprocessing, normalize=False)
    unnormalized = [r.text for r in recognizer.read_images(photos)]
    assert sum(a == b for a, b in zip(scans, unnormalized, strict=True)) <= 3


@pytest.mark.parametrize("normalized", [True, False])
def test_nothing_to_read_reads_as_nothing(line_model: tuple[Path, Path], normalized: bool) -> None:
    # A model that normalizes its input (the line model above) and one that does not (iam_ondb_words): both read
    # the writing beside the blanks.
    model = line_model[0] if normalized else "iam_ondb_words"
    recognizer = Recognizer.load(model, lm=None)
    rng = np.random.default_rng(0)
    nothing = [
        np.full((50, 200), 255, np.uint8),
        np.zeros((1, 1), np.uint8),
        rng.integers(0, 256, (64, 400)).astype(np.uint8),
        np.clip(rng.normal(128, 30, (100, 300)), 0, 255).astype(np.uint8),
    ]
    something = load_image(line_model[1].parent / "line_9_000.png" if normalized else REPO / "examples" / "hello.png")
    readings = recognizer.read_images([*nothing, something], batch_size=2)
    assert [(r.text, r.confidence, r.char_confidences) for r in readings[:4]] == [("", 0.0, [])] * 4
    assert readings[4].confidence > 0.5 and readings[4].text
    assert normalized or readings[4].text == "hello"
    tta = Recognizer.load(model, lm=None, tta=True).read_images(nothing)
    assert [(r.text, r.confidence) for r in tta] == [("", 0.0)] * 4
