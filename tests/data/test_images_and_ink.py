from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from scriba.data.images import Preprocessing, ensure_dark_on_light, load_image, to_model_input
from scriba.data.ink import InkStyle, render_ink, split_strokes
from scriba.errors import DataFormatError, ImageError

# --- load_image -------------------------------------------------------------------------------


def test_load_from_path(image_file: Path, draw) -> None:
    image = load_image(image_file)
    assert image.dtype == np.uint8 and image.shape == (32, 96)
    np.testing.assert_array_equal(image, draw(96, 32))  # PNG is lossless
    np.testing.assert_array_equal(load_image(str(image_file)), image)


def test_load_from_rgb_and_rgba_arrays(draw) -> None:
    gray = draw(60, 24)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(load_image(rgb), gray)
    rgba = np.concatenate([rgb, np.full_like(gray, 255)[:, :, None]], axis=2)
    np.testing.assert_array_equal(load_image(rgba), gray)
    np.testing.assert_array_equal(load_image(gray[:, :, None]), gray)


def test_load_from_pil(draw) -> None:
    gray = draw(60, 24)
    rgb = Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2))
    assert rgb.mode == "RGB"
    np.testing.assert_array_equal(load_image(rgb), gray)
    np.testing.assert_array_equal(load_image(Image.fromarray(gray)), gray)


def test_load_from_float_array(draw) -> None:
    gray = draw(60, 24)
    unit = gray.astype(np.float64) / 255.0  # floats in [0, 1] mean 0..255
    loaded = load_image(unit)
    assert loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - gray.astype(int)).max() <= 1
    wide = gray.astype(np.float32)  # floats above 1 are taken as 0..255 already
    np.testing.assert_array_equal(load_image(wide), gray)
    rgb32 = np.repeat(unit.astype(np.float32)[:, :, None], 3, axis=2)
    assert np.abs(load_image(rgb32).astype(int) - gray.astype(int)).max() <= 1


def test_load_from_float64_rgb_array(draw) -> None:
    gray = draw(60, 24)
    rgb = np.repeat(gray[:, :, None], 3, axis=2).astype(np.float64) / 255.0
    assert np.abs(load_image(rgb).astype(int) - gray.astype(int)).max() <= 1


def test_light_on_dark_is_inverted(draw, tmp_path: Path) -> None:
    gray = draw(60, 24)
    chalk = 255 - gray
    np.testing.assert_array_equal(load_image(chalk), gray)
    path = tmp_path / "chalk.png"
    cv2.imwrite(str(path), chalk)
    np.testing.assert_array_equal(load_image(path), gray)
    np.testing.assert_array_equal(ensure_dark_on_light(gray), gray)  # already dark on light


def test_missing_corrupt_and_empty_files(tmp_path: Path, corrupt_image: Path, empty_file: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="cannot decode"):
        load_image(corrupt_image)
    with pytest.raises(ImageError, match="empty"):
        load_image(empty_file)
    with pytest.raises(ImageError, match="is a folder, not an image"):
        load_image(tmp_path)


def test_bad_arrays_and_objects() -> None:
    with pytest.raises(ImageError, match="empty"):
        load_image(np.zeros((0, 10), np.uint8))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(ImageError, match="not an image"):
        load_image(42)


# --- Preprocessing ----------------------------------------------------------------------------


def test_keep_ratio_keeps_aspect_ratio(draw) -> None:
    prep = Preprocessing(height=32, mode="keep_ratio")
    out = prep.apply(draw(200, 64))
    assert out.shape == (32, 100) and out.dtype == np.uint8
    out = prep.apply(draw(90, 20))  # enlarged
    assert out.shape == (32, 144)


def test_stretch_widens_keep_ratio_inputs(draw) -> None:
    plain, wide = Preprocessing(height=32), Preprocessing(height=32, stretch=1.5)
    assert plain.apply(draw(200, 64)).shape == (32, 100)
    assert wide.apply(draw(200, 64)).shape == (32, 150)
    assert Preprocessing.from_dict({"height": 32}).stretch == 1.0  # model files from before stretch
    with pytest.raises(ValueError, match="stretch"):
        Preprocessing(stretch=0)


def test_tall_images_are_widened_as_if_tall_height(draw) -> None:
    prep = Preprocessing(height=32, tall_height=44)
    assert prep.apply(draw(284, 36)).shape == (32, 252)  # not taller than 44: plain keep-ratio
    assert prep.apply(draw(284, 64)).shape == (32, round(284 * 32 / 44))  # as if 44 tall, not 142 wide
    assert Preprocessing(height=32, tall_height=44, stretch=1.5).apply(draw(284, 64)).shape == (32, 310)
    assert Preprocessing.from_dict({"height": 32}).tall_height == 0  # model files from before the option
    with pytest.raises(ValueError, match="tall_height"):
        Preprocessing(tall_height=-1)


