"""Inference speed of the shipped models on this CPU: images/second at batch 1 and batch 32 (``--batch-sizes``).

    python benchmarks/bench_inference.py [--models english names] [--threads 0] [--repeat 3] [--tta] [--lexicon F]
                                         [--precision fp32 bf16] [--ink] [--no-lm] [--backend torch onnx]
                                         [--batch-sizes 1 32]

Times ``Recognizer.read_images`` end to end on image files (decode, preprocess, network, decoding: with the model's
language model where its file names one, ``+lm`` in the table, else greedy; ``--no-lm``: greedy), the
way ``scriba read`` and the API read them, and separately the network + decoding on images already
preprocessed. The images are real where ../shared/data is present (IAM-OnDB testset_t words and lines
rendered to PNG, and the scanned `iam_lines` val lines, for `english`; the labeled Kaggle names for `names`),
else the images in examples/.
Each figure is the best of ``--repeat`` passes (the least disturbed by other work on the machine).
``--tta`` times reading with test-time augmentation (9 variants per image, 7 per ink for a pen model)
instead; ``--lexicon FILE`` times lexicon decoding over that file (e.g. ../shared/data/names/lexicon.csv with
``--models names``).
``--precision fp32 bf16`` times each model in each precision (``Recognizer.load(precision=...)``);
``--backend torch onnx`` with torch and with onnxruntime (``Recognizer.load(backend="onnx")``).
``--ink`` times reading IAM-OnDB testset_t pen trajectories instead (``Recognizer.read_inks``: an image model
draws and preprocesses each, a model of pen trajectories such as `english_pen` takes its points; such a
model is always timed this way), "net only" then on the prepared inputs.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import torch

from scriba.data.ink import InkStyle, render_ink
from scriba.data.records import Ink, Record
from scriba.data.sources import SourceConfig, read_source
from scriba.decoding import PenTestTimeAugmentation
from scriba.recognizer import PRECISIONS, Recognizer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def image_sets(model: str, out: Path, count: int, ink_style: InkStyle) -> list[tuple[str, list[Path]]]:
    """Sets of up to ``count`` image files of the model's kind of data (ink drawn in the model's style),
    each with what it is."""
    if model == "names" and (SHARED / "names").is_dir():
        records = read_source(SourceConfig(str(SHARED / "names" / "labels.csv"), kind="table"))[:count]
        return [("Kaggle names (324x36 JPEG)", [Path(str(r.image)) for r in records if r.image is not None])]
    if model != "names" and (SHARED / "iam_ondb").is_dir():
        sets = []
        for kind in ("iam_ondb_words", "iam_ondb_lines"):
            records = read_source(SourceConfig(str(SHARED / "iam_ondb"), kind=kind, split="testset_t"))[:count]
            paths = []
            for i, record in enumerate(records):
                paths.append(out / f"{kind}_{i}.png")
                cv2.imwrite(str(paths[-1]), render_ink(record.ink or [], ink_style))
            sets.append((f"IAM-OnDB testset_t {kind.split('_')[-1]} (PNG)", paths))
        if (SHARED / "iam_lines").is_dir():  # real scanned lines, as they come (64 px high, up to 1,024 wide)
            table = SourceConfig(str(SHARED / "iam_lines" / "labels.csv"), kind="table", split="val", limit=count)
            sets.append(("iam_lines val (PNG scans)", [Path(str(r.image)) for r in read_source(table)]))
        return sets
    folder = REPO / "examples" / ("names" if model == "names" else "")
    paths = sorted(folder.glob("*.png"))
    return [(f"{folder.relative_to(REPO)}/*.png, repeated", [paths[i % len(paths)] for i in range(count)])]


def ink_sets(count: int) -> list[tuple[str, list[Ink]]]:
    """Up to ``count`` IAM-OnDB testset_t word and line trajectories each, with what they are."""
    if not (SHARED / "iam_ondb").is_dir():
        raise SystemExit(f"--ink and models of pen trajectories are timed on IAM-OnDB: {SHARED / 'iam_ondb'} is absent")
    sets = []
    for kind in ("iam_ondb_words", "iam_ondb_lines"):
        records = read_source(SourceConfig(str(SHARED / "iam_ondb"), kind=kind, split="testset_t"))[:count]
        sets.append((f"IAM-OnDB testset_t {kind.split('_')[-1]} (ink)", [r.ink or [] for r in records]))
    return sets


def best_rate(run: Callable[[], object], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["english", "names"])
    parser.add_argument("--count", type=int, default=256, help="images per pass")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tta", action="store_true", help="read with test-time augmentation")
    parser.add_argument("--lexicon", help="read with lexicon decoding over this file")
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS, help="network precisions")
    parser.add_argument("--ink", action="store_true", help="read pen trajectories instead of image files")
    parser.add_argument("--no-lm", action="store_true", help="greedy decoding (default: each model's own LM)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 32], help="batch sizes to time")
    parser.add_argument("--backend", nargs="+", default=["torch"], choices=["torch", "onnx"], help="network runtimes")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'model':<18} {'params':>7} {'batch':>5} {'images/s':>9} {'net only':>9}  images")
    with tempfile.TemporaryDirectory() as tmp:
        for name, precision, backend in itertools.product(args.models, args.precision, args.backend):
            if backend == "onnx" and precision != "fp32":
                continue
            lm = None if args.no_lm else "auto"
            recognizer = Recognizer.load(
                name, tta=args.tta, lexicon=args.lexicon, precision=precision, lm=lm, backend=backend
            )
            params = sum(p.numel() for p in recognizer.model_file.model.parameters()) / 1e6
            ink = args.ink or recognizer.reads_pen
            inputs: list[tuple[str, list[Any]]] = (
                list(ink_sets(args.count))
                if ink
                else list(image_sets(name, Path(tmp), args.count, recognizer.model_file.ink_style))
            )
            read = recognizer.read_inks if ink else recognizer.read_images
            for what, items in inputs:
                prepared = [
                    recognizer.prepare_record(Record(None, ink=i)) if ink else recognizer.prepare(i) for i in items
                ]
                # A pen model's test-time augmentation distorts the ink before its points are made: there is
                # no network-only time apart from that.
                from_ink = isinstance(recognizer.tta, PenTestTimeAugmentation)
                read(items[:8]) if from_ink else recognizer.read_prepared(prepared[:8])  # warm-up
                for batch in args.batch_sizes:
                    end_to_end = best_rate(partial(read, items, batch), len(items), args.repeat)
                    net = partial(recognizer.read_prepared, prepared, batch)
                    network = "-" if from_ink else f"{best_rate(net, len(items), args.repeat):.1f}"
                    label = name + ("+tta" if args.tta else "") + ("+lex" if args.lexicon else "")
                    label += "" if precision == "fp32" else f"+{precision}"
                    label += "+onnx" if backend == "onnx" else ""
                    label += "+lm" if recognizer.decoder is not None and recognizer.decoder.lm is not None else ""
                    print(f"{label:<18} {params:>6.2f}M {batch:>5} {end_to_end:>9.1f} {network:>9}  {what}")


if __name__ == "__main__":
    main()
