"""Train a recipe on a lent GPU machine (the workplace's `device` tool) inside a fixed budget of minutes.

A lent machine is bare, has 15 minutes of device time a session and takes at most 64 MiB of the working tree
along, so a GPU run has to be prepared here and then spent in one call. Three steps:

  python tools/device_kit.py pack                       # here: .device/ = wheels + IAM-OnDB packed (~14 MiB)
  (device run, carry [".device"])  tools/device_train.sh configs/experiments/english_pen_gpu.yaml 8
  python tools/device_kit.py join DIR                   # here: put split files back together

`pack` writes the Python packages scriba needs that the machine lacks (wheels for its Python 3.12) and the
IAM-OnDB training and validation data (`trainset`, `testset_v`; never `testset_t`), its points stored as
16-bit steps and xz-compressed (22 MB of strokes -> ~6 MB), into `.device/`, which git ignores (the data's
terms forbid redistribution: it is never committed) and checks that everything that travels fits.
`unpack` (there) rebuilds the folder the `iam_ondb` readers expect. `train` (there) first trains for a
minute to measure the machine's steps per second, then sizes `training.max_epochs` so the run's one-cycle
schedule ends inside the budget (a run cut by the time limit would end at a high learning rate), trains,
and copies the model file, its history and a summary to $OUT, split into parts under the return limit.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import lzma
import math
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
from lightning.pytorch.callbacks import TQDMProgressBar

from scriba.config import load_config
from scriba.training import fit

KIT = Path(".device")
PACK = "iam_ondb.npz.xz"
TRAVEL_LIMIT = 64 * 2**20  # what the device tool takes along: tracked + untracked files + carried paths
PART_SIZE = 15 * 2**20  # files come back at most 16 MiB each
# Packages scriba imports to train that the device image lacks (its list: .library/device/KINDS.md).
# Versions are those installed here, except stringzilla: 5.x is a 4 MB wheel, 3.12 (albucore needs >= 3.10.4)
# is 0.3 MB, and the travel limit is tight beside the shipped model files.
WHEELS = [
    "albumentations",
    "albucore",
    "pydantic",
    "pydantic_core",
    "annotated-types",
    "typing-inspection",
    "typing_extensions",
    "rapidfuzz",
    "lmdb",
    "simsimd",
]
PINNED = {"stringzilla": "3.12.6"}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
PLATFORMS += ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
TRAIN_SPLITS = ("trainset", "testset_v")


def encode_strokes(points: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) int32 x, y, pen-up points of lines split at ``offsets`` -> ((N, 2) int16 steps, packed pen bits).

    Each line's first point is stored as it is, every other as the step from the point before. IAM-OnDB's
    tablet units fit 16 bits (its largest step is 3,035, its largest coordinate 8,744), and the steps
    compress to a third of the int32 points.

    Raises:
        ValueError: a coordinate or step beyond 16 bits.
    """
    xy = points[:, :2].astype(np.int64)
    steps = xy.copy()
    steps[1:] -= xy[:-1]
    starts = offsets[:-1][offsets[:-1] < len(points)]
    steps[starts] = xy[starts]
    if np.abs(steps).max(initial=0) > np.iinfo(np.int16).max:
        raise ValueError("a coordinate or step does not fit 16 bits")
    return steps.astype(np.int16), np.packbits(points[:, 2].astype(np.uint8))


