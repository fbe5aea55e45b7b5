"""``scriba serve``: the REST API and the live page on uvicorn (``pip install 'scriba[serve]'``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scriba.errors import ScribaError

SERVE_MODULES = frozenset({"fastapi", "uvicorn", "multipart", "python_multipart", "starlette"})


def add_serve_command(commands: Any) -> None:
    """Add ``scriba serve`` to the CLI's subcommands."""
    from scriba.cli import _add_backend_argument

    serve = commands.add_parser(
        "serve", help="a REST API (/v1/read, /v1/read/ink, /docs) and a page at / that reads as you write"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model", metavar="NAME_OR_FILE", default="english", help="model for images (default english)")
    serve.add_argument(
        "--ink-model", metavar="NAME_OR_FILE", default="english_pen", help="model for pen strokes (default english_pen)"
    )
    serve.add_argument("--alternatives", type=int, default=3, help="readings returned per input by default")
    serve.add_argument("--max-body-mb", type=float, default=20.0, help="largest request body (default 20 MB)")
    serve.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take (default 30)")
    serve.add_argument(
        "--max-batch",
        type=int,
        default=32,
        help="most requests read together (default 32; 1 reads each alone)",
    )
    _add_backend_argument(serve)
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from scriba.serve import ServeSettings, create_app
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in SERVE_MODULES:
            raise
        needs = f"`scriba serve` needs the serve extras (no module {err.name!r}): pip install 'scriba[serve]'"
        raise ScribaError(needs) from err
    from scriba.recognizer import resolve_model

    for name in (args.model, args.ink_model):
        resolve_model(name)  # an unknown model fails here, in one line, before the server starts
    if not 0 < args.port < 65536:
        raise ScribaError(f"--port must be 1-65535, not {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"scriba: warning: listening on {args.host}: anyone who can reach this machine can use the server",
            file=sys.stderr,
        )
    settings = ServeSettings(
        model=args.model,
        ink_model=args.ink_model,
        alternatives=args.alternatives,
        max_body_bytes=int(args.max_body_mb * 2**20),
        timeout_s=args.timeout,
        max_batch=max(1, args.max_batch),
        backend=args.backend,
    )
    print(f"scriba: serving {args.model} (images) and {args.ink_model} (ink) on http://{args.host}:{args.port}/",
          file=sys.stderr, flush=True)  # fmt: skip
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
