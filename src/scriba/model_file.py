"""One self-describing model file: safetensors weights + JSON metadata in the safetensors header.

The metadata holds everything needed to rebuild and use the model: architecture name and arguments,
charset, preprocessing, ink style, plus the training config, data card and metrics for the record.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from scriba.atomic import atomic_target
from scriba.charset import Charset
from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle
from scriba.errors import ConfigError, ModelFileError, RemovedOptionError
from scriba.models import RecognitionModel, build_model
from scriba.removed import drop_removed

FORMAT = "scriba-model"
FORMAT_VERSION = 1
_KEY = "scriba"


@dataclass
class ModelFile:
    """A model and what it needs to read handwriting.

    Attributes:
        model: the network, in eval mode.
        architecture: registry name.
        charset: characters the model outputs.
        preprocessing: how images become inputs.
        ink_style: how ink is rendered for it.
        info: the rest of the metadata (training config, data card, metrics, ...).
    """

    model: RecognitionModel
    architecture: str
    charset: Charset
    preprocessing: Preprocessing
    ink_style: InkStyle = field(default_factory=InkStyle)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def model_args(self) -> dict[str, Any]:
        return dataclasses.asdict(self.model.args)


def model_metadata(model_file: ModelFile) -> dict[str, Any]:
    """The JSON metadata a model file carries (also written into ONNX exports)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model_file.architecture,
        "model_args": model_file.model_args,
        "num_classes": model_file.charset.num_classes,
        "charset": model_file.charset.to_dict(),
        "preprocessing": model_file.preprocessing.to_dict(),
        "ink_style": dataclasses.asdict(model_file.ink_style),
        "info": model_file.info,
    }


def save_model_file(path: str | Path, model_file: ModelFile) -> Path:
    """Write the model file atomically (temp file + rename: an interrupted save leaves the old file)."""
    path = Path(path)
    metadata = model_metadata(model_file)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model_file.model.state_dict().items()}
    with atomic_target(path) as tmp:
        save_file(tensors, str(tmp), metadata={_KEY: json.dumps(metadata, ensure_ascii=False, default=str)})
    return path


def set_preprocessing(path: str | Path, out: str | Path, changes: dict[str, Any]) -> ModelFile:
    """Write a copy of a model file whose preprocessing differs in ``changes`` (e.g. ``{"tall_height": 44}``),
    to tune how images are prepared for the same weights; the changes are recorded in its metadata
    (``info.preprocessing_changes``). ``height`` is fixed by the weights and cannot change. Changes under
    ``ink`` (e.g. ``{"ink": {"deskew": True}}``) go to the style ink is drawn in (``info.ink_style_changes``).

    Raises:
        ModelFileError: unreadable model file.
        ConfigError: an unknown field, ``height``, or an invalid value.
    """
    changes = dict(changes)
    ink = changes.pop("ink", {})
    if not isinstance(ink, dict):
        raise ConfigError("ink style changes are ink.FIELD=VALUE, e.g. ink.deskew=true")
    if "height" in changes:
        raise ConfigError("preprocessing height is fixed by the model's weights; retrain to change it")
    model_file = load_model_file(path)
    model_file.ink_style = _changed(model_file, model_file.ink_style, ink, "ink style", "ink_style_changes")
    model_file.preprocessing = _changed(
        model_file, model_file.preprocessing, changes, "preprocessing", "preprocessing_changes", hidden=("height",)
    )
    save_model_file(out, model_file)
    return model_file


_Settings = TypeVar("_Settings", Preprocessing, InkStyle)


def _changed(
    model_file: ModelFile,
    settings: _Settings,
    changes: dict[str, Any],
    what: str,
    info_key: str,
    hidden: tuple[str, ...] = (),
) -> _Settings:
    """``settings`` (a dataclass of the model file) with ``changes``, recorded in ``model_file.info[info_key]``.

    Raises:
        ConfigError: an unknown field (the message lists the fields, less ``hidden``), or an invalid value.
    """
    if not changes:
        return settings
    try:
        changed = dataclasses.replace(settings, **changes)
    except TypeError as err:
        known = ", ".join(f.name for f in dataclasses.fields(settings) if f.name not in hidden)
        raise ConfigError(f"unknown {what} field in {sorted(changes)}; fields: {known}") from err
    except ValueError as err:
        raise ConfigError(str(err)) from err
    model_file.info[info_key] = {**model_file.info.get(info_key, {}), **changes}
    return changed


