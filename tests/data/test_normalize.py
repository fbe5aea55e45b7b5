"""Input normalization (scriba.data.normalize): even light, crop, a line turned level, slant, nothing to read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scriba.data.glyphs import render_text
from scriba.data.images import Preprocessing, load_image
from scriba.data.normalize import (
    crop_box,
    crop_with_margin,
    even_light,
    has_writing,
    line_angle,
    normalize_image,
    rotate,
    shear,
    slant,
)

LINE = "read this line of writing"


@pytest.fixture(scope="module")
def line() -> np.ndarray:
    return render_text(LINE, font="caveat", size=40, seed=1)


def test_even_light_takes_out_a_shadow_and_keeps_the_ink(line: np.ndarray) -> None:
    h, w = line.shape
    light = np.linspace(0.45, 1.0, w, dtype=np.float32)[None].repeat(h, 0)  # a shadow over the left half
    shaded = (line.astype(np.float32) * light).astype(np.uint8)
    ink = line < 128
    assert shaded[~ink][:, None].mean() < 200 and np.percentile(shaded[:, : w // 4][~ink[:, : w // 4]], 50) < 150
    evened = even_light(shaded)
    paper = evened[~cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)]
    assert np.percentile(paper, 10) > 225  # the shadowed paper is paper again, left as right
    assert np.median(evened[ink]) < 80  # and the ink still ink


def test_crop_frames_the_writing_with_its_margin(line: np.ndarray) -> None:
    padded = cv2.copyMakeBorder(line, 60, 30, 200, 10, cv2.BORDER_CONSTANT, value=255)
    top, bottom, left, right = crop_box(padded)  # type: ignore[misc]
    height = bottom - top
    framed = crop_with_margin(padded, 0.25)
    assert framed.shape == (height + 2 * round(0.25 * height), right - left + 2 * round(0.25 * height))
    assert crop_box(np.full((20, 40), 255, np.uint8)) is None


@pytest.mark.parametrize("angle", [-6.0, -3.0, 2.0, 4.0])
def test_a_turned_line_is_turned_level(line: np.ndarray, angle: float) -> None:
    level = crop_with_margin(line, 0.1)
    assert line_angle(level) == 0.0
    turned = crop_with_margin(rotate(level, angle), 0.1)
    assert abs(line_angle(turned) + angle) <= 1.0  # the angle that undoes it, within a step or two
    assert abs(normalize_image(turned).shape[0] - normalize_image(level).shape[0]) <= 0.2 * level.shape[0]


def test_a_word_is_not_turned() -> None:
    word = crop_with_margin(rotate(render_text("cat", size=40, seed=2), 5.0), 0.1)
    assert line_angle(word) == 0.0


def test_slant_is_measured_and_undone(line: np.ndarray) -> None:
    leaning = slant(line)
    assert leaning < -0.15  # Caveat leans: its strokes' tops are to the right of their feet (dx = s * dy, s < 0)
    assert slant(shear(line, 0.3)) > leaning + 0.1 and slant(shear(line, -0.3)) < leaning - 0.1
    upright = normalize_image(line, deslant=True)
    assert abs(slant(upright)) < 0.1
    assert abs(slant(normalize_image(line))) > 0.15  # without deslant the lean stays


@pytest.mark.parametrize(
    "image",
    [
        np.full((64, 300), 255, np.uint8),
        np.full((64, 300), 90, np.uint8),
        np.zeros((1, 1), np.uint8),
        np.random.default_rng(0).integers(0, 256, (64, 400)).astype(np.uint8),
        np.clip(np.random.default_rng(1).normal(160, 30, (100, 300)), 0, 255).astype(np.uint8),
    ],
    ids=["white", "grey", "1x1", "uniform-noise", "gaussian-noise"],
)
def test_nothing_to_read(image: np.ndarray) -> None:
    assert not has_writing(image)
    assert not has_writing(Preprocessing(normalize=True).apply(load_image(image)))
    assert (normalize_image(image) == 255).all()


def test_writing_is_something_to_read(line: np.ndarray) -> None:
    assert has_writing(line) and has_writing(Preprocessing(stretch=1.5, normalize=True).apply(line))
    assert has_writing(render_text("a", size=32, seed=0))


def test_a_photographed_line_normalizes_like_the_scan(line: np.ndarray) -> None:
    """Larger, on a wide margin, tilted, light on dark: the model's input comes out like the clean line's."""
    preprocessing = Preprocessing(height=32, stretch=1.5, normalize=True)
    clean = preprocessing.apply(line)
    photo = cv2.resize(line, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    photo = cv2.copyMakeBorder(photo, 50, 50, 120, 80, cv2.BORDER_CONSTANT, value=235)
    photo = 255 - rotate(photo, -3.0)
    normalized = preprocessing.apply(load_image(photo))
    assert normalized.shape[0] == clean.shape[0] and abs(normalized.shape[1] - clean.shape[1]) <= 0.1 * clean.shape[1]
    unnormalized = Preprocessing(height=32, stretch=1.5).apply(load_image(photo))
    assert unnormalized.shape[1] < 0.6 * clean.shape[1]  # margins and tilt left in: the writing comes out small


def test_deslant_needs_normalize() -> None:
    with pytest.raises(ValueError, match="deslant needs normalize"):
        Preprocessing(deslant=True)
