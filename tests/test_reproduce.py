"""scripts/reproduce.py and configs/chains.yaml: every shipped model rebuilds with one command, from recipes that
load, through steps that read what earlier steps wrote, never writing into the shipped models' folder; model
files record no absolute paths."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest
from safetensors import safe_open

from scriba.checkpoints import portable_paths
from scriba.config import load_config
from scriba.selftrain import round_config
from tests.conftest import REPO, load_script

ZOO = REPO / "src" / "scriba" / "zoo"
TINY = REPO / "configs" / "tiny.yaml"
SHIPPED = {
    "english": "english.safetensors",
    "english_pen": "english_pen.safetensors",
    "english_pen_b": "english_pen_b.safetensors",
    "iam_ondb_words": "iam_ondb_words.safetensors",
    "names": "names.safetensors",
    "english_lm": "english.lm",
    "names_lm": "names.lm",
}


@pytest.fixture(scope="module")
def reproduce() -> ModuleType:
    return load_script(REPO / "scripts" / "reproduce.py")


@pytest.fixture(scope="module")
def chains(reproduce: ModuleType) -> dict:
    return reproduce.load_chains(reproduce.CHAINS)


def _sets(argv: list[str]) -> list[str]:
    """The ``--set`` values of a scriba command line."""
    if "--set" not in argv:
        return []
    values = []
    for token in argv[argv.index("--set") + 1 :]:
        if token.startswith("--"):
            break
        values.append(token)
    return values


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_every_shipped_model_has_a_chain(chains: dict) -> None:
    assert {name: chain.ships for name, chain in chains.items()} == SHIPPED
    for chain in chains.values():
        assert (ZOO / chain.ships).is_file() and (REPO / chain.card).is_file()


def test_top_level_configs_are_the_chains_recipes_and_tiny(reproduce: ModuleType, chains: dict) -> None:
    used = {
        Path(_option(reproduce.render(chains, s, reproduce.RUNS, "D"), "--config") or "").name
        for c in chains.values()
        for s in c.steps
    }
    top = {p.name for p in (REPO / "configs").glob("*.yaml")} - {"chains.yaml"}
    assert top == (used - {""}) | {"tiny.yaml"}


def test_recipes_load_and_read_earlier_outputs_only(reproduce: ModuleType, chains: dict) -> None:
    """Each train / self-train step's recipe loads with its overrides, writes under runs/reproduce/<chain>/ and
    starts from (and reads pseudo-labels of) steps that come before it in the model's plan."""
    checked = 0
    for name in chains:
        plan = reproduce.plan(chains, name)
        made: set[str] = set()
        for step in plan:
            argv = reproduce.render(chains, step, reproduce.RUNS, "../shared/data")
            if argv[:2] in (["scriba", "train"], ["scriba", "self-train"], ["scriba", "calibrate"]):
                config = load_config(REPO / (_option(argv, "--config") or ""), _sets(argv))
                assert config.name
            if argv[:2] in (["scriba", "train"], ["scriba", "self-train"]):
                home = reproduce.RUNS / step.chain
                assert Path(config.output_dir) == home, step.key
                assert Path(config.model_out) == reproduce.output_path(chains, reproduce.RUNS, step.chain, step.id)
                starts = [config.training.init_from, config.self_training.student_init]
                runs = [s.path for s in (*config.data.train, *config.data.val) if s.path.startswith("runs/")]
                for path in [p for p in starts if p] + runs:
                    assert path in made, f"{step.key} reads {path}, which no earlier step writes"
                checked += 1
            for path, source in reproduce.read_paths(chains, reproduce.RUNS, step):
                assert str(path) in made, f"{step.key} reads {path} of {source} before it is written"
            made.update(str(p) for p in reproduce.outputs(chains, reproduce.RUNS, step))
    assert checked >= 20


def test_no_step_writes_into_the_zoo(reproduce: ModuleType, chains: dict) -> None:
    for chain in chains.values():
        for step in chain.steps:
            argv = reproduce.render(chains, step, reproduce.RUNS, "../shared/data")
            declared = {str(p) for p in reproduce.outputs(chains, reproduce.RUNS, step)}
            assert all(p.startswith(f"runs/reproduce/{chain.name}/") for p in declared)
            written = [_option(argv, "--out")] + [s.split("=", 1)[1] for s in _sets(argv) if s.startswith("model_out=")]
            assert [w for w in written if w] and all(w in declared for w in written if w), step.key
            assert not any("zoo" in token or token.startswith("models/") for token in argv), step.key


def test_the_chain_file_is_checked(reproduce: ModuleType, tmp_path: Path) -> None:
    later = tmp_path / "later.yaml"
    later.write_text(
        "a:\n  ships: a.safetensors\n  steps:\n"
        "    - {id: one, run: 'scriba average --model {two} {two} --out {out}', out: one.safetensors}\n"
        "    - {id: two, run: 'scriba average --model x y --out {out}', out: two.safetensors}\n"
    )
    with pytest.raises(reproduce.ChainError, match="a:two, which is not an earlier step"):
        reproduce.load_chains(later)
    outside = tmp_path / "outside.yaml"
    outside.write_text(
        "a:\n  ships: a.lm\n  steps:\n    - {id: one, run: 'scriba lm build --out {out}', out: ../a.lm}\n"
    )
    with pytest.raises(reproduce.ChainError, match="outputs stay inside"):
        reproduce.load_chains(outside)


