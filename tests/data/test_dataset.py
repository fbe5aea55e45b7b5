from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from scriba.charset import Charset
from scriba.data.cleaning import CleaningReport, clean
from scriba.data.dataset import (
    HandwritingDataset,
    Sample,
    WidthBucketSampler,
    collate,
    ctc_frames_needed,
    load_images,
    render_record,
)
from scriba.data.images import Preprocessing, to_model_input
from scriba.data.ink import InkStyle, render_ink
from scriba.data.items import ImageItems, StyledInkItems, SyntheticItems
from scriba.data.records import Record
from scriba.data.sources.table import read_table
from scriba.data.synth import SyntheticGenerator
from scriba.errors import ScribaError

# --- collate ----------------------------------------------------------------------------------


def _sample(width: int, ids: list[int], text: str, height: int = 8, value: float = 1.0) -> Sample:
    return Sample(torch.full((1, height, width), value), torch.tensor(ids, dtype=torch.long), text)


def test_collate_shapes_padding_and_targets() -> None:
    samples = [_sample(10, [1, 2], "ab", value=0.5), _sample(20, [3], "c"), _sample(15, [1, 1, 2], "aab")]
    batch = collate(samples)
    assert batch.images.shape == (3, 1, 8, 20)
    assert batch.widths.tolist() == [10, 20, 15]
    # Each image sits at the left; the right is zero (blank paper).
    assert (batch.images[0, :, :, :10] == 0.5).all() and (batch.images[0, :, :, 10:] == 0).all()
    assert (batch.images[1] == 1).all()
    assert (batch.images[2, :, :, :15] == 1).all() and (batch.images[2, :, :, 15:] == 0).all()
    assert batch.targets.tolist() == [1, 2, 3, 1, 1, 2]
    assert batch.target_lengths.tolist() == [2, 1, 3]
    assert int(batch.target_lengths.sum()) == batch.targets.numel()
    assert batch.texts == ["ab", "c", "aab"]
    assert len(batch) == 3


def test_collate_single_sample() -> None:
    batch = collate([_sample(7, [4, 5], "de")])
    assert batch.images.shape == (1, 1, 8, 7)
    assert batch.target_lengths.tolist() == [2]


# --- ctc_frames_needed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "frames"),
    [
        ([1], 1),
        ([1, 2, 3], 3),
        ([1, 1], 3),
        ([1, 1, 2], 4),
        ([1, 1, 1], 5),
        ([1, 2, 1], 3),
        ([2, 2, 3, 3], 6),
    ],
)
def test_ctc_frames_needed_counts_repeats(ids: list[int], frames: int) -> None:
    assert ctc_frames_needed(ids) == frames


def test_ctc_frames_needed_on_a_word() -> None:
    charset = Charset("abcdefghijklmnopqrstuvwxyz")
    assert ctc_frames_needed(charset.encode("balloon")) == 7 + 2  # "ll" and "oo"


# --- load_images ------------------------------------------------------------------------------


