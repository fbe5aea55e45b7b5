"""The one record type every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Ink is a list of strokes; each stroke is a (K, 2) float array of x, y points, y growing downward.
Ink = list[np.ndarray]


@dataclass
class Record:
    """One handwriting sample as a reader found it.

    Exactly one of ``image`` and ``ink`` is set. ``text`` is None when the source has no label
    (cleaning reports and drops such records for training).

    Attributes:
        image: path to an image file, or a grayscale/RGB array.
        ink: pen trajectories, rendered to an image by the dataset.
        text: the transcription.
        meta: reader-specific facts (id, split, writer, ...), kept for reports.
    """

    text: str | None
    image: Path | np.ndarray | None = None
    ink: Ink | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short human-readable identifier for reports."""
        if "id" in self.meta:
            return str(self.meta["id"])
        if isinstance(self.image, Path):
            return self.image.name
        return "<array>" if self.image is not None else "<ink>"
