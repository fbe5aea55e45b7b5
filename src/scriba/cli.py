"""The ``scriba`` command line: parse, call one library function, print a short summary.

Errors a user can cause print one line on stderr and exit with status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriba.data.records import Record
from scriba.errors import ConfigError, ScribaError

if TYPE_CHECKING:
    from scriba.charset import Charset
    from scriba.data.ink import InkStyle
    from scriba.data.sources import SourceConfig
    from scriba.ensemble import Ensemble
    from scriba.recognizer import Recognizer

log = logging.getLogger("scriba")

# Modules of the train extra (pyproject.toml): a command that needs them says how to install them.
TRAIN_MODULES = frozenset(
    {"lightning", "pytorch_lightning", "albumentations", "tensorboard", "lmdb", "wordfreq", "fontpkg"}
)


SPLIT_HELP = (
    "the part of --data to use: the dataset's own split where it has them (IAM-OnDB trainset, testset_v, "
    "testset_t; a Kaggle names folder's train, validation, test; a table's split column), else train, val or "
    "test: the part (40/15/45%%) a stable hash of each file name assigns"
)

TTA_HELP = (
    "test-time augmentation: read each image 9 times (stretched 0.8/1/1.25x, shifted a pixel up/down), or for a "
    "model of pen trajectories each ink 7 times (sheared, stretched), and keep the reading with the best summed "
    "CTC likelihood; about 9x (7x) slower, fewer errors; in an ensemble each model reads its own variants"
)


def _add_lexicon_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lexicon",
        metavar="FILE",
        help="prefer entries of this lexicon (CSV with a text column, or one entry per line; repeats count as "
        "frequency): the entry near the reading with the best CTC likelihood, unless the reading is --oov-penalty "
        "more likely; for names and single words",
    )
    parser.add_argument(
        "--lexicon-weight",
        type=float,
        default=0.3,
        help="without an LM: weight of an entry's log frequency against its likelihood (default 0.3; 0: likelihood "
        "only)",
    )
    parser.add_argument(
        "--oov-penalty",
        type=float,
        default=6.0,
        help="how much less likely (natural log) a reading outside the lexicon is taken to be (default 6); "
        "inf: read only lexicon entries (the greedy reading stays only when no entry fits the image's frames)",
    )


def _add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="run the network with torch or with onnxruntime (pip install 'scriba[onnx]'; exported once and cached)",
    )


def _add_decoding_arguments(
    parser: argparse.ArgumentParser, alternatives_help: str = "show the K best readings with their scores"
) -> None:
    lm = parser.add_mutually_exclusive_group()
    lm.add_argument(
        "--lm",
        metavar="NAME_OR_FILE",
        help="decode by beam search with this character language model (a shipped name such as english or names, "
        "or a .lm file; default: the model's own, if it names one)",
    )
    lm.add_argument("--no-lm", action="store_true", help="no language model: greedy decoding (or a CTC beam search "
                    "with --beam)")  # fmt: skip
    parser.add_argument("--beam", type=int, help="beam width (default: the model's, 16)")
    parser.add_argument("--lm-weight", type=float, help="weight of the LM against the image (default: the model's)")
    parser.add_argument(
        "--insertion-bonus", type=float, help="score added per character with an LM (default: the model's)"
    )
    parser.add_argument("--alternatives", type=int, default=1, metavar="K", help=alternatives_help)


def _add_data_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--data",
        required=required,
        help="dataset: a path,text CSV/TSV, a Kaggle names CSV, IAM words.txt/lines.txt, or an IAM-OnDB folder",
    )
    parser.add_argument("--kind", default="auto", help="reader to use (default: detected from --data)")
    parser.add_argument("--split", metavar="NAME", help=SPLIT_HELP)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N records")
    # Deprecated alias of --split train|val|test (hidden from --help; see scriba.cli_compat).
    parser.add_argument("--subset", choices=["train", "val", "test"], help=argparse.SUPPRESS)


def _add_model_argument(
    parser: argparse.ArgumentParser, old_positional: bool = False, default_later: bool = False
) -> None:
    """``--model NAME_OR_FILE``; with ``old_positional``, the deprecated positional MODEL is still taken. Its
    default is set by :func:`scriba.cli_compat.apply_old_spellings` then (and with ``default_later``)."""
    parser.add_argument(
        "--model",
        metavar="NAME_OR_FILE",
        default=None if old_positional or default_later else "default",
        help="a shipped model's name (see `scriba models`) or a model file (default: the default model, english)",
    )
    if old_positional:
        parser.add_argument("old_model", nargs="?", help=argparse.SUPPRESS)


def _add_precision_argument(parser: argparse.ArgumentParser) -> None:
    # The choices are scriba.recognizer.PRECISIONS, written out: importing it here would load torch for --help.
    parser.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: run the network in bfloat16, faster in batches on CPUs with AMX or AVX512-BF16 (default: fp32)",
    )


def _add_set_argument(parser: argparse.ArgumentParser, example: str = "") -> None:
    """``--set KEY=VALUE...``; repeated ``--set`` options add up (extend), so none is silently dropped."""
    more = f", e.g. {example}" if example else ""
    parser.add_argument(
        "--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE", help=f"override config values{more}"
    )


def _add_ensemble_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ensemble",
        action="append",
        default=[],
        metavar="NAME_OR_FILE",
        help="also read with this model (repeatable): each model proposes its greedy reading and the one all "
        "of them find likeliest wins",
    )


def _add_unknown_labels_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unknown-labels",
        choices=["error", "skip", "score"],
        default="score",
        help="labels with characters the model cannot write: score them as errors (default; a note on stderr "
        "says how many), skip them, or fail",
    )


def _read_data(args: argparse.Namespace) -> list[Record]:
    from scriba.data.sources import read_source

    return read_source(source_config(args))


def source_config(args: argparse.Namespace) -> SourceConfig:
    """The ``--data``, ``--kind``, ``--split`` and ``--limit`` options as a source: ``--split train|val|test``
    of data without its own splits picks the hash part (:func:`scriba.data.sources.split_or_part`)."""
    from scriba.data.sources import SourceConfig, split_or_part

    split, part = split_or_part(args.data, args.kind, args.split)
    if part is not None and args.subset is not None:
        raise ScribaError(f"--split {args.split} and --subset {args.subset}: give the part once, with --split")
    return SourceConfig(path=args.data, kind=args.kind, split=split, limit=args.limit, subset=part or args.subset)


def note_unknown_labels(charset: Charset, model: str, records: list[Record], unknown_labels: str) -> None:
    """One stderr line saying how many labels hold characters the model cannot write and how they are counted
    (nothing with ``error``, which fails on them, or when there are none)."""
    from scriba.data.cleaning import CleaningOptions, clean

    if unknown_labels == "error":
        return
    scored, _ = clean(records, CleaningOptions(unknown_characters="keep"))  # the labels evaluation reads
    found = [missing for r in scored if (missing := charset.unknown(r.text or ""))]
    if not found:
        return
    chars = "".join(sorted(set().union(*found)))
    how = "scored as errors" if unknown_labels == "score" else "left out"
    print(
        f"scriba: note: {len(found)} of the {len(scored)} labels read hold characters model {model} cannot write "
        f"({chars!r}): {how} (--unknown-labels score|skip|error)",
        file=sys.stderr,
    )


def _train(args: argparse.Namespace) -> int:
    from scriba.checkpoints import export_best
    from scriba.config import load_config
    from scriba.training import fit

    config = load_config(args.config, args.set)
    result = export_best(config) if args.export else fit(config, resume=args.resume)
    print(f"model: {result.model_path}\nbest val/cer: {result.best_val_cer:.4f}\nrun: {result.run_dir}")
    return 0


def _self_train(args: argparse.Namespace) -> int:
    from scriba.config import load_config
    from scriba.selftrain import self_train

    result = self_train(load_config(args.config, args.set))
    print(f"start: val/cer {result.start_val_cer:.4f}")
    for r in result.rounds:
        print(
            f"round {r.round}: {r.pseudo.kept} of {r.pseudo.read} images pseudo-labeled, "
            f"val/cer {r.val_cer:.4f}{'' if r.kept else ' (not kept)'}"
        )
    print(f"model: {result.model_path}\nbest val/cer: {result.best_val_cer:.4f}")
    return 0


def _ink_style(value: str) -> InkStyle:
    """A preset name (``clean``, ``unseen``) or a JSON object of InkStyle fields."""
    from scriba.data.ink import INK_STYLE_PRESETS, InkStyle

    if value in INK_STYLE_PRESETS:
        return INK_STYLE_PRESETS[value]
    try:
        return InkStyle(**json.loads(value))
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"--ink-style must be one of {', '.join(INK_STYLE_PRESETS)} or a JSON object of ink style fields: {err}"
        ) from err


def _preview(args: argparse.Namespace) -> int:
    from scriba.config import load_config
    from scriba.preview import preview

    path = preview(load_config(args.config, args.set), Path(args.out), args.count, args.epoch)
    print(f"contact sheet: {path}")
    return 0


def _decoding(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Recognizer.load`` arguments of the decoding options."""
    if args.alternatives < 1:
        raise ScribaError(f"--alternatives must be 1 or more, got {args.alternatives}")
    lm = None if args.no_lm else (args.lm or "auto")
    return {
        "lm": lm,
        "lm_weight": args.lm_weight,
        "insertion_bonus": args.insertion_bonus,
        "beam": args.beam,
        "alternatives": args.alternatives,
        "backend": args.backend,
    }


