"""Training with Lightning: CTC loss, AdamW + schedule, early stopping on val/cer, checkpoints, resume.

``fit(config)`` reads and cleans the data, builds (or fine-tunes) the model, trains, and writes one
model file. Run folder: ``<output_dir>/<name>/`` with ``config.yaml``, ``cleaning_*.json``,
``checkpoints/`` (best-k by val/cer + last, for resume), ``csv/`` and ``tensorboard/`` logs.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from scriba.charset import Charset
from scriba.checkpoints import FitResult, export_last, export_run
from scriba.config import Config, save_config
from scriba.data.dataset import Batch, HandwritingDataset, WidthBucketSampler, collate
from scriba.data.items import ImageItems
from scriba.decoding import greedy_decode, tidy_text
from scriba.errors import ConfigError, ScribaError
from scriba.metrics import edit_distance
from scriba.model_file import load_model_file
from scriba.models import RecognitionModel, build_model
from scriba.training_data import PreparedData, image_augmentation, prepare_data

log = logging.getLogger(__name__)


class _LastCheckpoint(L.Callback):
    """Writes ``last.ckpt`` after every training epoch and at the exact step of an interruption
    (Ctrl-C, a crash), so ``--resume`` loses nothing.

    Written here rather than with Lightning's ``save_last``/``OnExceptionCheckpoint``: those rename
    ``last.ckpt`` across resumed sessions and delete the exception checkpoint at teardown, while one
    fixed path is what resuming needs.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        trainer.save_checkpoint(self.path)


class _TimeUp(Exception):
    """Raised by :class:`_TimeLimit` to end a session at the current step (caught in :func:`fit`)."""


class _TimeLimit(L.Callback):
    """Ends a session after ``minutes`` of its own wall-clock time, at the exact step, as an interruption:
    ``last.ckpt`` is written there (by :class:`_LastCheckpoint`) and ``--resume`` goes on with the rest of
    that epoch, and then has ``minutes`` again.

    Written here rather than with Lightning's ``Trainer(max_time=)``: its stop ends the epoch in progress
    (validates it and counts it as done), so a resumed run skipped the rest of that epoch's batches; and it
    stores the time spent in the checkpoint, so a resumed run stopped at once unless the limit was raised.
    """

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60
        self.start = time.monotonic()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        # One decision for all ranks (rank 0's clock), so DDP processes stop at the same step.
        if trainer.strategy.broadcast(time.monotonic() - self.start >= self.seconds):
            raise _TimeUp


class TrainingInterrupted(ScribaError):
    """Training stopped early (Ctrl-C); the last checkpoint holds the state to resume from."""