def decode_strokes(steps: np.ndarray, pen: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The inverse of :func:`encode_strokes`: (N, 3) int32 points."""
    xy = steps.astype(np.int64)
    for start, end in itertools.pairwise(offsets):
        xy[start:end] = np.cumsum(xy[start:end], axis=0)
    ups = np.unpackbits(pen)[: len(steps)].astype(np.int64)
    return np.column_stack([xy, ups]).astype(np.int32)


def pack_iam_ondb(root: Path, out: Path, splits: tuple[str, ...] = TRAIN_SPLITS) -> int:
    """Write the lines and words of ``splits`` from an IAM-OnDB folder to one xz file; returns its size."""
    lines = pd.read_csv(root / "lines.csv", dtype=str, keep_default_na=False)
    words = pd.read_csv(root / "words.csv", dtype=str, keep_default_na=False)
    lines, words = lines[lines.split.isin(splits)], words[words.split.isin(splits)]
    with np.load(root / "strokes.npz") as data:
        points, offsets, ids = data["points"], data["line_offsets"], data["line_ids"]
    wanted = set(lines.line_id)
    keep = [i for i, line_id in enumerate(ids) if line_id in wanted]
    parts = [points[offsets[i] : offsets[i + 1]] for i in keep]
    new_offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    steps, pen = encode_strokes(np.concatenate(parts), new_offsets)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        steps=steps,
        pen=pen,
        line_offsets=new_offsets,
        line_ids=ids[keep],
        lines_csv=np.frombuffer(lines.to_csv(index=False).encode(), np.uint8),
        words_csv=np.frombuffer(words.to_csv(index=False).encode(), np.uint8),
    )
    out.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    return out.stat().st_size


def unpack_iam_ondb(pack: Path, root: Path) -> int:
    """Rebuild ``root/iam_ondb`` (strokes.npz, lines.csv, words.csv) from :func:`pack_iam_ondb`'s file;
    returns the number of lines."""
    with np.load(io.BytesIO(lzma.decompress(pack.read_bytes()))) as data:
        offsets = data["line_offsets"]
        points = decode_strokes(data["steps"], data["pen"], offsets)
        folder = root / "iam_ondb"
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "strokes.npz", points=points, line_offsets=offsets, line_ids=data["line_ids"])
        (folder / "lines.csv").write_bytes(data["lines_csv"].tobytes())
        (folder / "words.csv").write_bytes(data["words_csv"].tobytes())
        return len(data["line_ids"])


def travel_size(kit: Path) -> int:
    """Bytes the device tool takes along: git's tracked and untracked-not-ignored files, plus the kit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True
    ).stdout.split(b"\0")
    files = [Path(name.decode()) for name in listed if name]
    kit_files = [p for p in kit.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files if p.is_file()) + sum(p.stat().st_size for p in kit_files)


def _ignore_kit(kit: Path) -> None:
    exclude = Path(".git/info/exclude")
    entry = f"/{kit.as_posix().strip('/')}/"
    lines = exclude.read_text().splitlines() if exclude.is_file() else []
    if entry not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, entry]) + "\n")


def pack(args: argparse.Namespace) -> None:
    kit = Path(args.kit)
    _ignore_kit(kit)
    wheels = kit / "whl"
    shutil.rmtree(wheels, ignore_errors=True)
    wanted = [f"{name}=={metadata.version(name)}" for name in WHEELS] + [f"{n}=={v}" for n, v in PINNED.items()]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
         "3.12", "--implementation", "cp", *platforms, "-d", str(wheels), *wanted],
        check=True,
    )  # fmt: skip
    root = Path(args.data) / "iam_ondb"
    if not all((root / name).is_file() for name in ("strokes.npz", "lines.csv", "words.csv")):
        sys.exit(f"error: no IAM-OnDB folder at {root} (strokes.npz, lines.csv, words.csv); give --data")
    size = pack_iam_ondb(root, kit / PACK)
    total = travel_size(kit)
    print(f"{kit}: {len(wanted)} wheels, IAM-OnDB {size / 2**20:.1f} MiB; travels {total / 2**20:.1f} MiB")
    if total > TRAVEL_LIMIT:
        sys.exit(f"error: {total / 2**20:.1f} MiB would travel, over the device tool's 64 MiB")


def unpack(args: argparse.Namespace) -> None:
    count = unpack_iam_ondb(Path(args.kit) / PACK, Path(args.to))
    print(f"{args.to}/iam_ondb: {count} lines")


class Pace(L.Callback):
    """The steps per second of a run after its first ``skip`` steps, validation included.

    With ``minutes`` it ends the run once that much training time has passed and at least ``measured`` steps
    after the first ``skip`` were timed, so :meth:`rate` always has a figure, however slow the machine (a
    probe ended by a clock alone had none when a busy machine ran fewer steps than it needs).
    """

    def __init__(self, skip: int = 20, measured: int = 10, minutes: float = 0.0) -> None:
        self.skip, self.measured, self.seconds = skip, measured, minutes * 60
        self.first, self.last, self.steps, self.batches, self.started = 0.0, 0.0, 0, 0, 0.0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.batches = int(trainer.num_training_batches)
        self.started = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        self.steps, self.last = self.steps + 1, time.monotonic()
        if self.steps == self.skip:
            self.first = self.last
        if self.seconds and self.steps - self.skip >= self.measured and self.last - self.started >= self.seconds:
            trainer.should_stop = True

    def rate(self) -> float:
        timed = self.steps - self.skip
        return timed / (self.last - self.first) if timed >= self.measured and self.last > self.first else math.nan


