"""``scriba lm``: build a character language model, measure its perplexity, tune a model's decoding with it."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from scriba.errors import ScribaError


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def add_lm_commands(commands: Any) -> None:
    """Add ``scriba lm build|perplexity|tune`` to the CLI's subcommands."""
    from scriba.cli import _add_data_arguments, _add_model_argument, _add_unknown_labels_argument

    lm = commands.add_parser("lm", help="character language models: build, perplexity, tune a model's decoding")
    actions = lm.add_subparsers(dest="lm_command", required=True)

    build = actions.add_parser("build", help="estimate a character n-gram LM (modified Kneser-Ney) from text files")
    build.add_argument(
        "--text",
        nargs="+",
        action="extend",
        required=True,
        metavar="FILE",
        help="text files (one sentence a line) or CSV/TSV tables with a text column; repeatable",
    )
    build.add_argument(
        "--split",
        action="append",
        default=[],
        metavar="NAME",
        help="from tables with a split column, only rows of this split (repeatable, e.g. --split trainset --split "
        "train); text files are read whole",
    )
    build.add_argument("--order", type=int, default=6, help="n-gram order (default 6)")
    build.add_argument("--out", metavar="LM_FILE", required=True, help="the .lm file to write")
    build.add_argument("--arpa", help="also write the model in ARPA text format here (for KenLM and others)")
    build.add_argument("--heldout", nargs="+", default=[], metavar="FILE", help="report perplexity on these files")
    build.add_argument(
        "--heldout-split", action="append", default=[], help="from held-out tables, only rows of this split"
    )
    build.set_defaults(handler=_build)

    perplexity = actions.add_parser("perplexity", help="per-character perplexity of an LM on text files")
    perplexity.add_argument(
        "--lm", required=True, metavar="NAME_OR_FILE", help="a shipped LM name (english, names) or a .lm file"
    )
    perplexity.add_argument("--text", nargs="+", required=True, metavar="FILE")
    perplexity.add_argument(
        "--split", action="append", default=[], metavar="NAME", help="only rows of this split of tables"
    )
    perplexity.set_defaults(handler=_perplexity)

    tune = actions.add_parser("tune", help="choose a model's LM weight and insertion bonus on labeled validation data")
    _add_model_argument(tune)
    tune.add_argument("--lm", required=True, metavar="NAME_OR_FILE", help="a shipped LM name or a .lm file")
    _add_data_arguments(tune, required=True)
    _add_unknown_labels_argument(tune)
    tune.add_argument("--weights", type=_floats, default=[0.3, 0.5, 0.7, 1.0], help="LM weights to try (comma list)")
    tune.add_argument("--bonuses", type=_floats, default=[0.0, 0.5, 1.0, 2.0], help="insertion bonuses to try")
    tune.add_argument("--beam", type=int, default=16)
    tune.add_argument("--metric", choices=["cer", "wer", "exact"], default="cer", help="what to minimize")
    tune.add_argument(
        "--out",
        metavar="MODEL_FILE",
        help="write a copy of the model file with the best weights and this LM as its decoding defaults",
    )
    tune.add_argument(
        "--default-lm",
        metavar="NAME_OR_FILE",
        help="with --out: the LM the copy names as its default (default: --lm), e.g. one built from the same text "
        "plus the validation text, after tuning with an LM that has not seen it",
    )
    tune.set_defaults(handler=_tune)


def _texts(files: list[str], splits: list[str]) -> list[str]:
    from scriba.lm.texts import read_texts

    return [t for f in files for t in read_texts(f, splits)]


def _build(args: argparse.Namespace) -> int:
    from scriba.lm import NgramLM

    if args.order < 1:
        raise ScribaError(f"--order must be 1 or more, got {args.order}")
    texts = _texts(args.text, args.split)
    info: dict[str, Any] = {
        "text": [Path(f).name for f in args.text],
        "splits": args.split,
        "sentences": len(texts),
        "characters": sum(len(t) for t in texts),
    }
    try:
        lm = NgramLM.build(texts, args.order, info)
    except ValueError as err:
        raise ScribaError(str(err)) from err
    lm.info["ngrams"] = [len(c) for c in lm.tables.codes]
    if args.heldout:
        heldout = _texts(args.heldout, args.heldout_split)
        lm.info["perplexity"] = {
            "text": [Path(f).name for f in args.heldout],
            "splits": args.heldout_split,
            "per_character": round(lm.perplexity(heldout), 4),
        }
    lm.save(args.out)
    print(f"{args.out}: order {lm.order}, {len(lm.vocab)} tokens, {len(lm):,} n-grams ({lm.info['ngrams']}) "
          f"from {len(texts):,} sentences, {info['characters']:,} characters")  # fmt: skip
    if args.heldout:
        print(f"perplexity per character on the held-out text: {lm.info['perplexity']['per_character']:.3f}")
    if args.arpa:
        lm.write_arpa(args.arpa)
        print(f"ARPA: {args.arpa}")
    return 0


