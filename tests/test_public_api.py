"""The names `scriba` exports: all resolve, the heavy ones lazily (importing scriba does not import torch), type
checkers see them as they are, and no public class is named like a test."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import scriba
from scriba.errors import ScribaDeprecationWarning
from tests.conftest import REPO


def test_every_exported_name_resolves() -> None:
    for name in scriba.__all__:
        assert getattr(scriba, name) is not None, name
    assert scriba.Reading.__module__ == "scriba.recognizer" and scriba.Ensemble.__module__ == "scriba.ensemble"
    assert scriba.Page.__module__ == "scriba.layout.page"
    assert issubclass(scriba.InputKindError, scriba.ScribaError)
    with pytest.raises(AttributeError, match="no attribute 'Recogniser'"):
        scriba.Recogniser  # noqa: B018


def test_type_checkers_see_every_lazy_name() -> None:
    """Each name ``scriba`` imports lazily is also imported under TYPE_CHECKING, from the same module: else mypy
    sees it through ``__getattr__`` as ``object``."""
    tree = ast.parse((REPO / "src" / "scriba" / "__init__.py").read_text(encoding="utf-8"))
    checked = {
        alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    lazy = scriba._LAZY  # type: ignore[attr-defined]
    assert checked == lazy, set(checked.items()) ^ set(lazy.items())
    assert set(lazy) <= set(scriba.__all__)


def test_importing_scriba_does_not_import_torch() -> None:
    code = "import sys, scriba; print('torch' in sys.modules); scriba.Recognizer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_no_public_class_is_named_like_a_test() -> None:
    """pytest collects classes named ``Test*`` from users' test files that import them."""
    named = []
    for module in pkgutil.walk_packages(scriba.__path__, "scriba."):
        if module.name.startswith("scriba.serve"):
            continue  # needs the serve extra; it defines no such class (checked by name below)
        for name, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if name.startswith("Test") and value.__module__ == module.name:
                named.append(f"{module.name}.{name}")
    serve = (REPO / "src" / "scriba" / "serve").rglob("*.py")
    named += [f"{p}: class Test" for p in serve if "\nclass Test" in p.read_text(encoding="utf-8")]
    assert named == []


def test_the_old_tta_name_warns_and_pytest_does_not_collect_it(tmp_path: Path) -> None:
    with pytest.warns(ScribaDeprecationWarning, match="use ImageTestTimeAugmentation"):
        from scriba.decoding import TestTimeAugmentation
    assert TestTimeAugmentation is scriba.ImageTestTimeAugmentation
    # A user's test file that imports the class by its old name (it starts with "Test") collects no class.
    (tmp_path / "test_users.py").write_text(
        "from scriba.decoding import TestTimeAugmentation\n\ndef test_x():\n    assert TestTimeAugmentation()\n"
    )
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path).stdout
    collected = [line for line in out.splitlines() if "::" in line]
    assert collected == ["test_users.py::test_x"], out
    assert "cannot collect test class" not in out, out  # pytest's warning for a Test* class it tried


def test_the_version_is_the_distributions() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{scriba.__version__}"\n' in pyproject
