"""tools/device_kit.py: the IAM-OnDB pack that travels to a lent GPU machine, split files, and a run sized to
its measured pace (here on the CPU, with a tiny pen model)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scriba.data.sources.iam_ondb import read_iam_ondb_lines, read_iam_ondb_words
from scriba.recognizer import Recognizer
from tests.conftest import load_script
from tests.synthetic import pen_overrides, write_ink_words

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kit():
    return load_script(ROOT / "tools" / "device_kit.py")


def test_strokes_round_trip(kit) -> None:
    rng = np.random.default_rng(0)
    lengths = [5, 1, 40, 2]
    points = np.concatenate(
        [np.column_stack([rng.integers(-3000, 9000, (n, 2)), rng.integers(0, 2, n)]) for n in lengths]
    ).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    steps, pen = kit.encode_strokes(points, offsets)
    assert steps.dtype == np.int16 and pen.dtype == np.uint8 and len(pen) == (len(points) + 7) // 8
    np.testing.assert_array_equal(kit.decode_strokes(steps, pen, offsets), points)


def test_strokes_beyond_16_bits_are_refused(kit) -> None:
    points = np.array([[0, 0, 0], [40000, 0, 1]], np.int32)
    with pytest.raises(ValueError, match="16 bits"):
        kit.encode_strokes(points, np.array([0, 2]))


def test_pack_keeps_the_training_splits_exactly_and_leaves_testset_t(kit, iam_ondb_dir, tmp_path: Path) -> None:
    root = iam_ondb_dir.root
    for name in ("lines.csv", "words.csv"):  # line 2 and its word become testset_t
        (root / name).write_text((root / name).read_text().replace("testset_v", "testset_t"))
    pack = tmp_path / "kit.npz.xz"
    assert kit.pack_iam_ondb(root, pack) == pack.stat().st_size > 0
    assert kit.unpack_iam_ondb(pack, tmp_path / "out") == 2
    for read in (read_iam_ondb_lines, read_iam_ondb_words):
        original, unpacked = read(root, "trainset"), read(tmp_path / "out" / "iam_ondb", "trainset")
        assert [r.text for r in unpacked] == [r.text for r in original] and original
        assert [r.meta for r in unpacked] == [r.meta for r in original]
        for a, b in zip(original, unpacked, strict=True):
            assert a.ink is not None and b.ink is not None and len(a.ink) == len(b.ink)
            for sa, sb in zip(a.ink, b.ink, strict=True):
                np.testing.assert_array_equal(sa, sb)
        assert read(root, "testset_t") and not read(tmp_path / "out" / "iam_ondb", "testset_t")


def test_split_and_join(kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.random.default_rng(1).bytes(2500)
    (tmp_path / "model.safetensors").write_bytes(data)
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(kit, "PART_SIZE", 1000)
    parts = kit.copy_split(tmp_path / "model.safetensors", tmp_path / "out")
    assert [p.name for p in parts] == [f"model.safetensors.part0{k}" for k in range(3)]
    assert [p.stat().st_size for p in parts] == [1000, 1000, 500]
    kit.main(["join", str(tmp_path / "out"), "--to", str(tmp_path / "joined")])
    assert (tmp_path / "joined" / "model.safetensors").read_bytes() == data
    small = tmp_path / "small.json"
    small.write_text("{}")
    assert kit.copy_split(small, tmp_path / "out") == [tmp_path / "out" / "small.json"]


def test_pace_times_its_steps_however_slow_the_machine(kit, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 10))  # every step takes 10 s: the probe's minute is over long before its steps
    monkeypatch.setattr(kit.time, "monotonic", lambda: next(clock))
    trainer = SimpleNamespace(num_training_batches=5, should_stop=False)
    pace = kit.Pace(skip=2, measured=3, minutes=0.01)
    pace.on_train_start(trainer, None)
    stops = []
    for _ in range(5):
        assert math.isnan(pace.rate())
        pace.on_train_batch_end(trainer)
        stops.append(trainer.should_stop)
    assert stops == [False, False, False, False, True]
    assert pace.rate() == pytest.approx(0.1)  # 3 steps timed over 30 s


def test_train_sizes_the_run_from_the_probe_and_returns_its_model(kit, tmp_path: Path) -> None:
    train = write_ink_words(tmp_path / "train", 48)
    val = write_ink_words(tmp_path / "val", 8, split="testset_v", seed=3)
    out = tmp_path / "out"
    sets = [*pen_overrides(train, val, tmp_path / "runs"), f"model_out={tmp_path}/runs/tiny_pen/model.safetensors"]
    args = ["train", str(ROOT / "configs" / "tiny.yaml"), "2", "--set", *sets, "--out", str(out)]
    kit.main([*args, "--probe-minutes", "0.1", "--max-epochs", "3"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_per_epoch"] == 6  # 48 words, batch 8
    assert summary["steps_per_second"] > 0
    assert summary["epochs"] == 3  # the pace allows far more in 2 minutes; --max-epochs caps it
    assert not (tmp_path / "runs" / "tiny_pen_probe").exists()
    history = (out / "metrics0.csv").read_text().splitlines()
    assert sum(1 for row in history[1:] if row.split(",")[history[0].split(",").index("val/cer")]) == 3
    model = out / "model.safetensors"
    assert model.read_bytes() == (tmp_path / "runs" / "tiny_pen" / "model.safetensors").read_bytes()
    readings = Recognizer.load(model).read_records(read_iam_ondb_lines(val, "testset_v")[:2], batch_size=2)
    assert len(readings) == 2 and all(isinstance(r.text, str) for r in readings)