def _load_reader(args: argparse.Namespace, crop: float | None = None) -> Recognizer | Ensemble:
    """The ``--model`` to read with; with ``--ensemble`` models, an :class:`~scriba.ensemble.Ensemble` of them
    all (each proposes its readings, greedy and with the first model's LM if there is one; with ``--tta``,
    each reads its own variants)."""
    from scriba.ensemble import Ensemble
    from scriba.recognizer import Recognizer

    decoding = _decoding(args)
    if not args.ensemble:
        return _with_lexicon(
            Recognizer.load(args.model, crop_margin=crop, tta=args.tta, precision=args.precision, **decoding), args
        )
    if args.lexicon or crop is not None:
        raise ScribaError("an ensemble reads without a lexicon and uncropped: drop --lexicon and --crop")
    first = Recognizer.load(args.model, tta=args.tta, precision=args.precision, **decoding)
    others = [
        Recognizer.load(m, tta=args.tta, precision=args.precision, lm=None, backend=args.backend) for m in args.ensemble
    ]
    return Ensemble([first, *others])


def _evaluate(args: argparse.Namespace) -> int:
    from scriba.evaluate import evaluate_to_folder

    if args.ensemble and args.ink_style:
        raise ScribaError("an ensemble draws ink in each model's own style: drop --ink-style")
    reader, records = _load_reader(args), _read_data(args)
    note_unknown_labels(reader.charset, reader.name, records, args.unknown_labels)
    report, json_path = evaluate_to_folder(
        reader,
        records,
        Path(args.out),
        Path(args.json_file) if args.json_file else None,
        args.unknown_labels,
        args.batch_size,
        args.grid,
        _ink_style(args.ink_style) if args.ink_style else None,
    )
    if args.json:  # stdout holds the JSON alone
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        print(f"scriba: report: {json_path}, plots: {args.out}/", file=sys.stderr)
        return 0
    print(report.summary())
    dropped = report.cleaning.get("dropped") or {}
    if dropped:
        reasons = ", ".join(f"{reason} x{count}" for reason, count in sorted(dropped.items(), key=lambda kv: -kv[1]))
        total = report.cleaning.get("total")
        print(f"  dropped {sum(dropped.values())} of {total} items: {reasons} (report.json lists examples)")
    print(f"report: {json_path}\nplots: {args.out}/")
    return 0


