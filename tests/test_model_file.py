from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from scriba.charset import Charset
from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle
from scriba.errors import ConfigError, ModelFileError, RemovedOptionError
from scriba.model_file import (
    FORMAT_VERSION,
    ModelFile,
    average_model_files,
    load_model_file,
    read_metadata,
    save_model_file,
)
from scriba.models import build_model

TINY_ARGS = {"channels": [8, 16, 16, 24], "blocks": [1, 1, 1, 1], "hidden": 24, "layers": 1, "dropout": 0.0}


@pytest.fixture
def model_file() -> ModelFile:
    torch.manual_seed(0)
    charset = Charset("ABCDÉ -'", max_label_length=20)
    model = build_model("resnet_crnn", charset.num_classes, 32, TINY_ARGS).eval()
    # Non-default batch-norm statistics, so that buffers are checked as well as weights.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.9, 1.1)
    return ModelFile(
        model=model,
        architecture="resnet_crnn",
        charset=charset,
        preprocessing=Preprocessing(height=32, min_width=24, max_width=800),
        ink_style=InkStyle(band_height=36.0, stroke_width=2.0),
        info={"data": "synthetic", "metrics": {"val/cer": 0.125}, "note": "naïve"},
    )


@pytest.fixture
def saved(tmp_path: Path, model_file: ModelFile) -> Path:
    return save_model_file(tmp_path / "models" / "tiny.safetensors", model_file)


def _rewrite(src: Path, dst: Path, edit_metadata=None, edit_tensors=None) -> Path:
    """Copy a model file, changing its scriba metadata and/or tensors."""
    tensors = load_file(src)
    with safe_open(str(src), "pt") as f:
        header = dict(f.metadata())
    metadata: dict[str, Any] = json.loads(header["scriba"])
    if edit_metadata:
        edit_metadata(metadata)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(dst), metadata={"scriba": json.dumps(metadata)})
    return dst


def test_save_load_gives_identical_outputs(saved: Path, model_file: ModelFile) -> None:
    loaded = load_model_file(saved)
    assert not loaded.model.training
    images = torch.rand(2, 1, 32, 70)
    widths = torch.tensor([70, 50])
    with torch.no_grad():
        expected, expected_lengths = model_file.model(images, widths)
        got, got_lengths = loaded.model(images, widths)
    assert torch.equal(got, expected)
    assert torch.equal(got_lengths, expected_lengths)
    original = model_file.model.state_dict()
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, original[key]), key


def test_metadata_round_trip(saved: Path, model_file: ModelFile) -> None:
    loaded = load_model_file(saved)
    assert loaded.architecture == "resnet_crnn"
    assert loaded.charset == model_file.charset
    assert loaded.charset.max_label_length == 20
    assert loaded.preprocessing == model_file.preprocessing
    assert loaded.ink_style == model_file.ink_style
    assert loaded.info == model_file.info
    assert loaded.model_args == model_file.model_args
    metadata = read_metadata(saved)
    assert metadata["format"] == "scriba-model" and metadata["format_version"] == FORMAT_VERSION
    assert metadata["num_classes"] == model_file.charset.num_classes
    assert metadata["model_args"]["channels"] == [8, 16, 16, 24]


def test_save_is_atomic_and_overwrites(saved: Path, model_file: ModelFile) -> None:
    model_file.info = {"version": 2}
    save_model_file(saved, model_file)
    assert read_metadata(saved)["info"] == {"version": 2}
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temp file left behind
    assert saved.stat().st_mode & 0o777 == 0o644  # readable by others, unlike mkstemp's 0600


@pytest.mark.parametrize("keep", [0.5, 0.02])  # cut in the tensors, cut in the header
def test_truncated_file(saved: Path, tmp_path: Path, keep: float) -> None:
    data = saved.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError):
        load_model_file(cut)


