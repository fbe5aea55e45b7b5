"""How a model decodes by default, and the beam search a reader asks for.

A model file may record the language model it reads best with and the weights tuned for it on validation
data (``info["decoding"]``, written by ``scriba lm tune --out``); a reader takes them unless told otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from scriba.charset import Charset
from scriba.decoding.beam import BeamSearch
from scriba.errors import ConfigError, ModelFileError
from scriba.lm.ngram import NgramLM, load_lm

log = logging.getLogger(__name__)

AUTO = "auto"
LmChoice = str | Path | NgramLM | None | Literal["auto"]


@dataclass(frozen=True)
class DecodingSettings:
    """A model's decoding defaults.

    Attributes:
        lm: the language model's name or path (None: greedy decoding).
        lm_weight: weight of the LM's log-probability against the image's.
        insertion_bonus: added per character.
        beam: hypotheses kept per frame.
        min_log_prob: characters less likely than this in a frame are not tried there.
        confidence_power: with the LM, character confidences are raised to this power (fitted with the weights).
        tuned_on: where the weights were chosen (free text, for the record).
    """

    lm: str | None = None
    lm_weight: float = 0.5
    insertion_bonus: float = 1.0
    beam: int = 16
    min_log_prob: float = -5.0
    confidence_power: float = 1.0
    tuned_on: str = ""

    def __post_init__(self) -> None:
        if self.beam < 1 or self.lm_weight < 0:
            raise ConfigError(f"decoding needs beam >= 1 and lm_weight >= 0, got {self.beam} and {self.lm_weight}")

    @classmethod
    def of_model(cls, info: dict[str, Any]) -> DecodingSettings:
        """The settings a model file's metadata records (defaults where it records none)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (info.get("decoding") or {}).items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_beam_search(
    charset: Charset,
    settings: DecodingSettings,
    lm: LmChoice = AUTO,
    lm_weight: float | None = None,
    insertion_bonus: float | None = None,
    beam: int | None = None,
) -> BeamSearch | None:
    """The beam search to read with, or None for greedy decoding.

    Args:
        charset: the model's characters.
        settings: the model's defaults (:meth:`DecodingSettings.of_model`).
        lm: ``auto`` (the model's own LM, if it names one and it is installed; else greedy), None (no LM:
            greedy, or a plain CTC beam search if ``beam`` is given), a name, a path or a loaded model.
        lm_weight / insertion_bonus / beam: override the model's defaults.

    Raises:
        ModelFileError: a named or given LM that cannot be found or read.
        ConfigError: a negative weight or a beam below 1.
    """
    model: NgramLM | None
    if isinstance(lm, NgramLM):
        model = lm
    elif isinstance(lm, str) and lm == AUTO:
        model = None
        if settings.lm:
            try:
                model = load_lm(settings.lm)
            except ModelFileError as err:
                log.warning("reading without the model's language model (%s): %s", settings.lm, err)
    elif lm is None:
        model = None
    else:
        model = load_lm(lm)
    if model is None and beam is None:
        return None
    weight = settings.lm_weight if lm_weight is None else lm_weight
    # The default bonus offsets the LM's cost per character; without an LM nothing needs offsetting.
    bonus = (settings.insertion_bonus if model is not None else 0.0) if insertion_bonus is None else insertion_bonus
    width = settings.beam if beam is None else beam
    if width < 1 or weight < 0:
        raise ConfigError(f"decoding needs a beam of 1 or more and an LM weight of 0 or more, got {width} and {weight}")
    power = settings.confidence_power if model is not None else 1.0
    return BeamSearch(charset, model, weight, bonus, width, settings.min_log_prob, power)


__all__ = ["AUTO", "DecodingSettings", "LmChoice", "make_beam_search"]
