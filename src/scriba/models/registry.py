"""Model registry: ``register_model`` / ``build_model`` / ``list_models``.

Every architecture takes ``(num_classes, input_height, args)`` where ``args`` is its own typed
dataclass, and its ``forward(images (N,1,H,W), widths (N,))`` returns
``(log_probs (T,N,C), output_lengths (N,))``: the layout ``F.ctc_loss`` takes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scriba.errors import ConfigError
from scriba.removed import refuse_removed, refuse_removed_architecture


class RecognitionModel(nn.Module):
    """Base of every architecture: images in, per-frame log-probabilities out."""

    args: Any

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        """Number of output frames for images of these widths (N,) -> (N,)."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


@dataclass
class _Entry:
    cls: type[RecognitionModel]
    args_cls: type
    description: str
    default_height: int
    reads: str


_REGISTRY: dict[str, _Entry] = {}
READS = ("image", "pen")


def register_model(
    name: str, args_cls: type, description: str, default_height: int = 32, reads: str = "image"
) -> Callable[[type[RecognitionModel]], type[RecognitionModel]]:
    """Class decorator adding an architecture under ``name`` with its argument dataclass, usual input height
    and what it reads: ``image`` (pixels) or ``pen`` (point features of pen trajectories, see
    :mod:`scriba.data.pen`; the "height" is then the number of features per point)."""

    def wrap(cls: type[RecognitionModel]) -> type[RecognitionModel]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        if reads not in READS:
            raise ValueError(f"model {name!r} reads {reads!r}; choose one of {', '.join(READS)}")
        _REGISTRY[name] = _Entry(cls, args_cls, description, default_height, reads)
        return cls

    return wrap


def list_models() -> list[str]:
    """Names of all registered architectures, sorted."""
    return sorted(_REGISTRY)


def describe_model(name: str) -> str:
    return _entry(name).description


def default_height(name: str) -> int:
    """The input height the architecture was designed for."""
    return _entry(name).default_height


def model_reads(name: str) -> str:
    """What the architecture reads: ``image`` or ``pen``."""
    return _entry(name).reads


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        refuse_removed_architecture(name)
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[name]


def model_args(name: str, args: dict[str, Any] | None = None) -> Any:
    """Typed arguments of ``name`` from a plain dict (as found in configs and model files).

    Raises:
        ConfigError: unknown model or argument, or an invalid value.
    """
    entry = _entry(name)
    args = dict(args or {})
    known = {f.name for f in dataclasses.fields(entry.args_cls)}
    unknown = sorted(set(args) - known)
    if unknown:
        if name == "resnet_crnn":
            refuse_removed("model.args", unknown)
        raise ConfigError(
            f"model {name!r} has no argument(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))}"
        )
    for key, value in args.items():
        if isinstance(value, list):
            args[key] = tuple(value)
    try:
        return entry.args_cls(**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid arguments for model {name!r}: {err}") from err


def build_model(name: str, num_classes: int, input_height: int, args: dict[str, Any] | None = None) -> RecognitionModel:
    """Instantiate a registered architecture.

    Raises:
        ConfigError: unknown model, bad arguments, or an input height it cannot take.
    """
    entry = _entry(name)
    try:
        return entry.cls(num_classes, input_height, model_args(name, args))
    except ValueError as err:
        raise ConfigError(f"cannot build {name!r}: {err}") from err


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