def test_load_images_drops_and_reports(tmp_path: Path, image_file: Path, corrupt_image: Path, empty_file: Path) -> None:
    charset = Charset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    records = [
        Record("AB", image=image_file),  # 96x32 -> 96 px wide at height 32 -> 24 frames
        Record("CD", image=corrupt_image),
        Record("EF", image=empty_file),
        Record("GH", image=tmp_path / "missing.png"),
        Record("ABCDEFGHIJKLMNOPQRSTUVWXYZ", image=image_file),  # 26 frames > 24
        Record("AAAAAAAAAAAAA", image=image_file),  # 13 letters but 25 frames with blanks between repeats
        Record("ABCDEFGHIJKLMNOPQRSTUVWX", image=image_file),  # exactly 24 frames: fits
        Record("Q", ink=[]),  # ink without points cannot be rendered
    ]
    report = CleaningReport(total=len(records))
    kept, images = load_images(records, Preprocessing(height=32), charset, report, frames_for_width=lambda w: w // 4)
    assert [r.text for r in kept] == ["AB", "ABCDEFGHIJKLMNOPQRSTUVWX"]
    assert len(images) == 2 and all(img.shape == (32, 96) and img.dtype == np.uint8 for img in images)
    assert dict(report.dropped) == {"unreadable_image": 4, "label_too_long": 2}
    assert report.kept == 2
    assert any("cannot decode" in e for e in report.examples["unreadable_image"])
    assert "26 frames needed, 24 available" in report.examples["label_too_long"][0]
    assert report.summary().startswith("read 8, kept 2, dropped 6")


def test_load_images_without_frame_check_and_default_report(image_file: Path) -> None:
    charset = Charset("AB")
    records = [Record("AB" * 40, image=image_file)]
    kept, images = load_images(records, Preprocessing(height=16), charset)
    assert len(kept) == 1 and images[0].shape == (16, 48)


def test_load_images_after_clean_from_a_table(table_csv: Path) -> None:
    records, report = clean(read_table(table_csv))
    charset = Charset.from_texts(r.text for r in records if r.text)
    kept, images = load_images(records, Preprocessing(height=32), charset, report, frames_for_width=lambda w: w // 4)
    assert [r.text for r in kept] == ["HELLO", "WORLD", "NA"]
    assert report.total == 4 and report.kept == 3
    assert dict(report.dropped) == {"missing_label": 1}
    assert [img.shape[1] for img in images] == [80, 88, 96]


def test_render_record_ink_and_nothing() -> None:
    ink = [np.array([[0, 0], [10, 20], [20, 0]], np.float32), np.array([[30, 0], [30, 20]], np.float32)]
    out = render_record(Record("x", ink=ink), Preprocessing(height=32))
    assert out.shape[0] == 32 and out.dtype == np.uint8 and out.min() < 128
    with pytest.raises(ScribaError, match="neither image nor ink"):
        render_record(Record("x"), Preprocessing())


# --- HandwritingDataset -------------------------------------------------------------------------


def test_dataset_items(draw) -> None:
    charset = Charset("abc")
    images = [draw(40, 16, seed=1), draw(60, 16, seed=2)]
    dataset = HandwritingDataset([ImageItems(images, ["ab", "cca"])], charset)
    assert len(dataset) == 2
    assert dataset.widths == [40, 60]
    sample = dataset[1]
    assert sample.image.shape == (1, 16, 60) and sample.image.dtype == torch.float32
    assert float(sample.image.min()) >= 0.0 and float(sample.image.max()) <= 1.0
    assert sample.target.tolist() == [3, 3, 1] and sample.target.dtype == torch.long
    assert sample.text == "cca"
    batch = collate([dataset[0], dataset[1]])
    assert batch.images.shape == (2, 1, 16, 60)
    with pytest.raises(ValueError):
        ImageItems(images, ["ab"])
    with pytest.raises(IndexError):
        dataset[2]


def _ink(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(0, 5, size=(30, 2)), axis=0) + np.array([i * 60, 0]) for i in range(3)]


def test_styled_ink_and_augmentation_are_seeded_per_epoch_and_item() -> None:
    charset = Charset("abc")
    pre = Preprocessing(height=32)
    inks = [_ink(1), _ink(2)]
    clean = [pre.apply(render_ink(ink)) for ink in inks]
    source = StyledInkItems(inks, ["ab", "ca"], [c.shape[1] for c in clean], pre, InkStyle(), strength=1.0)
    dataset = HandwritingDataset([source], charset, augment=0.5, seed=7)
    again = HandwritingDataset([source], charset, augment=0.5, seed=7)
    assert torch.equal(dataset[(1, 3)].image, again[(1, 3)].image)  # same (seed, epoch, index): same sample
    assert not torch.equal(dataset[(1, 3)].image, dataset[(1, 4)].image)  # a new style every epoch
    assert dataset[(0, 0)].text == "ab"
    plain = HandwritingDataset([StyledInkItems(inks, ["ab", "ca"], [1, 1], pre, InkStyle(), strength=0.0)], charset)
    assert np.array_equal(plain[0].image.numpy()[0], to_model_input(clean[0])[0])  # strength 0: the clean style


def test_synthetic_items_mixed_with_images(draw) -> None:
    charset = Charset("abcdefghijklmnopqrstuvwxyz")
    generator = SyntheticGenerator("words", seed=0, charset=charset.characters)
    pre = Preprocessing(height=32)
    dataset = HandwritingDataset(
        [ImageItems([draw(40, 32, seed=1)], ["ab"]), SyntheticItems(generator, 5, pre, width_estimate=80)], charset
    )
    assert len(dataset) == 6 and dataset.widths[1:] == [80] * 5
    texts = [dataset[(i, 0)].text for i in range(1, 6)]
    assert all(t and set(t) <= set(charset.characters) for t in texts)
    assert texts == [dataset[(i, 0)].text for i in range(1, 6)]  # reproducible
    assert texts != [dataset[(i, 1)].text for i in range(1, 6)]  # new samples next epoch
    assert dataset[(1, 0)].image.shape[1] == 32


def test_too_narrow_images_are_stretched_to_fit_their_label(draw) -> None:
    charset = Charset("ab")
    dataset = HandwritingDataset(
        [ImageItems([draw(12, 16, seed=1)], ["abab"])], charset, frames_for_width=lambda w: w // 4
    )
    assert dataset[0].image.shape[2] // 4 >= 4


# --- WidthBucketSampler -----------------------------------------------------------------------


def _indices(sampler: WidthBucketSampler) -> list[list[int]]:
    """The sampler's batches as dataset indices; each key is (index, epoch) and carries the sampler's epoch."""
    batches = list(sampler)
    assert all(epoch == sampler.epoch for batch in batches for _, epoch in batch)
    return [[index for index, _ in batch] for batch in batches]


def _widths(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(16, 400) for _ in range(n)]


@pytest.mark.parametrize(("n", "batch_size"), [(103, 8), (40, 8), (5, 8), (1000, 4)])
def test_sampler_covers_every_index_once_per_epoch(n: int, batch_size: int) -> None:
    sampler = WidthBucketSampler(_widths(n), batch_size, shuffle=True, seed=3)
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)  # Lightning calls this before each epoch
        epochs.append(_indices(sampler))
    for batches in epochs:
        flat = [i for batch in batches for i in batch]
        assert sorted(flat) == list(range(n))
        assert len(batches) == len(sampler) == -(-n // batch_size)
        assert all(1 <= len(b) <= batch_size for b in batches)
    if n > batch_size:
        assert epochs[0] != epochs[1]  # a new order each epoch
    sampler.set_epoch(0)
    assert _indices(sampler) == epochs[0]  # the order depends on (seed, epoch) only: a resumed run sees the same


def test_sampler_batches_hold_similar_widths() -> None:
    widths = _widths(400, seed=1)
    sampler = WidthBucketSampler(widths, 8, seed=0)
    batches = _indices(sampler)
    # Sorted within a pool of 50 batches, so each batch is a run of neighbouring widths.
    for batch in batches:
        assert [widths[i] for i in batch] == sorted(widths[i] for i in batch)
    padding = sum(max(widths[i] for i in b) * len(b) - sum(widths[i] for i in b) for b in batches)
    random_padding = 0
    order = list(range(400))
    random.Random(0).shuffle(order)
    for start in range(0, 400, 8):
        b = order[start : start + 8]
        random_padding += max(widths[i] for i in b) * len(b) - sum(widths[i] for i in b)
    assert padding < random_padding / 4


def test_sampler_without_shuffle_is_deterministic() -> None:
    widths = _widths(30)
    a = _indices(WidthBucketSampler(widths, 4, shuffle=False))
    b = _indices(WidthBucketSampler(widths, 4, shuffle=False))
    assert a == b
    flat = [i for batch in a for i in batch]
    assert [widths[i] for i in flat] == sorted(widths)


@pytest.mark.parametrize(("n", "batch_size"), [(100, 8), (96, 8), (17, 4), (3, 8)])
def test_sampler_ranks_get_the_same_number_of_batches(n: int, batch_size: int) -> None:
    widths = _widths(n)
    ranks = [WidthBucketSampler(widths, batch_size, seed=5, rank=r, world_size=2) for r in range(2)]
    batches = [_indices(s) for s in ranks]
    assert len(ranks[0]) == len(ranks[1])
    assert len(batches[0]) == len(batches[1]) == len(ranks[0]) >= 1
    total = -(-n // batch_size)
    if total >= 2 and total % 2 == 0:
        # Batches divide evenly: the ranks split the epoch with no overlap and nothing left out.
        flat = [i for rank in batches for batch in rank for i in batch]
        assert sorted(flat) == list(range(n))
