"""Which bounds training: loading samples or the training step? Prints samples/second of both.

    python benchmarks/bench_loading.py [--config configs/iam_ondb_words.yaml] [--prepared DIR] [--batches 10]

Rows: the training DataLoader (the config's ``data.augment``, with ``data.ink_styles`` 0 and 1) at 0, 1
and 2 worker processes, over in-memory sources (what training builds from the sources) and over the
packed LMDB sources of a prepared folder (``data.prepared``); then one training step (forward, CTC loss,
backward, gradient clipping, AdamW) of the config's model at its batch size, on the same batches, with
1 and with torch's default number of threads.
Loading keeps up when its samples/second beat the step's. Without ``--prepared`` the data is prepared
into a temporary folder first (one full read/clean/render, which is also timed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from scriba.config import Config, load_config
from scriba.data.dataset import Batch, HandwritingDataset, WidthBucketSampler, collate
from scriba.data.items import ImageItems, ItemSource, StyledInkItems
from scriba.data.packed import PackedImageItems, PackedInkItems
from scriba.models import build_model
from scriba.training_data import PreparedData, prepare_data, write_prepared_data

REPO = Path(__file__).resolve().parents[1]


def to_memory(source: ItemSource) -> ItemSource:
    """The in-memory source training builds without ``data.prepared`` (decoded once, here)."""
    if isinstance(source, PackedImageItems):
        items = [source.split.image(int(i)) for i in source.indices]
        return ImageItems([image for image, _ in items], [text for _, text in items])
    if isinstance(source, PackedInkItems):
        inks = [source.split.strokes(int(i)) for i in source.indices]
        widths = [source.width(i) for i in range(len(source))]
        return StyledInkItems(
            [ink for ink, _ in inks], [t for _, t in inks], widths, source.preprocessing, source.base, source.strength
        )
    return source  # synthetic samples are generated on the fly either way


def loader(config: Config, data: PreparedData, sources: list[ItemSource], workers: int) -> DataLoader[Any]:
    dataset = HandwritingDataset(sources, data.charset, config.data.augment, config.seed, data.frames)
    sampler = WidthBucketSampler(dataset.widths, config.training.batch_size, shuffle=True, seed=config.seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers)


def time_loader(batches: DataLoader[Any], count: int) -> float:
    """Samples/second over ``count`` batches after the first (worker start-up is a one-off in training)."""
    iterator = iter(batches)
    next(iterator)
    start, samples = time.perf_counter(), 0
    for _ in range(count):
        samples += len(next(iterator))
    return samples / (time.perf_counter() - start)


def time_step(config: Config, classes: int, batches: list[Batch]) -> tuple[float, float]:
    """Samples/second and seconds per step of forward + CTC + backward + clipping + AdamW (first step warms up)."""
    model = build_model(config.model.name, classes, config.preprocessing.height, config.model.args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.training.lr)
    model.train()
    start, samples = 0.0, 0
    for i, batch in enumerate(batches):
        if i == 1:
            start, samples = time.perf_counter(), 0
        log_probs, output_lengths = model(batch.images, batch.widths)
        loss = F.ctc_loss(log_probs, batch.targets, output_lengths, batch.target_lengths, zero_infinity=True)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.training.grad_clip or 1e9)
        optimizer.step()
        samples += len(batch)
    seconds = time.perf_counter() - start
    return samples / seconds, seconds / (len(batches) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "iam_ondb_words.yaml"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument("--prepared", help="a folder from `scriba prepare` (default: prepare into a temp folder)")
    parser.add_argument("--batches", type=int, default=10, help="timed batches per loader row")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--threads", type=int, nargs="+", help="torch threads to time the step with (default: 1 and torch's own)"
    )
    args = parser.parse_args()
    threads = list(dict.fromkeys(args.threads or [1, torch.get_num_threads()]))

    with tempfile.TemporaryDirectory(prefix="bench_loading_") as temp:
        config = load_config(args.config, args.set)
        prepared = args.prepared
        if not prepared:
            summary = write_prepared_data(config, Path(temp) / "prepared")
            print(summary.describe())
            prepared = str(summary.path)
        print(
            f"config {args.config}: batch {config.training.batch_size}, augment {config.data.augment}, "
            f"{args.batches} batches per row; {os.cpu_count()} CPUs"
        )
        print(f"{'loader':<28}{'workers':>8}{'samples/s':>12}")
        step_batches: list[Batch] = []
        for styles in dict.fromkeys([config.data.ink_styles, 1.0]):  # the config's own, then random ink styles
            styled = load_config(args.config, [*args.set, f"data.prepared={prepared}", f"data.ink_styles={styles}"])
            data = prepare_data(styled, Path(temp))
            packed = data.train_sources
            memory = [to_memory(s) for s in packed]
            for name, sources in (("memory", memory), ("packed lmdb", packed)):
                for workers in args.workers:
                    rate = time_loader(loader(styled, data, sources, workers), args.batches)
                    label = f"{name}, ink_styles={styles:g}"
                    print(f"{label:<28}{workers:>8}{rate:>12.0f}", flush=True)
            if not step_batches:
                batches = iter(loader(styled, data, memory, 0))
                step_batches = [next(batches) for _ in range(args.steps + 1)]
                step_model = (data.charset.num_classes, styled)
        width = sum(float(b.widths.float().mean()) for b in step_batches) / len(step_batches)
        for count in threads:
            torch.set_num_threads(count)
            rate, seconds = time_step(step_model[1], step_model[0], step_batches)
            label = f"train step, {count} thread{'s' * (count > 1)}"
            detail = f"({config.model.name}: {seconds:.3f} s/step, batch {len(step_batches[0])}, width {width:.0f})"
            print(f"{label:<28}{'':>8}{rate:>12.0f}   {detail}", flush=True)


if __name__ == "__main__":
    main()
