"""Reading with a language model: the Recognizer's beam search, with test-time augmentation and a lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriba.decoding import LexiconDecoder
from scriba.lm import NgramLM
from scriba.recognizer import Recognizer


@pytest.fixture(scope="module")
def val_words(word_tables) -> tuple[list[Path], list[str]]:
    rows = [line.split(",") for line in word_tables.val.read_text().splitlines()[1:]]
    return [word_tables.val.parent / name for name, _ in rows], [text for _, text in rows]


def test_an_lm_of_the_words_reads_at_least_as_well_as_greedy_with_ranked_alternatives(val_words) -> None:
    images, truths = val_words
    lm = NgramLM.build(truths * 3, order=4)
    plain = Recognizer.load("english", lm=None).read_images(images)
    reader = Recognizer.load("english", lm=lm, lm_weight=0.5, insertion_bonus=1.0, alternatives=3)
    readings = reader.read_images(images, batch_size=5)
    assert [r.text for r in readings] == [reader.read_image(p).text for p in images]  # batching changes nothing
    right = sum(r.text == t for r, t in zip(readings, truths, strict=True))
    assert right >= sum(r.text == t for r, t in zip(plain, truths, strict=True))
    for r in readings:
        assert r.alternatives is not None and 1 <= len(r.alternatives) <= 3 and r.alternatives[0].text == r.text
        assert all(x.score >= y.score for x, y in zip(r.alternatives, r.alternatives[1:], strict=False))
        assert len(r.char_confidences) == len(r.text) and 0 <= r.confidence <= 1
    assert plain[0].alternatives is None


def test_a_beam_without_an_lm_and_the_lm_with_tta_and_a_lexicon(val_words, tmp_path: Path) -> None:
    images, truths = val_words
    greedy = Recognizer.load("english", lm=None).read_images(images)
    beam_only = Recognizer.load("english", lm=None, beam=8).read_images(images)
    # Summing alignments rarely changes a clear word's reading: most agree with greedy.
    assert sum(a.text == b.text for a, b in zip(greedy, beam_only, strict=True)) >= len(images) - 2
    lm = NgramLM.build(truths * 3, order=4)
    with_tta = Recognizer.load("english", lm=lm, tta=True, alternatives=2).read_images(images[:4])
    assert all(r.alternatives and r.alternatives[0].text == r.text for r in with_tta)
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("\n".join(sorted(set(truths))) + "\n", encoding="utf-8")
    english = Recognizer.load("english", lm=None)
    strict = LexiconDecoder.read(lexicon, english.charset, oov_penalty=None)
    forced = Recognizer.load("english", lm=lm, lexicon=strict).read_images(images)
    assert all(r.text in truths and r.in_lexicon for r in forced)
    assert [r.greedy_text for r in forced] == [r.text for r in greedy]
    assert all(r.lexicon_margin == pytest.approx(0.0, abs=1e-4) for r in forced if r.text == r.greedy_text)


def test_the_model_files_default_lm_is_used_unless_switched_off(tmp_path: Path, val_words) -> None:
    from scriba.decoding.settings import DecodingSettings
    from scriba.lm.tune import write_decoding
    from scriba.recognizer import resolve_model

    _, truths = val_words
    lm_file = NgramLM.build(truths, order=3).save(tmp_path / "w.lm")
    model = write_decoding(resolve_model("english"), tmp_path / "m.safetensors", DecodingSettings(str(lm_file), 0.7))
    reader = Recognizer.load(model)
    assert reader.decoder is not None and reader.decoder.lm_weight == 0.7 and reader.decoder.lm is not None
    assert Recognizer.load(model, lm_weight=0.2).decoder.lm_weight == 0.2  # type: ignore[union-attr]
    assert Recognizer.load(model, lm=None).decoder is None
    lm_file.unlink()  # the default LM gone: a warning and greedy decoding, not a failure
    assert Recognizer.load(model).decoder is None
