"""`scriba prepare` and ``data.prepared``: the same samples as reading the sources, fast and safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scriba.cli import main
from scriba.config import load_config
from scriba.data.dataset import HandwritingDataset
from scriba.data.packed import PackedImageItems, PackedInkItems
from scriba.errors import ConfigError, DataFormatError
from scriba.model_file import read_metadata
from scriba.training import fit
from scriba.training_data import prepare_data, write_prepared_data
from tests.conftest import REPO
from tests.synthetic import tiny_overrides

TINY = REPO / "configs" / "tiny.yaml"


def _overrides(word_tables, ondb: Path, out: Path, *extra: str) -> list[str]:
    """Word images plus IAM-OnDB ink lines to train on, word images to validate on."""
    return [
        *tiny_overrides(word_tables.train, word_tables.val, out, epochs=1),
        f"data.train=[{{path: '{word_tables.train}', kind: table}},"
        f" {{path: '{ondb}', kind: iam_ondb_lines, split: trainset}}]",
        "data.augment=0.5",
        *extra,
    ]


def _datasets(overrides: list[str], tmp_path: Path) -> tuple[HandwritingDataset, HandwritingDataset, list, list]:
    """Training datasets and validation (images, texts) from the sources and from a prepared folder."""
    config = load_config(TINY, overrides)
    prepared = write_prepared_data(config, tmp_path / "prepared").path
    packed_config = load_config(TINY, [*overrides, f"data.prepared={prepared}"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    memory, packed = prepare_data(config, tmp_path / "a"), prepare_data(packed_config, tmp_path / "b")
    assert memory.charset == packed.charset and memory.card == packed.card
    for name in ("cleaning_train.json", "cleaning_val.json", "data_card.json"):
        assert (tmp_path / "a" / name).read_text("utf-8") == (tmp_path / "b" / name).read_text("utf-8")
    datasets = [
        HandwritingDataset(d.train_sources, d.charset, config.data.augment, config.seed, d.frames)
        for d in (memory, packed)
    ]
    return datasets[0], datasets[1], [memory.val_images, memory.val_texts], [packed.val_images, packed.val_texts]


@pytest.mark.parametrize(
    ("extra", "kinds"),
    [
        ([], {PackedImageItems}),
        (["data.ink_styles=1.0", "data.synth.ratio=0.25"], {PackedImageItems, PackedInkItems}),
    ],
    ids=["images", "styled-ink-and-synthetic"],
)
def test_prepared_data_gives_the_same_samples_as_the_sources(
    word_tables, iam_ondb_dir, tmp_path: Path, extra: list[str], kinds: set[type]
) -> None:
    overrides = _overrides(word_tables, iam_ondb_dir.root, tmp_path / "runs", *extra)
    memory, packed, memory_val, packed_val = _datasets(overrides, tmp_path)
    assert kinds <= {type(s) for s in packed.sources}
    assert len(memory) == len(packed) and memory.widths == packed.widths
    for epoch in (0, 1):
        for index in range(len(memory)):
            a, b = memory[(index, epoch)], packed[(index, epoch)]
            assert a.text == b.text and torch.equal(a.image, b.image), (index, epoch)
            assert torch.equal(a.target, b.target)
    assert memory_val[1] == packed_val[1]
    assert all((a == b).all() for a, b in zip(memory_val[0], packed_val[0], strict=True))


def test_a_folder_prepared_from_another_config_is_refused(word_tables, iam_ondb_dir, tmp_path: Path) -> None:
    overrides = _overrides(word_tables, iam_ondb_dir.root, tmp_path / "runs")
    prepared = write_prepared_data(load_config(TINY, overrides), tmp_path / "prepared").path
    changed = load_config(TINY, [*overrides, f"data.prepared={prepared}", "preprocessing.height=48"])
    with pytest.raises(ConfigError, match=r"another data/preprocessing config .*run scriba prepare again"):
        prepare_data(changed, tmp_path)
    # What only matters at training time (augmentation, ink styles, synthetic data) may change freely.
    same = load_config(TINY, [*overrides, f"data.prepared={prepared}", "data.augment=0", "data.ink_styles=0.5"])
    assert prepare_data(same, tmp_path).card["train_samples"] == 49
    missing = load_config(TINY, [*overrides, f"data.prepared={tmp_path / 'absent'}"])
    with pytest.raises(DataFormatError, match="not a prepared data folder"):
        prepare_data(missing, tmp_path)


def test_cli_prepare_writes_the_folder_and_a_summary(capsys, word_tables, tmp_path: Path) -> None:
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path)
    code = main(["prepare", "--config", str(TINY), "--set", *overrides])
    out, err = capsys.readouterr()
    assert code == 0, err
    folder = tmp_path / "tiny" / "prepared"  # the default: <output_dir>/<name>/prepared
    assert f"prepared {folder} in " in out
    assert "train: 48 samples (0 with ink), 0 dropped" in out and "val: 12 samples" in out and "MiB" in out
    assert f"data.prepared={folder}" in out
    info = json.loads((folder / "prepared.json").read_text("utf-8"))
    assert info["splits"]["train"]["samples"] == 48 and info["cleaning"]["val"]["kept"] == 12
    assert info["config"]["model"]["name"] == "resnet_crnn" and len(info["fingerprint"]) == 64

    code = main(["prepare", "--config", str(TINY), "--set", *overrides, "--out", str(tmp_path / "elsewhere")])
    assert code == 0 and (tmp_path / "elsewhere" / "train.lmdb").is_file()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "data.train=[]"], "the config needs data.train and data.val sources"),
        (["--set", "data.nonsense=1"], "unknown key(s) in data: nonsense"),
    ],
)
def test_cli_prepare_bad_config_is_one_line_error(capsys, tmp_path: Path, args: list[str], message: str) -> None:
    code = main(["prepare", "--config", str(TINY), "--out", str(tmp_path / "p"), *args])
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("scriba: error: ") and message in lines[0], err
    assert not (tmp_path / "p").exists()


def test_training_from_a_prepared_folder_in_a_worker_process(word_tables, tmp_path: Path) -> None:
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path, epochs=1)
    prepared = write_prepared_data(load_config(TINY, overrides), tmp_path / "prepared").path
    config = load_config(TINY, [*overrides, f"data.prepared={prepared}", "training.num_workers=1"])
    result = fit(config)
    card = read_metadata(result.model_path)["info"]["data"]
    assert card["train_samples"] == 48 and card["val_samples"] == 12
    state = torch.load(tmp_path / "tiny" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 6  # 48 samples in batches of 8, all read through the worker
