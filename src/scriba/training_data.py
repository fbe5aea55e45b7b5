"""Read, clean and load a config's training and validation data, with a data card for the model file.

The data comes either straight from the configured sources (read, clean, pick the charset, render and
preprocess every image) or, with ``data.prepared``, from a folder that ``scriba prepare`` wrote once
with the result of those steps (see :mod:`scriba.data.packed`): both give the same samples.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scriba.charset import Charset
from scriba.config import Config
from scriba.data.augment import PaperAugmentation, build_paper_augmentation
from scriba.data.cleaning import CleaningOptions, CleaningReport, clean, drop_copies_of
from scriba.data.dataset import load_images
from scriba.data.images import load_image
from scriba.data.items import ImageItems, ItemSource, PenItems, RawImageItems, StyledInkItems, SyntheticItems
from scriba.data.packed import (
    PackedImageItems,
    PackedInkItems,
    PackedSplit,
    SplitData,
    fingerprint,
    open_prepared,
    write_prepared,
)
from scriba.data.records import Record
from scriba.data.sources import SourceConfig, read_source
from scriba.errors import ConfigError, DataFormatError
from scriba.model_file import read_metadata
from scriba.models import build_model

log = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Cleaned training sources and preprocessed validation images (uint8, in memory)."""

    charset: Charset
    train_sources: list[ItemSource]
    val_images: list[np.ndarray]
    val_texts: list[str]
    frames: FrameCounter
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def train_size(self) -> int:
        return sum(len(s) for s in self.train_sources)


@dataclass
class LoadedData:
    """The kept records of each split (``train``, ``val``) with their preprocessed uint8 images."""

    charset: Charset
    records: dict[str, list[Record]]
    images: dict[str, list[np.ndarray]]
    reports: dict[str, CleaningReport]


@dataclass
class PrepareSummary:
    """What ``scriba prepare`` wrote: per split ``samples``, ``ink``, ``bytes`` and ``dropped`` in cleaning."""

    path: Path
    splits: dict[str, dict[str, int]]
    characters: int
    seconds: float

    def describe(self) -> str:
        """A few lines for the CLI."""
        lines = [f"prepared {self.path} in {self.seconds:.1f} s ({self.characters} characters)"]
        for name, s in self.splits.items():
            lines.append(
                f"  {name}: {s['samples']} samples ({s['ink']} with ink), {s['dropped']} dropped, "
                f"{s['bytes'] / 2**20:.1f} MiB"
            )
        return "\n".join(lines)


def image_augmentation(config: Config) -> float:
    """The strength of the image augmentation samples get (``data.augment``); 0 for a model of pen
    trajectories, whose item source distorts the points instead (:class:`scriba.data.items.PenItems`)."""
    return 0.0 if config.preprocessing.reads_pen else config.data.augment


def read_sources(config: Config, sources: list[SourceConfig]) -> list[Record]:
    records: list[Record] = []
    for source in sources:
        records += read_source(config.data.resolve(source))
    return records


def validation_records(config: Config) -> tuple[list[Record], CleaningOptions]:
    """The recipe's validation records and the cleaning to score a model on them as training validates:
    the recipe's cleaning, with labels holding characters a model cannot write kept (scored as errors)."""
    return read_sources(config, config.data.val), dataclasses.replace(config.data.cleaning, unknown_characters="keep")


def pseudo_count(records: list[Record]) -> int:
    """How many of ``records`` are pseudo-labels (a model's readings, see :mod:`scriba.selftrain`)."""
    return sum(bool(r.meta.get("pseudo")) for r in records)


def choose_charset(config: Config, texts: list[str]) -> Charset:
    """The configured charset, else the fine-tuned model's grown by new characters, else the texts' own."""
    if config.data.charset:
        return Charset(config.data.charset, max_label_length=max((len(t) for t in texts), default=0))
    start = config.training.init_model()
    if start is not None:
        base = Charset.from_dict(read_metadata(start)["charset"])
        grown = base.extend(texts)
        if len(grown) > len(base):
            log.info("fine-tuning: charset grows by %r", grown.characters[len(base) :])
        return grown
    return Charset.from_texts(texts)


class FrameCounter:
    """Frames a model gives for an input width (picklable, for data loader workers)."""

    def __init__(self, config: Config) -> None:
        # output_lengths depends on the architecture only: a throwaway 2-class instance answers.
        self.probe = build_model(config.model.name, 2, config.preprocessing.height, config.model.args)

    def __call__(self, width: int) -> int:
        return int(self.probe.output_lengths(torch.tensor([width]))[0])