def test_non_scriba_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(ModelFileError, match="not a scriba model"):
        load_model_file(path)
    save_file({"w": torch.zeros(3)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not a scriba model"):
        read_metadata(path)


def test_random_bytes_missing_and_empty_files(tmp_path: Path, empty_file: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ModelFileError):
        load_model_file(junk)
    # A plausible header length followed by bytes that are not JSON.
    garbled = tmp_path / "garbled.safetensors"
    garbled.write_bytes((100).to_bytes(8, "little") + b"\xff" * 200)
    with pytest.raises(ModelFileError):
        load_model_file(garbled)
    with pytest.raises(ModelFileError, match="not found"):
        load_model_file(tmp_path / "missing.safetensors")
    with pytest.raises(ModelFileError):
        load_model_file(empty_file)


def test_other_format_version(saved: Path, tmp_path: Path) -> None:
    path = _rewrite(saved, tmp_path / "v2.safetensors", edit_metadata=lambda m: m.update(format_version=2))
    with pytest.raises(ModelFileError, match="version 2"):
        load_model_file(path)
    path = _rewrite(saved, tmp_path / "noversion.safetensors", edit_metadata=lambda m: m.pop("format_version"))
    with pytest.raises(ModelFileError):
        read_metadata(path)


def test_scriba_metadata_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"scriba": "{not json"})
    with pytest.raises(ModelFileError):
        read_metadata(path)


def test_weights_that_do_not_fit_the_architecture(saved: Path, tmp_path: Path) -> None:
    wider = _rewrite(saved, tmp_path / "wider.safetensors", edit_metadata=lambda m: m["model_args"].update(hidden=32))
    with pytest.raises(ModelFileError, match="does not match its architecture"):
        load_model_file(wider)

    def drop_one(tensors: dict[str, torch.Tensor]) -> None:
        tensors.pop(sorted(tensors)[0])

    missing = _rewrite(saved, tmp_path / "missing.safetensors", edit_tensors=drop_one)
    with pytest.raises(ModelFileError, match="does not match its architecture"):
        load_model_file(missing)

    other_charset = _rewrite(
        saved, tmp_path / "charset.safetensors", edit_metadata=lambda m: m["charset"].update(characters="AB")
    )
    with pytest.raises(ModelFileError, match="does not match its architecture"):
        load_model_file(other_charset)

    unknown = _rewrite(saved, tmp_path / "arch.safetensors", edit_metadata=lambda m: m.update(architecture="nope"))
    with pytest.raises(ModelFileError, match="nope"):
        load_model_file(unknown)


def test_ink_style_from_a_newer_version_or_invalid(saved: Path, tmp_path: Path) -> None:
    newer = _rewrite(saved, tmp_path / "newer.safetensors", edit_metadata=lambda m: m["ink_style"].update(sparkle=3))
    assert load_model_file(newer).ink_style.stroke_width == load_model_file(saved).ink_style.stroke_width
    bad = _rewrite(saved, tmp_path / "bad.safetensors", edit_metadata=lambda m: m["ink_style"].update(stroke_width=-1))
    with pytest.raises(ModelFileError, match="invalid ink style"):
        load_model_file(bad)


# What files written before the unshipped experiments' options were removed hold (the shipped models among them).
OLD_DEFAULTS = {
    "model_args": {"column_pool": False, "shortcut": 0.0, "rows": 0},
    "preprocessing": {"pen_air": 0.0, "pen_context": 0, "pen_context_cell": 0.25},
    "ink_style": {"local_aspect": 0.0, "local_slant": 0.0, "local_size": 0.0},
}


def test_files_holding_removed_options_at_their_defaults_load_and_read_as_before(
    saved: Path, tmp_path: Path, model_file: ModelFile
) -> None:
    def old(metadata: dict[str, Any]) -> None:
        for key, fields in OLD_DEFAULTS.items():
            metadata[key].update(fields)

    loaded = load_model_file(_rewrite(saved, tmp_path / "old.safetensors", edit_metadata=old))
    assert loaded.model_args == model_file.model_args
    assert (loaded.preprocessing, loaded.ink_style) == (model_file.preprocessing, model_file.ink_style)
    images, widths = torch.rand(2, 1, 32, 70), torch.tensor([70, 50])
    with torch.no_grad():
        assert torch.equal(loaded.model(images, widths)[0], model_file.model(images, widths)[0])
    resaved = read_metadata(save_model_file(tmp_path / "resaved.safetensors", loaded))
    assert not any(option in resaved[key] for key, fields in OLD_DEFAULTS.items() for option in fields)


