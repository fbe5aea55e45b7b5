"""Rebuild a shipped model or language model with one command: its whole chain of recipes and steps.

    python scripts/reproduce.py names --dry-run          # print the commands
    python scripts/reproduce.py names                     # run them (steps whose outputs exist are skipped)
    python scripts/reproduce.py names --from stage8 --to stage8
    python scripts/reproduce.py names --install           # and copy the result into src/scriba/zoo/

The chains are data (``configs/chains.yaml``): each step is a ``scriba`` (or ``python``) command whose inputs
are earlier steps' outputs, every output under ``runs/reproduce/<chain>/``. A step that needs another chain's
step (``english`` starts from ``iam_ondb_words``) runs that step first. Nothing is written into the shipped
models' folder unless ``--install`` is given, and then only the chain's last output.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHAINS = REPO / "configs" / "chains.yaml"
RUNS = Path("runs") / "reproduce"
ZOO = Path("src") / "scriba" / "zoo"
SCRIBA_MAIN = "import sys; from scriba.cli import main; sys.exit(main())"
# {dir}, {out}, {out.KEY}, {data}, {STEP}, {STEP.KEY}, {CHAIN:STEP}, {CHAIN:STEP.KEY}; YAML braces such as
# `data.train=[{path: x}]` do not match (a space follows the colon).
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)?(?:\.[a-z][a-z0-9_]*)?)\}")
STEP_KEYS = {"id", "run", "out", "also", "minutes", "note"}
CHAIN_KEYS = {"card", "ships", "steps"}


class ChainError(Exception):
    """A chain file that does not describe runnable chains, or a request it cannot satisfy."""


@dataclass(frozen=True)
class Step:
    """One command of a chain: ``run`` with placeholders, its main output ``out`` and other outputs ``also``
    (file names under the chain's folder)."""

    chain: str
    id: str
    run: str
    out: str
    also: dict[str, str] = field(default_factory=dict)
    minutes: float | None = None
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.chain}:{self.id}"


@dataclass(frozen=True)
class Chain:
    name: str
    card: str
    ships: str
    steps: tuple[Step, ...]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise ChainError(f"chain {self.name} has no step {step_id!r}: {', '.join(s.id for s in self.steps)}")


def load_chains(path: Path = CHAINS) -> dict[str, Chain]:
    """The chains of ``path``, in file order, checked: known keys, unique step ids, references to steps that
    come earlier (in the file's order of chains and steps) and to outputs they declare.

    Raises:
        ChainError: the file breaks one of those rules.
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ChainError(f"{path}: expected a mapping of chain names to chains")
    chains: dict[str, Chain] = {}
    seen: set[str] = set()
    for name, body in data.items():
        if not isinstance(body, dict) or set(body) - CHAIN_KEYS or "steps" not in body or "ships" not in body:
            raise ChainError(f"{path}: chain {name} needs ships and steps (keys: {', '.join(sorted(CHAIN_KEYS))})")
        steps = []
        for raw in body["steps"]:
            if not isinstance(raw, dict) or set(raw) - STEP_KEYS or not {"id", "run", "out"} <= set(raw):
                raise ChainError(
                    f"{path}: a step of {name} needs id, run and out (keys: {', '.join(sorted(STEP_KEYS))})"
                )
            step = Step(
                name,
                str(raw["id"]),
                " ".join(str(raw["run"]).split()),
                str(raw["out"]),
                {str(k): str(v) for k, v in (raw.get("also") or {}).items()},
                None if raw.get("minutes") is None else float(raw["minutes"]),
                " ".join(str(raw.get("note", "")).split()),
            )
            if step.key in seen:
                raise ChainError(f"{path}: step {step.key} is defined twice")
            for where in (step.out, *step.also.values()):
                if Path(where).is_absolute() or ".." in Path(where).parts:
                    raise ChainError(f"{path}: {step.key} writes {where}: outputs stay inside the chain's folder")
            for ref in references(step):
                if ref[0] == step.chain and ref[1] in ("out", "dir", "data"):
                    continue
                target = f"{ref[0]}:{ref[1]}"
                if target not in seen:
                    raise ChainError(f"{path}: {step.key} uses {target}, which is not an earlier step")
            steps.append(step)
            seen.add(step.key)
        chains[name] = Chain(name, str(body.get("card", "")), str(body["ships"]), tuple(steps))
    for chain in chains.values():
        for step in chain.steps:
            for ref in references(step):
                if ref[1] in ("dir", "data"):
                    continue
                source = step if ref[1] == "out" else chains[ref[0]].step(ref[1])
                if ref[2] and ref[2] not in source.also:
                    raise ChainError(f"{path}: {step.key} uses {ref[0]}:{ref[1]}.{ref[2]}, which it does not declare")
    return chains


def references(step: Step) -> list[tuple[str, str, str]]:
    """The placeholders of a step as (chain, step or out/dir/data, output key or '')."""
    found = []
    for match in PLACEHOLDER.finditer(step.run):
        text = match.group(1)
        chain, _, rest = text.rpartition(":")
        name, _, key = rest.partition(".")
        found.append((chain or step.chain, name, key))
    return found


def output_path(chains: dict[str, Chain], runs: Path, chain: str, step_id: str, key: str = "") -> Path:
    step = chains[chain].step(step_id)
    if key and key not in step.also:
        raise ChainError(f"{step.key} declares no output {key!r}")
    return runs / chain / (step.also[key] if key else step.out)


def outputs(chains: dict[str, Chain], runs: Path, step: Step) -> list[Path]:
    """Every file the step writes that later steps may read: its main output first."""
    return [output_path(chains, runs, step.chain, step.id), *(runs / step.chain / p for p in step.also.values())]


def render(chains: dict[str, Chain], step: Step, runs: Path, data: str) -> list[str]:
    """The step's command with its placeholders filled in (paths relative to the repository)."""

    def fill(match: re.Match[str]) -> str:
        text = match.group(1)
        chain, _, rest = text.rpartition(":")
        name, _, key = rest.partition(".")
        chain = chain or step.chain
        if name == "dir" and not key:
            return str(runs / step.chain)
        if name == "data" and not key:
            return data
        return str(output_path(chains, runs, chain, step.id if name == "out" else name, key))

    return shlex.split(PLACEHOLDER.sub(fill, step.run))


