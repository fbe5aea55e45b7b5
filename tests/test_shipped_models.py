"""The shipped models read what they are shipped for: the examples, right, with their default decoding and
greedily; the pen models read real pen words where the data is present."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scriba.recognizer import Recognizer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def labeled(folder: Path) -> list[tuple[Path, str]]:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return [(folder / row["path"], row["text"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize(("model", "folder"), [("english", EXAMPLES), ("names", EXAMPLES / "names")])
@pytest.mark.parametrize("lm", ["auto", None], ids=["default", "greedy"])
def test_shipped_model_reads_its_examples(model: str, folder: Path, lm: str | None) -> None:
    examples = labeled(folder)
    readings = Recognizer.load(model, lm=lm).read([path for path, _ in examples])
    assert [r.text for r in readings] == [text for _, text in examples]
    assert min(r.confidence for r in readings) > 0.5


BOUNDS = [("english_pen", 0.10), ("english_pen_b", 0.12), ("iam_ondb_words", 0.155)]


@pytest.mark.parametrize(("model", "bound"), BOUNDS)
def test_ink_models_read_real_pen_words(model: str, bound: float, shared_iam_ondb: Path) -> None:
    from scriba.data.sources import SourceConfig, read_source
    from scriba.metrics import cer

    records = read_source(SourceConfig(str(shared_iam_ondb), kind="iam_ondb_words", split="testset_t"))[:200]
    readings = Recognizer.load(model).read_inks([r.ink or [] for r in records])
    # These 200 words read at CER 9.0%, 10.8% and 13.9% (all 4,629 testset_t words: 6.7%, -, 12.1%).
    assert cer([r.text for r in readings], [r.text or "" for r in records]) < bound
