from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from scriba.data.sources import SourceConfig, detect_kind, has_own_splits, read_source, split_or_part, subset_of
from scriba.data.sources.iam import read_iam_lines, read_iam_words
from scriba.data.sources.iam_ondb import read_iam_ondb_lines, read_iam_ondb_words
from scriba.data.sources.kaggle_names import read_kaggle_names
from scriba.data.sources.table import read_csv_table, read_table
from scriba.errors import DataFormatError
from tests.conftest import KAGGLE_ROWS, OnDBLayout

# --- IAM ------------------------------------------------------------------------------------


def test_iam_words_skip_comments_and_err_rows(iam_words_txt: Path) -> None:
    records = read_iam_words(iam_words_txt)
    assert [r.text for r in records] == ["A", "MOVE", "to", "Gaitskell"]
    assert [r.meta["id"] for r in records] == [
        "a01-000u-00-00",
        "a01-000u-00-01",
        "a01-000u-00-02",
        "b04-010-01-02",
    ]
    assert all(r.meta["segmentation"] == "ok" and r.meta["source"] == "iam_words" for r in records)


def test_iam_words_include_err(iam_words_txt: Path) -> None:
    records = read_iam_words(iam_words_txt, include_err=True)
    assert len(records) == 5
    err = [r for r in records if r.meta["segmentation"] == "err"]
    assert [(r.meta["id"], r.text) for r in err] == [("a01-000u-00-03", "stop")]


def test_iam_words_image_paths_follow_the_layout(iam_words_txt: Path) -> None:
    records = read_iam_words(iam_words_txt.parent)  # the folder works as well as the file
    root = iam_words_txt.parent / "words"
    assert records[0].image == root / "a01" / "a01-000u" / "a01-000u-00-00.png"
    assert records[-1].image == root / "b04" / "b04-010" / "b04-010-01-02.png"
    assert all(isinstance(r.image, Path) and r.image.is_file() for r in records)


def test_iam_words_image_root_override(iam_words_txt: Path, tmp_path: Path) -> None:
    records = read_iam_words(iam_words_txt, image_root=tmp_path / "elsewhere")
    assert records[0].image == tmp_path / "elsewhere" / "a01" / "a01-000u" / "a01-000u-00-00.png"


def test_iam_lines_bar_becomes_space(iam_lines_txt: Path) -> None:
    records = read_iam_lines(iam_lines_txt)
    assert [r.text for r in records] == ["A MOVE to stop Mr. Gaitskell", "from nominating any more Labour"]
    assert records[0].image == iam_lines_txt.parent / "lines" / "a01" / "a01-000u" / "a01-000u-00.png"
    assert records[0].image.is_file()
    assert len(read_iam_lines(iam_lines_txt, include_err=True)) == 3


def test_iam_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        read_iam_words(tmp_path / "words.txt")
    with pytest.raises(DataFormatError, match="not found"):
        read_iam_lines(tmp_path)