def read_paths(chains: dict[str, Chain], runs: Path, step: Step) -> list[tuple[Path, str]]:
    """The files the step reads from earlier steps, each with the key of the step that writes it."""
    return [
        (output_path(chains, runs, chain, name, key), f"{chain}:{name}")
        for chain, name, key in references(step)
        if name not in ("out", "dir", "data")
    ]


def inputs(chains: dict[str, Chain], step: Step) -> list[Step]:
    """The earlier steps whose outputs the step reads."""
    found: list[Step] = []
    for chain, name, _ in references(step):
        if name in ("out", "dir", "data"):
            continue
        source = chains[chain].step(name)
        if source not in found:
            found.append(source)
    return found


def plan(chains: dict[str, Chain], target: str) -> list[Step]:
    """The steps that build ``target``: its own and those of other chains they need, in file order."""
    if target not in chains:
        raise ChainError(f"no chain {target!r}; chains: {', '.join(chains)}")
    needed: set[str] = set()
    pending = list(chains[target].steps)
    while pending:
        step = pending.pop()
        if step.key not in needed:
            needed.add(step.key)
            pending.extend(inputs(chains, step))
    return [s for c in chains.values() for s in c.steps if s.key in needed]


def select(steps: list[Step], target: str, first: str | None, last: str | None) -> list[Step]:
    """``steps`` from ``first`` to ``last`` (step ids of ``target``, or CHAIN:STEP), both included."""

    def index(name: str) -> int:
        key = name if ":" in name else f"{target}:{name}"
        for i, step in enumerate(steps):
            if step.key == key:
                return i
        raise ChainError(f"no step {name!r} in the plan for {target}: {', '.join(s.key for s in steps)}")

    start = index(first) if first else 0
    stop = index(last) + 1 if last else len(steps)
    if start >= stop:
        raise ChainError(f"--from {first} comes after --to {last}")
    return steps[start:stop]


