"""Read, clean and load a config's training and validation data, with a data card for the model file."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scriba.charset import Charset
from scriba.config import Config
from scriba.data.cleaning import clean
from scriba.data.dataset import load_images
from scriba.data.items import ImageItems, ItemSource, StyledInkItems, SyntheticItems
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


def read_sources(config: Config, sources: list[SourceConfig]) -> list[Record]:
    records: list[Record] = []
    for source in sources:
        records += read_source(config.data.resolve(source))
    return records


def choose_charset(config: Config, texts: list[str]) -> Charset:
    """The configured charset, else the fine-tuned model's grown by new characters, else the texts' own."""
    if config.data.charset:
        return Charset(config.data.charset, max_label_length=max((len(t) for t in texts), default=0))
    if config.training.init_from:
        base = Charset.from_dict(read_metadata(config.training.init_from)["charset"])
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


def _train_sources(
    config: Config, charset: Charset, records: list[Record], images: list[np.ndarray]
) -> list[ItemSource]:
    """Fixed images, ink in random styles (``data.ink_styles``) and synthetic samples (``data.synth``)."""
    texts = [r.text or "" for r in records]
    if config.data.ink_styles > 0:
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
            )
        ]
        if fixed:
            sources.append(ImageItems([images[i] for i in fixed], [texts[i] for i in fixed]))
    else:
        sources = [ImageItems(images, texts)]
    synth = config.data.synth
    if synth.ratio > 0:
        from scriba.data.synth import SyntheticGenerator  # fonts and corpora: load only when asked for

        generator = SyntheticGenerator(
            synth.kind, synth.corpus or None, config.seed, synth.fonts or None, charset.characters
        )
        count = max(1, round(synth.ratio * len(records)))
        sources.append(
            SyntheticItems(generator, count, config.preprocessing, int(np.median([i.shape[1] for i in images])))
        )
        log.info("training mixes in %d synthetic %s per epoch", count, synth.kind)
    return sources


def prepare_data(config: Config, run_dir: Path) -> PreparedData:
    """Read sources, clean labels, pick the charset, load images; save the cleaning reports in ``run_dir``.

    Raises:
        ConfigError: no training or validation sources, or nothing left after cleaning.
    """
    if not config.data.train or not config.data.val:
        raise ConfigError("the config needs data.train and data.val sources")
    raw_train = read_sources(config, config.data.train)
    train_records, train_report = clean(raw_train, config.data.cleaning)
    if not train_records:
        raise DataFormatError("no training samples left after cleaning:\n" + train_report.summary())
    charset = choose_charset(config, [r.text or "" for r in train_records])
    # Explicit charset: labels with other characters are dropped (or trimmed) per the cleaning options.
    if config.data.charset:
        train_records, train_report = clean(raw_train, config.data.cleaning, charset)
    val_records, val_report = clean(read_sources(config, config.data.val), config.data.cleaning, charset)

    frames = FrameCounter(config)
    workers = min(4, os.cpu_count() or 1)
    loaded = {}
    for split, records, report in (("train", train_records, train_report), ("val", val_records, val_report)):
        kept, images = load_images(records, config.preprocessing, charset, report, config.data.ink, frames, workers)
        report.save(run_dir / f"cleaning_{split}.json")
        log.info("%s data: %s", split, report.summary())
        if not kept:
            raise DataFormatError(f"no {split} samples left after cleaning:\n{report.summary()}")
        loaded[split] = (kept, images, report)
    train_sources = _train_sources(config, charset, loaded["train"][0], loaded["train"][1])
    card = {
        "train_sources": [s.__dict__ for s in config.data.train],
        "val_sources": [s.__dict__ for s in config.data.val],
        "train_samples": len(loaded["train"][0]),
        "val_samples": len(loaded["val"][0]),
        "ink_styles": config.data.ink_styles,
        "synthetic_per_epoch": sum(len(s) for s in train_sources if isinstance(s, SyntheticItems)),
        "cleaning": {split: loaded[split][2].to_dict() for split in loaded},
    }
    (run_dir / "data_card.json").write_text(
        json.dumps(card, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    val_texts = [r.text or "" for r in loaded["val"][0]]
    return PreparedData(charset, train_sources, loaded["val"][1], val_texts, frames, card)
