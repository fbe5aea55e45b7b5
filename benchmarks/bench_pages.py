"""Reading pages: line detection, reading order, page CER vs the same lines cut by hand, and time.

    python benchmarks/bench_pages.py [--model english] [--data ../shared/data] [--limit 0] [--lm]
                                     [--threads 1] [--save DIR]

Three sets of pages with known lines (benchmarks/page_sets.py): paragraphs stacked from the `iam_lines` `val`
forms (consecutive line numbers, some lines touching, margins, two pages in three turned by up to 3 degrees),
IAM-OnDB `testset_t` forms rendered whole from their pen strokes, and the same forms as careless photos (uneven
light, grey paper, blur, noise, JPEG at quality 40, turned by up to 3 degrees). Per set:

- line detection: a found line is right when its box overlaps a true line's at IoU >= 0.5 (one to one,
  best first); precision, recall, F1 (issue 36's target: F1 >= 0.98).
- reading order: pages whose true lines were all found, in order (target >= 98%); and pages whose found
  lines are in order.
- CER of the page read with ``read_page`` (each true line's text against the found line matched to it, empty
  if none; a found line matched to no true line counts all its characters as insertions) and of the same lines
  cut by hand from the page read with ``read`` (each line drawn alone on the page, turned with it, cut out
  with 8 px of paper), and their ratio (target <= 1.1); for `iam_lines`, also the CER of the dataset's own
  line images (upright, unturned). Greedy decoding; ``--lm`` adds the model's default language model.
- time: ``read_page`` of the pages with 10 true lines against ``read`` of their 10 cut lines, warm, best of
  3 (target <= 1.5x).

Skips with a message where ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import torch

from scriba.layout.geometry import Box, box_iou
from scriba.metrics import edit_distance
from scriba.recognizer import Recognizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page_sets import PageSample, iam_lines_pages, ondb_pages

REPO = Path(__file__).resolve().parents[1]


def match(found: list[Box], truth: list[Box], threshold: float = 0.5) -> list[int | None]:
    """For each true box, the index of the found box matched to it (IoU >= threshold, one to one, the
    best-overlapping pairs first), or None."""
    pairs = sorted(
        ((box_iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)), key=lambda p: -p[0]
    )
    matched: list[int | None] = [None] * len(truth)
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < threshold:
            break
        if matched[j] is None and i not in used:
            matched[j] = i
            used.add(i)
    return matched


@dataclass
class Tally:
    """Counts over a set of pages."""

    found: int = 0
    true: int = 0
    right: int = 0
    pages: int = 0
    all_in_order: int = 0
    found_in_order: int = 0
    page_edits: int = 0
    cut_edits: int = 0
    original_edits: int | None = None
    chars: int = 0

    def row(self, name: str) -> str:
        p, r = self.right / max(self.found, 1), self.right / max(self.true, 1)
        f1 = 2 * p * r / max(p + r, 1e-9)
        page_cer, cut_cer = self.page_edits / max(self.chars, 1), self.cut_edits / max(self.chars, 1)
        original = "-" if self.original_edits is None else f"{self.original_edits / max(self.chars, 1):.4f}"
        return (
            f"| {name} | {self.pages} | {self.true} | {p:.4f} | {r:.4f} | {f1:.4f} | "
            f"{self.all_in_order / max(self.pages, 1):.1%} | {self.found_in_order / max(self.pages, 1):.1%} | "
            f"{page_cer:.4f} | {cut_cer:.4f} | {page_cer / max(cut_cer, 1e-9):.3f} | {original} |"
        )


def score_page(tally: Tally, sample: PageSample, recognizer: Recognizer) -> None:
    """Add one page's detection, order and CER counts to ``tally``."""
    page = recognizer.read_page(sample.image)
    found = [line.box for line in page.lines]
    matched = match(found, sample.boxes)
    tally.pages += 1
    tally.found += len(found)
    tally.true += len(sample.boxes)
    tally.right += sum(m is not None for m in matched)
    order = [m for m in matched if m is not None]
    tally.found_in_order += order == sorted(order)
    tally.all_in_order += order == sorted(order) and len(order) == len(matched)
    scored = [j for j, t in enumerate(sample.texts) if t is not None]
    cut = recognizer.read_images([sample.cut_lines[j] for j in scored])
    for j, reading in zip(scored, cut, strict=True):
        truth = sample.texts[j] or ""
        i = matched[j]
        tally.page_edits += edit_distance(page.lines[i].text if i is not None else "", truth)
        tally.cut_edits += edit_distance(reading.text, truth)
        tally.chars += len(truth)
    if sample.original_lines is not None:
        originals = recognizer.read_images([sample.original_lines[j] for j in scored])
        edits = sum(edit_distance(r.text, sample.texts[j] or "") for j, r in zip(scored, originals, strict=True))
        tally.original_edits = (tally.original_edits or 0) + edits
    unmatched = set(range(len(found))) - set(order)
    tally.page_edits += sum(len(page.lines[i].text) for i in unmatched)


