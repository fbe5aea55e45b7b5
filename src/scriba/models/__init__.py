"""Recognition architectures behind one registry."""

from scriba.models import crnn as _crnn  # noqa: F401  (registers the architectures)
from scriba.models import pen as _pen  # noqa: F401
from scriba.models.registry import (
    RecognitionModel,
    build_model,
    count_parameters,
    default_height,
    describe_model,
    list_models,
    model_args,
    model_reads,
    register_model,
)

__all__ = [
    "RecognitionModel",
    "build_model",
    "count_parameters",
    "default_height",
    "describe_model",
    "list_models",
    "model_args",
    "model_reads",
    "register_model",
]
