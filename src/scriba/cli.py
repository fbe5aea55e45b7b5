"""The ``scriba`` command line: parse, call one library function, print a short summary."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from scriba.errors import ScribaError

log = logging.getLogger("scriba")


def _train(args: argparse.Namespace) -> int:
    from scriba.config import load_config
    from scriba.training import fit

    config = load_config(args.config, args.set)
    result = fit(config, resume=args.resume)
    print(f"model: {result.model_path}\nbest val/cer: {result.best_val_cer:.4f}\nrun: {result.run_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scriba", description="Read handwriting: train, evaluate and apply CRNN models.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model from a YAML recipe")
    train.add_argument("--config", required=True, help="YAML recipe (see configs/)")
    train.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config values, e.g. training.lr=3e-4")
    train.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    train.set_defaults(handler=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train" else logging.WARNING, format="%(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ScribaError as err:
        print(f"scriba: error: {err}".splitlines()[0] if "\n" not in str(err) else f"scriba: error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"scriba: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scriba: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