def _read(args: argparse.Namespace) -> int:
    from scriba.ensemble import Ensemble

    if args.ink:
        return _read_ink_files(args)
    from scriba.data.inkio import INK_SUFFIXES

    inks = [p for p in args.images if Path(p).suffix.lower() in INK_SUFFIXES]
    if inks and not args.data:  # ink files named like images: read as ink (as --ink does)
        if len(inks) < len(args.images):
            raise ScribaError("ink files (.inkml, .json) and images in one call: read them in separate calls")
        args.ink, args.images = inks, []
        return _read_ink_files(args)
    if args.data and args.ensemble:
        raise ScribaError("--data --index shows one model's reading: drop --ensemble")
    from scriba.cli_read import expand_paths, read_image_files

    if args.page or args.format or args.out:
        return _read_pages(args)
    crop = args.crop_margin if args.crop_margin is not None else (0.1 if args.crop else None)
    if crop is not None and not 0 <= crop <= 2:
        raise ScribaError(f"--crop-margin must be within 0..2 (a fraction of the writing's height), got {crop}")
    if not args.data and not args.images:
        raise ScribaError("give image paths or folders to read, --ink FILE... for ink files, or --data D --index N")
    if args.data and args.images:
        raise ScribaError("--data --index shows one dataset item: give images in a separate call")
    if args.data and args.index is None:
        raise ScribaError("--data needs --index N (the item to show)")
    recognizer = _load_reader(args, crop)
    if isinstance(recognizer, Ensemble) or not args.data:
        paths = list(expand_paths(args.images, args.recursive))
        return read_image_files(recognizer, paths, args.batch_size, args.json)
    # One dataset item with its truth.
    records = _read_data(args)
    if not 0 <= args.index < len(records):
        raise ScribaError(
            f"--index {args.index} is out of range: the dataset has {len(records)} items (0..{len(records) - 1})"
        )
    record = records[args.index]
    image = recognizer.prepare_record(record)
    reading = recognizer.read_records([record], prepared=[image])[0]
    print(f"item {args.index} ({record.name})")
    print(f"truth:      {record.text}\nprediction: {reading.text}\nconfidence: {reading.confidence:.3f}")
    if args.save:
        from scriba.data.dataset import display_image
        from scriba.plots import plot_sample_grid

        plot_sample_grid([display_image(record, image)], [reading.text], [record.text], Path(args.save), columns=1)
        print(f"image: {args.save}")
    return 0


