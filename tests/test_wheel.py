"""The built wheel carries the shipped models: installed into a fresh venv it reads an image from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import REPO


def test_a_wheel_installed_elsewhere_reads_with_its_own_models(tmp_path: Path) -> None:
    wheels = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), "."]
    subprocess.run(build, cwd=REPO, check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("scriba-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=600)
    # The dependencies (torch, opencv, ...) come from this environment's site-packages, after the venv's own:
    # a path in a .pth file, so this checkout's editable scriba is not picked up.
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(REPO / "examples" / "hello.png", elsewhere / "hello.png")
    env = {k: v for k, v in os.environ.items() if k not in ("SCRIBA_MODELS", "PYTHONPATH")}
    where = subprocess.run([str(python), "-c", "import scriba; print(scriba.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    done = subprocess.run([str(venv / "bin" / "scriba"), "read", "hello.png"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\t")[:2] == ["hello.png", "hello"]
    models = subprocess.run([str(venv / "bin" / "scriba"), "models"], cwd=elsewhere, env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert str(venv) in models.stdout and "english.lm" in models.stdout
