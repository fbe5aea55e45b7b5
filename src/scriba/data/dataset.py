"""Records -> torch samples -> padded batches.

Shapes: ``Sample.image`` (1, H, W) float32 (ink 1, paper 0); ``Batch.images`` (N, 1, H, Wmax) zero
padded on the right with ``widths`` (N,); ``targets`` (sum L,) concatenated ids with
``target_lengths`` (N,): the layout ``F.ctc_loss`` takes. For models of pen trajectories the "image" is
the (PEN_FEATURES, T) float32 point features of :mod:`scriba.data.pen`: H features, W points.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from scriba.charset import Charset
from scriba.data.cleaning import CleaningReport
from scriba.data.images import Preprocessing, load_image, to_model_input
from scriba.data.ink import InkStyle, render_ink
from scriba.data.items import ItemSource
from scriba.data.records import Ink, Record
from scriba.errors import InputKindError, ScribaError

log = logging.getLogger(__name__)


@dataclass
class Sample:
    image: torch.Tensor  # (1, H, W) float32
    target: torch.Tensor  # (L,) int64
    text: str


@dataclass
class Batch:
    images: torch.Tensor  # (N, 1, H, Wmax)
    widths: torch.Tensor  # (N,)
    targets: torch.Tensor  # (sum L,)
    target_lengths: torch.Tensor  # (N,)
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def collate(samples: Sequence[Sample]) -> Batch:
    """Pad images to the widest on the right with paper (0) and concatenate targets."""
    height = samples[0].image.shape[1]
    widths = torch.tensor([s.image.shape[2] for s in samples])
    images = torch.zeros(len(samples), 1, height, int(widths.max()))
    for i, sample in enumerate(samples):
        images[i, :, :, : sample.image.shape[2]] = sample.image
    targets = torch.cat([s.target for s in samples])
    target_lengths = torch.tensor([len(s.target) for s in samples])
    return Batch(images, widths, targets, target_lengths, [s.text for s in samples])


def render_record(record: Record, preprocessing: Preprocessing, ink_style: InkStyle | None = None) -> np.ndarray:
    """The preprocessed uint8 image (height, W) of an image or ink record; for ``input: pen`` preprocessing,
    the float32 (PEN_FEATURES, T) point features of an ink record.

    Raises:
        ImageError / DataFormatError: the image cannot be read or the ink has no points.
        InputKindError: an image record for pen input.
    """
    if preprocessing.reads_pen:
        return preprocessing.point_features(pen_ink(record))
    if record.ink is not None:
        gray = render_ink(record.ink, ink_style)
    elif record.image is not None:
        gray = load_image(record.image)
    else:
        raise ScribaError(f"{record.name}: record has neither image nor ink")
    return preprocessing.apply(gray)


def pen_ink(record: Record) -> Ink:
    """The ink of a record that a model of pen trajectories reads.

    Raises:
        InputKindError: the record is an image.
    """
    if record.ink is None:
        raise InputKindError(f"{record.name}: this model reads pen trajectories, and this record is an image")
    return record.ink


def as_model_input(prepared: np.ndarray) -> np.ndarray:
    """A preprocessed input -> float32 (1, H, W): uint8 images via :func:`to_model_input` (ink 1, paper 0);
    float32 pen point features (already model input) as they are."""
    return to_model_input(prepared) if prepared.dtype == np.uint8 else prepared[None].astype(np.float32, copy=False)


def display_image(record: Record, prepared: np.ndarray) -> np.ndarray:
    """A uint8 picture of a prepared input for plots: the image itself, or for pen point features the
    record's ink drawn in the clean style (the features are not a picture)."""
    if prepared.dtype == np.uint8 or record.ink is None:
        return prepared
    return render_ink(record.ink)


def ctc_frames_needed(ids: Sequence[int]) -> int:
    """Frames CTC needs for a label: one per character plus a blank between repeated characters."""
    return len(ids) + sum(a == b for a, b in itertools.pairwise(ids))


def _render_all(args: tuple[list[Record], Preprocessing, InkStyle | None]) -> list[np.ndarray | str]:
    records, preprocessing, style = args
    out: list[np.ndarray | str] = []
    for record in records:
        try:
            out.append(render_record(record, preprocessing, style))
        except ScribaError as err:
            out.append(str(err))
    return out


