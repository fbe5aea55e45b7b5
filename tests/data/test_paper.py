"""The paper-like augmentation (scriba.data.augment.PaperAugmentation) and training with it (data.paper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scriba.config import load_config
from scriba.data.augment import (
    PaperAugmentation,
    add_margin,
    build_paper_augmentation,
    pencil,
    rule_lines,
    uneven_paper,
)
from scriba.data.glyphs import render_text
from scriba.data.items import RawImageItems, StyledInkItems, SyntheticItems
from scriba.errors import ConfigError
from scriba.training_data import prepare_data
from tests.synthetic import tiny_overrides

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def word() -> np.ndarray:
    return render_text("paper", font="caveat", size=40, seed=3)


def test_seeded_the_same_and_different_across_seeds(word: np.ndarray) -> None:
    paper = PaperAugmentation(1.0, seed=0)
    first = [paper(word, np.random.default_rng([7, k])) for k in range(12)]
    again = [PaperAugmentation(1.0, seed=0)(word, np.random.default_rng([7, k])) for k in range(12)]
    assert all(a.shape == b.shape and (a == b).all() for a, b in zip(first, again, strict=True))
    # Each step is drawn with its own probability: now and then a copy gets none and equals the original.
    assert len({(a.shape, a.tobytes()) for a in first}) >= 10


def test_output_is_a_dark_on_light_image_in_its_ranges(word: np.ndarray) -> None:
    paper = PaperAugmentation(1.0)
    h, w = word.shape
    heights = []
    for k in range(60):
        out = paper(word, np.random.default_rng(k))
        assert out.dtype == np.uint8 and out.ndim == 2
        assert np.median(out) >= 128  # light on dark is inverted back, as reading does
        # scale 0.6-2x, a margin of up to 60% a side, a few degrees of tilt and perspective
        assert 0.55 * h <= out.shape[0] <= 2.0 * h * 2.2 + 0.15 * w and 0.55 * w <= out.shape[1] <= 2.0 * w * 2.3
        heights.append(out.shape[0] / h)
    assert min(heights) < 0.9 and max(heights) > 1.4  # the scale range is used


def test_off_and_bad_strengths() -> None:
    assert build_paper_augmentation(0.0) is None
    with pytest.raises(ValueError, match="strength"):
        PaperAugmentation(1.5)


def test_weaker_is_closer_to_the_original(word: np.ndarray) -> None:
    def changed(strength: float) -> float:
        paper = PaperAugmentation(strength)
        outs = [paper(word, np.random.default_rng(k)) for k in range(40)]
        return float(np.mean([o.shape != word.shape or not (o == word).all() for o in outs]))

    assert changed(0.1) < changed(1.0)


def test_the_parts(word: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    framed = add_margin(word, rng, 0.5)
    assert framed.shape[0] >= word.shape[0] and framed.shape[0] <= word.shape[0] * 2 + 2
    ink = word < 128
    grey = pencil(word, np.random.default_rng(1))
    assert grey[ink].mean() > word[ink].mean() + 40  # graphite is grey
    assert (grey[~ink] >= word[~ink] - 1).all()  # and draws no new ink
    ruled = rule_lines(np.full((60, 200), 255, np.uint8), np.random.default_rng(2))
    assert (ruled < 230).any(axis=1).sum() >= 1 and (ruled <= 255).all()
    assert (rule_lines(word, np.random.default_rng(2)) <= word).all()  # the ruling lies behind the ink
    lit = uneven_paper(np.full((60, 200), 255, np.uint8), np.random.default_rng(3))
    assert lit.min() < 235 and lit.std() > 2  # patches and grain


def test_training_data_with_paper(word_tables, tmp_path: Path) -> None:
    sets = tiny_overrides(word_tables.train, word_tables.val, tmp_path)
    sets += ["data.paper=0.8", "preprocessing.normalize=true", "data.synth={kind: words, ratio: 0.25}"]
    config = load_config(REPO / "configs" / "tiny.yaml", sets)
    tmp_path.joinpath("tiny").mkdir()
    data = prepare_data(config, tmp_path / "tiny")
    raw = [s for s in data.train_sources if isinstance(s, RawImageItems)]
    assert len(raw) == 1 and len(raw[0]) == 48 and raw[0].paper is not None
    assert all(s.paper is not None for s in data.train_sources if isinstance(s, SyntheticItems | StyledInkItems))
    images = [raw[0].load(0, np.random.default_rng(k))[0] for k in range(8)]
    assert all(i.shape[0] == 32 and i.dtype == np.uint8 for i in images)  # preprocessed after the paper
    assert len({i.tobytes() for i in images}) > 1


def test_paper_config_checks(word_tables, tmp_path: Path) -> None:
    sets = tiny_overrides(word_tables.train, word_tables.val, tmp_path)
    with pytest.raises(ConfigError, match=r"data\.paper must be between"):
        load_config(REPO / "configs" / "tiny.yaml", [*sets, "data.paper=2"])
    with pytest.raises(ConfigError, match="prepared folder"):
        load_config(REPO / "configs" / "tiny.yaml", [*sets, "data.paper=0.5", "data.prepared=x"])
