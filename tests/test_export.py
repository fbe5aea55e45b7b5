"""ONNX export: parity with torch on mixed widths, self-describing files, the onnx backend and its CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scriba.errors import ModelFileError
from scriba.export import OnnxNetwork, check_parity, export_onnx, load_onnx
from scriba.model_file import load_model_file
from scriba.recognizer import Recognizer
from tests.cli_helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES, read_labels


def _inputs(height: int, widths: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.where(rng.random((height, w)) < 0.15, 0, 255).astype(np.uint8) for w in widths]


def test_exported_model_matches_torch_on_mixed_widths_and_describes_itself(tiny_model: Path, tmp_path: Path) -> None:
    model_file = load_model_file(tiny_model)
    out = export_onnx(model_file, tmp_path / "tiny.onnx")
    height = model_file.preprocessing.height
    # Batched with padding: the length-aware export reads each sample as torch's packed LSTMs do.
    parity = check_parity(model_file, OnnxNetwork(out), _inputs(height, (9, 40, 120, 333, 64, 800, 17)), batch_size=4)
    assert parity["max_diff"] < 1e-4 and parity["same_text"] == 1.0 and parity["n"] == 7
    # INT8: smaller, close to the float model, the metadata kept.
    small = export_onnx(model_file, tmp_path / "tiny8.onnx", int8=True)
    assert small.stat().st_size < out.stat().st_size
    close = check_parity(model_file, OnnxNetwork(small), _inputs(height, (40, 120, 333)))
    assert close["max_diff"] < 1.0 and load_onnx(small)[0].charset == model_file.charset
    rebuilt, _ = load_onnx(out)
    assert rebuilt.charset == model_file.charset and rebuilt.preprocessing == model_file.preprocessing
    assert rebuilt.info.get("name") == model_file.info.get("name")


def test_the_onnx_backend_reads_as_torch_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a model that reads (the 2-epoch test model reads "" for everything): the same texts, the right ones."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    examples = read_labels(EXAMPLES)
    paths, texts = [path for path, _ in examples], [text for _, text in examples]
    torch_readings = Recognizer.load("english", lm=None).read_images(paths, batch_size=3)
    onnx_reader = Recognizer.load("english", lm=None, backend="onnx")
    cached = list((tmp_path / "cache" / "scriba" / "onnx").glob("*.onnx"))
    assert onnx_reader.backend == "onnx" and len(cached) == 1
    onnx_readings = onnx_reader.read_images(paths, batch_size=3)
    assert [r.text for r in onnx_readings] == [r.text for r in torch_readings] == texts
    for a, b in zip(onnx_readings, torch_readings, strict=True):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)
    # The exported file read by its path: its metadata holds the charset and the preprocessing.
    assert [r.text for r in Recognizer.load(cached[0], lm=None).read_images(paths)] == texts
    with pytest.raises(ValueError, match="float32"):
        Recognizer.load("english", backend="onnx", precision="bf16")


def test_export_cli_and_bad_onnx_files(
    capsys, tiny_model: Path, tmp_path: Path, image_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, _ = run(
        capsys, "export", "--model", str(tiny_model), "--out", str(tmp_path / "t.onnx"), "--check", str(image_file)
    )
    assert code == 0 and "greedy text identical on 100.0%" in out
    code, out, _ = run(capsys, "read", str(image_file), "--model", str(tmp_path / "t.onnx"))
    assert code == 0 and out.startswith(str(image_file))
    code, out2, _ = run(capsys, "read", str(image_file), "--model", str(tiny_model), "--backend", "onnx")
    assert code == 0 and out2 == out
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    assert_one_line_error(*run(capsys, "read", str(image_file), "--model", str(junk))[::2], "cannot load ONNX model")
    with pytest.raises(ModelFileError, match="not found"):
        Recognizer.load(tmp_path / "missing.onnx")