def test_dry_run_prints_the_plan(reproduce: ModuleType, chains: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert reproduce.main(["names", "--dry-run", "--runs", "runs/reproduce_test_nothing"]) == 0
    printed = capsys.readouterr().out.splitlines()
    commands = [line for line in printed if not line.startswith("#")]
    plan = reproduce.plan(chains, "names")
    assert len(commands) == len(plan)
    # names needs the word model and english stages 3-4 (not english's later stages) and its LM, in that order
    keys = [s.key for s in plan]
    assert keys.index("iam_ondb_words:stage3") < keys.index("english:stage4") < keys.index("names:stage1")
    assert "english:stage6a" not in keys and "names_lm:lm" in keys
    assert commands[-2] == (
        "scriba calibrate --model runs/reproduce_test_nothing/names/stage8a.safetensors "
        "--config configs/names_student.yaml --no-temperature "
        "--out runs/reproduce_test_nothing/names/stage8.safetensors"
    )
    assert printed[-1].startswith("# then: cp runs/reproduce_test_nothing/names/names.safetensors")
    assert not (REPO / "runs" / "reproduce_test_nothing").exists()


def test_from_a_step_needs_its_inputs(reproduce: ModuleType, tmp_path: Path, capsys) -> None:
    assert reproduce.main(["names", "--from", "stage8", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "inputs missing" in err and "stage8a.safetensors (made by names:stage8a)" in err
    assert reproduce.main(["names", "--from", "nothing", "--dry-run"]) == 2


@pytest.mark.slow
def test_a_tiny_chain_runs_end_to_end(reproduce: ModuleType, word_tables, tmp_path: Path, capsys, monkeypatch) -> None:
    """Train, change preprocessing, calibrate and average, each from the step before; a second run skips them;
    --install copies the last output (here into a stand-in for the zoo)."""
    train, val = word_tables.train, word_tables.val
    chain = tmp_path / "chains.yaml"
    chain.write_text(
        "tiny:\n  ships: tiny.safetensors\n  steps:\n"
        "    - id: train\n"
        f"      run: >-\n        scriba train --config configs/tiny.yaml --set output_dir={{dir}} model_out={{out}}\n"
        f"        {shlex.quote(f'data.train=[{{path: {train}}}]')} {shlex.quote(f'data.val=[{{path: {val}}}]')}\n"
        "      out: trained.safetensors\n"
        "    - {id: wider, run: 'scriba set-preprocessing --model {train} --out {out} stretch=1.25', "
        "out: wider.safetensors}\n"
        f"    - {{id: cal, run: 'scriba calibrate --model {{wider}} --data {val} --no-temperature --out {{out}}', "
        "out: cal.safetensors}\n"
        "    - {id: mean, run: 'scriba average --model {wider} {cal} --out {out}', out: tiny.safetensors}\n"
    )
    runs = tmp_path / "runs"
    assert reproduce.main(["tiny", "--chains", str(chain), "--runs", str(runs)]) == 0
    first = capsys.readouterr().out
    assert first.count("] done in") == 4 and f"to ship it: cp {runs / 'tiny' / 'tiny.safetensors'}" in first
    for name in ("trained", "wider", "cal", "tiny"):
        assert (runs / "tiny" / f"{name}.safetensors").is_file()
    with safe_open(str(runs / "tiny" / "wider.safetensors"), "pt") as handle:
        assert json.loads(handle.metadata()["scriba"])["preprocessing"]["stretch"] == 1.25
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    monkeypatch.setattr(reproduce, "ZOO", zoo)
    assert reproduce.main(["tiny", "--chains", str(chain), "--runs", str(runs), "--from", "wider", "--install"]) == 0
    again = capsys.readouterr().out
    assert again.count("exists: skipped") == 3 and "] done in" not in again
    assert (zoo / "tiny.safetensors").read_bytes() == (runs / "tiny" / "tiny.safetensors").read_bytes()


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("name", sorted(SHIPPED.values()))
def test_shipped_files_record_no_absolute_path(name: str) -> None:
    with safe_open(str(ZOO / name), "pt") as handle:
        metadata = handle.metadata()
    strings = [s for raw in metadata.values() for s in _strings(json.loads(raw))]
    assert len(strings) > 20
    absolute = re.compile(r"^(/|~/|[A-Za-z]:\\)[^/\s]+|/(work|home|tmp|root|Users)/")
    assert [s for s in strings if absolute.search(s)] == []


def test_model_files_get_portable_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "elsewhere" / "data"
    recipe = {
        "table": str(tmp_path / "runs" / "x" / "pseudo_round1.csv"),
        "sources": [{"path": str(root / "names" / "labels.csv")}, {"path": "names/labels.csv"}],
        "start": "/somewhere/else/model.safetensors",
        "text": "a/b",
        "charset": "/0123456789",  # text, not a path
        "linked": str(tmp_path / "link" / "names" / "labels.csv"),  # the data root reached through a link
    }
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    root.mkdir()
    assert portable_paths(recipe, str(root)) == {
        "table": "runs/x/pseudo_round1.csv",
        "sources": [{"path": "names/labels.csv"}, {"path": "names/labels.csv"}],
        "start": "model.safetensors",
        "text": "a/b",
        "charset": "/0123456789",
        "linked": "names/labels.csv",
    }


def test_self_training_rounds_name_their_table_from_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    sets = ["data.train=[{path: t.csv}]", "data.val=[{path: v.csv}]", "training.init_from=start.safetensors"]
    config = load_config(TINY, sets)
    table = Path("runs") / "names_like" / "pseudo_round1.csv"
    assert round_config(config, 1, Path("start.safetensors"), table).data.train[-1].path == table.as_posix()
    outside = tmp_path.parent / "pseudo.csv"
    assert round_config(config, 1, Path("start.safetensors"), outside).data.train[-1].path == str(outside.resolve())
