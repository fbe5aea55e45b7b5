"""Options removed with the unshipped experiments that used them, and how old recipes and model files meet them.

Model files carry every option of the scriba that wrote them: the shipped ones, written before the removal, hold
these at their defaults (``"column_pool": false``), which read exactly as without them, so loading drops them.
Any other value changed what the model reads: such a file, and any recipe that names a removed option at all,
is refused with a :class:`~scriba.errors.RemovedOptionError` naming it. The experiments' results are in the
experiment log; git history has their code.
"""

from __future__ import annotations

from typing import Any

from scriba.errors import RemovedOptionError

# Section (as recipes spell it) -> removed option -> the default that model files written before carry.
REMOVED_OPTIONS: dict[str, dict[str, Any]] = {
    "model.args": {"column_pool": False, "shortcut": 0.0, "rows": 0},  # of resnet_crnn
    "preprocessing": {"pen_air": 0.0, "pen_context": 0, "pen_context_cell": 0.25},
    "data": {"ink_drift": 0.0},
    "data.ink": {"local_aspect": 0.0, "local_slant": 0.0, "local_size": 0.0},  # a model file's ink_style
}
REMOVED_ARCHITECTURES = ("pen_transformer",)
_WHY = "removed from scriba with the unshipped experiment that used it (its result is in the experiment log)"


def refuse_removed(section: str, keys: Any) -> None:
    """Raise :class:`RemovedOptionError` for the first of ``keys`` that is a removed option of ``section``."""
    for key in keys:
        if key in REMOVED_OPTIONS.get(section, {}):
            raise RemovedOptionError(f"{section}.{key}", f"{section}.{key} was {_WHY}; drop it from the recipe")


def refuse_removed_architecture(name: str) -> None:
    """Raise :class:`RemovedOptionError` when ``name`` is a removed architecture."""
    if name in REMOVED_ARCHITECTURES:
        raise RemovedOptionError("model.name", f"model {name!r} was {_WHY}")


def drop_removed(section: str, fields: dict[str, Any], path: object, key_in_file: str) -> dict[str, Any]:
    """A model file's ``fields`` of ``section`` (stored under ``key_in_file``) without the removed options it
    holds at their defaults.

    Raises:
        RemovedOptionError: one holds another value (the model needs the removed code to read as trained).
    """
    removed = REMOVED_OPTIONS[section]
    for key, value in fields.items():
        if key in removed and value != removed[key]:
            raise RemovedOptionError(
                f"{section}.{key}",
                f"{path} sets {key_in_file}.{key} = {value!r}, an option {_WHY}; this scriba cannot read that model",
            )
    return {key: value for key, value in fields.items() if key not in removed}