def train(args: argparse.Namespace) -> None:
    def bar() -> TQDMProgressBar:  # a line every `refresh` steps: the device returns the log's last 12,000 characters
        return TQDMProgressBar(refresh_rate=args.refresh)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # scriba's own lines, timed
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    config = load_config(args.config, args.set)
    probe_dir = Path(config.output_dir) / f"{config.name}_probe"
    probe_sets = [f"name={probe_dir.name}", f"model_out={probe_dir}/model.safetensors", "training.max_epochs=1000"]
    # The probe measures pace only: no early stop may end it, and Pace ends it (not a clock alone, see Pace).
    probe_sets += ["training.patience=1000"]

    def probe() -> tuple[Pace, float]:
        """The pace of a short run of the recipe, and the minutes it took to start training."""
        pace, start = Pace(minutes=args.probe_minutes), time.monotonic()
        try:
            fit(load_config(args.config, [*args.set, *probe_sets]), extra_callbacks=[pace, bar()])
        finally:
            shutil.rmtree(probe_dir, ignore_errors=True)
        return pace, (pace.started - start) / 60

    try:
        pace, setup = probe()
    except Exception as err:  # one failed try must not spend the lease: mixed precision is the likeliest cause
        if config.training.precision == "32":
            raise
        logging.info(f"probe failed with training.precision={config.training.precision} ({err}); again with 32")
        args.set = [*args.set, "training.precision=32"]
        pace, setup = probe()
    rate, per_epoch = pace.rate(), max(pace.batches, 1)
    spent = (time.monotonic() - began) / 60
    # The run prepares its data again (setup) and exports its model (0.5 min); its time limit starts at training.
    left = max(0.5, args.minutes - spent - setup - 0.5)
    epochs = 1 if math.isnan(rate) else max(1, min(args.max_epochs, math.floor(rate * left * 60 / per_epoch)))
    logging.info(f"probe: {rate:.2f} steps/s, {per_epoch} steps an epoch, {spent:.1f} min spent -> {epochs} epochs")
    config = load_config(args.config, [*args.set, f"training.max_epochs={epochs}", f"training.max_minutes={left}"])
    result = fit(config, extra_callbacks=[bar()])
    summary = {
        "config": args.config, "overrides": args.set, "steps_per_second": rate, "steps_per_epoch": per_epoch,
        "epochs": epochs, "best_val_cer": result.best_val_cer,
        "minutes": (time.monotonic() - began) / 60,
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    copy_split(result.model_path, out)
    for k, history in enumerate(sorted(config.run_dir.glob("csv/*/metrics.csv"))):
        shutil.copyfile(history, out / f"metrics{k}.csv")
    print(json.dumps(summary, default=str))


def copy_split(path: Path, out: Path) -> list[Path]:
    """Copy ``path`` into ``out``, as ``NAME.partNN`` files of at most 15 MiB when it is larger."""
    data = path.read_bytes()
    if len(data) <= PART_SIZE:
        shutil.copyfile(path, out / path.name)
        return [out / path.name]
    parts = []
    for k, start in enumerate(range(0, len(data), PART_SIZE)):
        parts.append(out / f"{path.name}.part{k:02d}")
        parts[-1].write_bytes(data[start : start + PART_SIZE])
    return parts


def join(args: argparse.Namespace) -> None:
    """Put ``NAME.partNN`` files of a folder back together as ``--to/NAME``."""
    folder, to = Path(args.folder), Path(args.to or args.folder)
    to.mkdir(parents=True, exist_ok=True)
    names = sorted({p.name.rsplit(".part", 1)[0] for p in folder.glob("*.part[0-9][0-9]")})
    for name in names:
        parts = sorted(folder.glob(f"{name}.part[0-9][0-9]"))
        (to / name).write_bytes(b"".join(p.read_bytes() for p in parts))
        print(f"{to / name}: {len(parts)} parts")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", default=str(KIT))
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pack", help="here: wheels + packed IAM-OnDB into the kit folder")
    p.add_argument("--data", default=os.environ.get("SCRIBA_DATA", "../shared/data"))
    p = verbs.add_parser("unpack", help="there: rebuild the IAM-OnDB folder")
    p.add_argument("--to", required=True)
    p = verbs.add_parser("train", help="there: measure the pace, size the epochs, train")
    p.add_argument("config")
    p.add_argument("minutes", type=float, help="the whole budget of this step, probe and data included")
    p.add_argument("--set", nargs="*", default=[])
    p.add_argument("--out", required=True)
    p.add_argument(
        "--probe-minutes", type=float, default=1.0, help="the probe's least training time (and 30 steps at least)"
    )
    p.add_argument("--max-epochs", type=int, default=200)
    p.add_argument("--refresh", type=int, default=200, help="progress bar: steps between updates")
    p = verbs.add_parser("join", help="here: put split files back together")
    p.add_argument("folder")
    p.add_argument("--to")
    args = parser.parse_args(argv)
    {"pack": pack, "unpack": unpack, "train": train, "join": join}[args.verb](args)


if __name__ == "__main__":
    main()
