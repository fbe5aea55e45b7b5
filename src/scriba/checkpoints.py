"""From a run's checkpoints and logs to a model file: ``export_run``, ``export_best``, ``export_last``,
``read_history``."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from scriba.charset import Charset
from scriba.config import Config
from scriba.model_file import ModelFile, save_model_file
from scriba.models import build_model
from scriba.plots import plot_training_curves

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    model_path: Path
    best_val_cer: float
    run_dir: Path


def read_history(csv_dir: Path) -> list[dict[str, float]]:
    """Per-epoch means of every logged metric from Lightning's CSV logs (``csv/version_*/metrics.csv``).

    A resumed run logs into a new version; for an epoch logged twice (interrupted, then redone) the
    later session wins. Empty when there are no logs.
    """
    frames = []
    for path in sorted(Path(csv_dir).glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1])):
        frame = pd.read_csv(path)
        if "epoch" in frame and len(frame):
            frames.append(frame)
    if not frames:
        return []
    history: dict[int, dict[str, float]] = {}
    for frame in frames:
        columns = [c for c in frame.columns if c.startswith(("train/", "val/"))]
        for epoch, row in frame.groupby("epoch")[columns].mean().iterrows():
            history[int(epoch)] = {"epoch": int(epoch), **{k: float(v) for k, v in row.items() if pd.notna(v)}}
    return [history[e] for e in sorted(history)]


def portable_paths(value: Any, root: str | Path) -> Any:
    """``value`` (a recipe or data card, as plain data) with each absolute path made portable, for a model
    file's metadata: relative to the data root ``root`` when under it (as recipes name data), else relative to
    the working directory when under it (as recipes name a run's files, e.g. a pseudo-label table), else the
    file name alone. A model file must not record where one machine kept its files."""
    if isinstance(value, dict):  # a charset is text, whatever character it starts with
        return {k: v if k == "charset" else portable_paths(v, root) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable_paths(v, root) for v in value]
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value:
        return value
    path = Path(value)
    for base in (Path(root), Path.cwd()):
        for candidate, against in ((path, Path(base).absolute()), (path.resolve(), Path(base).resolve())):
            try:  # as written, then with symbolic links followed on both sides
                return candidate.relative_to(against).as_posix()
            except ValueError:
                continue
    return path.name


def export_run(config: Config, checkpoint: Path, best_score: float, epochs: int, steps: int) -> FitResult:
    """Write the model file of a run from one of its checkpoints, with history, curves and data card."""
    run_dir = config.run_dir
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    charset = Charset.from_dict(state["scriba_charset"])
    model = build_model(config.model.name, charset.num_classes, config.preprocessing.height, config.model.args)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state["state_dict"].items()})
    history = read_history(run_dir / "csv")
    if history:
        plot_training_curves(history, run_dir / "curves.png")
    card_path = run_dir / "data_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    info = {
        "name": config.name,
        "training_config": portable_paths(config.to_dict(), config.data.root),
        "data": portable_paths(card, config.data.root),
        "metrics": {"val/cer": best_score, "epochs": epochs, "steps": steps, "checkpoint": checkpoint.name},
        "history": history,
    }
    model_path = Path(config.model_out) if config.model_out else run_dir / "model.safetensors"
    save_model_file(
        model_path, ModelFile(model.eval(), config.model.name, charset, config.preprocessing, config.data.ink, info)
    )
    log.info("model written to %s (val/cer %.4f, from %s)", model_path, best_score, checkpoint.name)
    return FitResult(model_path, best_score, run_dir)


def export_last(config: Config) -> FitResult:
    """The model file of a run from its last checkpoint (``training.select: last``), scored by the last
    validation CER in its logs.

    Raises:
        FileNotFoundError: the run has no ``last.ckpt``.
    """
    last = config.run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        raise FileNotFoundError(f"no last checkpoint: {last}")
    state = torch.load(last, map_location="cpu", weights_only=False)
    scores = [
        row["val/cer"] for row in read_history(config.run_dir / "csv") if not math.isnan(row.get("val/cer", math.nan))
    ]
    return export_run(
        config, last, scores[-1] if scores else math.nan, int(state.get("epoch", 0)), int(state.get("global_step", 0))
    )


def export_best(config: Config) -> FitResult:
    """The model file of an existing run from its best checkpoint (e.g. after an interrupted run), or from
    its last with ``training.select: last``.

    Raises:
        FileNotFoundError: the run has no checkpoints.
    """
    folder = config.run_dir / "checkpoints"
    checkpoints = sorted(folder.glob("*.ckpt")) if folder.is_dir() else []
    if not checkpoints:
        raise FileNotFoundError(f"no checkpoints in {folder}")
    if config.training.select == "last":
        return export_last(config)
    scored = []
    for path in checkpoints:
        state = torch.load(path, map_location="cpu", weights_only=False)
        for callback_state in state.get("callbacks", {}).values():
            if "best_model_score" in callback_state and callback_state["best_model_score"] is not None:
                scored.append(
                    (float(callback_state["best_model_score"]), Path(callback_state["best_model_path"]), state)
                )
    if scored:
        score, best_path, state = min(scored, key=lambda item: item[0])
        best_path = best_path if best_path.is_file() else folder / best_path.name
    else:
        score, best_path, state = (
            math.nan,
            folder / "last.ckpt",
            torch.load(folder / "last.ckpt", map_location="cpu", weights_only=False),
        )
    return export_run(config, best_path, score, int(state.get("epoch", 0)), int(state.get("global_step", 0)))
