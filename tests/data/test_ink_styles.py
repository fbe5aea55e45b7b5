"""Ink styles: the defaults keep the clean rendering byte for byte; every field has its effect; sampling."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from scriba.config import config_from_dict
from scriba.data.ink import (
    BLUR_RANGE,
    JPEG_QUALITY_RANGE,
    MIN_CONTRAST,
    RULED_SPACING_RANGE,
    STYLE_VARIATION,
    InkStyle,
    deskew_angle,
    render_ink,
    sample_ink_style,
)
from scriba.errors import ConfigError

# --- the clean rendering is unchanged ---------------------------------------------------------


def _render_ink_v0(strokes: list[np.ndarray], style: dict[str, float]) -> np.ndarray:
    """render_ink as it was before styles had more than four fields (frozen copy; do not edit)."""
    strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in strokes]
    strokes = [s for s in strokes if len(s)]
    points = np.concatenate(strokes)
    low, high = np.percentile(points[:, 1], [5, 95])
    span = max(float(high - low), 1e-6)
    if span < 1e-3:
        span = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1.0) / 4
    k = int(style["supersample"])
    scale = style["band_height"] / span * k
    origin = points.min(axis=0)
    pad = int(style["padding"]) * k
    extent = (points.max(axis=0) - origin) * scale
    width, height = int(np.ceil(extent[0])) + 2 * pad + 1, int(np.ceil(extent[1])) + 2 * pad + 1
    canvas = np.full((height, width), 255, np.uint8)
    thickness = max(1, round(style["stroke_width"] * k))
    shift = 4
    for stroke in strokes:
        xy = np.round(((stroke - origin) * scale + pad) * (1 << shift)).astype(np.int32)
        if len(xy) == 1:
            cv2.circle(canvas, tuple(xy[0]), (thickness << shift) // 2, 0, -1, cv2.LINE_AA, shift)
        else:
            cv2.polylines(canvas, [xy], False, 0, thickness, cv2.LINE_AA, shift)
    if k == 1:
        return canvas
    out_size = (max(1, round(width / k)), max(1, round(height / k)))
    return cv2.resize(canvas, out_size, interpolation=cv2.INTER_AREA)


def _zigzag(height: float = 100.0, width: float = 300.0, n: int = 200) -> list[np.ndarray]:
    t = np.linspace(0, 1, n)
    return [np.stack([t * width, (np.sin(t * 40) * 0.5 + 0.5) * height], axis=1)]


def _inks() -> list[list[np.ndarray]]:
    rng = np.random.default_rng(7)
    return [
        _zigzag(),
        [rng.normal(size=(30, 2)).cumsum(axis=0) * 10 for _ in range(5)],  # tablet-like random strokes
        [np.array([[10.0, 10.0]])],  # a single dot
        [np.array([[0.0, 0.0], [0.0, 100.0]]), np.array([[5.0, 5.0]]), np.zeros((0, 2))],
        [np.array([[0, 50], [400, 50]], np.int32)],  # flat: the extent fallback
        [np.array([[1200.5, 310.25], [1290.0, 402.0], [1350.0, 300.0]], np.float64)],
    ]


# The four fields model files stored before the style grew: every such file must render as before.
OLD_STYLES = [
    {"band_height": 40.0, "padding": 8, "stroke_width": 2.6, "supersample": 3},
    {"band_height": 36.0, "padding": 8, "stroke_width": 2.0, "supersample": 3},
    {"band_height": 32.0, "padding": 4, "stroke_width": 3.1, "supersample": 1},
    {"band_height": 50.0, "padding": 0, "stroke_width": 0.2, "supersample": 4},
]


@pytest.mark.parametrize("old", OLD_STYLES)
def test_old_style_dicts_render_byte_identical(old: dict[str, float]) -> None:
    for ink in _inks():
        expected = _render_ink_v0(ink, old)
        got = render_ink(ink, InkStyle(**old))  # as load_model_file builds it
        assert got.dtype == np.uint8 and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(render_ink(ink, InkStyle(**old), np.random.default_rng(5)), expected)


def test_default_style_is_todays_rendering() -> None:
    for ink in _inks():
        np.testing.assert_array_equal(render_ink(ink), _render_ink_v0(ink, OLD_STYLES[0]))
    assert dataclasses.asdict(InkStyle()).items() >= OLD_STYLES[0].items()


def test_style_dict_round_trip_and_config() -> None:
    style = InkStyle(slant=12.0, jpeg_quality=40, ruled_lines=1.5, ink_level=80)
    assert InkStyle(**dataclasses.asdict(style)) == style  # what model files do
    config = config_from_dict({"data": {"ink": {"slant": 12, "jpeg_quality": 40, "ruled_lines": 1.5, "ink_level": 80}}})
    assert config.data.ink == style
    with pytest.raises(ConfigError, match="ink_level"):
        config_from_dict({"data": {"ink": {"ink_level": 250, "paper_level": 200}}})


@pytest.mark.parametrize(
    "bad",
    [
        {"stroke_width": 0},
        {"supersample": 0},
        {"width_variation": 1.0},
        {"slant": 75},
        {"aspect": -1},
        {"noise": -2},
        {"ink_level": 255},
        {"paper_level": 256},
        {"jpeg_quality": 101},
        {"ruled_lines": -1},
    ],
)
def test_invalid_styles_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=f"invalid ink style: .*{next(iter(bad))}"):
        InkStyle(**bad)  # type: ignore[arg-type]


# --- each field does what it says -------------------------------------------------------------


def _line(length: float = 600.0) -> list[np.ndarray]:
    """A straight horizontal stroke with a tall dot above it, so the band is ~50 units."""
    x = np.linspace(0, length, 300)
    return [np.stack([x, np.full_like(x, 50.0)], axis=1), np.array([[0.0, 0.0]])]


def _ink_rows_center(image: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Mean row of ink per column (NaN where a column has none)."""
    ink = image < threshold
    rows = np.arange(image.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        return (ink * rows).sum(axis=0) / ink.sum(axis=0)


def test_stroke_width_adds_ink() -> None:
    thin, thick = (int((render_ink(_zigzag(), InkStyle(stroke_width=w)) < 128).sum()) for w in (1.5, 4.0))
    assert thick > 1.8 * thin


def test_width_variation_changes_width_along_the_stroke() -> None:
    def column_width_spread(style: InkStyle) -> float:
        image = render_ink(_line(), style)
        widths = (image < 128).sum(axis=0)[20:-20]  # skip the round caps at the ends
        return float(widths[widths > 0].std())

    assert column_width_spread(InkStyle(stroke_width=4.0)) < 0.5
    assert column_width_spread(InkStyle(stroke_width=4.0, width_variation=0.7)) > 0.8


def test_slant_leans_tops_right() -> None:
    vertical = [np.array([[0.0, 0.0], [0.0, 100.0]])]

    def top_minus_bottom_x(slant: float) -> float:
        image = render_ink(vertical, InkStyle(slant=slant))
        ys, xs = np.nonzero(image < 128)
        return float(xs[ys < np.percentile(ys, 10)].mean() - xs[ys > np.percentile(ys, 90)].mean())

    assert abs(top_minus_bottom_x(0)) < 1
    assert top_minus_bottom_x(20) > 10  # tan(20 deg) * ~40 px * 0.8
    assert top_minus_bottom_x(-20) < -10


def test_scale_and_aspect_change_the_size() -> None:
    base = render_ink(_zigzag())
    bigger = render_ink(_zigzag(), InkStyle(scale=1.5))
    assert bigger.shape[0] > 1.3 * base.shape[0] and bigger.shape[1] > 1.3 * base.shape[1]
    wide = render_ink(_zigzag(), InkStyle(aspect=1.5))
    assert abs(wide.shape[0] - base.shape[0]) <= 1 and wide.shape[1] > 1.3 * base.shape[1]


def test_wobble_bends_the_baseline() -> None:
    flat = _ink_rows_center(render_ink(_line()))
    wavy = _ink_rows_center(render_ink(_line(), InkStyle(wobble=0.2, wobble_period=3.0)))
    assert np.nanstd(flat[20:]) < 0.3
    assert np.nanstd(wavy[20:]) > 2.0


def _written_line(rise_degrees: float, length: float = 1200.0) -> list[np.ndarray]:
    """Letter-like zigzags (40 units tall, one every 30, a stroke each) along a line rising by
    ``rise_degrees`` (y down)."""
    x = np.linspace(0, length, int(length))
    y = (np.sin(x * 2 * np.pi / 30) * 0.5 + 0.5) * 40 - np.tan(np.deg2rad(rise_degrees)) * x
    return np.array_split(np.stack([x, y], axis=1), max(1, int(length // 30)))


def test_deskew_levels_a_sloped_line_of_writing() -> None:
    level = render_ink(_written_line(0))
    sloped = _written_line(12)
    assert abs(np.rad2deg(deskew_angle(np.concatenate(sloped))) + 12) <= 1  # y down: rising needs a negative turn
    plain = render_ink(sloped)
    turned = render_ink(sloped, InkStyle(deskew=True))
    # Unturned, the line's y spans ~6x the letters' height, so the whole line is drawn ~6x smaller.
    assert plain.shape[1] < 0.25 * level.shape[1]
    assert abs(turned.shape[0] - level.shape[0]) <= 0.1 * level.shape[0]
    assert abs(turned.shape[1] - level.shape[1]) <= 0.1 * level.shape[1]
    assert (turned < 128).sum() > 3 * (plain < 128).sum()  # letters at full size: far more ink


@pytest.mark.parametrize(
    "strokes",
    [
        _written_line(0),
        _written_line(10, length=150.0),
        [np.array([[3.0, 4.0]])],
        [_line()[0][:, ::-1]],
        [np.concatenate(_written_line(10))],  # one stroke: a dash, a rule
    ],
)
def test_deskew_leaves_level_and_short_writing_as_it_is(strokes: list[np.ndarray]) -> None:
    """A word's narrowest band is no guide to its baseline (a descender at one end), so short writing is
    not turned, nor one stroke (a dash: turned, its band would shrink to the pen's width); level writing
    needs no turn."""
    np.testing.assert_array_equal(render_ink(strokes, InkStyle(deskew=True)), render_ink(strokes))


def test_line_reach_pulls_a_lines_far_ink_toward_its_band() -> None:
    """A line with one tall stroke (a stray mark 4 letter heights above) is drawn as tall as the stroke
    makes it; with ``line_reach`` the stroke comes nearer and the letters fill more of the height."""
    line = _written_line(0)
    stray = np.array([[600.0, -40.0], [600.0, -160.0]])
    plain = render_ink([*line, stray])
    pulled = render_ink([*line, stray], InkStyle(line_reach=0.3))
    band = InkStyle().band_height
    assert plain.shape[0] > 4 * band  # the stray stroke sets the height
    # At most 0.3 band heights beyond the band (5-95% of y) on either side, plus padding and pen.
    assert pulled.shape[0] <= band * 1.6 + 2 * InkStyle().padding + 2 * InkStyle().stroke_width + 2
    assert pulled.shape[1] == plain.shape[1]  # only y moves
    # The stroke is still drawn, nearer to the letters: ink above the band's top in the pulled image.
    assert (pulled[: InkStyle().padding + 4] < 128).any()


@pytest.mark.parametrize(
    "strokes",
    [_written_line(0, length=150.0), [np.concatenate(_written_line(0))], [np.array([[3.0, 4.0]])]],
)
def test_line_reach_leaves_words_and_single_strokes_as_they_are(strokes: list[np.ndarray]) -> None:
    """Writing shorter than a line (a word) keeps its ascenders and descenders where they are, as does one
    stroke (a dash) and a single dot."""
    np.testing.assert_array_equal(render_ink(strokes, InkStyle(line_reach=0.3)), render_ink(strokes))


def test_line_reach_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="line_reach must be >= 0"):
        InkStyle(line_reach=-0.1)


def test_jitter_is_seeded_noise() -> None:
    style = InkStyle(jitter=0.8)
    a = render_ink(_line(), style, np.random.default_rng(1))
    np.testing.assert_array_equal(a, render_ink(_line(), style, np.random.default_rng(1)))
    assert not np.array_equal(a, render_ink(_line(), style, np.random.default_rng(2)))
    np.testing.assert_array_equal(render_ink(_line(), style), render_ink(_line(), style))  # rng=None is fixed
    assert np.nanstd(_ink_rows_center(a)[20:]) > np.nanstd(_ink_rows_center(render_ink(_line()))[20:])


def test_ink_and_paper_levels() -> None:
    image = render_ink(_zigzag(), InkStyle(stroke_width=4.0, ink_level=100, paper_level=230))
    assert abs(int(image.min()) - 100) <= 2  # the darkest pixel is the ink's gray
    assert np.median(image) == 230 and image.max() == 230


def test_paper_gradient_and_texture_vary_the_paper() -> None:
    flat = render_ink(_zigzag(), InkStyle(paper_level=240))
    paper = flat > 235
    shaded = render_ink(_zigzag(), InkStyle(paper_level=240, paper_gradient=40))
    assert np.ptp(shaded[paper]) > 25 and shaded[paper].max() <= 240
    textured = render_ink(_zigzag(), InkStyle(paper_level=220, paper_texture=10))
    assert 3 < textured[paper].std() < 15 and abs(np.median(textured) - 220) < 5


def test_ruled_lines_add_long_dark_rows() -> None:
    def ruled_rows(image: np.ndarray) -> int:
        return int(((image < 220).mean(axis=1) > 0.9).sum())

    dot = [np.array([[0.0, 0.0]]), np.array([[2000.0, 100.0]])]  # mostly paper, 2.5 bands tall
    assert ruled_rows(render_ink(dot)) == 0
    ruled = render_ink(dot, InkStyle(ruled_lines=1.0, ruled_level=150))
    assert ruled_rows(ruled) >= 2
    assert np.median(ruled) == 255


@pytest.mark.parametrize(
    "style",
    [InkStyle(blur=1.0), InkStyle(noise=12.0), InkStyle(jpeg_quality=20), InkStyle(noise=8.0, jpeg_quality=50)],
    ids=["blur", "noise", "jpeg", "noise+jpeg"],
)
def test_camera_effects_change_pixels_but_keep_dark_on_light(style: InkStyle) -> None:
    clean = render_ink(_zigzag())
    image = render_ink(_zigzag(), style)
    assert image.dtype == np.uint8 and image.shape == clean.shape
    assert not np.array_equal(image, clean)
    assert np.median(image) > 200 and image.min() < 100
    assert np.array_equal(image, render_ink(_zigzag(), style))  # seeded


def test_blur_softens_edges() -> None:
    def midtones(image: np.ndarray) -> int:
        return int(((image > 40) & (image < 215)).sum())

    assert midtones(render_ink(_zigzag(), InkStyle(blur=1.5))) > 1.5 * midtones(render_ink(_zigzag()))


# --- sample_ink_style -------------------------------------------------------------------------


def test_sampling_is_deterministic_under_a_seed() -> None:
    a = [sample_ink_style(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng1, rng2 = np.random.default_rng(4), np.random.default_rng(4)
    assert [sample_ink_style(rng1, 0.7) for _ in range(10)] == [sample_ink_style(rng2, 0.7) for _ in range(10)]
    assert sample_ink_style(np.random.default_rng(3)) != sample_ink_style(np.random.default_rng(5))


def test_strength_zero_is_the_base_style() -> None:
    base = InkStyle(band_height=36.0, stroke_width=2.0)
    rng = np.random.default_rng(0)
    assert all(sample_ink_style(rng, 0.0, base) == base for _ in range(5))
    assert sample_ink_style(rng, 0.0) == InkStyle()
    with pytest.raises(ValueError):
        sample_ink_style(rng, -0.5)


def test_sampled_styles_stay_in_the_documented_ranges() -> None:
    rng = np.random.default_rng(11)
    base = InkStyle()
    styles = [sample_ink_style(rng) for _ in range(400)]
    for name, (low, high, how) in STYLE_VARIATION.items():
        values = np.array([getattr(s, name) for s in styles], float)
        old = getattr(base, name)
        lo, hi = (old * low, old * high) if how == "mul" else (old + low, old + high)
        assert lo - 1e-9 <= values.min() and values.max() <= hi + 1e-9, name
        assert values.max() - values.min() > 0.5 * (hi - lo), f"{name} barely varies"
    blurs = np.array([s.blur for s in styles])
    assert 0.35 < (blurs > 0).mean() < 0.65
    assert ((blurs == 0) | ((blurs >= BLUR_RANGE[0]) & (blurs <= BLUR_RANGE[1]))).all()
    jpeg = np.array([s.jpeg_quality for s in styles])
    assert 0.25 < (jpeg > 0).mean() < 0.55
    assert ((jpeg == 0) | ((jpeg >= JPEG_QUALITY_RANGE[0]) & (jpeg <= JPEG_QUALITY_RANGE[1]))).all()
    ruled = np.array([s.ruled_lines for s in styles])
    assert 0.15 < (ruled > 0).mean() < 0.35
    assert ((ruled == 0) | ((ruled >= RULED_SPACING_RANGE[0]) & (ruled <= RULED_SPACING_RANGE[1]))).all()
    assert all(s.ink_level <= s.paper_level - MIN_CONTRAST for s in styles)
    assert all((s.band_height, s.padding, s.supersample) == (40.0, 8, 3) for s in styles)


def test_lower_strength_narrows_the_ranges() -> None:
    rng = np.random.default_rng(12)
    styles = [sample_ink_style(rng, 0.5) for _ in range(200)]
    assert max(abs(s.slant) for s in styles) <= 10.0
    assert max(s.ink_level for s in styles) <= 55
    assert np.mean([s.blur > 0 for s in styles]) < 0.4


def test_sampled_styles_render_dark_ink_on_light_paper() -> None:
    rng = np.random.default_rng(13)
    for _ in range(25):
        image = render_ink(_zigzag(), sample_ink_style(rng), rng)
        assert image.dtype == np.uint8 and image.ndim == 2
        assert np.median(image) >= 150  # paper stays the majority and light: no inversion on load
        assert int(image.min()) < np.median(image) - 60