def _read_pages(args: argparse.Namespace) -> int:
    """``scriba read --page`` (``--format`` and ``--out`` imply it): each image read as a page."""
    from scriba.cli_page import read_page_files
    from scriba.cli_read import expand_paths

    if args.ink or args.data or args.ensemble:
        raise ScribaError("--page reads page images with one model: drop --ink, --data and --ensemble")
    if args.crop or args.crop_margin is not None:
        raise ScribaError("--page cuts each line out itself: drop --crop")
    if not args.images:
        raise ScribaError("--page needs image paths or folders to read")
    if args.json and (args.format or args.out):
        raise ScribaError("--json prints the pages' JSON: drop --format and --out (or use --format json)")
    from scriba.recognizer import Recognizer

    recognizer = _load_reader(args)
    if not isinstance(recognizer, Recognizer):  # --ensemble was refused above
        raise ScribaError("--page reads with one model")
    paths = list(expand_paths(args.images, args.recursive))
    return read_page_files(recognizer, paths, args.format or "text", args.out, args.batch_size, args.json)


def _with_lexicon(recognizer: Recognizer, args: argparse.Namespace) -> Recognizer:
    """``recognizer`` decoding with the ``--lexicon`` file, if one is given."""
    if args.lexicon:
        from scriba.decoding import LexiconDecoder

        penalty = None if args.oov_penalty == float("inf") else args.oov_penalty
        if penalty is not None and penalty < 0:
            raise ScribaError(f"--oov-penalty must not be negative, got {args.oov_penalty}")
        recognizer.lexicon = LexiconDecoder.read(
            args.lexicon, recognizer.charset, prior_weight=args.lexicon_weight, oov_penalty=penalty
        )
    return recognizer