def test_keep_ratio_clamps_width(draw) -> None:
    prep = Preprocessing(height=32, min_width=40, max_width=300)
    assert prep.apply(draw(20, 32)).shape == (32, 40)  # would be 20 wide
    assert prep.apply(draw(2000, 64)).shape == (32, 300)  # would be 1000 wide: squeezed


@pytest.mark.parametrize("size", [(400, 40), (100, 80), (256, 64), (30, 30)])
def test_fixed_mode_gives_exact_canvas(size: tuple[int, int], draw) -> None:
    prep = Preprocessing(height=64, mode="fixed", width=256)
    width, height = size
    out = prep.apply(draw(width, height))
    assert out.shape == (64, 256) and out.dtype == np.uint8


def test_fixed_mode_pads_with_paper_on_the_right(draw) -> None:
    # 100x80 scaled by 0.8 -> 80x64: the rest of the 256 px canvas is paper.
    out = Preprocessing(height=64, mode="fixed", width=256).apply(draw(100, 80))
    assert (out[:, 81:] == 255).all()
    assert (out[:, :80] < 128).any()


def test_preprocessing_validation_and_dict_round_trip() -> None:
    with pytest.raises(ValueError):
        Preprocessing(mode="stretch")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Preprocessing(height=4)
    with pytest.raises(ValueError):
        Preprocessing(min_width=100, max_width=50)
    prep = Preprocessing(height=48, mode="fixed", width=300)
    assert Preprocessing.from_dict(prep.to_dict()) == prep


def test_to_model_input_range_and_ink_is_one(draw) -> None:
    gray = draw(50, 20)
    gray[0, 0], gray[0, 1] = 0, 255
    x = to_model_input(gray)
    assert x.shape == (1, 20, 50) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x[0, 0, 0] == 1.0  # black ink -> 1
    assert x[0, 0, 1] == 0.0  # white paper -> 0


# --- ink --------------------------------------------------------------------------------------


def test_split_strokes_on_pen_up() -> None:
    points = np.array([[0, 0, 0], [1, 1, 1], [5, 5, 0], [6, 5, 0], [7, 6, 1], [9, 9, 1]], np.int32)
    strokes = split_strokes(points)
    assert [s.tolist() for s in strokes] == [[[0, 0], [1, 1]], [[5, 5], [6, 5], [7, 6]], [[9, 9]]]
    assert all(s.dtype == np.float32 for s in strokes)
    # No pen-up at the end: the last stroke is still kept.
    assert len(split_strokes(points[:4])) == 2
    with pytest.raises(DataFormatError):
        split_strokes(np.zeros((4, 2)))


def _zigzag(height: float, width: float = 300.0, n: int = 200) -> list[np.ndarray]:
    t = np.linspace(0, 1, n)
    y = (np.sin(t * 40) * 0.5 + 0.5) * height
    return [np.stack([t * width, y], axis=1)]


def test_render_ink_is_dark_on_light_uint8() -> None:
    image = render_ink(_zigzag(100.0))
    assert image.dtype == np.uint8 and image.ndim == 2
    assert np.median(image) == 255  # paper
    assert image.min() < 64  # ink
    style = InkStyle()
    assert (image[: style.padding - 2] == 255).all() and (image[:, : style.padding - 2] == 255).all()


def test_render_ink_band_height_scaling() -> None:
    # The 5th..95th percentile band of y is drawn band_height px high, whatever the input units.
    ink = _zigzag(100.0)
    low, high = np.percentile(ink[0][:, 1], [5, 95])
    scale = 40.0 / (high - low)
    expected = 100.0 * scale + 2 * 8
    small = render_ink(ink, InkStyle(band_height=40.0))
    assert abs(small.shape[0] - expected) <= 2
    big = render_ink(ink, InkStyle(band_height=80.0))
    assert abs(big.shape[0] - (100.0 * 2 * scale + 16)) <= 2
    # Units do not matter: the same writing 10x larger renders the same size.
    tenfold = render_ink([s * 10 for s in ink], InkStyle(band_height=40.0))
    assert abs(tenfold.shape[0] - small.shape[0]) <= 1 and abs(tenfold.shape[1] - small.shape[1]) <= 1


def test_render_ink_single_dot_and_empty() -> None:
    dot = render_ink([np.array([[10.0, 10.0]])])
    assert dot.dtype == np.uint8 and dot.min() < 128
    with pytest.raises(DataFormatError, match="no points"):
        render_ink([])
    with pytest.raises(DataFormatError, match="no points"):
        render_ink([np.zeros((0, 2))])
