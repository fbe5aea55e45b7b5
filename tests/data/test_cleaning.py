from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scriba.charset import Charset
from scriba.data.cleaning import CleaningOptions, clean, drop_copies_of
from scriba.data.records import Record
from scriba.data.sources.kaggle_names import read_kaggle_names


def _records(*texts: str | None) -> list[Record]:
    return [Record(text=t, image=Path(f"img{i}.png"), meta={"id": f"r{i}"}) for i, t in enumerate(texts)]


def test_drops_with_per_reason_counts() -> None:
    records = _records("ANNA", None, "UNREADABLE", "EMPTY", "", "   ", "  JEAN  ", "UNREADABLE")
    kept, report = clean(records)
    assert [r.text for r in kept] == ["ANNA", "JEAN"]
    assert report.total == 8
    assert report.kept == 2
    assert dict(report.dropped) == {"missing_label": 1, "special_label": 3, "empty_label": 2}
    assert report.examples["special_label"] == ["r2: UNREADABLE", "r3: EMPTY", "r7: UNREADABLE"]
    assert report.examples["missing_label"] == ["r1"]


def test_kaggle_names_special_labels(kaggle_dir: Path) -> None:
    kept, report = clean(read_kaggle_names(kaggle_dir, split="validation"))
    assert [r.text for r in kept] == ["BILEL", "LAUMONIER", "JEAN-ROCH"]
    assert dict(report.dropped) == {"special_label": 2, "missing_label": 1}


def test_whitespace_normalization() -> None:
    kept, _ = clean(_records("  new \t york\n city "))
    assert kept[0].text == "new york city"
    kept, _ = clean(_records("  new  york "), CleaningOptions(normalize_whitespace=False))
    assert kept[0].text == "  new  york "


def test_special_labels_after_whitespace_and_configurable() -> None:
    kept, report = clean(_records(" EMPTY "))
    assert kept == [] and report.dropped["special_label"] == 1
    # IAM-OnDB: "empty" / "EMPTY" can be real words when no special labels are configured.
    kept, _ = clean(_records("EMPTY"), CleaningOptions(special_labels=()))
    assert [r.text for r in kept] == ["EMPTY"]


def test_uppercase_option() -> None:
    kept, _ = clean(_records("Jean-Roch", "l'été"), CleaningOptions(uppercase=True))
    assert [r.text for r in kept] == ["JEAN-ROCH", "L'ÉTÉ"]
    kept, _ = clean(_records("Jean"))
    assert kept[0].text == "Jean"


def test_input_is_untouched_and_fields_are_kept() -> None:
    records = [Record(text=" a ", image=Path("x.png"), meta={"id": "x", "split": "train"})]
    kept, _ = clean(records)
    assert records[0].text == " a "
    assert kept[0] is not records[0]
    assert kept[0].image == Path("x.png") and kept[0].meta == {"id": "x", "split": "train"}
    kept[0].meta["extra"] = 1
    assert "extra" not in records[0].meta


def test_unknown_characters_drop_sample() -> None:
    charset = Charset("ABC ")
    kept, report = clean(_records("ABC", "ABX", "AÉZ"), charset=charset)
    assert [r.text for r in kept] == ["ABC"]
    assert report.dropped["unknown_characters"] == 2
    assert report.examples["unknown_characters"] == ["r1: X", "r2: ZÉ"]


def test_unknown_characters_drop_characters() -> None:
    charset = Charset("ABC")
    options = CleaningOptions(unknown_characters="drop_characters")
    kept, report = clean(_records("AXBXC", "XYZ"), options, charset)
    assert [r.text for r in kept] == ["ABC"]
    assert report.characters_removed == 2 + 3
    assert dict(report.dropped) == {"empty_label": 1}  # nothing left of "XYZ"


def test_drop_characters_keeps_whitespace_normalized() -> None:
    options = CleaningOptions(unknown_characters="drop_characters")
    kept, _ = clean(_records("A É B"), options, Charset("AB "))
    assert kept[0].text == "A B"


def test_unknown_characters_keep() -> None:
    options = CleaningOptions(unknown_characters="keep")
    kept, report = clean(_records("AXB"), options, Charset("AB"))
    assert [r.text for r in kept] == ["AXB"]
    assert report.kept == 1 and not report.dropped


def test_uppercase_happens_before_the_charset_check() -> None:
    kept, report = clean(_records("anna"), CleaningOptions(uppercase=True), Charset("AN"))
    assert [r.text for r in kept] == ["ANNA"]
    assert not report.dropped


def test_report_summary_and_save(tmp_path: Path) -> None:
    _, report = clean(_records("OK", None, "UNREADABLE", "EMPTY", "AÑ"), charset=Charset("OKA"))
    summary = report.summary()
    lines = summary.splitlines()
    assert lines[0] == "read 5, kept 1, dropped 4"
    assert "  special_label: 2 (e.g. r2: UNREADABLE, r3: EMPTY)" in lines
    assert any(line.startswith("  missing_label: 1") for line in lines)
    assert any(line.startswith("  unknown_characters: 1") for line in lines)

    path = tmp_path / "report.json"
    report.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["total"] == 5 and data["kept"] == 1
    assert data["dropped"] == {"missing_label": 1, "special_label": 2, "unknown_characters": 1}
    assert data["examples"]["unknown_characters"] == ["r4: Ñ"]


def test_report_keeps_at_most_five_examples() -> None:
    _, report = clean(_records(*["EMPTY"] * 9))
    assert report.dropped["special_label"] == 9
    assert len(report.examples["special_label"]) == 5


def test_characters_removed_shows_in_summary() -> None:
    options = CleaningOptions(unknown_characters="drop_characters")
    _, report = clean(_records("AXB"), options, Charset("AB"))
    assert "characters removed from kept labels: 1" in report.summary()


def test_training_copies_of_validation_images_are_dropped(tmp_path: Path) -> None:
    """A file repeated byte for byte under another name in validation is dropped from training; a file
    with the same label but other bytes, an ink record and an in-memory array stay."""
    contents = {"a": b"image a", "b": b"image b", "a_copy": b"image a", "v": b"image v"}
    files = {name: tmp_path / f"{name}.png" for name in contents}
    for name, path in files.items():
        path.write_bytes(contents[name])
    train = [
        Record(text="Napa", image=files["a"], meta={"id": "a"}),
        Record(text="Napa", image=files["b"], meta={"id": "b"}),
        Record(text="Napa", ink=[np.zeros((3, 2), np.float32)], meta={"id": "ink"}),
        Record(text="Napa", image=np.zeros((4, 4), np.uint8), meta={"id": "array"}),
    ]
    held_out = [Record(text="Napa", image=files["a_copy"]), Record(text="Ace", image=files["v"])]
    kept, report = clean(train)
    kept, report = drop_copies_of(kept, held_out, report)
    assert [r.meta["id"] for r in kept] == ["b", "ink", "array"]
    assert report.total == 4 and report.kept == 3
    assert dict(report.dropped) == {"copy_of_validation_image": 1}
    assert report.examples["copy_of_validation_image"] == ["a"]


def test_no_validation_files_leaves_training_as_is(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"x")
    kept, report = clean([Record(text="Ace", image=image)])
    same, report = drop_copies_of(kept, [Record(text="Ace", ink=[np.zeros((3, 2), np.float32)])], report)
    assert same == kept and report.kept == 1 and not report.dropped