def test_iam_malformed_row_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("# comment\na01-000u-00-00 ok 154 408 768 27 51 AT A\nthis is not a row\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"words\.txt:3"):
        read_iam_words(path)


# --- tables ---------------------------------------------------------------------------------


def test_table_paths_are_relative_to_the_table(table_csv: Path) -> None:
    records = read_table(table_csv)
    assert len(records) == 4
    assert records[0].image == table_csv.parent / "images" / "a.png"
    assert records[2].image == table_csv.parent / "images" / "sub" / "c.png"
    assert all(r.image.is_file() for r in records)  # type: ignore[union-attr]
    assert [r.text for r in records] == ["HELLO", "WORLD", "NA", None]  # "NA" is a label, "" is missing


def test_table_split_filter(table_csv: Path) -> None:
    train = read_table(table_csv, split="train")
    assert [r.text for r in train] == ["HELLO", "WORLD"]
    assert all(r.meta["split"] == "train" for r in train)
    assert len(read_table(table_csv, split="val")) == 2
    with pytest.raises(DataFormatError, match="no rows of split 'test'; its splits: train, val"):
        read_table(table_csv, split="test")


def test_table_split_without_split_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("path,text\na.png,A\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no split column"):
        read_table(path, split="train")


def test_tsv_table(table_tsv: Path, table_csv: Path) -> None:
    tsv = read_table(table_tsv)
    csv = read_table(table_csv)
    assert [(r.image, r.text) for r in tsv] == [(r.image, r.text) for r in csv]


def test_table_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("path,label\na.png,A\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="text") as info:
        read_table(path)
    assert "lacks column" in str(info.value)
    assert "label" in str(info.value)  # what it has


def test_table_missing_or_empty_file(tmp_path: Path, empty_file: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        read_table(tmp_path / "nope.csv")
    empty = empty_file.rename(tmp_path / "empty.csv")
    with pytest.raises(DataFormatError, match="cannot read"):
        read_csv_table(empty, ("path", "text"))


# --- Kaggle names -----------------------------------------------------------------------------


def test_kaggle_csv_and_image_dir_detection(kaggle_dir: Path) -> None:
    records = read_kaggle_names(kaggle_dir / "written_name_validation_v2.csv")
    assert len(records) == len(KAGGLE_ROWS)
    image_dir = kaggle_dir / "validation_v2" / "validation"
    assert [r.image for r in records] == [image_dir / name for name, _ in KAGGLE_ROWS]
    assert all(r.image.is_file() for r in records)  # type: ignore[union-attr]
    # Special labels are kept by the reader (cleaning drops them); an empty cell is None.
    assert [r.text for r in records] == ["BILEL", "LAUMONIER", "UNREADABLE", "EMPTY", None, "JEAN-ROCH"]
    assert records[0].meta == {"id": "VALIDATION_0001.jpg", "source": "kaggle_names"}


def test_kaggle_folder_with_split(kaggle_dir: Path) -> None:
    records = read_kaggle_names(kaggle_dir, split="validation")
    assert len(records) == len(KAGGLE_ROWS)
    with pytest.raises(DataFormatError, match="which split"):
        read_kaggle_names(kaggle_dir)
    with pytest.raises(DataFormatError, match="not found"):
        read_kaggle_names(kaggle_dir, split="train")


def test_kaggle_image_dir_override_and_fallback(kaggle_dir: Path, tmp_path: Path) -> None:
    csv = kaggle_dir / "written_name_validation_v2.csv"
    records = read_kaggle_names(csv, image_dir=tmp_path / "imgs")
    assert records[0].image == tmp_path / "imgs" / "VALIDATION_0001.jpg"
    # No image folder beside the CSV: images are looked up beside it.
    lonely = tmp_path / "lonely" / "written_name_test_v2.csv"
    lonely.parent.mkdir()
    lonely.write_text("FILENAME,IDENTITY\nTEST_0001.jpg,ANNA\n", encoding="utf-8")
    assert read_kaggle_names(lonely)[0].image == lonely.parent / "TEST_0001.jpg"


def test_kaggle_accepts_a_path_text_table(table_csv: Path) -> None:
    records = read_kaggle_names(table_csv)
    assert len(records) == 4
    assert all(r.meta["source"] == "kaggle_names" for r in records)
    assert records[0].image == table_csv.parent / "images" / "a.png"


def test_kaggle_wrong_columns(tmp_path: Path) -> None:
    path = tmp_path / "written_name_train_v2.csv"
    path.write_text("FILE,NAME\na.jpg,ANNA\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="FILENAME,IDENTITY") as info:
        read_kaggle_names(path)
    assert "FILE, NAME" in str(info.value)


# --- IAM-OnDB ---------------------------------------------------------------------------------


def test_iam_ondb_lines_drop_marker_lines(iam_ondb_dir: OnDBLayout) -> None:
    records = read_iam_ondb_lines(iam_ondb_dir.root)
    assert [r.meta["id"] for r in records] == ["a01-000u-01", "a01-000u-02"]
    assert [r.text for r in records] == ["A MOVE", "Mr. Gaitskell"]
    first = records[0]
    assert first.image is None and first.ink is not None
    expected = iam_ondb_dir.strokes["a01-000u-01"]
    assert len(first.ink) == len(expected)
    for got, want in zip(first.ink, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_iam_ondb_lines_split_filter(iam_ondb_dir: OnDBLayout) -> None:
    assert [r.meta["id"] for r in read_iam_ondb_lines(iam_ondb_dir.root, "trainset")] == ["a01-000u-01"]
    assert [r.meta["id"] for r in read_iam_ondb_lines(iam_ondb_dir.root, "testset_v")] == ["a01-000u-02"]
    assert read_iam_ondb_lines(iam_ondb_dir.root, "testset_t") == []


@pytest.mark.parametrize("reader", [read_iam_ondb_lines, read_iam_ondb_words])
def test_iam_ondb_unknown_split(iam_ondb_dir: OnDBLayout, reader) -> None:
    with pytest.raises(DataFormatError, match="unknown IAM-OnDB split 'train'"):
        reader(iam_ondb_dir.root, "train")


def test_iam_ondb_missing_files(tmp_path: Path, iam_ondb_dir: OnDBLayout) -> None:
    with pytest.raises(DataFormatError):
        read_iam_ondb_lines(tmp_path / "nowhere")
    (iam_ondb_dir.root / "strokes.npz").unlink()
    with pytest.raises(DataFormatError, match="strokes"):
        read_iam_ondb_words(iam_ondb_dir.root)


def test_iam_ondb_words_cut_by_x_range(iam_ondb_dir: OnDBLayout) -> None:
    records = read_iam_ondb_words(iam_ondb_dir.root)
    by_id = {r.meta["id"]: r for r in records}
    assert list(by_id) == ["a01-000u-01-00", "a01-000u-02-00", "a01-000u-01-01", "a01-000u-01-02"]
    line = iam_ondb_dir.strokes["a01-000u-01"]

    def same(ink: list[np.ndarray], strokes: list[np.ndarray]) -> bool:
        return len(ink) == len(strokes) and all(np.array_equal(a, b) for a, b in zip(ink, strokes, strict=True))

    # Strokes whose minimum x lies in [x_min, x_max]: 1000, 1100 -> word 0; 1500, 1520 -> word 1.
    assert by_id["a01-000u-01-00"].text == "A"
    assert same(by_id["a01-000u-01-00"].ink, line[:2])  # type: ignore[arg-type]
    assert by_id["a01-000u-01-01"].text == "MOVE"
    assert same(by_id["a01-000u-01-01"].ink, line[2:])  # type: ignore[arg-type]
    assert same(by_id["a01-000u-02-00"].ink, iam_ondb_dir.strokes["a01-000u-02"])  # type: ignore[arg-type]
    # A word box holding no stroke is kept with empty ink (cleaning/loading reports it).
    assert by_id["a01-000u-01-02"].ink == []
    assert all(r.meta["source"] == "iam_ondb_words" for r in records)


def test_iam_ondb_words_split_filter(iam_ondb_dir: OnDBLayout) -> None:
    records = read_iam_ondb_words(iam_ondb_dir.root, "testset_v")
    assert [(r.meta["id"], r.text, r.meta["split"]) for r in records] == [("a01-000u-02-00", "Gaitskell", "testset_v")]
    assert len(read_iam_ondb_words(iam_ondb_dir.root, "trainset")) == 3


# --- detection and dispatch -------------------------------------------------------------------


def test_detect_kind_on_each_format(
    iam_words_txt: Path,
    iam_lines_txt: Path,
    kaggle_dir: Path,
    iam_ondb_dir: OnDBLayout,
    table_csv: Path,
    table_tsv: Path,
) -> None:
    assert detect_kind(iam_words_txt) == "iam_words"
    assert detect_kind(iam_words_txt.parent) == "iam_words"
    assert detect_kind(iam_lines_txt) == "iam_lines"
    assert detect_kind(iam_lines_txt.parent) == "iam_lines"
    assert detect_kind(kaggle_dir) == "kaggle_names"
    assert detect_kind(kaggle_dir / "written_name_validation_v2.csv") == "kaggle_names"
    assert detect_kind(iam_ondb_dir.root) == "iam_ondb_words"
    assert detect_kind(table_csv) == "table"
    assert detect_kind(table_tsv) == "table"


def test_one_split_option_names_a_datasets_own_split_or_a_hash_part(
    iam_words_txt: Path, kaggle_dir: Path, iam_ondb_dir: OnDBLayout, table_csv: Path, tmp_path: Path
) -> None:
    """The command line's ``--split``: the dataset's own split where it has them, else train/val/test by hash."""
    plain = tmp_path / "plain.csv"
    plain.write_text("path,text\na.png,A\n", encoding="utf-8")
    assert [has_own_splits(p) for p in (table_csv, plain, iam_words_txt, kaggle_dir, iam_ondb_dir.root)] == [
        True, False, False, True, True,
    ]  # fmt: skip
    assert not has_own_splits(kaggle_dir / "written_name_validation_v2.csv")  # one CSV is one split
    assert split_or_part(table_csv, "auto", "val") == ("val", None)
    assert split_or_part(plain, "auto", "val") == (None, "val")
    assert split_or_part(iam_words_txt, "auto", "test") == (None, "test")
    assert split_or_part(kaggle_dir, "auto", "train") == ("train", None)
    assert split_or_part(iam_ondb_dir.root, "auto", "testset_t") == ("testset_t", None)
    assert split_or_part(iam_ondb_dir.root, "auto", "val") == ("val", None)  # the reader then lists its splits
    assert split_or_part(plain, "table", "trainset") == ("trainset", None)  # not a part: the table says so
    assert split_or_part(plain, "auto", None) == (None, None)


def test_detect_kind_errors(tmp_path: Path, image_file: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        detect_kind(tmp_path / "missing.csv")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataFormatError, match="no dataset recognized"):
        detect_kind(tmp_path / "empty_dir")
    with pytest.raises(DataFormatError, match="unknown dataset format"):
        detect_kind(image_file)


def test_read_source_auto_and_limit(table_csv: Path, iam_words_txt: Path, iam_ondb_dir: OnDBLayout) -> None:
    assert len(read_source(SourceConfig(path=str(table_csv)))) == 4
    assert len(read_source(SourceConfig(path=str(table_csv), limit=2))) == 2
    assert len(read_source(SourceConfig(path=str(table_csv), kind="table", split="val"))) == 2
    assert len(read_source(SourceConfig(path=str(iam_words_txt), include_err=True))) == 5
    lines = read_source(SourceConfig(path=str(iam_ondb_dir.root), kind="iam_ondb_lines", split="trainset"))
    assert [r.text for r in lines] == ["A MOVE"]


def test_source_config_unknown_kind() -> None:
    with pytest.raises(DataFormatError, match="unknown data kind 'iam'"):
        SourceConfig(path="x", kind="iam")


def test_iam_ondb_subsets_keep_a_form_together(iam_ondb_dir: OnDBLayout) -> None:
    """A line and the words cut from it share a part: the hash is of the form, not of each record."""
    fractions = (0.5, 0.5, 0.0)
    home = subset_of("a01-000u", fractions)
    other = "val" if home == "train" else "train"
    for kind, count in (("iam_ondb_lines", 2), ("iam_ondb_words", 4)):
        source = partial(SourceConfig, str(iam_ondb_dir.root), kind=kind, subset_fractions=fractions)
        records = read_source(source(subset=home))
        assert len(records) == count and {r.meta["group"] for r in records} == {"a01-000u"}
        assert read_source(source(subset=other)) == []
