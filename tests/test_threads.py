"""Thread settings: --threads, $SCRIBA_THREADS, and a default that leaves busy cores alone."""

from __future__ import annotations

import pytest
import torch

import scriba.threads as threads
from scriba.errors import ConfigError
from tests.cli_helpers import assert_one_line_error, run


def test_explicit_then_environment_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.resolve_threads(3) == 3
    monkeypatch.setenv(threads.ENV, "2")
    assert threads.resolve_threads() == 2 and threads.resolve_threads(1) == 1
    monkeypatch.setenv(threads.ENV, "many")
    with pytest.raises(ConfigError, match="SCRIBA_THREADS must be a whole number"):
        threads.resolve_threads()
    with pytest.raises(ConfigError, match="1 or more"):
        threads.resolve_threads(0)
    monkeypatch.delenv(threads.ENV)
    assert 1 <= threads.resolve_threads() <= threads.available_cores()


def test_the_default_counts_the_cores_other_work_leaves_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "cpu_times", lambda: (100, 400))  # (idle, total) ticks now
    assert threads.default_threads(since=(0, 0)) == 2  # one core idle of four, plus this process's
    assert threads.default_threads(since=(100, 0)) == 1  # no core idle: one thread
    monkeypatch.setattr(threads, "cpu_times", lambda: (400, 400))
    assert threads.default_threads(since=(0, 0)) == 4  # all idle: every core, not more
    monkeypatch.setattr(threads, "cpu_times", lambda: None)  # no /proc/stat: the load average
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.6, 0.0, 0.0))
    assert threads.default_threads(since=(0, 0)) == 1


def test_every_command_takes_threads(capsys, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    before = torch.get_num_threads()
    try:
        text = tmp_path / "t.txt"
        text.write_text("abc\n", encoding="utf-8")
        code, _, _ = run(capsys, "lm", "build", "--threads", "1", "--text", str(text), "--out", str(tmp_path / "a.lm"))
        assert code == 0 and torch.get_num_threads() == 1
        assert_one_line_error(*run(capsys, "models", "--threads", "0")[::2], "threads must be 1 or more")
        monkeypatch.setenv(threads.ENV, "x")
        assert_one_line_error(*run(capsys, "models")[::2], "SCRIBA_THREADS")
    finally:
        torch.set_num_threads(before)