def average_model_files(paths: list[str | Path], out: str | Path, weights: list[float] | None = None) -> ModelFile:
    """Write a model whose weights are the (weighted) mean of the weights of ``paths``: a "model soup"
    (Wortsman et al. 2022). It pays when the models were fine-tuned from one starting model, so that their
    weights lie in one basin; models trained apart average to noise. Batch-norm running statistics are
    averaged like the weights; integer buffers (batch counts) come from the first model. The first
    model's metadata is kept (its training recipe, data card), named after ``out``'s file name, with
    ``info.averaged_from`` listing the parts, their weights and their own metrics instead of one part's
    metrics and training history.

    Raises:
        ConfigError: fewer than two models, weights that do not match them or are not positive, or models
            that differ in architecture, its arguments, charset or preprocessing.
        ModelFileError: an unreadable model file.
    """
    if len(paths) < 2:
        raise ConfigError(f"averaging needs at least two models, got {len(paths)}")
    weights = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(weights) != len(paths) or min(weights) <= 0:
        raise ConfigError(f"need one positive weight per model ({len(paths)}), got {weights}")
    files = [load_model_file(p) for p in paths]
    first = files[0]
    for path, other in zip(paths[1:], files[1:], strict=True):
        differs = [
            name
            for name, a, b in (
                ("architecture", first.architecture, other.architecture),
                ("model arguments", first.model_args, other.model_args),
                ("charset", first.charset.to_dict(), other.charset.to_dict()),
                ("preprocessing", first.preprocessing.to_dict(), other.preprocessing.to_dict()),
            )
            if a != b
        ]
        if differs:
            raise ConfigError(f"cannot average {path} with {paths[0]}: {' and '.join(differs)} differ")
    total = sum(weights)
    states = [f.model.state_dict() for f in files]
    averaged = {
        key: (
            sum(w / total * state[key].double() for w, state in zip(weights, states, strict=True)).to(value.dtype)
            if value.is_floating_point()
            else value
        )
        for key, value in states[0].items()
    }
    first.model.load_state_dict(averaged)
    parts = [
        {"path": str(p), "name": f.info.get("name"), "weight": w, "metrics": f.info.get("metrics")}
        for p, f, w in zip(paths, files, weights, strict=True)
    ]
    # The parts' own scores and training curves stay with each part: they do not describe the mean.
    first.info = {key: value for key, value in first.info.items() if key not in ("metrics", "history")}
    first.info.update(name=Path(out).stem, averaged_from=parts)
    save_model_file(out, first)
    return first


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file, without loading the weights.

    Raises:
        ModelFileError: missing, truncated or not a scriba model file, or of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if size <= 0 or size > path.stat().st_size - 8:
                raise ModelFileError(f"{path} is truncated or not a safetensors file")
            header = json.loads(f.read(size))
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path} is not a valid model file: {err}") from err
    raw = (header.get("__metadata__") or {}).get(_KEY)
    if raw is None:
        raise ModelFileError(f"{path} is a safetensors file but not a scriba model (no scriba metadata)")
    try:
        metadata: dict[str, Any] = json.loads(raw)
    except ValueError as err:
        raise ModelFileError(f"{path}: its scriba metadata is not valid JSON: {err}") from err
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {metadata.get('format_version')!r}; "
            f"this scriba reads version {FORMAT_VERSION}"
        )
    return metadata


def _ink_style(path: Path, fields: dict[str, Any]) -> InkStyle:
    """The stored ink style; fields this version does not know (from a newer scriba) are ignored."""
    known = {f.name for f in dataclasses.fields(InkStyle)}
    try:
        return InkStyle(**{k: v for k, v in fields.items() if k in known})
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{path} has an invalid ink style: {err}") from err


def load_model_file(path: str | Path, device: str | torch.device = "cpu") -> ModelFile:
    """Rebuild the model from its file.

    Raises:
        ModelFileError: see :func:`read_metadata`, or the weights do not fit the architecture.
    """
    path = Path(path)
    metadata = read_metadata(path)
    try:
        tensors = load_file(path, device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(f"{path} is truncated or corrupt: {err}") from err
    model_file = model_file_from_metadata(metadata, path)
    try:
        model_file.model.load_state_dict(tensors)
    except RuntimeError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path} does not match its architecture: {first_line}") from err
    model_file.model.to(device).eval()
    return model_file


def model_file_from_metadata(metadata: dict[str, Any], path: Path) -> ModelFile:
    """A model file rebuilt from its metadata, the network freshly initialized (``path``: for messages).

    Raises:
        ModelFileError: the metadata does not describe a model.
    """
    try:
        # Files written before some experiments' options were removed hold them at their defaults: dropped here.
        args = metadata["model_args"]
        if metadata["architecture"] == "resnet_crnn":  # the removed model.args were resnet_crnn's
            args = drop_removed("model.args", args, path, "model_args")
        stored = drop_removed("preprocessing", metadata["preprocessing"], path, "preprocessing")
        ink_style = drop_removed("data.ink", metadata.get("ink_style", {}), path, "ink_style")
        charset = Charset.from_dict(metadata["charset"])
        preprocessing = Preprocessing.from_dict(stored)
        model = build_model(metadata["architecture"], charset.num_classes, preprocessing.height, args)
    except RemovedOptionError:
        raise
    except (KeyError, TypeError, AttributeError, ConfigError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path} does not match its architecture: {first_line}") from err
    return ModelFile(
        model=model.eval(),
        architecture=metadata["architecture"],
        charset=charset,
        preprocessing=preprocessing,
        ink_style=_ink_style(path, ink_style),
        info=metadata.get("info", {}),
    )
