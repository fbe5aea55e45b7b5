"""Train-time augmentation (albumentations) on preprocessed uint8 dark-on-light images."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np


def build_augmentation(strength: float, seed: int = 0) -> A.Compose | None:
    """A pipeline whose probabilities and ranges grow with ``strength`` in [0, 1]; None when 0.

    Geometry keeps the image size (the height is the model's), and everything fills with paper (255).
    """
    if strength <= 0:
        return None
    s = float(strength)
    return A.Compose(
        [
            A.Affine(
                scale=(1 - 0.15 * s, 1 + 0.05 * s),
                rotate=(-3 * s, 3 * s),
                shear={"x": (-20 * s, 20 * s), "y": (0, 0)},
                translate_percent={"x": (0, 0), "y": (-0.05 * s, 0.05 * s)},
                border_mode=cv2.BORDER_CONSTANT,
                fill=255,
                p=0.8 * s,
            ),
            A.OneOf(
                [
                    A.Morphological(scale=(2, 2), operation="erosion"),  # erosion of paper = thicker ink
                    A.Morphological(scale=(2, 2), operation="dilation"),
                ],
                p=0.3 * s,
            ),
            A.GaussianBlur(blur_limit=(3, 3), p=0.3 * s),
            A.RandomBrightnessContrast(brightness_limit=0.2 * s, contrast_limit=0.3 * s, p=0.5 * s),
            A.GaussNoise(std_range=(0.01, 0.06 * s + 0.01), p=0.3 * s),
        ],
        seed=seed,
    )


def augment_image(pipeline: A.Compose | None, image: np.ndarray) -> np.ndarray:
    """Apply ``pipeline`` to one (H, W) uint8 image; identity when None."""
    return image if pipeline is None else pipeline(image=image)["image"]
