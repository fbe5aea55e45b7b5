"""Synthetic handwriting: fonts and glyph coverage, the three kinds, corpora, and datasets on disk."""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scriba.data.corpus import Corpus, read_corpus
from scriba.data.glyphs import (
    InkStyle,
    _characters_unlike_notdef,
    can_render,
    font_characters,
    render_ink,
    resolve_font,
)
from scriba.data.images import load_image
from scriba.data.sources import SourceConfig, read_source
from scriba.data.synth import KINDS, SyntheticGenerator, render_text, synthesize
from scriba.errors import DataFormatError, ScribaError


@pytest.fixture(scope="module")
def font_without_q(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caveat cut down to ASCII letters and space, without Q."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(resolve_font("caveat")))
    subsetter = subset.Subsetter(subset.Options())
    subsetter.populate(unicodes=[ord(c) for c in string.ascii_letters + " " if c != "Q"])
    subsetter.subset(font)
    path = tmp_path_factory.mktemp("fonts") / "caveat_no_q.ttf"
    font.save(str(path))
    return path


def write_corpus(folder: Path, texts: list[str], name: str = "corpus.txt") -> Path:
    path = folder / name
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def longest_dark_run(row: np.ndarray, threshold: int = 200) -> int:
    """Length of the longest run of pixels darker than ``threshold`` in one image row."""
    best = run = 0
    for dark in row < threshold:
        run = run + 1 if dark else 0
        best = max(best, run)
    return best


def test_render_text_keeps_its_behaviour() -> None:
    image = render_text("hello", font="caveat", size=48, seed=3)
    assert image.dtype == np.uint8 and image.ndim == 2
    assert np.array_equal(image, render_text("hello", font="caveat", size=48, seed=3))
    assert image.max() == 255 and image.min() < 60
    with pytest.raises(ScribaError, match="empty text"):
        render_text("  ")


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_deterministic_under_a_seed(kind: str) -> None:
    first = SyntheticGenerator(kind, seed=0)
    second = SyntheticGenerator(kind, seed=0)
    a = [first.sample(np.random.default_rng(7)) for _ in range(2)]
    b = [second.sample(np.random.default_rng(7)) for _ in range(2)]
    for (image_a, text_a), (image_b, text_b) in zip(a, b, strict=True):
        assert text_a == text_b and np.array_equal(image_a, image_b)
    # The generator's own random source follows its seed too.
    assert [t for _, t in (SyntheticGenerator(kind, seed=5).sample() for _ in range(3))] == [
        t for _, t in (SyntheticGenerator(kind, seed=5).sample() for _ in range(3))
    ]
    image_c, text_c = SyntheticGenerator(kind).sample(np.random.default_rng(8))
    assert text_c != a[0][1] or not np.array_equal(image_c, a[0][0])


@pytest.mark.parametrize(
    ("kind", "min_height", "max_height"), [("names", 24, 80), ("words", 20, 160), ("lines", 20, 200)]
)
def test_each_kind_is_dark_ink_on_light_paper(kind: str, min_height: int, max_height: int) -> None:
    generator = SyntheticGenerator(kind, seed=1)
    rng = np.random.default_rng(1)
    for _ in range(6):
        image, text = generator.sample(rng)
        assert image.dtype == np.uint8 and image.ndim == 2
        assert min_height <= image.shape[0] <= max_height, (kind, text, image.shape)
        assert np.median(image) > 200, "paper is the light majority"
        assert image.min() < 110, "some ink is dark"
        assert text.strip() == text and text


def test_lines_are_several_words_wider_than_tall() -> None:
    generator = SyntheticGenerator("lines")
    rng = np.random.default_rng(2)
    for _ in range(5):
        image, text = generator.sample(rng)
        assert 3 <= len(text.split()) <= 8, text
        assert image.shape[1] > 3 * image.shape[0]


def test_names_are_capitals_in_a_form_field_with_box_lines() -> None:
    generator = SyntheticGenerator("names", seed=0)
    rng = np.random.default_rng(0)
    for _ in range(8):
        image, text = generator.sample(rng)
        assert re.fullmatch(r"[A-Z' -]+", text), text
        height, width = image.shape
        assert width > 4 * height and 250 <= width <= 600, image.shape
        # An underline or box edge: a dark run over most of the field's width.
        assert max(longest_dark_run(row) for row in image) >= 0.6 * width


def test_neighbour_digits_stay_at_an_edge_clear_of_the_name() -> None:
    from scriba.data.glyphs import letter_height
    from scriba.data.synth import _add_neighbour_digits

    font = resolve_font("caveat")
    style = InkStyle(size=14 / letter_height(font, "H"))
    edges = set()
    for seed in range(12):
        writing = np.zeros((60, 320), np.float32)
        writing[20:40, 10:100] = 0.5  # the name's rows
        before = writing.copy()
        _add_neighbour_digits(writing, font, style, np.random.default_rng(seed), 20, 40)
        assert np.array_equal(writing[19:41], before[19:41]), "the name's rows (and one on each side) are untouched"
        rows = np.flatnonzero(np.abs(writing - before).max(axis=1) > 0)
        if rows.size:
            edges.add("top" if rows.max() < 19 else "bottom")
            assert rows.min() == 0 or rows.max() == 59, "cut by the crop's edge"
            assert np.flatnonzero(np.abs(writing - before).max(axis=0) > 0).min() >= 0.3 * 320
    assert edges == {"top", "bottom"}


@pytest.mark.parametrize("kind", KINDS)
def test_texts_come_from_the_corpus(tmp_path: Path, kind: str) -> None:
    texts = ["Lune", "Jean-Roch", "deux mots"] if kind != "lines" else ["the cat sat", "on a mat, twice."]
    generator = SyntheticGenerator(kind, corpus=write_corpus(tmp_path, texts))
    expected = {t.upper() for t in texts} if kind == "names" else set(texts)
    rng = np.random.default_rng(0)
    assert {generator.sample(rng)[1] for _ in range(12)} <= expected


def test_csv_corpus_is_sampled_with_its_frequencies(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text("text\n" + "ANNE\n" * 9 + "BOB\n" + "\n", encoding="utf-8")
    corpus = read_corpus(path)
    assert sorted(corpus.texts) == ["ANNE", "BOB"]
    assert corpus.weights.tolist() == pytest.approx([0.9, 0.1])
    rng = np.random.default_rng(0)
    counts = Counter(corpus.sample(rng) for _ in range(1000))
    assert 850 < counts["ANNE"] < 950


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [(None, "absent.txt", "not found"), ("\n  \n", "blank.txt", "holds no text"), ("word\nA\n", "x.csv", "text")],
)
def test_bad_corpus_files_raise(tmp_path: Path, content: str | None, name: str, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        read_corpus(path)


def test_coverage_comes_from_the_font(font_without_q: Path) -> None:
    assert "Q" not in font_characters(font_without_q) and "A" in font_characters(font_without_q)
    # The fallback without fontTools compares renderings with the .notdef glyph, and agrees.
    rendered = _characters_unlike_notdef(font_without_q)
    assert "Q" not in rendered and set(string.ascii_letters) - {"Q"} <= rendered
    assert not can_render(font_without_q, "QUIZ") and can_render(font_without_q, "ZIP ZAP")


def test_fonts_lacking_a_glyph_are_skipped(tmp_path: Path, font_without_q: Path) -> None:
    corpus = write_corpus(tmp_path, ["QUIZ", "ZIP"])
    generator = SyntheticGenerator("words", corpus=corpus, fonts=[font_without_q, "kalam"])
    assert set(generator.fonts) == {"caveat_no_q", "kalam"}
    rng = np.random.default_rng(0)
    fonts_by_text: dict[str, set[str]] = {}
    for _ in range(30):
        _, text, font = generator.sample_with_font(rng)
        fonts_by_text.setdefault(text, set()).add(font)
    assert fonts_by_text["QUIZ"] == {"kalam"}
    assert fonts_by_text["ZIP"] == {"caveat_no_q", "kalam"}
    # A text no font can write is left out; a corpus with nothing writable is an error.
    only_subset = SyntheticGenerator("words", corpus=corpus, fonts=[font_without_q])
    assert only_subset.corpus.texts == ("ZIP",)
    with pytest.raises(ScribaError, match="no text of the corpus"):
        SyntheticGenerator("words", corpus=write_corpus(tmp_path, ["QUIZ"], "q.txt"), fonts=[font_without_q])


def test_caps_only_fonts_never_write_lowercase(tmp_path: Path) -> None:
    generator = SyntheticGenerator("words", corpus=Corpus.from_counts({"hello": 1, "HELLO": 1}))
    rng = np.random.default_rng(0)
    samples = [generator.sample_with_font(rng) for _ in range(40)]
    assert all(font != "permanent-marker" for _, text, font in samples if text == "hello")


def test_variable_font_weight_thickens_strokes() -> None:
    caveat = resolve_font("caveat")
    thin, _ = render_ink("Hello", caveat, InkStyle(size=40, weight=0.0, jitter=0), np.random.default_rng(0))
    bold, _ = render_ink("Hello", caveat, InkStyle(size=40, weight=1.0, jitter=0), np.random.default_rng(0))
    assert bold.sum() > 1.15 * thin.sum()


def test_unknown_kind_and_font_raise() -> None:
    with pytest.raises(ScribaError, match="unknown synthetic kind"):
        SyntheticGenerator("poems")
    with pytest.raises(ScribaError, match="unknown font"):
        SyntheticGenerator("words", fonts=["no-such-font"])


def test_synthesize_writes_a_table_that_reads_back(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, ["alpha", "beta", "Gamma 3", "NA"])
    labels = synthesize("words", 6, tmp_path / "out", seed=4, corpus=corpus)
    assert labels == tmp_path / "out" / "labels.csv"
    records = read_source(SourceConfig(path=str(labels)))
    assert len(records) == 6
    for record in records:
        assert record.text in {"alpha", "beta", "Gamma 3", "NA"}  # "NA" stays a label, not a missing value
        image = load_image(record.image)
        assert image.ndim == 2 and np.median(image) > 200
    again = synthesize("words", 6, tmp_path / "again", seed=4, corpus=corpus)
    assert again.read_text() == labels.read_text()
    assert (tmp_path / "again/images/000005.png").read_bytes() == (tmp_path / "out/images/000005.png").read_bytes()


def test_synthesize_rejects_a_count_below_one(tmp_path: Path) -> None:
    with pytest.raises(ScribaError, match="at least 1"):
        synthesize("names", 0, tmp_path)