def load_images(
    records: list[Record],
    preprocessing: Preprocessing,
    charset: Charset,
    report: CleaningReport | None = None,
    ink_style: InkStyle | None = None,
    frames_for_width: Callable[[int], int] | None = None,
    workers: int = 1,
) -> tuple[list[Record], list[np.ndarray]]:
    """Load and preprocess every record once, dropping (and reporting) what cannot be used.

    Reasons added to ``report``: ``unreadable_image`` and ``label_too_long`` (the label needs more CTC
    frames than the model gives for this image's width, via ``frames_for_width``).

    Returns:
        The kept records and their preprocessed uint8 images, in order.
    """
    report = report or CleaningReport(total=len(records))
    chunks = [records[i : i + 256] for i in range(0, len(records), 256)]
    jobs = [(chunk, preprocessing, ink_style) for chunk in chunks]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = [item for part in pool.map(_render_all, jobs) for item in part]
    else:
        results = [item for job in jobs for item in _render_all(job)]
    kept_records, images = [], []
    for record, result in zip(records, results, strict=True):
        if isinstance(result, str):
            report.drop("unreadable_image", record, result)
            continue
        if frames_for_width is not None and record.text is not None:
            needed = ctc_frames_needed(charset.encode(record.text, unknown="drop"))
            available = frames_for_width(result.shape[1])
            if needed > available:
                report.drop("label_too_long", record, f"{needed} frames needed, {available} available")
                continue
        kept_records.append(record)
        images.append(result)
    report.kept = len(kept_records)
    return kept_records, images


# A dataset key: an index, or (index, epoch) from WidthBucketSampler so that random rendering and
# augmentation are seeded per (seed, epoch, index), identical in any worker process and on resume.
Key = int | tuple[int, int]


class HandwritingDataset(Dataset[Sample]):
    """Samples from one or more item sources, augmented, as model inputs with encoded labels.

    Args:
        sources: where items come from (see :mod:`scriba.data.items`); indices run through them in order.
        charset: encodes the labels (characters it lacks are dropped: sources are cleaned first).
        augment: augmentation strength, 0 to 1 (train only).
        seed: seeds rendering and augmentation.
        frames_for_width: the model's frames per input width; an image too narrow for its label's CTC
            alignment (possible after random styles) is stretched to fit, with a warning.
    """

    def __init__(
        self,
        sources: Sequence[ItemSource],
        charset: Charset,
        augment: float = 0.0,
        seed: int = 0,
        frames_for_width: Callable[[int], int] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.charset = charset
        self.seed = seed
        self.frames_for_width = frames_for_width
        # Imported here: albumentations costs 0.4 s of start-up, and reading never augments.
        from scriba.data.augment import build_augmentation

        self.augmentation = build_augmentation(augment, seed)
        self._starts = np.cumsum([0] + [len(s) for s in self.sources])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, index: int) -> tuple[ItemSource, int]:
        """The source holding global ``index`` and the index within it."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self.sources[which], index - int(self._starts[which])

    def __getitem__(self, key: Key) -> Sample:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        source, local = self.locate(index)
        rng = np.random.default_rng([self.seed, epoch, index])
        image, text = source.load(local, rng)
        if self.augmentation is not None:
            from scriba.data.augment import augment_image

            self.augmentation.set_random_seed(int(rng.integers(2**31)))
            image = augment_image(self.augmentation, image)
        ids = self.charset.encode(text, unknown="drop")
        if self.frames_for_width is not None:
            needed = ctc_frames_needed(ids)
            if self.frames_for_width(image.shape[1]) < needed:
                log.warning("sample %d (%r) too narrow for its label: stretched", index, text)
                while self.frames_for_width(image.shape[1]) < needed:
                    image = cv2.resize(image, (image.shape[1] + 4, image.shape[0]), interpolation=cv2.INTER_LINEAR)
        return Sample(torch.from_numpy(as_model_input(image)), torch.tensor(ids, dtype=torch.long), text)

    @property
    def widths(self) -> list[int]:
        """Each item's width (exact for fixed images, an estimate for generated ones)."""
        return [source.width(i) for source in self.sources for i in range(len(source))]


class WidthBucketSampler(Sampler[list[tuple[int, int]]]):
    """Batches of similar widths (less padding, faster steps), in random order each epoch.

    Indices are sorted by width within random pools of ``50 * batch_size``, cut into batches, and the
    batches shuffled: close to random order while keeping padding small. Under DDP each of
    ``world_size`` ranks takes every ``world_size``-th batch (the same count on every rank, so no
    rank waits for another at the end of an epoch).
    """

    def __init__(
        self,
        widths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.widths = list(widths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def __len__(self) -> int:
        batches = (len(self.widths) + self.batch_size - 1) // self.batch_size
        return max(1, batches // self.world_size) if self.world_size > 1 else batches

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before each epoch: the order depends on (seed, epoch) only, so a resumed
        run sees the same batches it would have seen."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        rng = random.Random(self.seed * 100_003 + self.epoch)
        order = list(range(len(self.widths)))
        if self.shuffle:
            rng.shuffle(order)
        pool = 50 * self.batch_size
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=self.widths.__getitem__)
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        if self.world_size > 1:
            # Wrap around so every rank gets len(self) batches even when they do not divide evenly.
            batches = [batches[(self.rank + i * self.world_size) % len(batches)] for i in range(len(self))]
        for batch in batches:
            yield [(index, self.epoch) for index in batch]
