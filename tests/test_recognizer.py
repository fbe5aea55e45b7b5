"""Recognizer: loading by name or path, reading paths, arrays, PIL images and ink, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scriba.data.images import load_image
from scriba.data.inkio import read_ink_file
from scriba.decoding import ImageTestTimeAugmentation as TTA
from scriba.decoding import LexiconDecoder
from scriba.errors import DataFormatError, ImageError, ModelFileError, ScribaDeprecationWarning
from scriba.recognizer import Recognizer, available_models, resolve_model
from tests.conftest import EXAMPLES, REPO, read_labels


@pytest.fixture(scope="module")
def english() -> Recognizer:
    """The default model decoding greedily: batching and the kind of input must not change what it reads."""
    return Recognizer.load("english", lm=None)


@pytest.fixture(scope="module")
def examples() -> list[tuple[Path, str]]:
    """examples/: six words and a line, of widths 88 to 497 px, and their texts."""
    return read_labels(EXAMPLES)


def test_paths_arrays_and_pil_images_read_the_same(english: Recognizer) -> None:
    path = EXAMPLES / "hello.png"
    gray = load_image(path)
    rgb = np.stack([gray] * 3, axis=-1)
    expected = english.read_image(path)
    assert expected.text == "hello"
    for source in (str(path), gray, rgb, Image.open(path), 255 - gray):  # inverted: light ink on dark
        reading = english.read_image(source)
        assert reading.text == "hello"
        assert reading.confidence == pytest.approx(expected.confidence, abs=1e-4)


def test_batched_reading_matches_one_by_one(english: Recognizer, examples: list[tuple[Path, str]]) -> None:
    paths, texts = [path for path, _ in examples], [text for _, text in examples]
    batched = english.read_images(paths, batch_size=3)  # batches of similar widths, the narrower padded
    single = [english.read_image(path) for path in paths]
    assert [r.text for r in batched] == [r.text for r in single] == texts
    # LSTMs run packed, so only the last frames' conv windows (which may see the padding) can differ: by up to
    # 0.003 here (London.png, batched with wider words).
    assert [r.confidence for r in batched] == pytest.approx([r.confidence for r in single], abs=5e-3)
    for reading in batched:
        assert 0.5 < reading.confidence <= 1.0
        assert len(reading.char_confidences) == len(reading.text)


def test_test_time_augmentation(english: Recognizer, examples: list[tuple[Path, str]]) -> None:
    paths, texts = [path for path, _ in examples], [text for _, text in examples]
    plain = english.read_images(paths)
    identity = Recognizer.load("english", lm=None, tta=TTA(widths=(1.0,), shifts=(0.0,))).read_images(paths)
    assert [(r.text, r.char_confidences) for r in identity] == [(r.text, r.char_confidences) for r in plain]

    augmented = Recognizer.load("english", lm=None, tta=True)
    assert augmented.tta == TTA()
    batched = augmented.read_images(paths, batch_size=5)
    single = [augmented.read_image(path) for path in paths]
    assert [r.text for r in batched] == [r.text for r in single] == texts
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


# An image model reads the ink drawn, and the padding reaches the last frames' conv windows (up to 0.004 here); a
# pen model reads the points, and the padding changes nothing (measured: 1e-7).
@pytest.mark.parametrize(("model", "tolerance"), [("english", 5e-3), ("english_pen", 1e-5)])
def test_ink_reads_alike_alone_and_in_a_batch(model: str, tolerance: float) -> None:
    examples = read_labels(EXAMPLES / "ink")
    inks = [read_ink_file(path) for path, _ in examples]
    recognizer = Recognizer.load(model)
    alone = [recognizer.read_ink(ink) for ink in inks]
    batched = recognizer.read_inks(inks, batch_size=3)  # inks of 58 to 136 points, the shorter padded
    assert [r.text for r in alone] == [r.text for r in batched] == [text for _, text in examples]
    assert [r.confidence for r in batched] == pytest.approx([r.confidence for r in alone], abs=tolerance)
    # one ink where a sequence of inks belongs (its strokes would be read as inks) is refused, arrays or lists
    for one in (inks[0], [stroke.tolist() for stroke in inks[0]]):
        with pytest.raises(TypeError, match="read_ink reads one"):
            recognizer.read_inks(one)


def test_read_image_takes_one_image_and_read_images_a_sequence(
    english: Recognizer, examples: list[tuple[Path, str]]
) -> None:
    paths, texts = [path for path, _ in examples], [text for _, text in examples]
    with pytest.raises(TypeError, match="read_image reads one"):
        english.read_images(paths[0])  # type: ignore[arg-type]
    assert english.read_image(paths[0]).text == texts[0]
    # The deprecated read() still returns a list, for one image or several, and says what replaces it.
    with pytest.warns(ScribaDeprecationWarning, match=r"read_image\(image\) for one image"):
        one = english.read(paths[0])
    with pytest.warns(ScribaDeprecationWarning):
        several = english.read(paths[:3])
    assert [r.text for r in one] == texts[:1]
    assert [r.text for r in several] == texts[:3]


def test_missing_and_corrupt_images_raise_image_error(english: Recognizer, corrupt_image: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        english.read_image("no/such/image.png")
    with pytest.raises(ImageError, match="cannot decode"):
        english.read_image(corrupt_image)


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