def _read_ink_files(args: argparse.Namespace) -> int:
    from scriba.cli_read import parse_ink_files, print_readings

    if args.images or args.data:
        raise ScribaError("--ink reads ink files only: give images or --data in a separate call")
    good, records, failed = parse_ink_files(args.ink)  # bad files are reported before the model loads
    if records:
        print_readings("ink", good, _load_reader(args).read_records(records, args.batch_size), args.json)
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    import numpy as np

    from scriba.export import OnnxNetwork, check_parity, export_onnx
    from scriba.recognizer import Recognizer

    recognizer = Recognizer.load(args.model, lm=None)
    out = export_onnx(recognizer.model_file, args.out, int8=args.int8)
    real = []
    if not recognizer.reads_pen:
        images = args.check if args.check is not None else sorted(str(p) for p in Path("examples").glob("*.png"))
        real = [recognizer.prepare(p) for p in images]
    rng = np.random.default_rng(0)
    height = recognizer.preprocessing.height
    generated = []  # inputs of many widths (ink-like noise, or random pen features): for the numbers only
    for width in (8, 33, 120, 400, 801, 1500):
        if recognizer.reads_pen:
            generated.append(rng.normal(size=(height, max(2, width // 8))).astype(np.float32))
        else:
            generated.append(np.where(rng.random((height, width)) < 0.1, 0, 255).astype(np.uint8))
    network = OnnxNetwork(out)
    checks = [check_parity(recognizer.model_file, network, inputs) for inputs in (real, generated) if inputs]
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB" + (" (INT8 weights)" if args.int8 else ""))
    print(f"parity with torch on {len(real) + len(generated)} inputs of mixed widths, batched: max |log-prob "
          f"difference| {max(c['max_diff'] for c in checks):.2e}")  # fmt: skip
    if real:
        print(f"greedy text identical on {checks[0]['same_text']:.1%} of {len(real)} images")
    return 0


def _models(args: argparse.Namespace) -> int:
    from scriba.models import build_model, count_parameters, default_height, describe_model, list_models
    from scriba.recognizer import available_models, resolve_model

    print("architectures (parameters for 80 classes at the usual input height):")
    for name in list_models():
        height = default_height(name)
        params = count_parameters(build_model(name, 80, height))
        print(f"  {name:12s} {params / 1e6:6.2f}M  h={height:<3d} {describe_model(name)}")
    from scriba.decoding.settings import DecodingSettings
    from scriba.lm import available_lms, resolve_lm
    from scriba.model_file import read_metadata

    print("shipped models (and how each decodes by default):")
    shipped = available_models()
    if not shipped:
        print("  (none found)")
    for name in shipped:
        path = resolve_model(name)
        decoding = DecodingSettings.of_model(read_metadata(path).get("info") or {})
        how = f"LM {decoding.lm}, weight {decoding.lm_weight:g}, beam {decoding.beam}" if decoding.lm else "greedy"
        print(f"  {name:16s} {how:36s} {path}")
    print("language models (--lm NAME):")
    for name in available_lms() or ["(none found)"]:
        print(f"  {name:16s} {resolve_lm(name) if name != '(none found)' else ''}")
    return 0


def _set_preprocessing(args: argparse.Namespace) -> int:
    from scriba.config import apply_override
    from scriba.model_file import set_preprocessing
    from scriba.recognizer import resolve_model

    changes: dict[str, Any] = {}
    for item in args.changes:  # argparse asks for one or more; each sets a field or fails
        apply_override(changes, item)
    model_file = set_preprocessing(resolve_model(args.model), args.out, changes)
    print(f"{args.out}: preprocessing {model_file.preprocessing.to_dict()}")
    if "ink" in changes:
        print(f"{args.out}: ink style {dataclasses.asdict(model_file.ink_style)}")
    return 0


def _average(args: argparse.Namespace) -> int:
    from scriba.model_file import average_model_files
    from scriba.recognizer import resolve_model

    if not args.models:
        raise ScribaError("give the models to average: --model A B ...")
    average_model_files([resolve_model(m) for m in args.models], args.out, args.weights)
    print(f"{args.out}: mean of {len(args.models)} models")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from scriba.calibration import calibrate_model_file
    from scriba.config import load_config
    from scriba.data.cleaning import CleaningOptions
    from scriba.evaluate import UnknownLabels
    from scriba.recognizer import Recognizer
    from scriba.training_data import validation_records

    if (args.config is None) == (args.data is None):
        raise ScribaError("give the labeled data to calibrate on: --data D, or --config C for its validation data")
    recognizer = Recognizer.load(args.model)
    unknown: UnknownLabels = args.unknown_labels
    cleaning: CleaningOptions | None = None
    if args.config:
        records, cleaning = validation_records(load_config(args.config, args.set))
        unknown, described = "score", f"validation data of {args.config}"
    else:
        records = _read_data(args)
        note_unknown_labels(recognizer.charset, recognizer.name, records, unknown)
        parts = (("data", args.data), ("split", args.split), ("subset", args.subset))
        described = " ".join(f"{name} {value}" for name, value in parts if value)
    result = calibrate_model_file(
        recognizer,
        records,
        args.out,
        unknown,
        args.batch_size,
        cleaning=cleaning,
        data=described,
        temperature=not args.no_temperature,
    )
    print(f"{args.out}: {result.summary()}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    import csv
    from collections import Counter

    from scriba.data.synth import synthesize

    labels = synthesize(args.kind, args.count, Path(args.out), seed=args.seed, corpus=args.corpus, fonts=args.fonts)
    with labels.open(encoding="utf-8", newline="") as handle:
        fonts = Counter(row["font"] for row in csv.DictReader(handle))
    used = ", ".join(f"{name} {n}" for name, n in sorted(fonts.items()))
    print(f"wrote {args.count} {args.kind} images and {labels.name} to {labels.parent}; fonts: {used}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from scriba.config import load_config
    from scriba.training_data import write_prepared_data

    config = load_config(args.config, args.set)
    summary = write_prepared_data(config, Path(args.out) if args.out else None)
    print(summary.describe())
    print(f"train from it with: --set data.prepared={summary.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scriba", description="Read handwriting: train, evaluate and apply CRNN models."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action=_VersionAction, help="print scriba's version and exit")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model from a YAML recipe")
    train.add_argument("--config", required=True, help="YAML recipe (see configs/)")
    _add_set_argument(train, "training.lr=3e-4")
    train.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    train.add_argument(
        "--export", action="store_true", help="do not train: write the model file from the run's best checkpoint so far"
    )
    train.set_defaults(handler=_train)

    selftrain = commands.add_parser(
        "self-train", help="pseudo-label unlabeled images and retrain, in rounds while validation improves"
    )
    selftrain.add_argument("--config", required=True, help="YAML recipe with a self_training section")
    _add_set_argument(selftrain)
    selftrain.set_defaults(handler=_self_train)

    preview = commands.add_parser("preview", help="draw augmented training samples with their labels")
    preview.add_argument("--config", required=True, help="YAML recipe")
    _add_set_argument(preview)
    preview.add_argument(
        "--out", metavar="PNG", default="preview.png", help="the image to write (default: preview.png)"
    )
    preview.add_argument("--count", type=int, default=24, help="samples to draw")
    preview.add_argument("--epoch", type=int, default=0, help="draw the samples of this epoch")
    preview.set_defaults(handler=_preview)

    evaluate = commands.add_parser("evaluate", help="score a model on a labeled dataset")
    _add_model_argument(evaluate)
    _add_ensemble_argument(evaluate)
    _add_data_arguments(evaluate, required=True)
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout instead of the summary (report.json is written into --out too)",
    )
    # The deprecated `--json FILE` arrives here (scriba.cli_compat.rewrite_old_arguments).
    evaluate.add_argument("--old-json-file", dest="json_file", help=argparse.SUPPRESS)
    evaluate.add_argument(
        "--out", metavar="DIR", default="evaluation", help="folder for report.json and the plots (default: evaluation)"
    )
    _add_unknown_labels_argument(evaluate)
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--grid", type=int, default=12, help="samples in the image grid")
    evaluate.add_argument("--tta", action="store_true", help=TTA_HELP)
    _add_precision_argument(evaluate)
    _add_backend_argument(evaluate)
    _add_decoding_arguments(
        evaluate,
        alternatives_help="decode K readings per item and also report the metrics of the best of them (the one "
        "nearest the truth: what a perfect rescorer would reach); the main metrics stay those of the first",
    )
    _add_lexicon_arguments(evaluate)
    evaluate.add_argument(
        "--ink-style", help="draw ink data in this style: clean, unseen, or JSON fields (default: the model's)"
    )
    evaluate.set_defaults(handler=_evaluate)

    read = commands.add_parser("read", help="read handwriting in images or ink files")
    read.add_argument("images", nargs="*", help="image files or folders of them")
    _add_model_argument(read)
    _add_ensemble_argument(read)
    read.add_argument("--json", action="store_true", help="print the readings as JSON on stdout")
    read.add_argument("--batch-size", type=int, default=32)
    _add_data_arguments(read, required=False)
    read.add_argument(
        "--crop",
        action="store_true",
        help="crop images to their writing, framed with 10%% of its height, for photos and scans with wide "
        "margins (models that normalize their input, such as english, crop anyway); --crop=F sets the margin",
    )
    read.add_argument("--crop-margin", type=float, metavar="F", help="--crop with this margin (fraction of the height)")
    read.add_argument("--recursive", action="store_true", help="read the images in folders' subfolders too")
    read.add_argument("--tta", action="store_true", help=TTA_HELP)
    _add_precision_argument(read)
    _add_backend_argument(read)
    _add_decoding_arguments(read)
    _add_lexicon_arguments(read)
    from scriba.layout.writers import PAGE_FORMATS

    read.add_argument(
        "--page",
        action="store_true",
        help="read each image as a page or paragraph: find its lines, read them in reading order, print the text "
        "(without --page, an image that is clearly a page of 3 lines or more is read as one, with a note)",
    )
    read.add_argument(
        "--format",
        choices=PAGE_FORMATS,
        help="with --page: text (printed), or write json, page (PAGE XML 2019) or alto (ALTO 4) beside each "
        "image (scan.png -> scan.json, scan.page.xml, scan.alto.xml) or into --out; implies --page",
    )
    read.add_argument(
        "--out", metavar="DIR", help="with --page: the folder to write the --format files into; implies --page"
    )
    read.add_argument("--index", type=int, help="with --data: the item to show with its truth")
    read.add_argument("--save", help="with --data: save the item's image with truth and prediction (PNG)")
    read.add_argument(
        "--ink",
        nargs="+",
        metavar="FILE",
        help="read pen trajectories from InkML (.inkml) or canvas JSON (.json) files",
    )
    read.set_defaults(handler=_read)

    models = commands.add_parser("models", help="list architectures and shipped models")
    models.set_defaults(handler=_models)

    tune = commands.add_parser(
        "set-preprocessing", help="copy a model file with other preprocessing settings (same weights)"
    )
    _add_model_argument(tune, default_later=True)
    tune.add_argument("--out", metavar="MODEL_FILE", help="the model file to write (required)")
    tune.add_argument(
        "changes",  # also takes the deprecated positional MODEL OUT before the changes (see scriba.cli_compat)
        nargs="+",
        metavar="FIELD=VALUE",
        help="e.g. tall_height=44 stretch=1.25 margin=0.1; ink.FIELD=VALUE sets the ink style, e.g. ink.deskew=true",
    )
    tune.set_defaults(handler=_set_preprocessing)

    average = commands.add_parser(
        "average", help="write the mean of models fine-tuned from one start (a model soup; same architecture)"
    )
    average.add_argument(
        "--model",
        dest="models",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME_OR_FILE",
        help="the models to average, two or more (--model A B, or --model A --model B)",
    )
    average.add_argument("old_models", nargs="*", help=argparse.SUPPRESS)  # deprecated positional models
    average.add_argument("--out", metavar="MODEL_FILE", required=True, help="the model file to write")
    average.add_argument("--weights", type=float, nargs="+", help="one weight per model (default: equal)")
    average.set_defaults(handler=_average)

    calibrate = commands.add_parser(
        "calibrate",
        help="tune the blank and space scores of a model on labeled held-out data (fewer dropped characters "
        "and merged words) and a temperature for its confidences, and write the calibrated model",
    )
    _add_model_argument(calibrate, old_positional=True)
    calibrate.add_argument("--out", metavar="MODEL_FILE", required=True, help="the calibrated model file to write")
    _add_data_arguments(calibrate, required=False)
    calibrate.add_argument("--config", help="calibrate on this training recipe's validation data instead of --data")
    _add_set_argument(calibrate)
    _add_unknown_labels_argument(calibrate)
    calibrate.add_argument("--batch-size", type=int, default=32)
    calibrate.add_argument(
        "--no-temperature", action="store_true", help="leave the confidences as they are (no temperature)"
    )
    calibrate.set_defaults(handler=_calibrate)

    synth = commands.add_parser("synth", help="write a synthetic handwriting dataset (path,text table + images)")
    synth.add_argument("--kind", required=True, choices=["names", "words", "lines"], help="what to write")
    synth.add_argument("--count", required=True, type=int, help="number of images")
    synth.add_argument("--out", metavar="DIR", required=True, help="the folder to write images/ and labels.csv into")
    synth.add_argument(
        "--corpus", help="texts: one per line, or a CSV with a text column (default: built-in names / English words)"
    )
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dataset)")
    synth.add_argument("--fonts", nargs="+", metavar="FONT", help="fontpkg families or font files (default: all)")
    synth.set_defaults(handler=_synth)

    prepare = commands.add_parser(
        "prepare", help="read, clean and render a recipe's data once into LMDB files that training reads fast"
    )
    prepare.add_argument("--config", required=True, help="YAML recipe (see configs/)")
    _add_set_argument(prepare, "data.train.0.limit=100")
    prepare.add_argument("--out", metavar="DIR", help="the folder to write (default: <output_dir>/<name>/prepared)")
    prepare.set_defaults(handler=_prepare)

    export = commands.add_parser("export", help="write a model as ONNX, with its metadata, and check it against torch")
    _add_model_argument(export, old_positional=True)
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--out", metavar="ONNX_FILE", required=True, help="the .onnx file to write")
    export.add_argument("--int8", action="store_true", help="quantize weights to 8 bits (smaller, ~1.15x faster)")
    export.add_argument(
        "--check", nargs="*", metavar="IMAGE", help="images to check parity on (default: examples/*.png, if there)"
    )
    export.set_defaults(handler=_export)

    from scriba.cli_lm import add_lm_commands
    from scriba.cli_serve import add_serve_command

    add_lm_commands(commands)
    add_serve_command(commands)
    _add_threads_argument(parser)
    return parser


def _add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` on every command (the leaves of the subcommand tree)."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        parser.add_argument(
            "--threads",
            type=int,
            help="CPU threads for torch (default: $SCRIBA_THREADS, else the cores other work leaves idle)",
        )
        return
    for action in subcommands:
        for sub in set(action.choices.values()):
            _add_threads_argument(sub)


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked (not on every start, as argparse's own would)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: object, values: object, option: object = None
    ) -> None:
        print(f"scriba {version()}")
        parser.exit()


def version() -> str:
    """The installed distribution's version, else the package's ``__version__`` (a source tree on the path)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("scriba")
    except PackageNotFoundError:
        from scriba import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    from scriba.threads import cpu_times

    started = cpu_times()  # how busy the machine is, measured over the start-up (see scriba.threads)
    parser = build_parser()
    # --crop=F is --crop-margin F: a separate optional value would swallow the next argument (a file name).
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [x for a in argv for x in (["--crop-margin", a[len("--crop=") :]] if a.startswith("--crop=") else [a])]
    from scriba.cli_compat import apply_old_spellings, rewrite_old_arguments

    args, extra = parser.parse_known_args(rewrite_old_arguments(argv))
    if extra and isinstance(getattr(args, "changes", None), list) and not any(x.startswith("-") for x in extra):
        args.changes.extend(extra)  # set-preprocessing's FIELD=VALUE changes given on both sides of an option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    level = logging.INFO if args.verbose or args.command == "train" else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        from scriba.threads import configure_threads

        apply_old_spellings(args)
        threads = configure_threads(args.threads, started)
        log.info("torch threads: %d", threads)
        return handler(args)
    except (ScribaError, FileNotFoundError) as err:
        interrupted = type(err).__name__ == "TrainingInterrupted"
        # One line: multi-line messages (cleaning summaries) keep their first line here.
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"scriba: {'' if interrupted else 'error: '}{message}", file=sys.stderr)
        return 130 if interrupted else 2
    except KeyboardInterrupt:
        print("scriba: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in TRAIN_MODULES:
            raise
        print(f"scriba: error: `scriba {args.command}` needs the training extras (no module {top!r}): "
              "pip install 'scriba[train]'", file=sys.stderr)  # fmt: skip
        return 2
    except BrokenPipeError:
        # The reader of our output went away (`scriba ... | head`): stop quietly, as Python's docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
