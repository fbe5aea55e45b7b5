"""Recognizer: loading by name or path, reading paths, arrays, PIL images and ink, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scriba.data.images import load_image
from scriba.decoding import ImageTestTimeAugmentation as TTA
from scriba.decoding import LexiconDecoder
from scriba.errors import DataFormatError, ImageError, ModelFileError, ScribaDeprecationWarning
from scriba.recognizer import Recognizer, available_models, resolve_model
from tests.conftest import REPO


@pytest.fixture(scope="module")
def recognizer(tiny_model: Path) -> Recognizer:
    return Recognizer.load(tiny_model)


@pytest.fixture(scope="module")
def images(word_tables) -> list[Path]:
    return sorted(word_tables.val.parent.glob("*.png"))


def test_paths_arrays_and_pil_images_read_the_same(recognizer: Recognizer, images: list[Path]) -> None:
    path = images[0]
    gray = load_image(path)
    rgb = np.stack([gray] * 3, axis=-1)
    expected = recognizer.read_image(path)
    for source in (str(path), gray, rgb, Image.open(path), 255 - gray):  # inverted: light ink on dark
        reading = recognizer.read_image(source)
        assert reading.text == expected.text
        assert reading.confidence == pytest.approx(expected.confidence, abs=1e-4)


def test_batched_reading_matches_one_by_one(recognizer: Recognizer, images: list[Path]) -> None:
    batched = recognizer.read_images(images, batch_size=5)
    single = [recognizer.read_image(path) for path in images]
    assert [r.text for r in batched] == [r.text for r in single]
    # LSTMs run packed, so only the last frame's conv window (which may see the padding) can differ.
    assert [r.confidence for r in batched] == pytest.approx([r.confidence for r in single], abs=2e-3)
    for reading in batched:
        assert 0.0 <= reading.confidence <= 1.0
        assert len(reading.char_confidences) == len(reading.text)


def test_test_time_augmentation(tiny_model: Path, recognizer: Recognizer, images: list[Path]) -> None:
    plain = recognizer.read_images(images)
    identity = Recognizer.load(tiny_model, tta=TTA(widths=(1.0,), shifts=(0.0,))).read_images(images)
    assert [(r.text, r.char_confidences) for r in identity] == [(r.text, r.char_confidences) for r in plain]

    augmented = Recognizer.load(tiny_model, tta=True)
    assert augmented.tta == TTA()
    batched = augmented.read_images(images, batch_size=5)
    single = [augmented.read_image(path) for path in images]
    assert [r.text for r in batched] == [r.text for r in single]
    for reading in batched:
        assert 0.0 <= reading.confidence <= 1.0 and len(reading.char_confidences) == len(reading.text)


@pytest.mark.parametrize(("model", "folder"), [("english", "examples"), ("names", "examples/names")])
def test_bfloat16_reads_the_examples_as_float32(model: str, folder: str) -> None:
    paths = sorted((REPO / folder).glob("*.png"))
    fp32 = Recognizer.load(model).read_images(paths)
    half = Recognizer.load(model, precision="bf16")
    readings = half.read_images(paths, batch_size=4)
    assert next(half.model.parameters()).dtype == torch.bfloat16
    assert next(half.model_file.model.parameters()).dtype == torch.float32  # the loaded file is not changed
    assert [r.text for r in readings] == [r.text for r in fp32]
    assert [r.confidence for r in readings] == pytest.approx([r.confidence for r in fp32], abs=0.05)
    # log-probabilities (what TTA, lexicons and calibration read) come back as float32
    assert {lp.dtype for lp in half.log_probs([half.prepare(p) for p in paths])} == {torch.float32}


def test_unknown_precision_is_refused(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, not 'fp16'"):
        Recognizer.load(tiny_model, precision="fp16")  # type: ignore[arg-type]


def test_read_ink(recognizer: Recognizer) -> None:
    t = np.linspace(0, 2 * np.pi, 40)
    ink = [np.stack([100 + 30 * np.cos(t), 100 + 30 * np.sin(t)], axis=1), np.array([[150.0, 70], [150, 130]])]
    single = recognizer.read_ink(ink)
    assert [single.text] == [r.text for r in recognizer.read_inks([ink])]


def test_read_image_takes_one_image_and_read_images_a_sequence(recognizer: Recognizer, images: list[Path]) -> None:
    with pytest.raises(TypeError, match="read_image reads one"):
        recognizer.read_images(images[0])  # type: ignore[arg-type]
    # The deprecated read() still returns a list, for one image or several, and says what replaces it.
    with pytest.warns(ScribaDeprecationWarning, match=r"read_image\(image\) for one image"):
        one = recognizer.read(images[0])
    with pytest.warns(ScribaDeprecationWarning):
        several = recognizer.read(images[:3])
    assert [r.text for r in one] == [recognizer.read_image(images[0]).text]
    assert [r.text for r in several] == [r.text for r in recognizer.read_images(images[:3])]


def test_missing_and_corrupt_images_raise_image_error(recognizer: Recognizer, corrupt_image: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        recognizer.read_image("no/such/image.png")
    with pytest.raises(ImageError, match="cannot decode"):
        recognizer.read_image(corrupt_image)


def test_model_names_and_errors(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIBA_MODELS", str(tiny_model.parent))
    assert tiny_model.stem in available_models()
    assert resolve_model(tiny_model.stem) == tiny_model
    by_name, by_path = Recognizer.load(tiny_model.stem), Recognizer.load(tiny_model)
    assert by_name.charset == by_path.charset
    # A shipped model is called by the name it was loaded by; a file by the run name it records.
    assert by_name.name == tiny_model.stem
    assert by_path.name == by_path.model_file.info["name"] != tiny_model.stem
    with pytest.raises(ModelFileError, match="unknown model 'nope'"):
        Recognizer.load("nope")
    with pytest.raises(ModelFileError, match="not found"):
        Recognizer.load(tmp_path / "nope.safetensors")


def test_lexicon_decoding_reads_lexicon_entries(word_tables, tmp_path: Path) -> None:
    english = Recognizer.load("english", lm=None)  # the lexicon decoder without a language model
    table = [line.split(",") for line in word_tables.val.read_text().splitlines()[1:]]
    images = [word_tables.val.parent / name for name, _ in table]
    truths = [text for _, text in table]
    # The words, near misses of them, and an entry no greedy reading comes near.
    words = [*sorted(set(truths)), "cab", "dot", "run", "ten", "core", "rend", "nose", "band", "pan", "inky"]
    lexicon_file = tmp_path / "words.txt"
    lexicon_file.write_text("\n".join([*words, "extraordinarily"]) + "\n", encoding="utf-8")
    plain = english.read_images(images)
    decoder = Recognizer.load("english", lexicon=lexicon_file, lm=None)
    readings = decoder.read_images(images, batch_size=5)
    assert [r.text for r in readings] == [decoder.read_image(path).text for path in images]
    assert [r.greedy_text for r in readings] == [r.text for r in plain]
    assert all(r.in_lexicon and r.text in words for r in readings)
    assert all(r.text != r.greedy_text or r.lexicon_margin == pytest.approx(0.0, abs=1e-4) for r in readings)
    assert all(len(r.char_confidences) == len(r.text) and 0 <= r.confidence <= 1 for r in readings)
    right = sum(r.text == t for r, t in zip(readings, truths, strict=True))
    assert right >= sum(r.text == t for r, t in zip(plain, truths, strict=True)) and right >= 10
    assert plain[0].greedy_text is None and plain[0].lexicon_margin is None  # no lexicon: no lexicon fields
    # With test-time augmentation too and the lexicon as a hard constraint, still only entries.
    strict = LexiconDecoder.read(lexicon_file, english.charset, oov_penalty=None)
    both = Recognizer.load("english", tta=True, lexicon=strict, lm=None).read_images(images[:4])
    assert all(r.text in words for r in both)
    with pytest.raises(DataFormatError, match="lexicon: corpus not found"):
        Recognizer.load("english", lexicon=tmp_path / "missing.txt")
