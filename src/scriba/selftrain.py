"""Self-training: pseudo-label unlabeled images with the model, retrain on them, repeat while it helps.

Each round reads every unlabeled image with the current model, keeps the readings whose confidence is at
least ``self_training.threshold`` as pseudo-labels (a ``path,text,confidence,pseudo`` table in the run
folder, so every training record stays traceable to a model's guess), and fine-tunes the current model on
the configured training data plus those pseudo-labels (or, with ``self_training.student_init``, trains a
fresh student from that model: the noisy-student variant). A round is kept when it lowers the validation CER
by at least ``min_gain``; the first round that does not ends the loop. Rounds are ordinary training runs
(``<name>_round<k>``), so an interrupted round resumes from its last checkpoint and a finished one is
not trained again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scriba.atomic import atomic_copy, atomic_write_bytes
from scriba.config import Config
from scriba.data.corpus import read_corpus
from scriba.data.sources import SourceConfig
from scriba.decoding import LexiconDecoder
from scriba.errors import ConfigError, DataFormatError, ImageError
from scriba.evaluate import evaluate
from scriba.recognizer import Recognizer
from scriba.training import fit
from scriba.training_data import validation_records

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class PseudoLabels:
    """One round's pseudo-labels: where they are and how many images gave one."""

    path: Path
    read: int
    kept: int
    unreadable: int
    threshold: float
    not_in_lexicon: int = 0
    tta: bool = False
    lexicon_decoding: bool = False
    min_margin: float | None = None


@dataclass
class RoundResult:
    round: int
    model_path: Path
    val_cer: float
    pseudo: PseudoLabels
    kept: bool


@dataclass
class SelfTrainResult:
    model_path: Path
    start_val_cer: float
    best_val_cer: float
    rounds: list[RoundResult]


def unlabeled_images(config: Config) -> list[Path]:
    """The images of ``self_training.unlabeled``: a folder (sorted) or a table with a ``path`` column.

    Raises:
        ConfigError: not set. DataFormatError: missing, or no image in it.
    """
    where = config.self_training.unlabeled
    if not where:
        raise ConfigError("self_training.unlabeled is not set: name a folder of images or a table of paths")
    path = config.data.locate(where)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file():
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "path" not in table.columns:
            raise DataFormatError(f"{path}: a table of unlabeled images needs a path column")
        images = [path.parent / p for p in table["path"]]
    else:
        raise DataFormatError(f"unlabeled images not found: {path}")
    if not images:
        raise DataFormatError(f"no images in {path}")
    limit = config.self_training.limit
    return images[:limit] if limit else images


def pseudo_label(
    recognizer: Recognizer,
    images: list[Path],
    threshold: float,
    out: Path,
    batch_size: int = 64,
    lexicon: set[str] | None = None,
    min_margin: float = -5.0,
) -> PseudoLabels:
    """Read ``images`` and write those read with confidence >= ``threshold`` to the table ``out``.

    Unreadable images are skipped and counted; an empty reading is never kept; with a ``lexicon``, a
    reading must also be one of its entries. When ``recognizer`` decodes with a lexicon, a reading must
    be an entry of it whose ``lexicon_margin`` is at least ``min_margin``; the table then also records
    what greedy decoding read (column ``greedy``).
    """
    decoding = recognizer.lexicon is not None
    rows: list[dict[str, object]] = []
    unreadable = not_in_lexicon = 0
    for start in range(0, len(images), 512):
        chunk, prepared = [], []
        for path in images[start : start + 512]:
            try:
                prepared.append(recognizer.prepare(path))
                chunk.append(path)
            except ImageError as err:
                unreadable += 1
                log.warning("pseudo-labels: %s", err)
        for path, reading in zip(chunk, recognizer.read_prepared(prepared, batch_size), strict=True):
            if not reading.text.strip() or reading.confidence < threshold:
                continue
            if decoding and (not reading.in_lexicon or (reading.lexicon_margin or 0.0) < min_margin):
                not_in_lexicon += 1
                continue
            if lexicon is not None and reading.text not in lexicon:
                not_in_lexicon += 1
                continue
            row = {"path": str(path.resolve()), "text": reading.text, "confidence": reading.confidence}
            if decoding:
                row["greedy"] = reading.greedy_text
            rows.append(row)
    table = pd.DataFrame(rows, columns=["path", "text", "confidence", *(["greedy"] if decoding else [])])
    table["confidence"] = table["confidence"].round(4)
    table["pseudo"] = 1
    atomic_write_bytes(out, table.to_csv(index=False).encode("utf-8"))
    result = PseudoLabels(
        out,
        len(images) - unreadable,
        len(table),
        unreadable,
        threshold,
        not_in_lexicon,
        recognizer.tta is not None,
        decoding,
        min_margin if decoding else None,
    )
    counts = {k: v for k, v in dataclasses.asdict(result).items() if k != "path"}
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(counts).encode("utf-8"))
    return result


def _pseudo_labeler(model: str | Path, tta: bool, lexicon_file: Path | None) -> Recognizer:
    """The recognizer that pseudo-labels: greedy (or TTA), and with lexicon decoding a hard constraint whose
    readings ``min_margin`` then filters, as the shipped self-training rounds were run (an LM, or a lexicon
    with an out-of-vocabulary penalty, would change which readings become labels)."""
    recognizer = Recognizer.load(model, tta=tta, lm=None)
    if lexicon_file is not None:
        recognizer.lexicon = LexiconDecoder.read(lexicon_file, recognizer.charset, oov_penalty=None)
    return recognizer


