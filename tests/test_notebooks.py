"""Execute both notebooks top to bottom (quick mode) and check what they print.

start_model.ipynb reads the examples with a tiny model trained here on synthetic words (and with the
shipped default model when models/english.safetensors exists); project_train_model.ipynb
trains, evaluates and writes a model file in quick mode.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from scriba.recognizer import Recognizer

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DEFAULT_MODEL = REPO / "models" / "english.safetensors"

pytestmark = pytest.mark.slow


def run_notebook(name: str, out: Path) -> nbformat.NotebookNode:
    """Execute notebooks/<name> in notebooks/ as working directory; the executed copy goes to ``out``.

    The kernel inherits this process's environment (set SCRIBA_* with monkeypatch first).
    Raises nbclient's CellExecutionError, with the failing cell's traceback, when a cell fails.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    finally:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out / name)
    return notebook


def printed(notebook: nbformat.NotebookNode) -> str:
    """Everything the code cells printed or returned as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def figures(notebook: nbformat.NotebookNode) -> int:
    """How many PNG images the notebook displayed."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type in ("execute_result", "display_data")
    )


START_MODELS = ["tiny", *(["default"] if DEFAULT_MODEL.is_file() else [])]


@pytest.mark.parametrize("model", START_MODELS)
def test_start_model_notebook(
    model: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model_path = str(request.getfixturevalue("tiny_model")) if model == "tiny" else "default"
    monkeypatch.setenv("SCRIBA_MODEL", model_path)
    notebook = run_notebook("start_model.ipynb", tmp_path)
    text = printed(notebook)

    recognizer = Recognizer.load(model_path)
    assert f"{len(recognizer.charset)} characters + the CTC blank" in text
    with open(REPO / "examples" / "labels.csv", newline="", encoding="utf-8") as f:
        labels = [(row["path"], row["text"]) for row in csv.DictReader(f)]
    assert labels, "examples/labels.csv lists no examples"
    expected = recognizer.read_images([REPO / "examples" / path for path, _ in labels])
    for (path, truth), reading in zip(labels, expected, strict=True):
        # The notebook's reading of each example is the library's reading of the same file.
        line = re.search(rf"^{re.escape(path)}\s+truth {re.escape(repr(truth))}\s+read (.*?)\s+confidence", text, re.M)
        assert line, f"no reading printed for {path}"
        assert line.group(1) == repr(reading.text)
    # path, PIL image and arrays: six readings, one per input kind.
    assert len(re.findall(r"^(path|PIL image|gray array|RGB array|float array|inverted)\s+->", text, re.M)) == 6
    # The decoding options' table: greedy, TTA and lexicon readings side by side.
    assert re.search(r"truth\s+greedy\s+tta\s+lexicon\s+lexicon margin", text), text[-2000:]
    ondb = REPO.parent / "shared" / "data" / "iam_ondb" / "strokes.npz"
    assert ("strokes" in text and "points; truth" in text) if ondb.is_file() else "skipping the ink example" in text
    assert figures(notebook) >= 2


def test_project_train_model_notebook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCRIBA_NB_QUICK", "1")
    monkeypatch.setenv("SCRIBA_NB_OUT", str(tmp_path / "out"))
    notebook = run_notebook("project_train_model.ipynb", tmp_path)
    text = printed(notebook)

    # The bad rows of the synthetic training table are dropped and counted, before and during fit.
    for reason in ("special_label: 1", "missing_label: 1", "empty_label: 1"):
        assert reason in text
    assert "'unreadable_image': 1" in text
    model_path = Path(re.search(r"^model written to (.+)$", text, re.M).group(1))
    assert model_path.is_file() and model_path.is_relative_to(tmp_path)
    Recognizer.load(model_path)
    cer = float(re.search(r"^test CER (\S+)$", text, re.M).group(1))
    assert math.isfinite(cer) and 0 <= cer <= 1, cer
    assert re.search(r"^\s+cer \d\.\d{4}\s+wer", text, re.M), "report.summary() was not printed"
    assert "label -> number" in text and "number -> label" in text
    assert re.search(r"truth '.*' read '.*' \(\d\.\d{3}\)", text), "predict() printed nothing"
    assert figures(notebook) >= 5  # samples, curves, char F1, sample grid, predictions
