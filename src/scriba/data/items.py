"""Where training samples come from: fixed images, ink drawn in a new random style each time, or
synthetic handwriting generated on the fly.

Every source answers ``len``, ``width(i)`` (an estimate, for batching similar widths) and
``load(i, rng) -> (uint8 (height, W) preprocessed image, text)`` (or, for pen models, float32
(PEN_FEATURES, T) point features). ``rng`` is seeded per (epoch, item)
by the dataset, so a sample is reproducible whatever worker process draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle, render_ink, sample_ink_style
from scriba.data.records import Ink

if TYPE_CHECKING:  # the generator pulls in fonts and corpora: only load them when used
    from scriba.data.augment import PaperAugmentation
    from scriba.data.synth import SyntheticGenerator


class ItemSource(Protocol):
    def __len__(self) -> int: ...

    def width(self, index: int) -> int: ...

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]: ...


class ImageItems:
    """Preprocessed images held in memory with their labels."""

    def __init__(self, images: Sequence[np.ndarray], texts: Sequence[str]) -> None:
        if len(images) != len(texts):
            raise ValueError("images and texts differ in length")
        self.images = list(images)
        self.texts = list(texts)

    def __len__(self) -> int:
        return len(self.images)

    def width(self, index: int) -> int:
        return int(self.images[index].shape[1])

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        return self.images[index], self.texts[index]


def _on_paper(gray: np.ndarray, paper: PaperAugmentation | None, rng: np.random.Generator) -> np.ndarray:
    """``gray`` made to look like a scan or photo (``data.paper``), or as it is."""
    return gray if paper is None else paper(gray, rng)


class RawImageItems:
    """Images held as loaded (uint8 dark-on-light, not yet preprocessed) with their labels, made to look like
    other scans and photos (``data.paper``) and preprocessed at every load.

    Args:
        images: the loaded images.
        texts: their labels.
        widths: their preprocessed widths (the batching estimate).
        preprocessing: the model's input preprocessing.
        paper: the paper-like augmentation.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        texts: Sequence[str],
        widths: Sequence[int],
        preprocessing: Preprocessing,
        paper: PaperAugmentation | None,
    ) -> None:
        if not len(images) == len(texts) == len(widths):
            raise ValueError("images, texts and widths differ in length")
        self.images, self.texts, self.widths = list(images), list(texts), list(widths)
        self.preprocessing, self.paper = preprocessing, paper

    def __len__(self) -> int:
        return len(self.images)

    def width(self, index: int) -> int:
        return self.widths[index]

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        return self.preprocessing.apply(_on_paper(self.images[index], self.paper, rng)), self.texts[index]


class _InkItems:
    """Pen trajectories with their labels and the widths batching estimates them by."""

    def __init__(self, inks: Sequence[Ink], texts: Sequence[str], widths: Sequence[int]) -> None:
        self.inks, self.texts, self.widths = list(inks), list(texts), list(widths)

    def __len__(self) -> int:
        return len(self.inks)

    def width(self, index: int) -> int:
        return self.widths[index]


class StyledInkItems(_InkItems):
    """Pen trajectories drawn in a new random :class:`InkStyle` at every load.

    Args:
        inks: the strokes of each sample.
        texts: their labels.
        widths: widths of their clean renderings (the batching estimate).
        preprocessing: the model's input preprocessing.
        base: the clean style the random ones vary around (the model file's style).
        strength: how far styles vary, 0 (always ``base``) to 1.
        paper: the paper-like augmentation of the drawn ink (``data.paper``; None: off).
    """

    def __init__(
        self,
        inks: Sequence[Ink],
        texts: Sequence[str],
        widths: Sequence[int],
        preprocessing: Preprocessing,
        base: InkStyle,
        strength: float,
        paper: PaperAugmentation | None = None,
    ) -> None:
        super().__init__(inks, texts, widths)
        self.preprocessing, self.base, self.strength = preprocessing, base, strength
        self.paper = paper

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        style = sample_ink_style(rng, self.strength, self.base)
        drawn = _on_paper(render_ink(self.inks[index], style, rng), self.paper, rng)
        return self.preprocessing.apply(drawn), self.texts[index]


class PenItems(_InkItems):
    """Pen trajectories as point features for models of pen trajectories, randomly sheared and stretched
    at every load.

    Args:
        inks: the strokes of each sample.
        texts: their labels.
        widths: points of their undistorted features (the batching estimate).
        preprocessing: the model's input preprocessing (``input: pen``).
        augment: strength of the random distortion, 0 (off) to 1.
    """

    def __init__(
        self,
        inks: Sequence[Ink],
        texts: Sequence[str],
        widths: Sequence[int],
        preprocessing: Preprocessing,
        augment: float,
    ) -> None:
        super().__init__(inks, texts, widths)
        self.preprocessing, self.augment = preprocessing, augment

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        return self.preprocessing.point_features(self.inks[index], rng, self.augment), self.texts[index]


class SyntheticItems:
    """``count`` samples per epoch from a :class:`SyntheticGenerator` (new ones every epoch).

    Args:
        generator: draws (image, text).
        count: samples per epoch.
        preprocessing: the model's input preprocessing.
        width_estimate: typical preprocessed width, for batching (the real width is known only after drawing).
        paper: the paper-like augmentation of the drawn text (``data.paper``; None: off).
    """

    def __init__(
        self,
        generator: SyntheticGenerator,
        count: int,
        preprocessing: Preprocessing,
        width_estimate: int,
        paper: PaperAugmentation | None = None,
    ) -> None:
        self.generator, self.count, self.preprocessing = generator, count, preprocessing
        self.width_estimate, self.paper = width_estimate, paper

    def __len__(self) -> int:
        return self.count

    def width(self, index: int) -> int:
        return self.width_estimate

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        image, text = self.generator.sample(rng)
        return self.preprocessing.apply(_on_paper(image, self.paper, rng)), text
