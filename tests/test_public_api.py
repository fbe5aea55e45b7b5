"""The names `scriba` exports: all resolve, the heavy ones lazily (importing scriba does not import torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import scriba


def test_every_exported_name_resolves() -> None:
    for name in scriba.__all__:
        assert getattr(scriba, name) is not None, name
    assert scriba.Reading.__module__ == "scriba.recognizer" and scriba.Ensemble.__module__ == "scriba.ensemble"
    assert issubclass(scriba.InputKindError, scriba.ScribaError)
    with pytest.raises(AttributeError, match="no attribute 'Recogniser'"):
        scriba.Recogniser  # noqa: B018


def test_importing_scriba_does_not_import_torch() -> None:
    code = "import sys, scriba; print('torch' in sys.modules); scriba.Recognizer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_pytest_does_not_collect_test_time_augmentation(tmp_path: Path) -> None:
    # A user's test file that imports the class (its name starts with "Test") collects no class and warns nothing.
    (tmp_path / "test_users.py").write_text(
        "from scriba.decoding import TestTimeAugmentation\n\ndef test_x():\n    assert TestTimeAugmentation()\n"
    )
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path).stdout
    assert "test_users.py::test_x" in out and "TestTimeAugmentation" not in out.replace("import", "")
