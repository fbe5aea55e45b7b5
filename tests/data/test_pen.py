"""Pen trajectories as point features (scriba.data.pen)."""

from __future__ import annotations

import numpy as np
import pytest

from scriba.data.pen import JUMP_CLIP, PEN_FEATURES, features_to_ink, pen_features
from scriba.errors import DataFormatError


def _word(seed: int = 0, strokes: int = 3) -> list[np.ndarray]:
    """Wavy strokes side by side, about 40 units high, in writing order."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(strokes):
        t = np.linspace(0, 1, 30)
        x = 50 * i + 35 * t
        y = 100 + 20 * np.sin(t * 7 + rng.uniform(0, 3))
        out.append(np.stack([x, y], axis=1))
    return out


def test_one_column_per_resampled_point_with_a_pen_down_flag_per_stroke() -> None:
    features = pen_features(_word(), step=0.1)
    assert features.dtype == np.float32 and features.shape[0] == PEN_FEATURES
    # Three strokes: three pen-down flags, each the first column of its stroke; the first stroke has no jump.
    starts = np.flatnonzero(features[3])
    assert len(starts) == 3 and starts[0] == 0 and features[3].sum() == 3
    assert np.all(features[4:6, 0] == 0)
    assert np.all(features[4:6, starts[1:]] > -JUMP_CLIP) and np.all(features[4, starts[1:]] > 0)  # jumps go right
    # Within a stroke consecutive points lie one step apart along the path (dx, dy are in steps), so their
    # straight distance is at most 1 and nearly 1 where the path bends little; a stroke's last point is nearer.
    inside = np.setdiff1d(np.arange(features.shape[1]), np.concatenate([starts, starts[1:] - 1, [-1]]))
    distances = np.hypot(features[0, inside], features[1, inside])
    assert distances.max() < 1 + 1e-4 and np.median(distances) > 0.99
    # y is centred on the writing's band: about half of the points above the middle, half below.
    assert abs(np.mean(features[2] > 0) - 0.5) < 0.2


def test_features_do_not_depend_on_units_position_or_speed() -> None:
    word = _word(1)
    base = pen_features(word)
    moved = pen_features([37.5 * s + np.array([900.0, -40.0]) for s in word])
    np.testing.assert_allclose(moved, base, atol=1e-4)
    # Twice the points along the same path (a faster tablet) give the same resampled points.
    dense = []
    for s in word:
        mid = (s[1:] + s[:-1]) / 2
        both = np.empty((len(s) + len(mid), 2))
        both[0::2], both[1::2] = s, mid
        dense.append(both)
    assert pen_features(dense).shape == base.shape


def test_smaller_steps_give_more_points() -> None:
    assert pen_features(_word(), step=0.05).shape[1] > 1.8 * pen_features(_word(), step=0.1).shape[1]


def test_a_line_written_rising_is_turned_level() -> None:
    line = [s + np.array([200.0 * i, 0.0]) for i in range(6) for s in _word(i)]
    angle = np.deg2rad(6)
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    rising = [(s - 500) @ rotation for s in line]
    level = pen_features(line)
    turned = pen_features(rising)
    skewed = pen_features(rising, deskew=False)
    assert np.ptp(turned[2]) < 1.2 * np.ptp(level[2]) < np.ptp(skewed[2])


def test_augmentation_is_random_per_rng_and_off_at_zero() -> None:
    word = _word(2)
    clean = pen_features(word)
    a = pen_features(word, rng=np.random.default_rng(1), augment=1.0)
    b = pen_features(word, rng=np.random.default_rng(1), augment=1.0)
    c = pen_features(word, rng=np.random.default_rng(2), augment=1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, clean)
    np.testing.assert_array_equal(pen_features(word, rng=np.random.default_rng(1), augment=0.0), clean)


def test_single_points_and_dashes_are_kept() -> None:
    dot = [np.array([[10.0, 10.0]])]
    assert pen_features(dot).shape == (PEN_FEATURES, 1)
    dash = [np.array([[0.0, 5.0], [30.0, 5.0]])]
    assert pen_features(dash).shape[1] > 2
    assert np.isfinite(pen_features([*_word(), *dot])).all()


@pytest.mark.parametrize("ink", [[], [np.zeros((0, 2))], [np.full((3, 2), np.nan)]])
def test_ink_without_points_is_an_error(ink: list[np.ndarray]) -> None:
    with pytest.raises(DataFormatError, match="no points"):
        pen_features(ink)


def test_features_draw_back_into_the_strokes_they_describe() -> None:
    features = pen_features(_word(3), step=0.1)
    ink = features_to_ink(features, step=0.1)
    assert len(ink) == 3 and sum(len(s) for s in ink) == features.shape[1]
    np.testing.assert_allclose(np.concatenate(ink)[:, 1], features[2], atol=1e-6)
    # The drawn strokes, read again, give the same pen-downs and jumps (to within the few percent by which the
    # band of the evenly resampled points differs from that of the original points).
    again = pen_features(ink, step=0.1, deskew=False)
    assert abs(again.shape[1] - features.shape[1]) <= 0.1 * features.shape[1]
    assert again[3].sum() == 3
    np.testing.assert_allclose(again[4:6, again[3] > 0], features[4:6, features[3] > 0], rtol=0.1, atol=1e-3)


def test_a_fixed_distortion_shears_and_stretches_and_none_changes_nothing() -> None:
    word = _word(4)
    clean = pen_features(word)
    np.testing.assert_array_equal(pen_features(word, shear=0.0, x_scale=1.0, y_scale=1.0), clean)
    # Heights follow y_scale exactly; a horizontal stretch makes the strokes longer, so more points.
    np.testing.assert_allclose(pen_features(word, y_scale=1.1)[2, 0], 1.1 * clean[2, 0], rtol=1e-5)
    assert pen_features(word, x_scale=1.25).shape[1] > clean.shape[1] > pen_features(word, x_scale=0.8).shape[1]
    # A positive shear leans a downstroke's top to the right: going down (dy > 0) it moves left, dx = -0.3 dy.
    down = [np.array([[0.0, 0.0], [0.0, 40.0]])]
    straight, leaning = pen_features(down, deskew=False), pen_features(down, deskew=False, shear=0.3)
    assert np.allclose(straight[0, 1:], 0) and np.all(straight[1, 1:-1] > 0.99)
    np.testing.assert_allclose(leaning[0, 1:] / leaning[1, 1:], -0.3, rtol=1e-5)