def data_sections(config: Config) -> dict[str, Any]:
    """The config sections that decide the prepared data (the fingerprint of a prepared folder).

    The model is in because labels needing more CTC frames than their width gives are dropped; the
    fine-tuned model's charset because the charset grows from it.
    """
    data = config.data
    start = config.training.init_model()
    base = read_metadata(start)["charset"] if start is not None else None
    return {
        "data.root": data.root,
        "data.train": [dataclasses.asdict(s) for s in data.train],
        "data.val": [dataclasses.asdict(s) for s in data.val],
        "data.charset": data.charset,
        "data.cleaning": dataclasses.asdict(data.cleaning),
        "data.ink": dataclasses.asdict(data.ink),
        "preprocessing": dataclasses.asdict(config.preprocessing),
        "model": {"name": config.model.name, "args": config.model.args},
        "init_from.charset": base,
    }


def load_data(config: Config, frames: FrameCounter | None = None, report_dir: Path | None = None) -> LoadedData:
    """Read sources, clean labels, pick the charset, render and preprocess every image.

    Args:
        config: the recipe.
        frames: the model's frames per width (default: from ``config.model``).
        report_dir: where to save ``cleaning_{split}.json`` (default: nowhere).

    Raises:
        ConfigError: no training or validation sources.
        DataFormatError: nothing left of a split after cleaning.
    """
    if not config.data.train or not config.data.val:
        raise ConfigError("the config needs data.train and data.val sources")
    raw_train = read_sources(config, config.data.train)
    train_records, train_report = clean(raw_train, config.data.cleaning)
    if not train_records:
        raise DataFormatError("no training samples left after cleaning: " + _one_line(train_report))
    charset = choose_charset(config, [r.text or "" for r in train_records])
    # Explicit charset: labels with other characters are dropped (or trimmed) per the cleaning options.
    if config.data.charset:
        train_records, train_report = clean(raw_train, config.data.cleaning, charset)
    val_records, val_report = clean(read_sources(config, config.data.val), config.data.cleaning, charset)
    if config.data.cleaning.drop_validation_copies:
        train_records, train_report = drop_copies_of(train_records, val_records, train_report)
        if not train_records:
            raise DataFormatError(
                "every training image is a copy of a validation image (the same files in data.train and data.val?); "
                "set data.cleaning.drop_validation_copies=false to train on them anyway"
            )

    frames = frames or FrameCounter(config)
    workers = min(4, os.cpu_count() or 1)
    loaded = LoadedData(charset, {}, {}, {})
    for split, records, report in (("train", train_records, train_report), ("val", val_records, val_report)):
        kept, images = load_images(records, config.preprocessing, charset, report, config.data.ink, frames, workers)
        _note_report(split, report, report_dir)
        if not kept:
            raise DataFormatError(f"no {split} samples left after cleaning: {_one_line(report)}")
        loaded.records[split], loaded.images[split], loaded.reports[split] = kept, images, report
    return loaded


def _one_line(report: CleaningReport) -> str:
    """The cleaning summary on one line (the CLI's errors are one line)."""
    return "; ".join(line.strip() for line in report.summary().splitlines())


def _note_report(split: str, report: CleaningReport, report_dir: Path | None) -> None:
    if report_dir is not None:
        report.save(report_dir / f"cleaning_{split}.json")
    log.info("%s data: %s", split, report.summary())


def write_prepared_data(config: Config, out: Path | None = None) -> PrepareSummary:
    """Run the read/clean/charset/load steps once and write them to a prepared folder (``data.prepared``).

    Args:
        config: the recipe.
        out: the folder (default ``<output_dir>/<name>/prepared``); replaced atomically when complete.
    """
    start = time.perf_counter()
    out = Path(out) if out is not None else config.run_dir / "prepared"
    sections = data_sections(config)
    loaded = load_data(config)
    splits = {
        split: SplitData(loaded.images[split], [r.text or "" for r in records], [r.ink for r in records])
        for split, records in loaded.records.items()
    }
    info = {
        "fingerprint": fingerprint(sections),
        "config": sections,
        "charset": loaded.charset.to_dict(),
        "cleaning": {split: report.to_dict() for split, report in loaded.reports.items()},
        "pseudo_labeled_train_samples": pseudo_count(loaded.records["train"]),
    }
    counts = write_prepared(out, splits, info)
    for split, report in loaded.reports.items():
        counts[split]["dropped"] = report.total - report.kept
    return PrepareSummary(out, counts, len(loaded.charset), time.perf_counter() - start)