@pytest.mark.parametrize(
    ("key", "option", "value"),
    [
        ("model_args", "column_pool", True),
        ("model_args", "shortcut", 0.1),
        ("model_args", "rows", 2),
        ("preprocessing", "pen_air", 0.2),
        ("preprocessing", "pen_context", 7),
        ("preprocessing", "pen_context_cell", 0.3),
        ("ink_style", "local_aspect", 0.3),
        ("ink_style", "local_slant", 12.0),
        ("ink_style", "local_size", 0.15),
    ],
)
def test_files_that_used_a_removed_option_are_refused_naming_it(
    saved: Path, tmp_path: Path, key: str, option: str, value: object
) -> None:
    path = _rewrite(saved, tmp_path / "used.safetensors", edit_metadata=lambda m: m[key].update({option: value}))
    with pytest.raises(RemovedOptionError, match=rf"sets {key}\.{option} = {value!r}, an option removed") as info:
        load_model_file(path)
    assert isinstance(info.value, ModelFileError) and info.value.option.endswith(f".{option}")
    assert len(str(info.value).splitlines()) == 1


# --- averaging (model soups) -------------------------------------------------------------------


def _perturbed(saved: Path, dst: Path, seed: int) -> Path:
    """A copy of ``saved`` with every float tensor moved by noise, as if fine-tuned further."""
    generator = torch.Generator().manual_seed(seed)

    def move(tensors: dict[str, torch.Tensor]) -> None:
        for key, value in tensors.items():
            if value.is_floating_point():
                tensors[key] = value + 0.05 * torch.randn(value.shape, generator=generator)

    return _rewrite(saved, dst, edit_tensors=move)


def test_average_is_the_weighted_mean_of_weights_and_buffers(saved: Path, tmp_path: Path) -> None:
    other = _perturbed(saved, tmp_path / "other.safetensors", seed=1)
    third = _perturbed(saved, tmp_path / "third.safetensors", seed=2)
    out = tmp_path / "soup.safetensors"
    average_model_files([saved, other, third], out, weights=[2.0, 1.0, 1.0])
    parts = [load_file(p) for p in (saved, other, third)]
    soup = load_file(out)
    assert soup.keys() == parts[0].keys()
    for key, value in soup.items():
        if value.is_floating_point():
            expected = 0.5 * parts[0][key] + 0.25 * parts[1][key] + 0.25 * parts[2][key]
            torch.testing.assert_close(value, expected, rtol=0, atol=1e-6)
            assert not torch.equal(value, parts[0][key])  # nothing copied from one part
        else:  # batch counts
            assert torch.equal(value, parts[0][key])
    loaded = load_model_file(out)  # a working model file with the first model's metadata
    assert loaded.charset.characters == "ABCDÉ -'"
    assert [part["weight"] for part in loaded.info["averaged_from"]] == [2.0, 1.0, 1.0]
    assert loaded.info["note"] == "naïve" and loaded.info["name"] == "soup"
    assert "metrics" not in loaded.info and loaded.info["averaged_from"][0]["metrics"] == {"val/cer": 0.125}


def test_average_refuses_models_that_cannot_be_averaged(saved: Path, tmp_path: Path, model_file: ModelFile) -> None:
    with pytest.raises(ConfigError, match="at least two"):
        average_model_files([saved], tmp_path / "a.safetensors")
    with pytest.raises(ConfigError, match="one positive weight per model"):
        average_model_files([saved, saved], tmp_path / "a.safetensors", weights=[1.0])
    with pytest.raises(ConfigError, match="one positive weight per model"):
        average_model_files([saved, saved], tmp_path / "a.safetensors", weights=[1.0, 0.0])
    other_charset = dataclasses.replace(model_file, charset=Charset("ABCDX -'", max_label_length=20))
    other = save_model_file(tmp_path / "charset.safetensors", other_charset)
    with pytest.raises(ConfigError, match="charset differ"):
        average_model_files([saved, other], tmp_path / "a.safetensors")
    other_input = dataclasses.replace(model_file, preprocessing=Preprocessing(height=32, tall_height=44))
    other = save_model_file(tmp_path / "input.safetensors", other_input)
    with pytest.raises(ConfigError, match="preprocessing differ"):
        average_model_files([saved, other], tmp_path / "a.safetensors")
    assert not (tmp_path / "a.safetensors").exists()
