"""Reading careless photos of paper: CER on the real scanned IAM lines and on photo-like copies of them.

    python benchmarks/bench_photo.py [--models english] [--data ../shared/data/iam_lines/labels.csv]
                                     [--split val] [--limit 0] [--seed 0] [--save DIR] [--threads 1] [--no-lm]

Each `val` line (real scans of writers no model trained on) is read as it is and as a photo-like copy made
from it, the same copy for every model (seeded per line): scaled 1.5-2.5x, a paper margin of 20-60% of the
(scaled) height on every side, turned 2-4 degrees either way, half of them light ink on a dark ground, saved
as JPEG at quality 30. The table gives, per model, CER and WER on the clean and the photo-like lines and
their ratio (issue 32's target: photo CER <= 1.15x clean); each model decodes as it does by default (with its
language model, if its file names one), or greedily with ``--no-lm``. ``--save DIR`` writes the first 8 photo-like
copies as PNG, to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from scriba.data.images import load_image
from scriba.data.sources import SourceConfig, read_source
from scriba.metrics import cer, wer
from scriba.recognizer import Recognizer

REPO = Path(__file__).resolve().parents[1]


def photograph(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A careless photo of a scanned line: uint8 dark-on-light (H, W) in, uint8 (H', W') out, as decoded
    from a JPEG of quality 30 (light on dark in half the cases)."""
    scale = rng.uniform(1.5, 2.5)
    big = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = [round(rng.uniform(0.2, 0.6) * big.shape[0]) for _ in range(4)]
    paper = int(np.percentile(gray, 90))
    framed = cv2.copyMakeBorder(big, *pad, cv2.BORDER_CONSTANT, value=paper)
    angle = rng.uniform(2, 4) * rng.choice([-1, 1])
    h, w = framed.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    size = (round(w * abs(matrix[0, 0]) + h * abs(matrix[0, 1])), round(w * abs(matrix[0, 1]) + h * abs(matrix[0, 0])))
    matrix[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2  # a canvas the turned line fits on: no corner cut off
    turned = cv2.warpAffine(framed, matrix, size, flags=cv2.INTER_LINEAR, borderValue=paper)
    if rng.random() < 0.5:
        turned = 255 - turned
    ok, jpeg = cv2.imencode(".jpg", turned, [cv2.IMWRITE_JPEG_QUALITY, 30])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["english"])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "iam_lines" / "labels.csv"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=0, help="read at most this many lines (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default="", help="a folder to write the first 8 photo-like lines to")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--no-lm", action="store_true", help="greedy decoding (default: each model's own LM)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    records = read_source(SourceConfig(args.data, kind="table", split=args.split, limit=args.limit))
    clean = [load_image(r.image) for r in records]
    # load_image as a user's photo would be loaded: a decoded JPEG, light on dark inverted there.
    photos = [photograph(g, np.random.default_rng([args.seed, i])) for i, g in enumerate(clean)]
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        for i, photo in enumerate(photos[:8]):
            cv2.imwrite(str(Path(args.save) / f"photo{i}.png"), photo)
    truths = [r.text or "" for r in records]
    print(f"{len(records)} lines of {args.data} ({args.split}); photo-like copies seeded with {args.seed}\n")
    print("| model | clean CER | clean WER | photo CER | photo WER | photo / clean CER |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.models:
        recognizer = Recognizer.load(name, lm=None if args.no_lm else "auto")
        scores = []
        for images in (clean, photos):
            texts = [reading.text for reading in recognizer.read_images(images, batch_size=16)]
            scores.append((cer(texts, truths), wer(texts, truths)))
        (clean_cer, clean_wer), (photo_cer, photo_wer) = scores
        print(
            f"| {name} | {100 * clean_cer:.2f}% | {100 * clean_wer:.2f}% | {100 * photo_cer:.2f}% | "
            f"{100 * photo_wer:.2f}% | {photo_cer / max(clean_cer, 1e-9):.2f}x |"
        )


if __name__ == "__main__":
    main()
