"""Synthetic handwriting datasets for tests: words rendered with the installed handwriting fonts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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


def write_line_table(folder: Path, count: int, seed: int = 0, words: int = 3) -> Path:
    """Like :func:`write_word_table`, with short lines of ``words`` words of :data:`WORDS` each."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path,text"]
    rng = np.random.default_rng(seed)
    for i in range(count):
        text = " ".join(WORDS[int(k)] for k in rng.integers(0, len(WORDS), words))
        name = f"line_{seed}_{i:03d}.png"
        cv2.imwrite(str(folder / name), render_text(text, font="caveat", size=32, seed=seed * 1000 + i))
        rows.append(f"{name},{text}")
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


def _letter_stroke(char: str, x0: float) -> np.ndarray:
    """One stroke per character, its shape (waves, height, slope) set by the character."""
    code = ord(char)
    t = np.linspace(0, 1, 12 + code % 7)
    x = x0 + 24 * t
    y = 60 - (14 + 6 * (code % 4)) * np.sin(np.pi * t * (1 + code % 3)) + (code % 5 - 2) * 4 * t
    return np.stack([x, y], axis=1)


def write_ink_words(root: Path, count: int, split: str = "trainset", seed: int = 0) -> Path:
    """An IAM-OnDB-style folder (strokes.npz, lines.csv, words.csv) of ``count`` one-word "lines" from
    :data:`WORDS`, each character one stroke; read it with ``kind: iam_ondb_lines`` and ``split``."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    points, offsets, ids, rows = [], [0], [], ["line_id,form_id,split,flag,text,raw_text"]
    for i in range(count):
        word = WORDS[(i + seed) % len(WORDS)]
        line_id = f"s{seed:02d}-{i:03d}u-01"
        scale = rng.uniform(0.7, 1.4)
        strokes = [_letter_stroke(c, 32 * k) * scale for k, c in enumerate(word)]
        for stroke in strokes:
            pen = np.zeros((len(stroke), 1))
            pen[-1] = 1  # pen up after the stroke's last point
            points.append(np.concatenate([stroke.round(), pen], axis=1))
        offsets.append(offsets[-1] + sum(len(s) for s in strokes))
        ids.append(line_id)
        rows.append(f"{line_id},{line_id[:-3]},{split},ok,{word},{word}")
    np.savez(
        root / "strokes.npz",
        points=np.concatenate(points).astype(np.int32),
        line_offsets=np.array(offsets, np.int64),
        line_ids=np.array(ids),
    )
    (root / "lines.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "words.csv").write_text("line_id,word_index,x_min,x_max,text,split\n", encoding="utf-8")
    return root


def pen_overrides(train_dir: Path, val_dir: Path, output_dir: Path, name: str = "tiny_pen") -> list[str]:
    """``--set`` overrides that make configs/tiny.yaml train a small ``pen_rnn`` on :func:`write_ink_words` folders."""
    return [
        f"data.train=[{{path: '{train_dir}', kind: iam_ondb_lines, split: trainset}}]",
        f"data.val=[{{path: '{val_dir}', kind: iam_ondb_lines, split: testset_v}}]",
        "model.name=pen_rnn",
        "model.args={channels: [16, 24], strides: [2, 2], hidden: 24, layers: 1, dropout: 0.0}",
        "preprocessing={input: pen, height: 6}",
        "data.augment=0.5",
        f"output_dir={output_dir}",
        f"name={name}",
    ]
