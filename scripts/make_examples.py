"""Render the example images shipped in examples/ (handwriting fonts from PyPI, OFL-licensed): English
words and a line for the `english` model, and names on a form field in examples/names/ for the `names` model.

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
    print(f"wrote {len(EXAMPLES)} images to {out} and {len(NAMES)} names to {names}, each with labels.csv")


if __name__ == "__main__":
    main()