def _earlier_pseudo_labels(table: Path) -> PseudoLabels | None:
    """The pseudo-labels a finished round wrote (table + counts), or None."""
    counts = table.with_suffix(".json")
    if not (table.is_file() and counts.is_file()):
        return None
    return PseudoLabels(table, **json.loads(counts.read_text(encoding="utf-8")))


def validation_cer(config: Config, model: Path) -> float:
    """CER of ``model`` on the config's validation sources, cleaned as training cleans them."""
    records, cleaning = validation_records(config)
    return evaluate(Recognizer.load(model, lm=None), records, unknown_labels="score", cleaning=cleaning).cer


def _from_working_directory(path: Path) -> str:
    """``path`` relative to the working directory when it lies under it, else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(absolute)


def round_config(config: Config, k: int, start: Path, pseudo: Path) -> Config:
    """The training recipe of round ``k``: the config's data plus the pseudo-labels, from model ``start``
    (or from ``self_training.student_init`` when that is set)."""
    name = f"{config.name}_round{k}"
    # Relative to the working directory when the run folder is under it (data.locate finds it there first, and
    # the path recorded in the model file says nothing of this machine), else absolute: a relative path that
    # is not found from the working directory is read under data.root.
    table = SourceConfig(_from_working_directory(pseudo), kind="table")
    data = dataclasses.replace(config.data, train=[*config.data.train, table])
    training = dataclasses.replace(config.training, init_from=config.self_training.student_init or str(start))
    return dataclasses.replace(
        config,
        name=name,
        seed=config.seed + k,
        model_out=str(Path(config.output_dir) / name / "model.safetensors"),
        data=data,
        training=training,
    )


def self_train(config: Config) -> SelfTrainResult:
    """Run the self-training rounds of ``config`` (see the module doc) and write the best model.

    The best model goes to ``model_out`` (default ``<output_dir>/<name>/model.safetensors``), with a
    ``self_training.json`` summary of the rounds beside the pseudo-label tables in ``<output_dir>/<name>``.

    Raises:
        ConfigError: no ``training.init_from`` (the model that makes the first pseudo-labels) or no
            ``self_training.unlabeled``.
    """
    current = config.training.init_model()
    if current is None:
        raise ConfigError("self-training needs training.init_from: the model that writes the first pseudo-labels")
    settings = config.self_training
    home = config.run_dir
    home.mkdir(parents=True, exist_ok=True)
    images = unlabeled_images(config)
    lexicon_file = config.data.locate(settings.lexicon) if settings.lexicon else None
    # With lexicon decoding every kept reading is an entry already (the decoder checks): no second check.
    lexicon = set(read_corpus(lexicon_file).texts) if lexicon_file and not settings.lexicon_decoding else None
    start_cer = best_cer = validation_cer(config, current)
    log.info("self-training from %s: val CER %.4f, %d unlabeled images", current, start_cer, len(images))
    rounds: list[RoundResult] = []
    for k in range(1, settings.rounds + 1):
        table = home / f"pseudo_round{k}.csv"
        recipe = round_config(config, k, current, table)
        done = Path(recipe.model_out)
        earlier = _earlier_pseudo_labels(table) if done.is_file() else None
        pseudo = earlier or pseudo_label(
            _pseudo_labeler(current, settings.tta, lexicon_file if settings.lexicon_decoding else None),
            images,
            settings.threshold,
            table,
            lexicon=lexicon,
            min_margin=settings.min_margin,
        )
        log.info(
            "round %d: %d of %d images pseudo-labeled (confidence >= %.2f)",
            k,
            pseudo.kept,
            pseudo.read,
            settings.threshold,
        )
        if not pseudo.kept:
            log.warning("round %d: no reading reached the threshold; stopping", k)
            break
        if done.is_file():  # finished in an earlier session
            model_path, cer = done, validation_cer(config, done)
        else:
            last = recipe.run_dir / "checkpoints" / "last.ckpt"
            if recipe.run_dir.exists() and not last.is_file():
                shutil.rmtree(recipe.run_dir)  # stopped before its first checkpoint: nothing to resume
            result = fit(recipe, resume=last.is_file())
            model_path, cer = result.model_path, validation_cer(config, result.model_path)
        better = best_cer - cer >= settings.min_gain
        rounds.append(RoundResult(k, model_path, cer, pseudo, better))
        log.info("round %d: val CER %.4f (best so far %.4f)%s", k, cer, best_cer, "" if better else "; stopping")
        if not better:
            break
        current, best_cer = model_path, cer
    out = Path(config.model_out) if config.model_out else home / "model.safetensors"
    if current.resolve() != out.resolve():
        atomic_copy(current, out)
    summary = {
        "start_model": config.training.init_from,
        "student_init": settings.student_init or None,
        "start_val_cer": start_cer,
        "best_val_cer": best_cer,
        "model": str(out),
        "rounds": [
            {
                "round": r.round,
                "model": str(r.model_path),
                "val_cer": r.val_cer,
                "kept": r.kept,
                "pseudo_labels": str(r.pseudo.path),
                "images_read": r.pseudo.read,
                "pseudo_labeled": r.pseudo.kept,
                "unreadable": r.pseudo.unreadable,
                "threshold": r.pseudo.threshold,
                "not_in_lexicon": r.pseudo.not_in_lexicon,
                "tta": r.pseudo.tta,
                "lexicon_decoding": r.pseudo.lexicon_decoding,
                "min_margin": r.pseudo.min_margin,
            }
            for r in rounds
        ],
    }
    atomic_write_bytes(home / "self_training.json", json.dumps(summary, indent=2).encode("utf-8"))
    return SelfTrainResult(out, start_cer, best_cer, rounds)


__all__ = ["PseudoLabels", "SelfTrainResult", "pseudo_label", "round_config", "self_train", "unlabeled_images"]