class RecognizerModule(L.LightningModule):
    """CTC training of a :class:`RecognitionModel`; validation decodes greedily and logs val/cer, val/wer, val/exact."""

    def __init__(self, model: RecognitionModel, charset: Charset, config: Config) -> None:
        super().__init__()
        self.model = model
        self.charset = charset
        self.config = config
        self._val_counts = torch.zeros(6, dtype=torch.float64)

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(images, widths)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The charset travels with every checkpoint so a run can be exported without re-reading its data.
        checkpoint["scriba_charset"] = self.charset.to_dict()

    def _loss(self, batch: Batch) -> torch.Tensor:
        log_probs, output_lengths = self.model(batch.images, batch.widths)
        # CTC in float32 even under mixed precision; zero_infinity guards against an impossible alignment
        # slipping through (cleaning already drops labels longer than their image allows).
        return F.ctc_loss(
            log_probs.float(), batch.targets, output_lengths, batch.target_lengths, blank=0, zero_infinity=True
        )

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch))
        return loss

    def on_validation_epoch_start(self) -> None:
        # char errors, chars, word errors, words, exact matches, samples: summed, then all-reduced under DDP.
        self._val_counts = torch.zeros(6, dtype=torch.float64)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        log_probs, output_lengths = self.model(batch.images, batch.widths)
        loss = F.ctc_loss(log_probs.float(), batch.targets, output_lengths, batch.target_lengths, zero_infinity=True)
        self.log("val/loss", loss, batch_size=len(batch), sync_dist=True)
        predictions = [tidy_text(self.charset.decode(d.ids)) for d in greedy_decode(log_probs, output_lengths)]
        for p, t in zip(predictions, batch.texts, strict=True):
            self._val_counts += torch.tensor(
                [edit_distance(p, t), len(t), edit_distance(p.split(), t.split()), len(t.split()), p == t, 1],
                dtype=torch.float64,
            )

    def on_validation_epoch_end(self) -> None:
        counts = self._val_counts.to(self.device)
        if self.trainer.world_size > 1:
            counts = torch.as_tensor(self.all_gather(counts)).sum(0)
        char_errors, chars, word_errors, words, exact, n = counts.tolist()
        self.log_dict(
            {
                "val/cer": char_errors / max(chars, 1),
                "val/wer": word_errors / max(words, 1),
                "val/exact": exact / max(n, 1),
            },
            prog_bar=True,
        )

    def configure_optimizers(self) -> Any:
        t = self.config.training
        optimizer = torch.optim.AdamW(self.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        if t.schedule == "constant":
            return optimizer
        total = max(1, int(self.trainer.estimated_stepping_batches))
        if t.schedule == "onecycle":
            scheduler: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=t.lr, total_steps=total, pct_start=min(0.3, 1000 / total + 0.02)
            )
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class RecognitionData(L.LightningDataModule):
    """Loaders over prepared data; training batches group similar widths and are split across DDP ranks."""

    def __init__(self, data: PreparedData, config: Config) -> None:
        super().__init__()
        self.data = data
        self.config = config

    def train_dataloader(self) -> DataLoader[Any]:
        t = self.config.training
        dataset = HandwritingDataset(
            self.data.train_sources,
            self.data.charset,
            image_augmentation(self.config),
            self.config.seed,
            self.data.frames,
        )
        sampler = WidthBucketSampler(
            dataset.widths,
            t.batch_size,
            shuffle=True,
            seed=self.config.seed,
            rank=self._trainer().global_rank,
            world_size=self._trainer().world_size,
        )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=t.num_workers,
            persistent_workers=t.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader[Any]:
        dataset = HandwritingDataset([ImageItems(self.data.val_images, self.data.val_texts)], self.data.charset)
        sampler = WidthBucketSampler(
            dataset.widths,
            2 * self.config.training.batch_size,
            shuffle=False,
            rank=self._trainer().global_rank,
            world_size=self._trainer().world_size,
        )
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)

    def _trainer(self) -> L.Trainer:
        if self.trainer is None:
            raise RuntimeError("the data module is used outside a Trainer")
        return self.trainer

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        return Batch(
            batch.images.to(device),
            batch.widths.to(device),
            batch.targets.to(device),
            batch.target_lengths.to(device),
            batch.texts,
        )


def build_or_finetune(config: Config, charset: Charset) -> RecognitionModel:
    """A fresh model, or the ``training.init_from`` model with its classifier fitted to ``charset``.

    The classifier rows (and any other per-class tensor) are carried over character by character: a
    character the old model knew keeps its weights whatever its new id (an extended charset, or another
    one such as capitals only for names); a new character starts from its initial value.
    """
    model = build_model(config.model.name, charset.num_classes, config.preprocessing.height, config.model.args)
    start = config.training.init_model()
    if start is None:
        return model
    base = load_model_file(start)
    _note_other_preprocessing(config, base.preprocessing.to_dict(), start)
    state = base.model.state_dict()
    own = model.state_dict()
    # Per-class tensors are the ones whose shape follows the class count: ask a model with one more class.
    probe = build_model(config.model.name, charset.num_classes + 1, config.preprocessing.height, config.model.args)
    per_class = {key for key, value in probe.state_dict().items() if value.shape != own[key].shape}
    old_ids = [0] + [base.charset.encode(c)[0] if c in base.charset else -1 for c in charset.characters]
    carried = sum(i >= 0 for i in old_ids) - 1
    if carried < len(charset):
        log.info("fine-tuning: %d of %d characters are new to the model", len(charset) - carried, len(charset))
    for key, value in state.items():
        if key in per_class and own[key].shape[1:] == value.shape[1:]:
            for new_id, old_id in enumerate(old_ids):
                if 0 <= old_id < value.shape[0]:
                    own[key][new_id] = value[old_id]
        elif key in own and own[key].shape == value.shape:
            own[key] = value
        else:
            log.warning(
                "fine-tuning: %s does not fit (%s vs %s); left at its initial value", key, value.shape, own.get(key)
            )
    model.load_state_dict(own)
    return model


def _note_other_preprocessing(config: Config, base: dict[str, Any], start: Path) -> None:
    """Warn when the recipe prepares images otherwise than the model it fine-tunes was trained to read
    (copy its ``preprocessing``, see its model card): its weights expect their own input; a change made on
    purpose (a taller input, say) is said so too."""
    own = config.preprocessing.to_dict()
    changed = [f"{key} {base.get(key)!r} -> {value!r}" for key, value in own.items() if base.get(key) != value]
    if changed:
        log.warning("fine-tuning %s with other preprocessing than it was trained with: %s", start, ", ".join(changed))


