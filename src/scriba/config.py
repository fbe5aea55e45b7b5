"""Typed training configuration: YAML files plus ``--set a.b=c`` overrides, validated on load.

A relative path to data (a source, a corpus, a lexicon, unlabeled images) is taken from the working
directory when it exists there, else under ``data.root`` (default ``../shared/data``, or the ``SCRIBA_DATA``
environment variable); relative output paths are taken from the working directory.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from scriba.data.cleaning import CleaningOptions
from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle
from scriba.data.sources import SourceConfig
from scriba.errors import ConfigError, ScribaError
from scriba.removed import refuse_removed


@dataclass
class ModelConfig:
    """Architecture name (see ``scriba models``) and its arguments."""

    name: str = "resnet_crnn"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class SynthConfig:
    """Synthetic handwriting generated on the fly and mixed into training.

    Args:
        kind: ``names``, ``words`` or ``lines`` (see ``scriba synth``).
        ratio: synthetic samples per epoch, as a fraction of the real training samples (0: none).
        corpus: a text file or CSV with a ``text`` column to draw texts from (default: built-in).
        fonts: fontpkg font families to use (default: all installed that suit the kind).
    """

    kind: str = "words"
    ratio: float = 0.0
    corpus: str = ""
    fonts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in ("names", "words", "lines"):
            raise ConfigError(f"data.synth.kind must be names, words or lines, not {self.kind!r}")
        if self.ratio < 0:
            raise ConfigError("data.synth.ratio must be 0 or more")


@dataclass
class DataConfig:
    """Where training and validation data come from and how they are cleaned.

    Args:
        root: base folder for relative source paths.
        train: sources to train on.
        val: sources for model selection (early stopping, best checkpoints).
        charset: the characters to recognize; empty builds it from the training texts.
        cleaning: label cleaning options.
        ink: how pen trajectories are rendered (the clean style, also used for validation and reading).
        ink_styles: strength of the random ink style drawn for each training sample of an ink
            source, 0 (always ``ink``) to 1.
        synth: synthetic handwriting mixed into training.
        augment: train-time augmentation strength, 0 (off) to 1.
        paper: strength of the paper-like augmentation, 0 (off) to 1: every training image (drawn ink,
            synthetic text, scans) made to look like a scan or photo of paper before preprocessing
            (:class:`scriba.data.augment.PaperAugmentation`); meant with ``preprocessing.normalize``.
        prepared: a folder written by ``scriba prepare`` to read the data from instead of the sources (empty: off).
    """

    root: str = field(default_factory=lambda: os.environ.get("SCRIBA_DATA", "../shared/data"))
    train: list[SourceConfig] = field(default_factory=list)
    val: list[SourceConfig] = field(default_factory=list)
    charset: str = ""
    cleaning: CleaningOptions = field(default_factory=CleaningOptions)
    ink: InkStyle = field(default_factory=InkStyle)
    ink_styles: float = 0.0
    synth: SynthConfig = field(default_factory=SynthConfig)
    augment: float = 0.0
    paper: float = 0.0
    prepared: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.augment <= 1:
            raise ConfigError(f"data.augment must be between 0 and 1, got {self.augment}")
        if not 0 <= self.paper <= 1:
            raise ConfigError(f"data.paper must be between 0 and 1, got {self.paper}")
        if self.paper and self.prepared:
            raise ConfigError("data.paper augments images as loaded, which a prepared folder does not keep")
        if not 0 <= self.ink_styles <= 1:
            raise ConfigError(f"data.ink_styles must be between 0 and 1, got {self.ink_styles}")

    def locate(self, where: str) -> Path:
        """A path to data named in the config (a source, a corpus, a lexicon, unlabeled images): as given
        when it exists (absolute, or from the working directory, e.g. a run's pseudo-label table
        ``runs/<name>/pseudo_round1.csv``), else under ``root`` (e.g. ``names/labels.csv``)."""
        path = Path(where)
        return path if path.is_absolute() or path.exists() else Path(self.root) / path

    def resolve(self, source: SourceConfig) -> SourceConfig:
        """The source with its path found by :meth:`locate` (the same rule for every path to data)."""
        return dataclasses.replace(source, path=str(self.locate(source.path)))


@dataclass
class TrainingConfig:
    """The optimization loop.

    Args:
        batch_size: samples per step (per device).
        max_epochs: upper bound on epochs.
        max_minutes: end this session after this much wall-clock time (0: no limit), at the exact step:
            ``last.ckpt`` and the model file are written, and ``--resume`` goes on from that step with
            ``max_minutes`` again.
        lr: peak learning rate of AdamW.
        weight_decay: AdamW weight decay.
        schedule: ``onecycle`` (warm-up then cosine decay), ``cosine`` or ``constant``.
        grad_clip: gradient norm clipping (0: off).
        patience: early stopping after this many validations without a better val/cer.
        save_top_k: best checkpoints kept.
        select: which checkpoint becomes the model file: ``best`` by val/cer, or ``last`` (the end of the
            run; for a final run whose validation data is part of its training data, where val/cer only
            shows the fit and cannot select).
        val_every_epochs: validate every this many epochs.
        num_workers: data loader worker processes.
        precision: Lightning precision (``32``, ``bf16-mixed``, ``16-mixed``).
        accelerator: ``auto``, ``cpu`` or ``gpu``.
        devices: devices per node (DDP when > 1).
        num_nodes: nodes (multi-node DDP).
        strategy: Lightning strategy (``auto``, ``ddp``, ``ddp_spawn``).
        init_from: a model to fine-tune from, a file or a shipped model's name (``english``; see
            ``scriba models``); its charset grows with new characters.
        limit_train_batches: fraction or count of batches per epoch (1.0: all), for quick runs.
    """

    batch_size: int = 32
    max_epochs: int = 30
    max_minutes: float = 0.0
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    grad_clip: float = 5.0
    patience: int = 8
    save_top_k: int = 2
    select: Literal["best", "last"] = "best"
    val_every_epochs: int = 1
    num_workers: int = 0
    precision: str = "32"
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    init_from: str = ""
    limit_train_batches: float = 1.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_epochs < 1 or self.lr <= 0:
            raise ConfigError("training.batch_size, max_epochs and lr must be positive")
        if self.max_minutes < 0:
            raise ConfigError(f"training.max_minutes must be 0 (no limit) or positive, not {self.max_minutes}")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ConfigError(f"training.schedule must be onecycle, cosine or constant, not {self.schedule!r}")

    def init_model(self) -> Path | None:
        """The model file ``init_from`` names (a path, or a shipped model's name); None when it is empty.

        Raises:
            ModelFileError: neither an existing file nor a shipped model's name.
        """
        if not self.init_from:
            return None
        from scriba.shipped import resolve  # light: no torch

        return resolve(self.init_from, ".safetensors", "model")


@dataclass
class SelfTrainingConfig:
    """Self-training on unlabeled images (``scriba self-train``): pseudo-label, retrain, repeat.

    Args:
        unlabeled: a folder of images, or a table with a ``path`` column (relative paths: under ``data.root``).
        threshold: keep a pseudo-label when the model's confidence (geometric mean of its characters'
            probabilities) is at least this.
        rounds: at most this many pseudo-label + retrain rounds.
        min_gain: keep a round and go on when it lowers the validation CER by at least this (absolute:
            0.001 = 0.1 points; negative keeps every round).
        limit: pseudo-label at most this many images (0: all), for quick experiments.
        lexicon: a text file or CSV with a ``text`` column (relative paths: under ``data.root``); when set,
            only readings found in it become pseudo-labels (a dictionary check on top of the confidence).
        tta: read the unlabeled images with test-time augmentation (9 variants: ~9x the reading time).
        lexicon_decoding: read the unlabeled images with lexicon decoding over ``lexicon`` (the nearest
            entry by CTC likelihood, so pseudo-labels also cover images greedy decoding misreads by a
            letter or two) instead of keeping only greedy readings found in it.
        min_margin: with ``lexicon_decoding``: keep a pseudo-label only when its CTC log-likelihood is at
            most this much below the greedy reading's (0: the image supports it as well as greedy's reading).
        student_init: a model file each round's student starts from (e.g. the pretrained model the first
            teacher was fine-tuned from), trained afresh on the labeled data plus the pseudo-labels; empty:
            each round fine-tunes the previous round's model. The teacher that pseudo-labels is always the
            best model so far.
    """

    unlabeled: str = ""
    threshold: float = 0.9
    rounds: int = 3
    min_gain: float = 0.001
    limit: int = 0
    lexicon: str = ""
    tta: bool = False
    lexicon_decoding: bool = False
    min_margin: float = -5.0
    student_init: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ConfigError(f"self_training.threshold must be between 0 and 1, got {self.threshold}")
        if self.lexicon_decoding and not self.lexicon:
            raise ConfigError("self_training.lexicon_decoding needs self_training.lexicon")
        if self.min_margin > 0:
            raise ConfigError(f"self_training.min_margin must be 0 or less, got {self.min_margin}")
        if self.rounds < 1:
            raise ConfigError("self_training.rounds must be 1 or more")


@dataclass
class Config:
    """A whole training recipe.

    Args:
        name: the run's name (folder under ``output_dir``).
        output_dir: where runs are written.
        model_out: where the final model file goes (default ``<run>/model.safetensors``).
        seed: seeds Python, numpy and torch.
    """

    name: str = "run"
    output_dir: str = "runs"
    model_out: str = ""
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)

    def __post_init__(self) -> None:
        from scriba.models import model_args, model_reads  # the models import torch: only when a config is built

        if self.model.name:
            model_args(self.model.name, self.model.args)  # a recipe with wrong arguments fails on loading
        if self.model.name and model_reads(self.model.name) != self.preprocessing.input:
            raise ConfigError(
                f"model {self.model.name!r} reads {model_reads(self.model.name)} input but "
                f"preprocessing.input is {self.preprocessing.input!r}: set them to match"
            )
        if self.preprocessing.reads_pen:
            unused = [
                key
                for key, used in (
                    ("data.synth.ratio", self.data.synth.ratio > 0),
                    ("data.ink_styles", self.data.ink_styles > 0),
                    ("data.paper", self.data.paper > 0),
                    ("data.prepared", bool(self.data.prepared)),
                )
                if used
            ]
            if unused:
                raise ConfigError(
                    f"{', '.join(unused)} make images, which a model of pen trajectories does not read; "
                    "for it data.augment is the strength of its random shear and stretch"
                )

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: Any, data: Any, where: str) -> Any:
    """Recursively build dataclass ``cls`` from plain data, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    refuse_removed(where, unknown)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in {where or 'config'}: {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        )
    values = {key: _convert(hints[key], value, f"{where}.{key}".lstrip(".")) for key, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid {where or 'config'}: {err}") from err


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        return tuple(value) if isinstance(value, list | tuple) else value
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where} must be one of {typing.get_args(hint)}, not {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        return value
    if hint in (int, float) and isinstance(value, str):
        # YAML 1.1 reads "3e-4" as a string; accept numbers written that way.
        try:
            value = hint(value)
        except ValueError as err:
            raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}") from err
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is str and value is not None and not isinstance(value, str):
        return str(value)
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}")
    if hint in (int, float, bool) and not isinstance(value, hint):
        raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}")
    return value


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``a.b.c=value`` override in place; the value is parsed as YAML (numbers, lists, ...)."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.path=value")
    key, raw = override.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    node: Any = data
    parts = key.strip().split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):  # data.train.0.limit=100 indexes into a list of sources
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"override {override!r}: {part} is not an index of a {len(node)}-item list")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"override {override!r}: {parts[i - 1]} is not a section")


def config_from_dict(data: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """Build and validate a :class:`Config` from plain data and overrides."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping of sections, got {type(data).__name__}")
    data = copy.deepcopy(data)  # overrides must not write into the caller's nested dicts
    for override in overrides or []:
        apply_override(data, override)
    try:
        return typing.cast(Config, _build(Config, data, ""))
    except ScribaError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML recipe and apply ``key=value`` overrides.

    Raises:
        ConfigError: missing file, bad YAML, unknown keys or invalid values.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from err
    return config_from_dict(data, overrides)


def save_config(config: Config, path: Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
