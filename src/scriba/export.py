"""ONNX export and an ONNX Runtime backend for reading.

``export_onnx`` writes the network with variable batch and width axes (inputs ``images`` (N, 1, H, W) or pen
features, ``widths`` (N,); outputs ``log_probs`` (T, N, C), ``output_lengths`` (N,)) and the model file's JSON
metadata (charset, preprocessing, decoding, card) in the ONNX file's ``metadata_props`` under ``scriba``, so the
file describes itself. The BiLSTMs are exported length-aware (each sample's backward pass starts at its last
valid frame, as packed sequences do in torch), so a sample reads the same alone or padded in a batch.
``OnnxNetwork`` runs such a file with onnxruntime behind the interface the recognizer calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scriba.atomic import atomic_target
from scriba.data.dataset import Sample, as_model_input, collate
from scriba.errors import ConfigError, ModelFileError
from scriba.model_file import ModelFile, model_file_from_metadata, model_metadata

METADATA_KEY = "scriba"
OPSET = 17


def _dummy_batch(model_file: ModelFile) -> tuple[torch.Tensor, torch.Tensor]:
    """Two inputs of different widths, collated as the recognizer collates them."""
    height = model_file.preprocessing.height
    if model_file.preprocessing.reads_pen:
        inputs = [np.zeros((height, w), np.float32) for w in (60, 45)]
    else:
        inputs = [np.full((height, w), 255, np.uint8) for w in (200, 150)]
    empty = torch.zeros(0, dtype=torch.long)
    batch = collate([Sample(torch.from_numpy(as_model_input(x)), empty, "") for x in inputs])
    return batch.images, batch.widths


def export_onnx(model_file: ModelFile, out: str | Path, opset: int = OPSET, int8: bool = False) -> Path:
    """Write ``model_file``'s network as ONNX with its metadata (atomically).

    Args:
        int8: quantize the LSTMs and matrix products' weights to 8 bits (onnxruntime's dynamic quantization,
            ``reduce_range`` for CPUs without VNNI): on `english`, 1.13-1.18x faster than float32 ONNX on
            scanned lines at a CER 0.01 points higher (12.45% against 12.44% greedy on `iam_lines` `val`).

    Raises:
        ConfigError: the ``onnx`` package (or for ``int8`` onnxruntime) is not installed (``scriba[onnx]``).
    """
    try:
        import onnx
    except ImportError as err:
        raise ConfigError("ONNX export needs the onnx package: pip install 'scriba[onnx]'") from err
    model = model_file.model.eval()
    images, widths = _dummy_batch(model_file)
    with atomic_target(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes read from tensors: expected here
        torch.onnx.export(
            model,
            (images, widths),
            str(tmp),
            input_names=["images", "widths"],
            output_names=["log_probs", "output_lengths"],
            dynamic_axes={
                "images": {0: "batch", 3: "width"},
                "widths": {0: "batch"},
                "log_probs": {0: "frames", 1: "batch"},
                "output_lengths": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,  # the TorchScript exporter: dynamic widths through the LSTMs without extra packages
        )
        graph = onnx.load(str(tmp))
        entry = graph.metadata_props.add()
        entry.key = METADATA_KEY
        entry.value = json.dumps(model_metadata(model_file), ensure_ascii=False, default=str)
        onnx.save(graph, str(tmp))
        if int8:
            _quantize(tmp)
    return Path(out)


def _quantize(path: Path) -> None:
    """Dynamic INT8 quantization of an ONNX file in place (metadata kept)."""
    import logging

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:
        raise ConfigError("INT8 export needs onnxruntime: pip install 'scriba[onnx]'") from err
    quantized = path.with_name(path.name + ".int8")
    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process models with shape inference
    try:
        quantize_dynamic(
            str(path), str(quantized), weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul", "Gemm"],
            reduce_range=True,
        )  # fmt: skip
    finally:
        logging.getLogger().setLevel(quiet)
    os.replace(quantized, path)


class OnnxNetwork:
    """An ONNX file run by onnxruntime, called as the torch network is: ``(images, widths) -> (log_probs,
    output_lengths)`` as CPU tensors.

    Raises:
        ConfigError: onnxruntime is not installed.
        ModelFileError: the file cannot be loaded.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ConfigError("the onnx backend needs onnxruntime: pip install 'scriba[onnx]'") from err
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors for bad files
            raise ModelFileError(f"cannot load ONNX model {path}: {str(err).splitlines()[0]}") from err
        self.path = Path(path)

    def __call__(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {"images": images.float().numpy(), "widths": widths.numpy().astype(np.int64)}
        log_probs, lengths = self.session.run(None, feeds)
        return torch.from_numpy(log_probs), torch.from_numpy(lengths)

    def to(self, *args: Any, **kwargs: Any) -> OnnxNetwork:
        return self

    def eval(self) -> OnnxNetwork:
        return self

    def metadata(self) -> dict[str, Any]:
        """The scriba metadata stored in the file (empty when it has none)."""
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        return json.loads(raw) if raw else {}


def load_onnx(path: str | Path) -> tuple[ModelFile, OnnxNetwork]:
    """An exported ONNX file: its model file rebuilt from the metadata (charset, preprocessing, ...; the torch
    network with untrained weights, for its shape only) and the network to run.

    Raises:
        ModelFileError: no scriba metadata in the file, or the file cannot be loaded.
    """
    network = OnnxNetwork(path)
    metadata = network.metadata()
    if not metadata:
        raise ModelFileError(f"{path} is an ONNX file without scriba metadata (export it with scriba export)")
    return model_file_from_metadata(metadata, Path(path)), network


def check_parity(
    model_file: ModelFile, network: OnnxNetwork, inputs: list[np.ndarray], batch_size: int = 8
) -> dict[str, float]:
    """Torch against ONNX on prepared inputs (uint8 images or pen features), batched with mixed widths:
    ``max_diff`` (the largest |log-prob difference| on valid frames), ``same_text`` (the share of inputs
    whose greedy readings agree) and ``n``."""
    from scriba.decoding.greedy import greedy_decode

    empty = torch.zeros(0, dtype=torch.long)
    worst, same = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        batch = collate(
            [Sample(torch.from_numpy(as_model_input(x)), empty, "") for x in inputs[start : start + batch_size]]
        )
        with torch.inference_mode():
            expected, lengths = model_file.model.eval()(batch.images, batch.widths)
        got, got_lengths = network(batch.images, batch.widths)
        if not torch.equal(lengths, got_lengths):
            raise ModelFileError("the ONNX model's output lengths differ from torch's")
        for i, n in enumerate(lengths.tolist()):
            worst = max(worst, float((expected[:n, i] - got[:n, i]).abs().max()) if n else 0.0)
        a = greedy_decode(expected, lengths)
        b = greedy_decode(got, got_lengths)
        same += sum(x.ids == y.ids for x, y in zip(a, b, strict=True))
    return {"max_diff": worst, "same_text": same / max(len(inputs), 1), "n": float(len(inputs))}


def cached_onnx(model_path: Path, model_file: ModelFile) -> Path:
    """The ONNX export of a model file, made once and kept in ``$XDG_CACHE_HOME/scriba/onnx`` (by content)."""
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scriba" / "onnx"
    out = cache / f"{model_path.stem}-{digest}.onnx"
    if not out.is_file():
        export_onnx(model_file, out)
    return out


__all__ = ["METADATA_KEY", "OnnxNetwork", "cached_onnx", "check_parity", "export_onnx", "load_onnx"]