def _perplexity(args: argparse.Namespace) -> int:
    from scriba.lm import load_lm

    lm = load_lm(args.lm)
    texts = _texts(args.text, args.split)
    print(f"{args.lm}: perplexity per character {lm.perplexity(texts):.3f} on {len(texts):,} sentences")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from scriba.cli import note_unknown_labels, source_config
    from scriba.data.sources import read_source
    from scriba.decoding.beam import BeamSearch
    from scriba.decoding.settings import DecodingSettings
    from scriba.evaluate import prepare_eval_data
    from scriba.lm import load_lm, resolve_lm
    from scriba.lm.tune import best_result, fit_confidence_power, tune_decoding, validation_log_probs, write_decoding
    from scriba.recognizer import Recognizer, resolve_model

    if args.beam < 1:
        raise ScribaError(f"--beam must be 1 or more, got {args.beam}")
    if any(w < 0 for w in args.weights):
        raise ScribaError("--weights must not be negative")
    recognizer = Recognizer.load(args.model, lm=None)
    lm = load_lm(args.lm)
    read = read_source(source_config(args))
    note_unknown_labels(recognizer.charset, recognizer.name, read, args.unknown_labels)
    records, images, _ = prepare_eval_data(recognizer, read, args.unknown_labels)
    log_probs = validation_log_probs(recognizer, records, prepared=None if recognizer.reads_pen else images)
    truths = [r.text or "" for r in records]
    settings = DecodingSettings.of_model(recognizer.model_file.info)
    charset = recognizer.charset
    results = tune_decoding(
        charset, log_probs, truths, lm, args.weights, args.bonuses, args.beam, settings.min_log_prob
    )
    print(f"{'lm weight':>9} {'bonus':>6} {'CER':>7} {'WER':>7} {'exact':>7} {'lines/s':>8}   ({len(records)} samples)")
    for r in results:
        shown_weight = "greedy" if r.lm_weight is None else f"{r.lm_weight:g}"
        shown_bonus = "" if r.insertion_bonus is None else f"{r.insertion_bonus:g}"
        print(f"{shown_weight:>9} {shown_bonus:>6} {r.cer:7.2%} {r.wer:7.2%} {r.exact:7.2%} {r.lines_per_second:8.0f}")
    best = best_result(results, args.metric)
    weight, bonus = float(best.lm_weight or 0.0), float(best.insertion_bonus or 0.0)
    print(f"best by {args.metric}: lm weight {weight:g}, insertion bonus {bonus:g}")
    search = BeamSearch(charset, lm, weight, bonus, args.beam, settings.min_log_prob)
    power, before, after = fit_confidence_power(search, log_probs, truths)
    print(f"confidence power {power:g}: expected calibration error {before['ece']:.4f} -> {after['ece']:.4f}")
    if args.out:
        # Record the LM by name when it is a shipped one (found again on any install), else by its path.
        chosen = args.default_lm or args.lm
        name = str(chosen) if not Path(chosen).is_file() else str(resolve_lm(chosen).resolve())
        where = " ".join(x for x in (Path(args.data).name, args.split, args.subset) if x)
        tuned = dataclasses.replace(
            settings,
            lm=name,
            lm_weight=weight,
            insertion_bonus=bonus,
            beam=args.beam,
            confidence_power=power,
            tuned_on=f"{where}, {len(records)} samples, by {args.metric}",
        )
        write_decoding(resolve_model(args.model), args.out, tuned)
        print(f"{args.out}: decodes with {name} by default (weight {weight:g}, bonus {bonus:g}, beam {args.beam}, "
              f"confidence power {power:g})")  # fmt: skip
    return 0


__all__ = ["add_lm_commands"]
