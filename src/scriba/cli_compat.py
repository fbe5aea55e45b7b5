"""Old command-line spellings that still work for one release, each with a one-line notice on stderr.

Before 0.2 the model was positional on ``calibrate``, ``average``, ``set-preprocessing`` and ``export``, the
model file to write was positional on ``set-preprocessing``, ``evaluate --json FILE`` named the report file,
and ``--subset train|val|test`` picked the hash part of data without a split (now ``--split``). This module
moves such values into the current options after parsing; delete it, and the hidden arguments that feed it
(``old_model``, ``old_models``, ``--subset``, ``--old-json-file``), when the release after 0.2 drops them.
"""

from __future__ import annotations

import argparse
import re
import sys

from scriba.errors import ScribaError

# A set-preprocessing change (``tall_height=44``, ``ink.deskew=true``), as opposed to a model name or path.
_CHANGE = re.compile(r"^[A-Za-z_][\w.]*=")


def warn_deprecated(old: str, new: str) -> None:
    """The one stderr line of a deprecated spelling: ``scriba: warning: OLD is deprecated, use NEW``."""
    print(f"scriba: warning: {old} is deprecated, use {new}", file=sys.stderr, flush=True)


def rewrite_old_arguments(argv: list[str]) -> list[str]:
    """The command line with ``evaluate --json FILE`` (or ``--json=FILE``) turned into the hidden
    ``--old-json-file FILE``: ``--json`` is now a flag that prints the report."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command != "evaluate":
        return argv
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--json="):
            out += ["--old-json-file", arg[len("--json=") :]]
        elif arg == "--json" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out += ["--old-json-file", argv[i + 1]]
            i += 1
        else:
            out.append(arg)
        i += 1
    return out


def apply_old_spellings(args: argparse.Namespace) -> None:
    """Move the values given in deprecated spellings into the current options of ``args``, in place.

    Raises:
        ScribaError: a value given in both spellings, or a required one in neither.
    """
    command = f"scriba {args.command}"
    if getattr(args, "old_model", None) is not None:
        if args.model is not None:
            raise ScribaError(f"give the model once: {command} --model NAME_OR_FILE")
        warn_deprecated(f"the positional MODEL of `{command}`", "--model MODEL")
        args.model = args.old_model
    if hasattr(args, "old_model") and args.model is None:
        args.model = "default"
    if getattr(args, "old_models", None):
        if args.models:
            raise ScribaError("give the models once: scriba average --model A B ...")
        warn_deprecated("`scriba average MODEL...` (positional models)", "--model A B ...")
        args.models = args.old_models
    if args.command == "set-preprocessing":
        _set_preprocessing_positionals(args)
    if getattr(args, "json_file", None) is not None:
        warn_deprecated(f"`scriba evaluate --json FILE` ({args.json_file})", "--json to print the report JSON on "
                        "stdout; report.json is written into --out DIR")  # fmt: skip
    if getattr(args, "subset", None) is not None:
        warn_deprecated(f"--subset {args.subset}", f"--split {args.subset}")


def _set_preprocessing_positionals(args: argparse.Namespace) -> None:
    """``set-preprocessing MODEL OUT FIELD=VALUE...``: leading positionals that are no changes fill the model and
    the output file not given as ``--model`` / ``--out``, in that order."""
    slots = [name for name in ("model", "out") if getattr(args, name) is None]
    old = 0  # the rest, even a malformed change, goes to the changes (whose parser says what is wrong)
    while old < min(len(slots), len(args.changes)) and not _CHANGE.match(args.changes[old]):
        old += 1
    given, args.changes = args.changes[:old], args.changes[old:]
    filled = slots[:old]
    if filled:
        shown = " ".join(name.upper() for name in filled)
        instead = " ".join(f"--{name} {name.upper()}" for name in filled)
        warn_deprecated(f"the positional {shown} of `scriba set-preprocessing`", instead)
    for name, value in zip(filled, given, strict=True):
        setattr(args, name, value)
    if args.model is None:
        args.model = "default"
    if args.out is None:
        raise ScribaError("scriba set-preprocessing needs --out FILE, the model file to write")
    if not args.changes:
        raise ScribaError("scriba set-preprocessing needs one or more FIELD=VALUE changes")


__all__ = ["apply_old_spellings", "warn_deprecated"]
