"""Pen trajectories as point features (scriba.data.pen)."""

from __future__ import annotations

import numpy as np
import pytest

from scriba.data.pen import (
    CONTEXT_CLIP,
    JUMP_CLIP,
    PEN_AIR_FEATURES,
    PEN_FEATURES,
    features_to_ink,
    pen_feature_count,
    pen_features,
)
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


def test_the_lifted_pens_path_adds_flagged_points_between_strokes_and_nothing_else() -> None:
    word = _word(5)
    plain = pen_features(word)
    flown = pen_features(word, air=0.2)
    assert flown.shape[0] == PEN_AIR_FEATURES and flown.dtype == np.float32
    ink, air = flown[:, flown[6] == 0], flown[:, flown[6] == 1]
    # The ink's points are those without air, unchanged, and the air points lie only between strokes.
    np.testing.assert_array_equal(ink[:PEN_FEATURES], plain)
    starts = np.flatnonzero(flown[3])
    assert len(starts) == 3 and np.all(flown[6, : np.flatnonzero(plain[3])[1]] == 0)  # none in the first stroke
    before = [np.flatnonzero(flown[6, : starts[k]] == 0)[-1] for k in (1, 2)]  # each jump's last ink point
    assert all(np.all(flown[6, b + 1 : starts[k]] == 1) for b, k in zip(before, (1, 2), strict=True))
    # Each gap is about 0.4 band heights wide here: about one point per 0.2 of it, stepping right (dx > 0, in
    # units of the air spacing) at heights between the two ends, with no pen-down flag and no jump.
    jumps = np.hypot(plain[4, plain[3] > 0][1:], plain[5, plain[3] > 0][1:])
    assert air.shape[1] == sum(int(j / 0.2) for j in jumps) > 0
    assert np.all(air[0] > 0) and np.all(air[3:6] == 0)
    assert np.hypot(air[0], air[1]).max() < 1.0 + 1e-4
    # Drawn back, the air points are left out.
    drawn = features_to_ink(flown, step=0.1)
    assert len(drawn) == 3 and sum(len(s) for s in drawn) == plain.shape[1]


def test_a_long_jump_gets_at_most_its_clipped_length_of_air_points() -> None:
    far = [np.array([[0.0, 0.0], [0.0, 40.0]]), np.array([[4000.0, 0.0], [4000.0, 40.0]])]
    features = pen_features(far, deskew=False, air=0.25)
    assert int(features[6].sum()) == int(JUMP_CLIP / 0.25)
    assert pen_features([np.array([[10.0, 10.0]])], air=0.2).shape == (PEN_AIR_FEATURES, 1)


def _dotted_stem() -> list[np.ndarray]:
    """A stem, a wave far to its right, then the stem's dot written last (as an i is often dotted after its word)."""
    stem = np.stack([np.full(20, 10.0), np.linspace(60, 100, 20)], axis=1)
    wave = np.stack([np.linspace(200, 260, 30), 80 + 20 * np.sin(np.linspace(0, 6, 30))], axis=1)
    dot = np.array([[10.0, 44.0], [11.0, 45.0]])
    return [stem, wave, dot]


def test_a_context_map_shows_ink_written_later_beside_the_point() -> None:
    ink = _dotted_stem()
    plain = pen_features(ink, deskew=False)
    mapped = pen_features(ink, deskew=False, context=5, context_cell=0.25)
    assert mapped.shape == (pen_feature_count(context=5), plain.shape[1]) == (PEN_FEATURES + 25, plain.shape[1])
    np.testing.assert_array_equal(mapped[:PEN_FEATURES], plain)  # the point features are unchanged
    maps = mapped[PEN_FEATURES:].reshape(5, 5, -1)  # (row, column, point), the top row first
    stem = np.arange(20)
    # Every point sees its own stroke in its own cell; no cell holds more than the clip.
    assert np.all(maps[2, 2] > 0) and maps.max() <= CONTEXT_CLIP
    # The top of the stem sees the dot above it, written after the wave; without the dot, nothing is above it.
    top = stem[np.argmin(plain[2, stem])]
    assert maps[:2, 1:4, top].sum() > 0
    alone = pen_features(ink[:2], deskew=False, context=5, context_cell=0.25)[PEN_FEATURES:].reshape(5, 5, -1)
    assert alone[:2, :, top].sum() == 0


def test_context_maps_do_not_depend_on_where_the_ink_lies_and_have_the_lifted_pens_points_too() -> None:
    word = _word(3)
    base = pen_features(word, context=3)
    for shift in (np.array([0.37, 0.0]), np.array([913.3, -41.7])):
        np.testing.assert_allclose(pen_features([s + shift for s in word], context=3), base, atol=1e-4)
    flown = pen_features(word, air=0.2, context=3)
    assert flown.shape[0] == pen_feature_count(air=True, context=3) == PEN_AIR_FEATURES + 9
    ink_points = flown[:, flown[6] == 0]
    np.testing.assert_allclose(ink_points[PEN_AIR_FEATURES:], base[PEN_FEATURES:], atol=1e-6)  # air draws no ink
    assert len(features_to_ink(flown, step=0.1, air=True)) == 3


@pytest.mark.parametrize(("context", "cell"), [(4, 0.25), (11, 0.25), (3, 0.0)])
def test_a_context_map_of_even_or_unknown_size_or_no_cell_is_refused(context: int, cell: float) -> None:
    with pytest.raises(ValueError, match="pen context must be one of"):
        pen_features(_word(), context=context, context_cell=cell)
