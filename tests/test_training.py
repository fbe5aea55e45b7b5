"""Training end to end on tiny synthetic data: smoke, resume after interruption, fine-tuning, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch

from scriba.charset import Charset
from scriba.checkpoints import export_best, read_history
from scriba.config import load_config
from scriba.errors import ConfigError, ModelFileError
from scriba.model_file import load_model_file, read_metadata
from scriba.recognizer import Recognizer
from scriba.training import TrainingInterrupted, build_or_finetune, fit
from tests.conftest import REPO
from tests.synthetic import tiny_overrides, write_word_table

TINY = REPO / "configs" / "tiny.yaml"


def test_smoke_training_learns_and_writes_a_usable_model(tiny_run, word_tables) -> None:
    run = tiny_run.run_dir
    for name in ("config.yaml", "cleaning_train.json", "cleaning_val.json", "data_card.json", "curves.png"):
        assert (run / name).is_file(), name
    assert list((run / "checkpoints").glob("best-*.ckpt")) and (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "tensorboard").is_dir()
    losses = pd.read_csv(run / "csv" / "version_0" / "metrics.csv")["train/loss"].dropna()
    assert losses.iloc[-3:].mean() < losses.iloc[:3].mean()  # the loss went down

    metadata = read_metadata(tiny_run.model_path)
    assert metadata["architecture"] == "resnet_crnn"
    assert set(metadata["charset"]["characters"]) == set("".join(pd.read_csv(word_tables.train)["text"]))
    assert metadata["info"]["data"]["train_samples"] == 48
    assert [h["epoch"] for h in metadata["info"]["history"]] == [0, 1]
    assert 0 <= metadata["info"]["metrics"]["val/cer"] <= 1.5

    readings = Recognizer.load(tiny_run.model_path).read_images(sorted(word_tables.train.parent.glob("*.png"))[:3])
    assert len(readings) == 3 and all(0 <= r.confidence <= 1 for r in readings)


class _Interrupt(L.Callback):
    """Raises KeyboardInterrupt in the middle of the second epoch, as Ctrl-C would."""

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.current_epoch == 1 and trainer.global_step >= 8:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_where_it_stopped(word_tables, tmp_path: Path) -> None:
    config = load_config(TINY, tiny_overrides(word_tables.train, word_tables.val, tmp_path, epochs=3))
    with pytest.raises(TrainingInterrupted, match="continue with --resume"):
        fit(config, extra_callbacks=[_Interrupt()])
    last = config.run_dir / "checkpoints" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["global_step"] == 8  # the checkpoint holds the interrupted position, not the epoch start

    result = fit(config, resume=True)
    final = torch.load(last, map_location="cpu", weights_only=False)
    assert final["epoch"] == 2 and final["global_step"] == 18  # 3 epochs x 6 batches, none repeated
    history = read_metadata(result.model_path)["info"]["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]  # both sessions' logs
    assert sorted(p.parent.name for p in (config.run_dir / "csv").glob("*/metrics.csv")) == ["version_0", "version_1"]


def test_a_time_limit_ends_the_session_at_the_exact_step_and_resume_goes_on(word_tables, tmp_path: Path) -> None:
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path, epochs=3)
    result = fit(load_config(TINY, [*overrides, "training.max_minutes=0.000001"]))  # up after the first step
    config = load_config(TINY, overrides)
    last = config.run_dir / "checkpoints" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["global_step"] == 1 and state["epoch"] == 0  # the step it stopped at, not the end of the epoch
    assert result.model_path.is_file()  # the session still leaves a model file

    fit(config, resume=True)
    final = torch.load(last, map_location="cpu", weights_only=False)
    assert final["epoch"] == 2 and final["global_step"] == 18  # 3 epochs x 6 batches: the first epoch's rest too
    with pytest.raises(ConfigError, match="max_minutes must be 0"):
        load_config(TINY, ["training.max_minutes=-5"])


def test_resume_without_a_checkpoint_is_an_error(word_tables, tmp_path: Path) -> None:
    config = load_config(TINY, tiny_overrides(word_tables.train, word_tables.val, tmp_path))
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        fit(config, resume=True)


def test_export_best_rebuilds_the_model_file_from_checkpoints(tiny_run, tmp_path: Path) -> None:
    config = load_config(tiny_run.run_dir / "config.yaml", [f"model_out={tmp_path / 'again.safetensors'}"])
    result = export_best(config)
    original, again = load_model_file(tiny_run.model_path), load_model_file(result.model_path)
    for key, value in original.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key]), key
    assert read_history(tiny_run.run_dir / "csv")[0]["epoch"] == 0


def test_select_last_takes_the_end_of_the_run(tiny_run, tmp_path: Path) -> None:
    out = tmp_path / "last.safetensors"
    config = load_config(tiny_run.run_dir / "config.yaml", [f"model_out={out}", "training.select=last"])
    result = export_best(config)  # honours training.select, as fit does at the end of a run
    state = torch.load(tiny_run.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    exported = load_model_file(result.model_path)
    for key, value in exported.model.state_dict().items():
        assert torch.equal(value, state["state_dict"][f"model.{key}"]), key
    history = read_history(tiny_run.run_dir / "csv")
    assert exported.info["metrics"]["checkpoint"] == "last.ckpt"
    assert result.best_val_cer == exported.info["metrics"]["val/cer"] == history[-1]["val/cer"]
    with pytest.raises(ConfigError, match=r"training\.select must be one of"):
        load_config(TINY, ["training.select=middle"])


def test_fine_tuning_grows_the_charset_and_keeps_old_weights(tiny_model: Path, tmp_path: Path) -> None:
    base = load_model_file(tiny_model)
    train = write_word_table(tmp_path / "train", 8, seed=3, extra_rows=["img_3_000.png,CAT", "img_3_001.png,DOG"])
    val = write_word_table(tmp_path / "val", 4, seed=4)
    overrides = [*tiny_overrides(train, val, tmp_path / "runs", epochs=1), f"training.init_from={tiny_model}"]
    overrides.append("training.lr=1e-9")  # keep the weights (almost) where they were
    tuned = load_model_file(fit(load_config(TINY, overrides)).model_path)

    old = base.charset.characters
    assert tuned.charset.characters.startswith(old)
    assert set(tuned.charset.characters[len(old) :]) == set("CATDOG")
    old_rows = base.model.state_dict()["head.classifier.weight"]
    new_rows = tuned.model.state_dict()["head.classifier.weight"]
    assert new_rows.shape[0] == tuned.charset.num_classes
    assert torch.allclose(new_rows[: old_rows.shape[0]], old_rows, atol=1e-4)


def test_fine_tuning_to_another_charset_carries_rows_by_character(tiny_model: Path, tmp_path: Path) -> None:
    base = load_model_file(tiny_model)
    known = base.charset.characters
    # Another charset: two known characters in reverse order and one the model never saw.
    new = Charset(known[1] + known[0] + "\u00e9")
    config = load_config(TINY, [f"training.init_from={tiny_model}"])
    model = build_or_finetune(config, new)
    old_rows = base.model.state_dict()["head.classifier.weight"]
    rows = model.state_dict()["head.classifier.weight"]
    assert rows.shape[0] == new.num_classes == 4
    assert torch.equal(rows[0], old_rows[0])  # blank
    assert torch.equal(rows[1], old_rows[base.charset.encode(known[1])[0]])
    assert torch.equal(rows[2], old_rows[base.charset.encode(known[0])[0]])
    assert not any(torch.equal(rows[3], r) for r in old_rows)  # the new character starts fresh
    first = next(iter(base.model.state_dict()))  # a feature-extractor weight, carried as it is
    assert torch.equal(model.state_dict()[first], base.model.state_dict()[first])


def test_fine_tuning_from_a_model_named_as_shipped_models_are(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``training.init_from: english`` works for a user with no checkout (no models/ folder): the name is
    looked up where shipped models are (``$SCRIBA_MODELS``, then the package), as ``scriba read --model`` does."""
    folder = tmp_path / "zoo"
    folder.mkdir()
    (folder / "mine.safetensors").write_bytes(tiny_model.read_bytes())
    monkeypatch.setenv("SCRIBA_MODELS", str(folder))
    config = load_config(TINY, ["training.init_from=mine"])
    assert config.training.init_model() == folder / "mine.safetensors"
    base = load_model_file(tiny_model)
    model = build_or_finetune(config, base.charset)
    assert all(torch.equal(value, base.model.state_dict()[key]) for key, value in model.state_dict().items())
    assert load_config(TINY).training.init_model() is None
    with pytest.raises(ModelFileError, match="unknown model 'nobody'"):
        load_config(TINY, ["training.init_from=nobody"]).training.init_model()


