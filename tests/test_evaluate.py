"""evaluate(): metrics consistent with the predictions, unknown-label policies, report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scriba.data.sources import SourceConfig, read_source
from scriba.errors import UnknownCharactersError
from scriba.evaluate import evaluate, evaluate_to_folder
from scriba.metrics import cer, exact_match
from scriba.recognizer import Recognizer
from tests.conftest import EXAMPLES, read_labels

KEYS = {"n", "cer", "wer", "exact_match", "positional_char_accuracy", "per_char", "mean_char_precision",
        "mean_char_recall", "mean_char_f1", "most_missed", "most_confused", "worst", "cleaning", "samples"}  # fmt: skip


@pytest.fixture(scope="module")
def recognizer(tiny_model: Path) -> Recognizer:
    return Recognizer.load(tiny_model)


def test_metrics_agree_with_the_samples(tmp_path: Path) -> None:
    """english reads the examples right (test_shipped_models); labeled with two words misspelled, the report
    scores exactly those two readings as errors."""
    examples = read_labels(EXAMPLES)
    wrong = {"hello": "hallo", "quick": "quack!"}  # 1 and 2 edits
    table = tmp_path / "labels.csv"
    table.write_text("path,text\n" + "".join(f'{p},"{wrong.get(t, t)}"\n' for p, t in examples), encoding="utf-8")
    records = read_source(SourceConfig(path=str(table)))
    report = evaluate(Recognizer.load("english", lm=None), records)
    assert report.n == len(records) == 7
    predictions = [s.prediction for s in report.samples]
    truths = [s.truth for s in report.samples]
    assert predictions == [text for _, text in examples]
    assert truths == [wrong.get(text, text) for _, text in examples]
    assert report.cer == pytest.approx(3 / sum(len(t) for t in truths)) == pytest.approx(cer(predictions, truths))
    assert report.exact_match == pytest.approx(5 / 7) == pytest.approx(exact_match(predictions, truths))
    assert [(s.truth, s.edits) for s in report.worst] == [("quack!", 2), ("hallo", 1)]
    assert set(report.per_char) >= set("".join(truths))


def test_unknown_label_characters(recognizer: Recognizer, word_tables, tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    image = word_tables.val.parent / "img_5_000.png"
    table.write_text(f"path,text\n{image},cat\n{image},ÇA VA\n{image},UNREADABLE\n")
    records = read_source(SourceConfig(path=str(table)))
    with pytest.raises(UnknownCharactersError, match="cannot produce") as caught:
        evaluate(recognizer, records)
    assert "Ç" in caught.value.characters
    skipped = evaluate(recognizer, records, unknown_labels="skip")
    assert skipped.n == 1
    assert skipped.cleaning["dropped"] == {"special_label": 1, "unknown_characters": 1}
    scored = evaluate(recognizer, records, unknown_labels="score")
    assert scored.n == 2 and scored.samples[1].truth == "ÇA VA"


def test_evaluate_to_folder_writes_report_and_plots(recognizer: Recognizer, word_tables, tmp_path: Path) -> None:
    records = read_source(SourceConfig(path=str(word_tables.val)))
    report, json_path = evaluate_to_folder(recognizer, records, tmp_path / "eval")
    data = json.loads(json_path.read_text())
    assert set(data) >= KEYS
    assert data["n"] == report.n and data["cer"] == pytest.approx(report.cer)
    for name in ("char_f1.png", "samples.png", "curves.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 1000, name


def test_ink_can_be_evaluated_in_another_style(recognizer: Recognizer, iam_ondb_dir) -> None:
    from scriba.data.ink import INK_STYLE_PRESETS
    from scriba.evaluate import prepare_eval_data

    records = read_source(SourceConfig(path=str(iam_ondb_dir.root), kind="iam_ondb_words"))
    _, own, _ = prepare_eval_data(recognizer, records, unknown_labels="score")
    _, unseen, _ = prepare_eval_data(recognizer, records, unknown_labels="score", ink_style=INK_STYLE_PRESETS["unseen"])
    assert len(own) == len(unseen) > 0
    # The unseen style: thicker, blurred strokes on darker, textured, noisy paper.
    assert unseen[0].mean() < own[0].mean() and unseen[0].std() != own[0].std()


def test_unknown_labels_are_counted_per_record(recognizer: Recognizer, word_tables, tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    image = word_tables.val.parent / "img_5_000.png"
    table.write_text(f"path,text\n{image},Ωa\n{image},Ωb\n")  # the same image under two labels
    with pytest.raises(UnknownCharactersError, match="in 2 label"):
        evaluate(recognizer, read_source(SourceConfig(path=str(table))))


def test_evaluation_reads_in_chunks_and_counts_unreadable_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scriba.evaluate

    # A model that reads the examples (the 2-epoch test model reads "" for every image, so a reading given to
    # the wrong record would go unseen).
    english = Recognizer.load("english", lm=None)
    examples = read_labels(EXAMPLES)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    table = tmp_path / "labels.csv"
    rows = [f'{path},"{text}"' for path, text in examples]
    rows.insert(2, f"{broken},cat")
    table.write_text("path,text\n" + "\n".join(rows) + "\n")
    loaded: list[int] = []
    load_images = scriba.evaluate.load_images

    def counting(chunk, *args, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append(len(chunk))
        return load_images(chunk, *args, **kwargs)

    monkeypatch.setattr(scriba.evaluate, "CHUNK", 3)
    monkeypatch.setattr(scriba.evaluate, "load_images", counting)
    chunked = evaluate(english, read_source(SourceConfig(path=str(table))))
    assert loaded == [3, 3, 2]  # never more than a chunk of images at a time
    assert [(s.truth, s.prediction) for s in chunked.samples] == [(text, text) for _, text in examples]
    assert chunked.cleaning["dropped"] == {"unreadable_image": 1} and chunked.cleaning["kept"] == 7
    assert chunked.cer == 0.0