def _memory_sources(config: Config, records: list[Record], images: list[np.ndarray]) -> list[ItemSource]:
    """Fixed images, or ink in random styles (``data.ink_styles``) first and the image records after; for a
    model of pen trajectories, their point features, randomly distorted (``data.augment``)."""
    texts = [r.text or "" for r in records]
    if config.preprocessing.reads_pen:
        inks = [r.ink or [] for r in records]  # load_images kept ink records only
        widths = [f.shape[1] for f in images]
        return [PenItems(inks, texts, widths, config.preprocessing, config.data.augment)]
    paper = paper_augmentation(config)
    if config.data.ink_styles <= 0 and paper is None:
        return [ImageItems(images, texts)]
    ink = [i for i, r in enumerate(records) if r.ink is not None]
    fixed = [i for i, r in enumerate(records) if r.ink is None]
    sources: list[ItemSource] = [
        StyledInkItems(
            [records[i].ink or [] for i in ink],
            [texts[i] for i in ink],
            [images[i].shape[1] for i in ink],
            config.preprocessing,
            config.data.ink,
            config.data.ink_styles,
            paper,
        )
    ]
    if fixed and paper is not None:  # the scans are augmented as loaded, before preprocessing
        raw = [load_image(records[i].image) for i in fixed]
        widths = [images[i].shape[1] for i in fixed]
        sources.append(RawImageItems(raw, [texts[i] for i in fixed], widths, config.preprocessing, paper))
    elif fixed:
        sources.append(ImageItems([images[i] for i in fixed], [texts[i] for i in fixed]))
    return sources


def paper_augmentation(config: Config) -> PaperAugmentation | None:
    """The recipe's paper-like augmentation (``data.paper``), None when off."""
    return build_paper_augmentation(config.data.paper, config.seed)


def _packed_sources(config: Config, split: PackedSplit) -> list[ItemSource]:
    """The same sources as :func:`_memory_sources`, in the same order, read from a prepared split."""
    if config.data.ink_styles <= 0:
        return [PackedImageItems(split, range(len(split)))]
    ink, fixed = np.flatnonzero(split.has_ink), np.flatnonzero(~split.has_ink)
    sources: list[ItemSource] = [
        PackedInkItems(split, ink, config.preprocessing, config.data.ink, config.data.ink_styles)
    ]
    if len(fixed):
        sources.append(PackedImageItems(split, fixed))
    return sources


def _synthetic_sources(config: Config, charset: Charset, real: int, widths: list[int]) -> list[ItemSource]:
    """Synthetic samples per epoch (``data.synth``), ``ratio`` times the ``real`` training samples."""
    synth = config.data.synth
    if synth.ratio <= 0:
        return []
    from scriba.data.synth import SyntheticGenerator  # fonts and corpora: load only when asked for

    corpus = config.data.locate(synth.corpus) if synth.corpus else None
    generator = SyntheticGenerator(synth.kind, corpus, config.seed, synth.fonts or None, charset.characters)
    count = max(1, round(synth.ratio * real))
    log.info("training mixes in %d synthetic %s per epoch", count, synth.kind)
    return [SyntheticItems(generator, count, config.preprocessing, int(np.median(widths)), paper_augmentation(config))]


def _report_from_dict(data: dict[str, Any]) -> CleaningReport:
    return CleaningReport(**{**data, "dropped": Counter(data.get("dropped", {}))})


def prepare_data(config: Config, run_dir: Path) -> PreparedData:
    """The training sources and validation images of ``config``; saves the cleaning reports and data card.

    Reads ``data.prepared`` when set (see :func:`write_prepared_data`), else the sources themselves.

    Raises:
        ConfigError: no training or validation sources, or ``data.prepared`` made from another config.
        DataFormatError: nothing left after cleaning, or ``data.prepared`` is missing or incomplete.
    """
    if not config.data.train or not config.data.val:
        raise ConfigError("the config needs data.train and data.val sources")
    frames = FrameCounter(config)
    if config.data.prepared:
        folder = open_prepared(Path(config.data.prepared), data_sections(config))
        charset = Charset.from_dict(folder.info["charset"])
        reports = {split: _report_from_dict(folder.info["cleaning"][split]) for split in ("train", "val")}
        for split, report in reports.items():
            _note_report(split, report, run_dir)
        train_sources = _packed_sources(config, folder.train)
        val_images, val_texts = folder.val.load_all()
        train_widths = [int(w) for w in folder.train.widths]
        pseudo = folder.info.get("pseudo_labeled_train_samples")  # absent from folders of older versions
    else:
        loaded = load_data(config, frames, run_dir)
        charset, reports = loaded.charset, loaded.reports
        train_sources = _memory_sources(config, loaded.records["train"], loaded.images["train"])
        val_images, val_texts = loaded.images["val"], [r.text or "" for r in loaded.records["val"]]
        train_widths = [i.shape[1] for i in loaded.images["train"]]
        pseudo = pseudo_count(loaded.records["train"])
    train_sources += _synthetic_sources(config, charset, len(train_widths), train_widths)
    card = {
        "train_sources": [s.__dict__ for s in config.data.train],
        "val_sources": [s.__dict__ for s in config.data.val],
        "train_samples": len(train_widths),
        "pseudo_labeled_train_samples": pseudo,
        "val_samples": len(val_images),
        "ink_styles": config.data.ink_styles,
        "synthetic_per_epoch": sum(len(s) for s in train_sources if isinstance(s, SyntheticItems)),
        "cleaning": {split: report.to_dict() for split, report in reports.items()},
    }
    (run_dir / "data_card.json").write_text(
        json.dumps(card, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    return PreparedData(charset, train_sources, val_images, val_texts, frames, card)
