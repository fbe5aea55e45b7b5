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


def build_paper_augmentation(strength: float, seed: int = 0) -> PaperAugmentation | None:
    """The paper-like augmentation of ``strength`` in [0, 1] (see :class:`PaperAugmentation`); None when 0."""
    return PaperAugmentation(strength, seed) if strength > 0 else None


class PaperAugmentation:
    """Makes a clean image (rendered ink, a font, a scan) look like a scan or a phone photo of paper.

    Applied to the raw uint8 dark-on-light image, before the model's preprocessing (which, with
    ``Preprocessing.normalize``, must undo the framing, tilt and light again, as it does when reading):
    scale 0.6-2x, a margin of up to 60% of the height, rotation of a few degrees and perspective, ruled or
    underlined paper, pencil (thin, grey, broken strokes) or ink bleeding, paper texture with grey patches,
    uneven light and shadow, blur or defocus, JPEG, and light ink on a dark ground (inverted back as
    ``load_image`` does). Probabilities and ranges grow with ``strength``. Seeded by the ``rng`` of each call,
    so a sample is the same in any worker and on resume.
    """

    def __init__(self, strength: float, seed: int = 0) -> None:
        if not 0 < strength <= 1:
            raise ValueError(f"paper augmentation strength must be in (0, 1], got {strength}")
        s = self.strength = float(strength)
        self.geometry = A.Compose(
            [
                A.RandomScale(scale_limit=(-0.4, 1.0), interpolation=cv2.INTER_LINEAR, p=0.5 * s),
                A.Affine(rotate=(-4, 4), fit_output=True, border_mode=cv2.BORDER_CONSTANT, fill=255, p=0.5 * s),
                A.Perspective(
                    scale=(0.01, 0.04), fit_output=True, border_mode=cv2.BORDER_CONSTANT, fill=255, p=0.2 * s
                ),
            ],
            seed=seed,
        )
        self.camera = A.Compose(
            [
                A.OneOf(
                    [
                        A.GaussianBlur(blur_limit=(3, 5)),
                        A.Defocus(radius=(1, 2), alias_blur=(0.1, 0.3)),
                        A.MotionBlur(blur_limit=(3, 5)),
                    ],
                    p=0.3 * s,
                ),
                A.GaussNoise(std_range=(0.01, 0.05), p=0.3 * s),
                A.ImageCompression(quality_range=(25, 90), p=0.4 * s),
            ],
            seed=seed,
        )

    def __call__(self, gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One augmented copy of a uint8 (H, W) dark-on-light image (any size out, dark on light)."""
        s = self.strength
        self.geometry.set_random_seed(int(rng.integers(2**31)))
        self.camera.set_random_seed(int(rng.integers(2**31)))
        gray = self.geometry(image=gray)["image"]
        if rng.random() < 0.5 * s:
            gray = add_margin(gray, rng, float(rng.uniform(0.05, 0.6)))
        if rng.random() < 0.2 * s:
            gray = pencil(gray, rng)
        elif rng.random() < 0.15 * s:
            gray = cv2.erode(gray, np.ones((2, 2), np.uint8))  # ink bleeds: the paper around strokes darkens
            gray = cv2.GaussianBlur(gray, (3, 3), 0)
        if rng.random() < 0.25 * s:
            gray = rule_lines(gray, rng)
        if rng.random() < 0.6 * s:
            gray = uneven_paper(gray, rng)
        gray = self.camera(image=gray)["image"]
        if rng.random() < 0.15 * s:
            gray = 255 - gray  # light on dark: reading inverts it back (load_image), so training does too
        return 255 - gray if float(np.median(gray)) < 128 else gray


def add_margin(gray: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """Paper around the image: up to ``fraction`` of its height on each side, in the paper's own tone."""
    h = gray.shape[0]
    top, bottom, left, right = (int(rng.integers(0, max(1, round(fraction * h)) + 1)) for _ in range(4))
    paper = int(np.percentile(gray, 90))
    return cv2.copyMakeBorder(gray, top, bottom, left, right, cv2.BORDER_CONSTANT, value=paper)


def pencil(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pencil: strokes thinner (the paper dilated over them), grey instead of black, and broken in places."""
    thin = cv2.dilate(gray, np.ones((2, 2), np.uint8)) if rng.random() < 0.5 else gray
    ink = (255.0 - thin.astype(np.float32)) / 255.0
    level = rng.uniform(0.35, 0.75)  # how dark the graphite is at its darkest
    # Graphite skips over the paper's tooth: a grain of 0.3-1, and gaps (0.3) where it is lowest (about 1 in 5).
    grain = np.asarray(cv2.GaussianBlur(rng.uniform(0.3, 1.0, size=thin.shape).astype(np.float32), (3, 3), 0))
    return np.clip(255.0 - 255.0 * ink * level * np.where(grain < 0.6, 0.3, grain), 0, 255).astype(np.uint8)


def rule_lines(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ruled paper (lines every 0.6-1.2 heights) or one underline near the bottom, light grey, behind the ink."""
    h, w = gray.shape
    out = gray.copy()
    tone = int(rng.integers(120, 210))
    thickness = int(rng.integers(1, 3))
    if rng.random() < 0.5:
        rows = [int(rng.uniform(0.75, 0.95) * h)]
    else:
        gap = max(4.0, rng.uniform(0.6, 1.2) * h)
        rows = list(np.arange(rng.uniform(0, gap), h, gap).astype(int))
    tilt = rng.uniform(-0.01, 0.01) * w
    for y in rows:
        cv2.line(out, (0, int(y)), (w - 1, int(y + tilt)), tone, thickness)
    return np.minimum(out, gray)  # ink stays on top of the ruling


def uneven_paper(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper texture, grey patches and uneven light: the image times a smooth random field (0.45-1) plus grain."""
    h, w = gray.shape
    cells = rng.uniform(0, 1, size=(int(rng.integers(2, 5)), int(rng.integers(2, 9)))).astype(np.float32)
    field = cv2.resize(cells, (w, h), interpolation=cv2.INTER_CUBIC)
    darkest = rng.uniform(0.45, 0.9)
    light = darkest + (1 - darkest) * np.clip(field, 0, 1)
    if rng.random() < 0.4:  # a shadow's edge: one side darker
        ramp = np.linspace(0, 1, w, dtype=np.float32)[None] if rng.random() < 0.5 else np.linspace(0, 1, h)[:, None]
        light = light * (rng.uniform(0.55, 0.85) + rng.uniform(0.15, 0.45) * ramp.astype(np.float32))
    grain = rng.normal(0, rng.uniform(1, 6), size=(h, w)).astype(np.float32)
    return np.clip(gray.astype(np.float32) * light + grain, 0, 255).astype(np.uint8)
