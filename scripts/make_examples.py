"""Render the example word images shipped in examples/ (handwriting fonts from PyPI, OFL-licensed).

Usage: python scripts/make_examples.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from scriba.data.images import crop_to_ink
from scriba.data.synth import render_text

EXAMPLES = [
    ("hello.png", "hello", "caveat"),
    ("Morning.png", "Morning", "indie-flower"),
    ("letter.png", "letter", "caveat"),
    ("London.png", "London", "indie-flower"),
    ("quick.png", "quick", "indie-flower"),
    ("written.png", "written", "caveat"),
]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "examples"
    out.mkdir(parents=True, exist_ok=True)
    lines = ["path,text"]
    for i, (name, text, font) in enumerate(EXAMPLES):
        # Framed like a word crop: the writing plus a margin of a tenth of its height.
        cv2.imwrite(str(out / name), crop_to_ink(render_text(text, font=font, size=56, seed=i), 0.1))
        lines.append(f"{name},{text}")
    (out / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(EXAMPLES)} images and labels.csv to {out}")


if __name__ == "__main__":
    main()