def _share_cores(config: Config) -> None:
    """On the CPU, leave one core per loader worker: torch threads competing with workers for the same
    cores made a step 30x slower on a 2-core machine (benchmarks/bench_loading.py)."""
    workers = config.training.num_workers
    if workers and config.training.accelerator in ("cpu", "auto") and not torch.cuda.is_available():
        threads = max(1, (os.cpu_count() or 1) - workers)
        if torch.get_num_threads() > threads:
            log.info("using %d torch thread(s) beside %d loader worker(s)", threads, workers)
            torch.set_num_threads(threads)


def fit(config: Config, resume: bool = False, extra_callbacks: list[L.Callback] | None = None) -> FitResult:
    """Train per ``config`` and write the model file.

    An interruption (Ctrl-C, an exception) writes ``last.ckpt`` at the current step first; run again
    with ``resume=True`` to continue from there. ``training.max_minutes`` ends a session the same way
    (at the exact step), and the model file is still written from the best checkpoint so far.

    Args:
        config: the recipe.
        resume: continue from ``<run>/checkpoints/last.ckpt`` (after an interruption).
        extra_callbacks: more Lightning callbacks (progress hooks, custom logging).

    Returns:
        Where the model file went and its best validation CER.
    """
    L.seed_everything(config.seed, workers=True)
    _share_cores(config)
    run_dir = config.run_dir
    last = run_dir / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise FileNotFoundError(f"nothing to resume: {last} does not exist")
    if not resume and any((run_dir / "checkpoints").glob("*.ckpt")):
        # A fresh run would mix its checkpoints with the old ones: say so instead of guessing.
        raise ConfigError(f"{run_dir} already holds a run: continue it with --resume, or choose another name")
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")

    data = prepare_data(config, run_dir)
    model = build_or_finetune(config, data.charset)
    module = RecognizerModule(model, data.charset, config)
    t = config.training

    checkpoint_dir = run_dir / "checkpoints"
    # Lightning writes checkpoints through an fsspec transaction (temp file, then move), so an
    # interrupted save never leaves a half-written checkpoint.
    best = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="best-{epoch:03d}",
        monitor="val/cer",
        mode="min",
        save_top_k=t.save_top_k,
        auto_insert_metric_name=False,
    )
    callbacks: list[L.Callback] = [
        best,
        _LastCheckpoint(last),
        EarlyStopping(monitor="val/cer", mode="min", patience=t.patience),
        LearningRateMonitor(logging_interval="epoch"),
        *([_TimeLimit(t.max_minutes)] if t.max_minutes else []),
        *(extra_callbacks or []),
    ]
    trainer = L.Trainer(
        default_root_dir=run_dir,
        max_epochs=t.max_epochs,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,  # type: ignore[arg-type]
        gradient_clip_val=t.grad_clip or None,
        check_val_every_n_epoch=t.val_every_epochs,
        limit_train_batches=t.limit_train_batches,
        callbacks=callbacks,
        # A new log version per session: a resumed run appends instead of overwriting the history.
        logger=[CSVLogger(run_dir, name="csv"), TensorBoardLogger(run_dir, name="tensorboard")],
        # Several loss points per epoch even on tiny data, at most one per 10 steps on real data.
        log_every_n_steps=max(1, min(10, data.train_size // t.batch_size // 4)),
        use_distributed_sampler=False,  # WidthBucketSampler splits batches across ranks itself
        deterministic=False,
        enable_model_summary=True,
    )
    handler = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, datamodule=RecognitionData(data, config), ckpt_path=str(last) if resume else None)
    except _TimeUp:
        log.info(
            "time limit (training.max_minutes=%g) reached at epoch %d, step %d; %s holds that state: "
            "continue with --resume",
            t.max_minutes,
            trainer.current_epoch,
            trainer.global_step,
            last,
        )
    except SystemExit as err:
        # Lightning turns Ctrl-C into sys.exit(1) after _LastCheckpoint saved last.ckpt.
        if not trainer.interrupted:
            raise
        raise TrainingInterrupted(
            f"training interrupted at epoch {trainer.current_epoch}, step {trainer.global_step}; "
            f"{last} holds that state: continue with --resume"
        ) from err
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores Ctrl-C from the interruption on
    if trainer.global_rank != 0:
        return FitResult(Path(), math.nan, run_dir)
    if t.select == "last":
        return export_last(config)
    best_score = float(best.best_model_score) if best.best_model_score is not None else math.nan
    return export_run(
        config, Path(best.best_model_path or last), best_score, trainer.current_epoch, trainer.global_step
    )