def test_fine_tuning_with_other_preprocessing_than_the_model_read_is_warned(
    tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = load_model_file(tiny_model)
    with caplog.at_level("WARNING", logger="scriba.training"):
        build_or_finetune(load_config(TINY, [f"training.init_from={tiny_model}"]), base.charset)
    assert not caplog.records  # the recipe that trained it: nothing to say
    stretch = base.preprocessing.stretch + 0.5
    with caplog.at_level("WARNING", logger="scriba.training"):
        build_or_finetune(
            load_config(TINY, [f"training.init_from={tiny_model}", f"preprocessing.stretch={stretch}"]), base.charset
        )
    (record,) = caplog.records
    assert "other preprocessing" in record.getMessage()
    assert f"stretch {base.preprocessing.stretch!r} -> {stretch!r}" in record.getMessage()


class _ClassifierDtypes(L.Callback):
    """Records the dtype of the classifier's output at every training step."""

    def __init__(self) -> None:
        self.dtypes: list[torch.dtype] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        def record(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
            if module.training:
                self.dtypes.append(output.dtype)

        pl_module.model.head.classifier.register_forward_hook(record)


def test_bf16_mixed_precision_trains_on_the_cpu(word_tables, tmp_path: Path) -> None:
    """``training.precision=bf16-mixed`` on the CPU: the network runs in bfloat16, the weights stay float32."""
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path, name="bf16", epochs=1)
    watch = _ClassifierDtypes()
    config = load_config(TINY, [*overrides, "training.precision=bf16-mixed", "training.accelerator=cpu"])
    result = fit(config, extra_callbacks=[watch])
    assert len(watch.dtypes) == 6 and set(watch.dtypes) == {torch.bfloat16}  # 48 samples, batch 8
    weights = load_model_file(result.model_path).model.state_dict().values()
    assert {w.dtype for w in weights if w.is_floating_point()} == {torch.float32}
    readings = Recognizer.load(result.model_path).read_images(sorted(word_tables.train.parent.glob("*.png"))[:2])
    assert len(readings) == 2


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(word_tables, tmp_path: Path) -> None:
    """Lightning DDP with the gloo backend: two processes, each taking half of the batches."""
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path, name="ddp", epochs=1)
    overrides += ["training.devices=2", "training.strategy=ddp", "training.accelerator=cpu"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "scriba.cli", "train", "--config", str(TINY), "--set", *overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "MEMBER: 2/2" in output  # Lightning's "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2"
    state = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 3  # 6 batches split over 2 ranks
    assert (tmp_path / "ddp" / "model.safetensors").is_file()


def test_styled_ink_and_synthetic_words_in_worker_processes(word_tables, iam_ondb_dir, tmp_path: Path) -> None:
    """Ink sources drawn in random styles, synthetic words mixed in by ratio, loading in a worker process."""
    ondb = iam_ondb_dir.root
    overrides = [
        *tiny_overrides(word_tables.train, word_tables.val, tmp_path, epochs=1),
        f"data.train=[{{path: '{word_tables.train}', kind: table}},"
        f" {{path: '{ondb}', kind: iam_ondb_lines, split: trainset}}]",
        "data.ink_styles=1.0",
        "data.synth.ratio=0.5",
        "data.synth.kind=words",
        "data.augment=0.5",
        "training.num_workers=1",
    ]
    result = fit(load_config(TINY, overrides))
    card = read_metadata(result.model_path)["info"]["data"]
    assert card["train_samples"] == 48 + 1  # the one trainset IAM-OnDB line without markers
    assert card["synthetic_per_epoch"] == 24  # ratio 0.5 of the 49 real samples
    state = torch.load(tmp_path / "tiny" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == -(-(49 + 24) // 8)  # every source's samples were batched


@pytest.mark.parametrize(
    ("architecture", "args"),
    [
        ("names_crnn", "{channels: [8, 16, 16], projection: 16, hidden: 16, layers: 1, dropout: 0.0}"),
        ("vgg_crnn", "{channels: [8, 16, 16, 16, 24, 24, 24], hidden: 16, layers: 1}"),
    ],
)
def test_the_other_classic_crnns_train_and_read(architecture: str, args: str, word_tables, tmp_path: Path) -> None:
    """The seeds' CRNNs beside ``resnet_crnn`` (the shipped models' architecture): each trains from a recipe
    (its loss goes down) and its model file reads."""
    overrides = [
        *tiny_overrides(word_tables.train, word_tables.val, tmp_path, epochs=3),
        f"model={{name: {architecture}, args: {args}}}",
    ]
    result = fit(load_config(TINY, overrides))
    metadata = read_metadata(result.model_path)
    assert metadata["architecture"] == architecture and metadata["model_args"]["hidden"] == 16
    losses = [epoch["train/loss"] for epoch in metadata["info"]["history"]]
    assert len(losses) == 3 and losses[-1] < losses[0]
    images = sorted(word_tables.val.parent.glob("*.png"))[:4]
    recognizer = Recognizer.load(result.model_path)
    readings = recognizer.read_images(images)
    assert len(readings) == 4 and all(set(r.text) <= set(recognizer.charset.characters) for r in readings)
    assert all(0 < r.confidence <= 1 and len(r.char_confidences) == len(r.text) for r in readings)


def test_training_on_its_own_validation_files_is_refused_in_one_line_unless_asked(word_tables, tmp_path: Path) -> None:
    """Training drops the files a validation image repeats; when that is every training file (the same table in
    data.train and data.val) it says so in one line, and ``drop_validation_copies=false`` keeps them."""
    from scriba.errors import DataFormatError
    from scriba.training_data import load_data

    same = tiny_overrides(word_tables.val, word_tables.val, tmp_path)
    with pytest.raises(DataFormatError, match="every training image is a copy of a validation image") as caught:
        load_data(load_config(TINY, same))
    assert "\n" not in str(caught.value)
    loaded = load_data(load_config(TINY, [*same, "data.cleaning.drop_validation_copies=false"]))
    assert len(loaded.records["train"]) == len(loaded.records["val"]) > 0
