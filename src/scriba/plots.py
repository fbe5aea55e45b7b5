"""PNG plots for evaluation and training: sample grids, training curves, per-character F1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# Figures are built without pyplot: no global backend is chosen (a notebook keeps its inline
# backend) and no figure is left open; Figure.savefig renders with Agg by itself.
from matplotlib.figure import Figure


def plot_sample_grid(
    images: Sequence[np.ndarray],
    predictions: Sequence[str],
    truths: Sequence[str | None],
    path: Path,
    columns: int = 3,
    caption: str = "read",
) -> Path:
    """A grid of images titled ``caption: text`` (and the truth, red when the text differs from it)."""
    rows = max(1, (len(images) + columns - 1) // columns)
    fig = Figure(figsize=(4 * columns, 1.3 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, prediction, truth in zip(axes.flat, images, predictions, truths, strict=False):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        wrong = truth is not None and prediction != truth
        title = f"{caption}: {prediction}" + (f"\ntruth: {truth}" if truth is not None else "")
        ax.set_title(title, fontsize=8, color="tab:red" if wrong else "black")
    fig.tight_layout()
    return _save(fig, path)


def plot_training_curves(history: list[dict[str, float]], path: Path) -> Path:
    """Per-epoch training/validation loss and validation CER/WER/exact match (see ``training.read_history``)."""
    frame = pd.DataFrame(history)
    fig = Figure(figsize=(10, 3.5))
    left, right = fig.subplots(1, 2)
    for key in ("train/loss", "val/loss"):
        if key in frame:
            points = frame.dropna(subset=[key])
            left.plot(points["epoch"], points[key], "o-", ms=3, label=key)
    left.set_xlabel("epoch")
    left.set_ylabel("CTC loss")
    left.legend()
    for key in ("val/cer", "val/wer", "val/exact"):
        if key in frame:
            points = frame.dropna(subset=[key])
            right.plot(points["epoch"], points[key], "o-", ms=3, label=key)
    right.set_xlabel("epoch")
    right.set_ylim(0, 1)
    right.grid(alpha=0.3)
    right.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_char_f1(per_char: dict[str, dict[str, float | int]], path: Path) -> Path:
    """Bar chart of F1 per character that occurs in the truth, worst first."""
    items = sorted(((c, s) for c, s in per_char.items() if s["support"]), key=lambda cs: cs[1]["f1"])
    fig = Figure(figsize=(max(6, 0.18 * len(items)), 3))
    ax = fig.subplots()
    ax.bar(range(len(items)), [s["f1"] for _, s in items], color="tab:blue")
    ax.set_xticks(range(len(items)), [repr(c)[1:-1] or "␣" for c, _ in items], fontsize=7)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1)
    ax.set_title("per-character F1 (worst first)")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
