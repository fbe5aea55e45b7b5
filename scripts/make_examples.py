"""Render the examples shipped in examples/ (handwriting fonts from PyPI, OFL-licensed): English words and a
line for the `english` model, names on a form field in examples/names/ for the `names` model, a short
handwritten note in examples/pages/ for ``scriba read --page``, and pen trajectories of words in examples/ink/
for the models of ink (the Hershey script font, from the ``hershey-fonts`` package).

Usage: python scripts/make_examples.py [OUT_DIR]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from scriba.data.corpus import Corpus
from scriba.data.images import crop_to_ink
from scriba.data.inkio import write_ink_file
from scriba.data.synth import SyntheticGenerator, render_text

EXAMPLES = [
    ("hello.png", "hello", "caveat"),
    ("Morning.png", "Morning", "indie-flower"),
    ("letter.png", "letter", "caveat"),
    ("London.png", "London", "indie-flower"),
    ("quick.png", "quick", "indie-flower"),
    ("written.png", "written", "caveat"),
    ("line.png", "Read this line, please.", "indie-flower"),
]
# Names in capitals, written in a box of a printed form as on the Kaggle forms (fonts without joined script).
NAMES = [
    ("MARTIN.png", "MARTIN", "indie-flower"),
    ("JEAN-ROCH.png", "JEAN-ROCH", "kalam"),
    ("LEA.png", "LEA", "caveat"),
    ("DUPONT.png", "DUPONT", "shadows-into-light"),
]

# A note of four lines, written a little downhill (1.5 degrees), read with ``scriba read --page``.
PAGE = [
    "Dear Ann, thank you for the",
    "lovely flowers. They are still",
    "on my table and smell",
    "wonderful. See you soon!",
]

# Pen trajectories for the models of ink: words in the Hershey script font (single-stroke vector glyphs written
# letter by letter, left to right), not handwriting. Real handwritten ink (IAM-OnDB) may not be redistributed, so
# these check that a model reads ink files end to end; its accuracy on real pen words is measured on IAM-OnDB.
# The words are those every shipped model reads right (of 14 tried: 9 to 10 read right by each model); both file
# formats appear.
INK = [
    ("hello.json", "hello"),
    ("letter.inkml", "letter"),
    ("London.json", "London"),
    ("quick.inkml", "quick"),
    ("ink.json", "ink"),
    ("pen.inkml", "pen"),
    ("table.json", "table"),
]


def hershey_ink(text: str, font: str = "scripts", scale: float = 3.0) -> list[np.ndarray]:
    """``text`` in a Hershey font as ink: (K, 2) float32 strokes in pixel-like units (capitals ~60 high), y down."""
    from HersheyFonts import HersheyFonts

    hershey = HersheyFonts()
    hershey.load_default_font(font)
    hershey.render_options.scalex = hershey.render_options.scaley = scale  # Hershey's y grows downward, as ink's
    strokes = [np.asarray(stroke, np.float64) for stroke in hershey.strokes_for_text(text)]
    low = np.min([stroke.min(axis=0) for stroke in strokes], axis=0)
    return [np.round(stroke - low + 20, 1).astype(np.float32) for stroke in strokes]  # a margin, as on a canvas


def render_page(lines: list[str], font: str = "caveat", angle: float = -1.5) -> np.ndarray:
    """The lines written one under another on a page with wide margins, turned ``angle`` degrees: uint8 (H, W)."""
    rows = [render_text(text, font=font, size=48, seed=20 + k) for k, text in enumerate(lines)]
    width = max(r.shape[1] for r in rows) + 120
    page = np.full((sum(r.shape[0] - 12 for r in rows) + 160, width), 255, np.uint8)
    y = 70
    for k, row in enumerate(rows):
        x = 60 + 10 * (k % 2)
        region = (slice(y, y + row.shape[0]), slice(x, x + row.shape[1]))
        page[region] = np.minimum(page[region], row)
        y += row.shape[0] - 12  # lines close together, as people write them
    h, w = page.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(page, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def write_labels(path: Path, examples: list[tuple[str, str, str]]) -> None:
    """A path,text table (quoted where a text holds a comma)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["path", "text"])
        writer.writerows((name, text) for name, text, _ in examples)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "examples"
    out.mkdir(parents=True, exist_ok=True)
    for i, (name, text, font) in enumerate(EXAMPLES):
        # Framed like a word crop: the writing plus a margin of a tenth of its height.
        cv2.imwrite(str(out / name), crop_to_ink(render_text(text, font=font, size=56, seed=i), 0.1))
    write_labels(out / "labels.csv", EXAMPLES)
    names = out / "names"
    names.mkdir(exist_ok=True)
    for i, (name, text, font) in enumerate(NAMES):
        generator = SyntheticGenerator("names", Corpus.from_counts({text: 1}), seed=i, fonts=[font])
        image, _ = generator.sample(np.random.default_rng(100 + i))
        cv2.imwrite(str(names / name), image)
    write_labels(names / "labels.csv", NAMES)
    pages = out / "pages"
    pages.mkdir(exist_ok=True)
    cv2.imwrite(str(pages / "note.png"), render_page(PAGE))
    (pages / "note.txt").write_text("\n".join(PAGE) + "\n", encoding="utf-8")
    ink = out / "ink"
    ink.mkdir(exist_ok=True)
    for name, text in INK:
        write_ink_file(ink / name, hershey_ink(text))
    write_labels(ink / "labels.csv", [(name, text, "") for name, text in INK])
    print(f"wrote {len(EXAMPLES)} images to {out} and {len(NAMES)} names to {names}, each with labels.csv, "
          f"a note of {len(PAGE)} lines to {pages} and {len(INK)} ink words to {ink}")  # fmt: skip


if __name__ == "__main__":
    main()
