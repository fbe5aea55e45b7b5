"""The README's commands run as shown: its quick start, `make demo` and the accuracy table's own command.

The commands are taken from README.md's fenced blocks, not copied here, so a README edit that breaks a command,
or a change of the code that changes what a command prints, fails these tests. They run in a scratch folder that
sees the checkout's `examples/` and `models/` and, beside it, `../shared`, as a reader's checkout would.
"""

from __future__ import annotations

import contextlib
import glob
import io
import re
import shlex
from pathlib import Path

import pytest

from scriba.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
SHARED = REPO.parent / "shared"

# Commands of the quick start that are not run here, and why: each needs a network or a running server.
NOT_RUN = {
    "scriba serve": "starts a server (tests/test_serve.py covers it)",
    "curl ": "needs the server running",
    "pip ": "installs from the network",
}
NUMBER = re.compile(r"\d+\.\d+")


def section(title: str) -> str:
    """The text of the README's ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of each fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def command_lines(body: str) -> list[str]:
    """The commands of a shell block, without their trailing comments."""
    return [re.split(r"\s+#\s", line)[0].strip() for line in body.splitlines() if line.strip()]


def console_steps(body: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` pairs of a console block (``$ command`` lines, each followed by its output)."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"console block output before any command: {line!r}"
            steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps]


def assert_same_output(actual: str, expected: str) -> None:
    """Line by line equal, numbers within half a unit of the last decimal the README shows (plus rounding)."""
    actual_lines, expected_lines = actual.strip("\n").splitlines(), expected.strip("\n").splitlines()
    assert len(actual_lines) == len(expected_lines), f"printed:\n{actual}\nREADME shows:\n{expected}"
    for got, shown in zip(actual_lines, expected_lines, strict=True):
        assert NUMBER.sub("#", got) == NUMBER.sub("#", shown), f"printed {got!r}, README shows {shown!r}"
        for x, y in zip(NUMBER.findall(got), NUMBER.findall(shown), strict=True):
            places = len(y.split(".")[1])
            assert abs(float(x) - float(y)) <= 0.5 * 10**-places + 1e-9, f"printed {got!r}, README shows {shown!r}"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working folder laid out like the checkout: examples/ and models/, ../shared beside it."""
    work = tmp_path / "scriba"
    work.mkdir()
    for name in ("examples", "models"):
        (work / name).symlink_to(REPO / name)
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    monkeypatch.chdir(work)
    monkeypatch.setenv("SCRIBA_THREADS", "1")
    return work


def run_scriba(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a ``scriba ...`` command line in this process, globs expanded as a shell would; its stdout."""
    words = shlex.split(command)
    assert words[0] == "scriba", command
    args = [match for word in words[1:] for match in (sorted(glob.glob(word)) if "*" in word else [word])]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, f"{command}: exit status {code}\n{err}"
    assert "deprecat" not in err.lower(), f"{command}: the README uses a deprecated spelling\n{err}"
    return out


def test_quick_start_commands_print_what_the_readme_shows(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = fenced_blocks(section("Quick start"))
    steps = [step for language, body in blocks if language == "console" for step in console_steps(body)]
    assert len(steps) >= 3, "the quick start shows commands with their output"
    for command, expected in steps:
        assert_same_output(run_scriba(command, capsys), expected)


def test_quick_start_commands_run(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commands = [line for language, body in fenced_blocks(section("Quick start")) if language == "bash"
                for line in command_lines(body)]  # fmt: skip
    run = 0
    for command in commands:
        if any(command.startswith(prefix) for prefix in NOT_RUN):
            continue
        out = run_scriba(command, capsys)
        assert out.strip(), f"{command}: printed nothing"
        run += 1
    assert run >= 5, f"only {run} of the quick start's commands ran"
    # What the commands say they write is there.
    assert (checkout / "pages" / "note.page.xml").is_file()


def test_quick_start_python_prints_what_the_readme_shows(checkout: Path) -> None:
    blocks = fenced_blocks(section("Quick start"))
    pairs = [(code, blocks[i + 1][1]) for i, (language, code) in enumerate(blocks[:-1])
             if language == "python" and blocks[i + 1][0] == "text"]  # fmt: skip
    assert pairs, "the quick start shows a Python example with its output"
    for code, expected in pairs:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
        assert_same_output(printed.getvalue(), expected)


def test_make_demo_prints_what_the_readme_shows(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has a demo target"
    commands = [line.strip().replace("$(BIN)/scriba", "scriba") for line in recipe.group(1).splitlines()]
    shown = [body for language, body in fenced_blocks(section("Two commands")) if language == ""]
    assert len(shown) == 1, "the README shows make demo's output in one plain block"
    assert_same_output("".join(run_scriba(command, capsys) for command in commands), shown[0])


def test_accuracy_command_reproduces_the_table(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accuracy = section("Accuracy")
    commands = [line for language, body in fenced_blocks(accuracy) if language == "bash"
                for line in command_lines(body)]  # fmt: skip
    assert commands, "the accuracy section shows a command that measures a row of its table"
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(\w+)`[^|]*\|(?:[^|\n]*\|){4}\s*\*\*([^*]+)\*\*\s*\|$", accuracy, re.M)
    }
    assert {"english", "english_pen", "english_pen_b", "iam_ondb_words", "names"} <= set(rows)
    for command in commands:
        data = re.search(r"--data (\S+)", command)
        assert data, command
        if data.group(1).startswith("../shared/"):
            needed = data.group(1).split("/")[3]
            if not (SHARED / "data" / needed).exists():
                pytest.skip(f"real data not available: {SHARED / 'data' / needed} is absent")
        model = re.search(r"--model (\S+)", command)
        assert model and model.group(1) in rows, f"{command}: no row of the table for its model"
        out = run_scriba(command, capsys)
        measured = re.search(r"cer ([\d.]+)\s+wer ([\d.]+)\s+exact_match ([\d.]+)", out)
        assert measured, out
        for got, shown in zip(measured.groups(), rows[model.group(1)].split(" / "), strict=True):
            percent = shown.strip().rstrip("%")
            places = len(percent.split(".")[1])
            assert abs(100 * float(got) - float(percent)) <= 0.5 * 10**-places + 1e-9, (
                f"{command}: measured {float(got):.4f}, the table shows {shown}"
            )
