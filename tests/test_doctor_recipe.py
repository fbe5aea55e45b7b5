"""The fine-tuning worked example (docs/fine-tuning.md, configs/examples/doctor.yaml) on ../shared/data/doctor:
the recipe loads, its table reader finds both splits, and training never sees a validation image."""

from __future__ import annotations

from pathlib import Path

from scriba.config import load_config
from scriba.data.cleaning import clean, drop_copies_of
from scriba.training_data import read_sources
from tests.conftest import REPO

RECIPE = REPO / "configs" / "examples" / "doctor.yaml"


def test_the_recipe_fine_tunes_the_shipped_english_model() -> None:
    config = load_config(RECIPE)
    start = config.training.init_model()
    assert start is not None and start.name == "english.safetensors"
    assert config.training.select == "last" and config.model_out.startswith("runs/")


def test_doctor_recipe_finds_its_data_and_keeps_validation_unseen(shared_doctor: Path) -> None:
    """The 78 names in both splits; training drops the 28 train files whose bytes a validation image repeats
    (27 val rows are marked `exact_duplicate_of` one of 23 train files, which have 5 more copies in train)."""
    config = load_config(RECIPE, [f"data.root={shared_doctor.parent}"])
    train, val = read_sources(config, config.data.train), read_sources(config, config.data.val)
    assert (len(train), len(val)) == (3120, 780)
    assert len({r.text for r in train}) == 78 and {r.text for r in val} <= {r.text for r in train}
    kept, report = clean(train, config.data.cleaning)
    kept, report = drop_copies_of(kept, val, report)
    assert dict(report.dropped) == {"copy_of_validation_image": 28}
    assert len(kept) == 3092
