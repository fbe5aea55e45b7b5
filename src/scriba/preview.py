"""A contact sheet of training samples exactly as the model will see them (styles, synthesis,
augmentation), each titled with its label, so a person can check at a glance that labels still match."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from scriba.config import Config
from scriba.data.dataset import HandwritingDataset, Sample
from scriba.data.ink import render_ink
from scriba.data.pen import features_to_ink
from scriba.plots import plot_sample_grid
from scriba.training_data import image_augmentation, prepare_data


def preview(config: Config, out: Path, count: int = 24, epoch: int = 0, seed: int = 0) -> Path:
    """Draw ``count`` random training samples of ``config`` (keys (index, ``epoch``)) into a PNG grid.

    Returns:
        The PNG's path.
    """
    with tempfile.TemporaryDirectory() as scratch:  # prepare_data writes its reports into a run folder
        data = prepare_data(config, Path(scratch))
    dataset = HandwritingDataset(data.train_sources, data.charset, image_augmentation(config), config.seed, data.frames)
    rng = np.random.default_rng(seed)
    indices = sorted(rng.choice(len(dataset), size=min(count, len(dataset)), replace=False).tolist())
    samples = [dataset[(int(i), epoch)] for i in indices]
    images = [_picture(s, config) for s in samples]
    labels = [s.text for s in samples]
    return plot_sample_grid(images, labels, [None] * len(samples), Path(out), columns=4, caption="label")


def _picture(sample: Sample, config: Config) -> np.ndarray:
    """A dark-on-light uint8 picture of a sample as the model sees it: an image model's input holds ink as 1.0
    on 0.0 paper; a pen model's points (with their random shear and stretch) are drawn as strokes."""
    if config.preprocessing.reads_pen:
        return render_ink(features_to_ink(sample.image[0].numpy(), config.preprocessing.pen_step))
    return (255 * (1 - sample.image[0].numpy())).astype(np.uint8)
