"""Prepared folders: LMDB round trip, handles that survive pickling and fork, fingerprints, atomic writes."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

from scriba.data import packed
from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle
from scriba.data.items import StyledInkItems
from scriba.data.packed import (
    PackedImageItems,
    PackedInkItems,
    PackedSplit,
    SplitData,
    fingerprint,
    open_prepared,
    write_prepared,
)
from scriba.errors import ConfigError, DataFormatError

SECTIONS = {"data.train": [{"path": "a.csv"}], "preprocessing": {"height": 32}, "data.cleaning": {"x": (1, 2)}}


def _split(draw, iam_ondb_dir, count: int = 5, seed: int = 0) -> SplitData:
    """``count`` images, every other one with the strokes of an IAM-OnDB line (ink records)."""
    inks = list(iam_ondb_dir.strokes.values())
    return SplitData(
        [draw(40 + 8 * i, 32, seed=seed + i) for i in range(count)],
        [f"wörd {i}" for i in range(count)],
        [inks[i % len(inks)] if i % 2 else None for i in range(count)],
    )


@pytest.fixture
def prepared(tmp_path: Path, draw, iam_ondb_dir) -> tuple[Path, dict[str, SplitData]]:
    splits = {"train": _split(draw, iam_ondb_dir), "val": _split(draw, iam_ondb_dir, 3, seed=9)}
    out = tmp_path / "prepared"
    write_prepared(out, splits, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS, "x": 1})
    return out, splits


def test_round_trip_gives_back_images_texts_strokes_and_widths(prepared) -> None:
    out, splits = prepared
    assert sorted(p.name for p in out.iterdir()) == ["prepared.json", "train.lmdb", "val.lmdb"]
    folder = open_prepared(out, SECTIONS)
    assert folder.info["splits"]["train"]["samples"] == 5 and folder.info["splits"]["train"]["ink"] == 2
    assert folder.info["x"] == 1
    source = splits["train"]
    assert folder.train.widths.tolist() == [i.shape[1] for i in source.images]
    assert folder.train.has_ink.tolist() == [k is not None for k in source.inks]
    rng = np.random.default_rng(0)
    for i in range(5):
        image, text = PackedImageItems(folder.train, range(5)).load(i, rng)
        assert np.array_equal(image, source.images[i]) and text == source.texts[i]
        ink = source.inks[i]
        if ink is not None:
            strokes, _ = folder.train.strokes(i)
            assert len(strokes) == len(ink)
            assert all(np.array_equal(a, np.asarray(b, np.float32)) for a, b in zip(strokes, ink, strict=True))
    images, texts = folder.val.load_all()
    assert texts == splits["val"].texts
    assert all(np.array_equal(a, b) for a, b in zip(images, splits["val"].images, strict=True))


def test_packed_ink_draws_the_same_styles_as_in_memory_ink(prepared) -> None:
    out, splits = prepared
    split = open_prepared(out, SECTIONS).train
    ink = [1, 3]
    preprocessing, base = Preprocessing(height=32), InkStyle()
    memory = StyledInkItems(
        [splits["train"].inks[i] or [] for i in ink],
        [splits["train"].texts[i] for i in ink],
        [int(split.widths[i]) for i in ink],
        preprocessing,
        base,
        1.0,
    )
    lazy = PackedInkItems(split, ink, preprocessing, base, 1.0)
    for i in range(2):
        assert lazy.width(i) == memory.width(i)
        (a, ta), (b, tb) = memory.load(i, np.random.default_rng(i)), lazy.load(i, np.random.default_rng(i))
        assert ta == tb and np.array_equal(a, b)


def _load_first(items: PackedImageItems) -> tuple[np.ndarray, str]:
    return items.load(0, np.random.default_rng(0))


def test_a_pickled_or_forked_source_reopens_its_own_handle(prepared) -> None:
    out, splits = prepared
    items = PackedImageItems(open_prepared(out, SECTIONS).train, [2, 4])
    assert _load_first(items)[1] == splits["train"].texts[2]  # the file is open in this process now
    assert not any(hasattr(value, "begin") for value in vars(items.split).values())  # it holds no LMDB handle
    copy = pickle.loads(pickle.dumps(items))  # as spawned data loader workers receive it
    image, text = _load_first(copy)  # shares this process's handle (LMDB refuses a second one)
    assert text == "wörd 2" and np.array_equal(image, splits["train"].images[2])
    assert len(copy) == 2 and copy.width(1) == splits["train"].images[4].shape[1]
    again = open_prepared(out, SECTIONS)  # a second reader of the same folder in the same process
    assert again.train.image(2)[1] == "wörd 2"
    # A forked worker inherits the open handle without pickling: it must open its own.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        forked_image, forked_text = pool.apply(_load_first, (items,))
    assert forked_text == "wörd 2" and np.array_equal(forked_image, image)
    items.split.close()
    assert _load_first(items)[1] == "wörd 2"  # closed handles open again on the next access


def test_another_config_is_a_config_error_naming_what_differs(prepared) -> None:
    out, _ = prepared
    other = {**SECTIONS, "preprocessing": {"height": 48}}
    with pytest.raises(ConfigError, match=r"differs in preprocessing\): run scriba prepare again"):
        open_prepared(out, other)
    assert fingerprint({"b": 1, "a": (1, 2)}) == fingerprint({"a": [1, 2], "b": 1})


def test_missing_or_corrupt_folders_are_data_format_errors(prepared, tmp_path: Path) -> None:
    out, _ = prepared
    with pytest.raises(DataFormatError, match="not a prepared data folder"):
        open_prepared(tmp_path / "absent", SECTIONS)
    (out / "val.lmdb").write_bytes(b"not lmdb at all" * 100)
    with pytest.raises(DataFormatError, match=r"val\.lmdb"):
        open_prepared(out, SECTIONS)
    (out / "train.lmdb").unlink()
    with pytest.raises(DataFormatError, match=r"train\.lmdb"):
        open_prepared(out, SECTIONS)
    info = json.loads((out / "prepared.json").read_text("utf-8"))
    (out / "prepared.json").write_text(json.dumps({**info, "version": 99}), "utf-8")
    with pytest.raises(DataFormatError, match="prepared format 99"):
        open_prepared(out, SECTIONS)
    (out / "prepared.json").write_text("{ truncated", "utf-8")
    with pytest.raises(DataFormatError, match="unreadable"):
        open_prepared(out, SECTIONS)
    with pytest.raises(DataFormatError):
        PackedSplit(tmp_path / "absent.lmdb")


def test_an_interrupted_write_leaves_no_folder_and_keeps_the_old_one(
    prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, draw, iam_ondb_dir
) -> None:
    out, splits = prepared
    before = sorted(p.name for p in tmp_path.iterdir())
    encode, calls = packed._encode_png, []

    def interrupt_at_the_fourth(image: np.ndarray) -> bytes:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return encode(image)

    monkeypatch.setattr(packed, "_encode_png", interrupt_at_the_fourth)
    new = {"train": _split(draw, iam_ondb_dir, 6, seed=3), "val": _split(draw, iam_ondb_dir, 2)}
    with pytest.raises(KeyboardInterrupt):
        write_prepared(tmp_path / "fresh", new, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        write_prepared(out, new, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no "fresh", no partial folders
    folder = open_prepared(out, SECTIONS)  # the earlier folder is untouched
    assert len(folder.train) == 5 and folder.train.image(0)[1] == splits["train"].texts[0]

    monkeypatch.setattr(packed, "_encode_png", encode)
    write_prepared(out, new, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    assert len(open_prepared(out, SECTIONS).train) == 6  # a complete rewrite replaces it
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_folder_prepared_again_under_a_reader_is_not_mixed_up(prepared, draw, iam_ondb_dir) -> None:
    out, _ = prepared
    split = open_prepared(out, SECTIONS).train
    split.close()  # as in a worker process started after the folder was replaced
    new = {"train": _split(draw, iam_ondb_dir, 7, seed=4), "val": _split(draw, iam_ondb_dir, 2)}
    write_prepared(out, new, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    with pytest.raises(DataFormatError, match="prepared again while in use"):
        split.image(0)


def test_a_folder_that_is_not_a_prepared_one_is_never_replaced(tmp_path: Path, draw, iam_ondb_dir) -> None:
    precious = tmp_path / "data"
    (precious / "keep.txt").parent.mkdir()
    (precious / "keep.txt").write_text("mine", "utf-8")
    splits = {"train": _split(draw, iam_ondb_dir, 2), "val": _split(draw, iam_ondb_dir, 1)}
    with pytest.raises(ConfigError, match="is not a prepared data folder: choose another folder"):
        write_prepared(precious, splits, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    assert (precious / "keep.txt").read_text("utf-8") == "mine"
    (tmp_path / "empty").mkdir()
    write_prepared(tmp_path / "empty", splits, {"fingerprint": fingerprint(SECTIONS), "config": SECTIONS})
    assert len(open_prepared(tmp_path / "empty", SECTIONS).val) == 1
