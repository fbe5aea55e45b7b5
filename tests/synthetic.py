"""Synthetic handwriting datasets for tests: words rendered with the installed handwriting fonts."""

from __future__ import annotations

from pathlib import Path

import cv2

from scriba.data.synth import render_text

WORDS = ["cat", "dog", "sun", "tea", "code", "read", "note", "hand", "pen", "ink", "word", "line"]


def write_word_table(folder: Path, count: int, seed: int = 0, extra_rows: list[str] | None = None) -> Path:
    """Render ``count`` word images into ``folder`` and write ``folder/labels.csv`` (path,text)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path,text"]
    fonts = ["caveat", "indie-flower"]
    for i in range(count):
        word = WORDS[(i + seed) % len(WORDS)]
        name = f"img_{seed}_{i:03d}.png"
        cv2.imwrite(str(folder / name), render_text(word, font=fonts[i % 2], size=32, seed=seed * 1000 + i))
        rows.append(f"{name},{word}")
    rows += extra_rows or []
    path = folder / "labels.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def tiny_overrides(train_csv: Path, val_csv: Path, output_dir: Path, name: str = "tiny", epochs: int = 2) -> list[str]:
    """``--set`` overrides that point configs/tiny.yaml at synthetic tables."""
    return [
        f"data.train=[{{path: '{train_csv}', kind: table}}]",
        f"data.val=[{{path: '{val_csv}', kind: table}}]",
        f"output_dir={output_dir}",
        f"name={name}",
        f"training.max_epochs={epochs}",
    ]