def command(argv: list[str]) -> list[str]:
    """What to execute for a rendered step: ``scriba ...`` and ``python ...`` with this interpreter."""
    if argv[0] == "scriba":
        return [sys.executable, "-c", SCRIBA_MAIN, *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    raise ChainError(f"a step runs scriba or python, not {argv[0]!r}")


def write_texts(table: Path, drop: list[str], out: Path) -> int:
    """Write the ``text`` column of a labels table, one a line, leaving out empty texts and ``drop``."""
    from scriba.lm.texts import read_texts

    kept = [t for t in read_texts(table) if t not in drop]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{t}\n" for t in kept), encoding="utf-8")
    return len(kept)


def run_chain(args: argparse.Namespace) -> int:
    chains = load_chains(Path(args.chains))
    runs = Path(args.runs)
    if (REPO / runs).resolve().is_relative_to((REPO / ZOO).resolve()):
        raise ChainError(f"--runs {runs} is inside the shipped models' folder")
    steps = select(plan(chains, args.name), args.name, args.first, args.last)
    chosen = {s.key for s in steps}
    missing = [
        (path, source)
        for step in steps
        for path, source in read_paths(chains, runs, step)
        if source not in chosen and not (REPO / path).is_file()
    ]
    if missing and not args.dry_run:
        lines = "; ".join(f"{path} (made by {key})" for path, key in missing)
        raise ChainError(f"inputs missing: {lines}; run those steps first or start --from earlier")
    env = {**os.environ, "SCRIBA_DATA": args.data}
    total = 0.0
    for step in steps:
        argv = render(chains, step, runs, args.data)
        shown = shlex.join(argv)
        done = all((REPO / p).is_file() for p in outputs(chains, runs, step))
        if args.dry_run:
            print(f"# {step.key}" + (f" (historically {step.minutes:g} min)" if step.minutes else "")
                  + (" [exists: skipped]" if done and not args.force else ""))  # fmt: skip
            print(shown)
            continue
        if done and not args.force:
            print(f"[{step.key}] {outputs(chains, runs, step)[0]} exists: skipped (--force reruns it)", flush=True)
            continue
        print(f"[{step.key}] {shown}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command(argv), cwd=REPO, env=env, check=False).returncode
        took = time.perf_counter() - started
        total += took
        if code != 0:
            print(f"[{step.key}] failed (exit {code}) after {took:.1f} s", file=sys.stderr)
            return code
        absent = [str(p) for p in outputs(chains, runs, step) if not (REPO / p).is_file()]
        if absent:
            print(f"[{step.key}] finished but did not write {', '.join(absent)}", file=sys.stderr)
            return 1
        print(f"[{step.key}] done in {took:.1f} s", flush=True)
    chain = chains[args.name]
    final = output_path(chains, runs, chain.name, chain.steps[-1].id)
    if args.dry_run:
        print(f"# then: cp {final} {ZOO / chain.ships}   (or rerun with --install)")
        return 0
    print(f"{len(steps)} steps, {total:.1f} s of commands run")
    if steps[-1] is chain.steps[-1]:
        if args.install:
            shutil.copyfile(REPO / final, REPO / ZOO / chain.ships)
            print(f"installed: {ZOO / chain.ships}")
        else:
            print(f"to ship it: cp {final} {ZOO / chain.ships}   (or rerun with --install)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="the model or LM to rebuild (--list shows them)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--from", dest="first", metavar="STEP", help="start at this step (earlier outputs must exist)")
    parser.add_argument("--to", dest="last", metavar="STEP", help="stop after this step")
    parser.add_argument("--force", action="store_true", help="rerun steps whose outputs exist")
    parser.add_argument("--install", action="store_true", help="copy the final output into src/scriba/zoo/")
    parser.add_argument("--list", action="store_true", help="list the chains and their steps")
    parser.add_argument("--chains", default=str(CHAINS), help="the chain file (default: configs/chains.yaml)")
    parser.add_argument("--runs", default=str(RUNS), help="where the steps write (default: runs/reproduce)")
    parser.add_argument(
        "--data",
        default=os.environ.get("SCRIBA_DATA", "../shared/data"),
        help="the data root (default: $SCRIBA_DATA, else ../shared/data)",
    )
    helper = parser.add_argument_group("helper for a step: a labels table's texts as a text file")
    helper.add_argument("--text-of", metavar="TABLE", help="write this table's text column to --out")
    helper.add_argument("--drop", nargs="*", default=[], metavar="LABEL", help="texts to leave out")
    helper.add_argument("--out", help="the text file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.text_of:
            if not args.out:
                raise ChainError("--text-of needs --out")
            count = write_texts(Path(args.text_of), args.drop, Path(args.out))
            print(f"{args.out}: {count} texts")
            return 0
        if args.list:
            for chain in load_chains(Path(args.chains)).values():
                print(f"{chain.name} -> {ZOO / chain.ships}: {' '.join(s.id for s in chain.steps)}")
            return 0
        if not args.name:
            raise ChainError("name a chain to rebuild (--list shows them)")
        return run_chain(args)
    except ChainError as err:
        print(f"reproduce: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