def time_pages(samples: list[PageSample], recognizer: Recognizer, repeats: int = 3) -> tuple[float, float, int]:
    """Seconds to read the pages with ``read_page`` and their cut lines with ``read`` (each the best of
    ``repeats``, summed over the pages), and how many pages."""
    page_s = cut_s = 0.0
    for sample in samples:
        recognizer.read_page(sample.image)  # warm: first-call allocations are not the page's cost
        best_page = best_cut = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            recognizer.read_page(sample.image)
            best_page = min(best_page, time.perf_counter() - start)
            start = time.perf_counter()
            recognizer.read_images(sample.cut_lines)
            best_cut = min(best_cut, time.perf_counter() - start)
        page_s, cut_s = page_s + best_page, cut_s + best_cut
    return page_s, cut_s, len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="english")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages per set (0: all)")
    parser.add_argument("--lm", action="store_true", help="also read with the model's default language model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", default="", help="a folder to write the first 3 pages of each set to (PNG)")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "iam_lines" / "labels.csv").is_file() or not (data / "iam_ondb" / "strokes.npz").is_file():
        print(f"skipped: real data not available ({data} has no iam_lines / iam_ondb)")
        return
    torch.set_num_threads(args.threads)
    sets = {
        "iam_lines val paragraphs": list(iam_lines_pages(data / "iam_lines")),
        "IAM-OnDB testset_t forms": list(ondb_pages(data / "iam_ondb")),
        "IAM-OnDB testset_t forms, photographed": list(ondb_pages(data / "iam_ondb", photographed=True)),
    }
    if args.limit:
        sets = {name: pages[: args.limit] for name, pages in sets.items()}
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        for name, pages in sets.items():
            for sample in pages[:3]:
                cv2.imwrite(str(Path(args.save) / f"{name.split()[0]}_{sample.name}.png"), sample.image)
    decoders = {"greedy": None, **({"default LM": "auto"} if args.lm else {})}
    print(f"model {args.model}, {torch.get_num_threads()} thread(s)\n")
    print("| pages | decoding | n | lines | P | R | F1 | all in order | found in order | page CER | cut CER | ratio "
          "| line images CER |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    recognizers = {label: Recognizer.load(args.model, lm=lm) for label, lm in decoders.items()}
    for name, pages in sets.items():
        for label, recognizer in recognizers.items():
            tally = Tally()
            for sample in pages:
                score_page(tally, sample, recognizer)
            print(tally.row(f"{name} | {label}"), flush=True)
    print()
    greedy = recognizers["greedy"]
    for name, pages in sets.items():
        ten = [s for s in pages if len(s.boxes) == 10][:5]
        if ten:
            page_s, cut_s, n = time_pages(ten, greedy)
            print(f"time, {name}, {n} pages of 10 lines (greedy): read_page {page_s / n * 1000:.0f} ms/page, "
                  f"read of the 10 cut lines {cut_s / n * 1000:.0f} ms, ratio {page_s / cut_s:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
