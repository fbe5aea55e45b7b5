"""The REST API and the live page: ``create_app(ServeSettings()) -> FastAPI`` (``scriba serve`` runs it on uvicorn).

Routes: ``GET /`` (the page), ``GET /health``, ``GET /v1/models``, ``POST /v1/read`` (multipart images),
``POST /v1/read/ink`` (JSON strokes); OpenAPI at ``/docs``. Every error is JSON ``{"error": "..."}`` with a
4xx status for anything a client sent (400 malformed, 413 too large, 415 not an image or not JSON, 422 valid
JSON of the wrong shape, 503 busy or over the time limit); 500 only for a bug of ours.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from scriba.errors import ImageError, ScribaError
from scriba.recognizer import Backend, Reading, Recognizer, available_models, resolve_model
from scriba.serve.batching import Batcher, BusyError
from scriba.serve.requests import INK_BODY, MULTIPART_BODY, BodyLimit, check_image, error, parse_ink

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Images taken together are read in sub-batches of this many of similar widths: word images differ in width, and
# one batch of 16 is padded to its widest. /v1/read, 16 clients, word images, requests/s torch / onnx: one batch
# 102 / 135, sub-batches of 8 113 / 161, of 4 114 / 198 (one at a time: 63 / 191). Ink is read in one batch.
READ_BATCH = 4


@dataclass
class ServeSettings:
    """What ``scriba serve`` loads and the limits it enforces (each refused with a 4xx and a reason)."""

    model: str = "english"  # for images
    ink_model: str = "english_pen"  # for pen strokes
    alternatives: int = 3  # readings returned per input unless the request asks otherwise
    max_body_bytes: int = 20 * 2**20
    max_files: int = 32
    max_pixels: int = 40_000_000  # a 300 dpi A4 scan is 8.7 M; decoding is refused above this (413)
    max_strokes: int = 2_000
    max_points: int = 100_000
    timeout_s: float = 30.0  # per request, queueing included (503 after it)
    batch_wait_s: float = 0.002  # after a request arrives, how long to wait for others to read with it
    max_batch: int = 32
    backend: Backend = "torch"  # or "onnx": the networks run by onnxruntime (scriba[onnx])


class Readers:
    """Recognizers by (model, lm), loaded on first use (in the batcher's thread) and kept."""

    def __init__(self, settings: ServeSettings):
        from scriba.lm import available_lms

        self.settings = settings
        self._loaded: dict[tuple[str, str], Recognizer] = {}
        # What a request may name, found once (each lookup scans the model folders): the shipped models and
        # the two the server was started with, and the shipped language models.
        self.models = sorted({*available_models(), settings.model, settings.ink_model})
        self.lms = available_lms()

    def get(self, model: str, lm: str, alternatives: int) -> Recognizer:
        key = (model, lm)
        if key not in self._loaded:
            choice: Any = None if lm == "none" else lm
            self._loaded[key] = Recognizer.load(model, lm=choice, backend=self.settings.backend)
        recognizer = self._loaded[key]
        if recognizer.alternatives == alternatives:
            return recognizer
        chosen = copy.copy(recognizer)  # the same network and decoder, another number of alternatives
        chosen.alternatives = alternatives
        return chosen

    def loaded(self) -> list[str]:
        return sorted({model for model, _ in self._loaded})


def read_group(readers: Readers, key: Hashable, items: list[Any]) -> list[Any]:
    """The batcher's runner: read one group of images (encoded bytes) or inks with one model and options; an
    input that cannot be read gets its error, the others their readings."""
    kind, model, lm, alternatives = cast(tuple[str, str, str, int], key)
    recognizer = readers.get(model, lm, alternatives)
    if kind == "ink":
        return list(recognizer.read_inks(items))
    results: list[Any] = [None] * len(items)
    prepared, where = [], []
    for i, data in enumerate(items):
        try:
            prepared.append(recognizer.prepare(data))
            where.append(i)
        except ScribaError as err:
            results[i] = err
    for i, reading in zip(where, recognizer.read_prepared(prepared, READ_BATCH) if prepared else [], strict=True):
        results[i] = reading
    return results


def reading_json(reading: Reading) -> dict[str, Any]:
    """A reading as the API returns it: text, confidence, per-character confidences, alternatives."""
    return {
        "text": reading.text,
        "confidence": round(float(reading.confidence), 4),
        "chars": [
            {"char": c, "confidence": round(float(p), 4)}
            for c, p in zip(reading.text, reading.char_confidences, strict=True)
        ],
        "alternatives": [{"text": a.text, "score": round(float(a.score), 3)} for a in reading.alternatives or []],
    }


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The server's app; models load (and are warmed up) when it starts."""
    settings = settings or ServeSettings()
    readers = Readers(settings)
    batcher: Batcher | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        nonlocal batcher
        batcher = Batcher(lambda key, items: read_group(readers, key, items), settings.max_batch, settings.batch_wait_s)
        await asyncio.gather(*(asyncio.wrap_future(f) for f in warm_up(batcher, settings)))
        yield
        batcher.close()

    app = FastAPI(
        title="scriba",
        summary="Read handwriting: images of words, lines and names, and pen strokes.",
        version="1",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return error(500, "internal error")

    def options(model: str | None, lm: str, alternatives: int, default_model: str) -> tuple[str, str, int]:
        model = model or default_model
        if model not in readers.models:
            raise HTTPException(422, f"unknown model {model!r}: one of {', '.join(readers.models)}")
        if lm not in ("auto", "none", *readers.lms):
            raise HTTPException(422, f"unknown lm {lm!r}: auto, none or one of {', '.join(readers.lms)}")
        return model, lm, alternatives

    async def read(key: tuple[Any, ...], items: list[Any]) -> list[Reading]:
        assert batcher is not None
        try:
            futures = [batcher.submit(key, item) for item in items]
        except BusyError as err:
            raise HTTPException(503, str(err)) from err
        waiting = [asyncio.wrap_future(f) for f in futures]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*waiting), settings.timeout_s))
        except TimeoutError as err:
            raise HTTPException(503, f"reading took over {settings.timeout_s:g} s") from err
        except ImageError as err:  # a file whose header was fine but whose data is not (truncated, corrupt)
            raise HTTPException(400, str(err)) from err
        except ScribaError as err:  # e.g. an image sent to a model of pen strokes
            raise HTTPException(422, str(err)) from err

    model_query = Query(None, description="a shipped model's name (default: the server's)")
    lm_query = Query("auto", description="language model: auto (the model's own), none (greedy), or a shipped LM")
    alternatives_query = Query(settings.alternatives, ge=1, le=10, description="readings returned per input")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The server is up; the models loaded so far."""
        return {"status": "ok", "models": readers.loaded()}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """Models a request can name (their inputs and characters) and the language models."""
        from scriba.model_file import read_metadata

        listed = []
        for name in readers.models:
            metadata = read_metadata(resolve_model(name))
            kind = "ink" if (metadata.get("preprocessing") or {}).get("input", "image") != "image" else "image"
            listed.append({
                "name": name,
                "input": kind,
                "charset": metadata["charset"]["characters"],
                "loaded": name in readers.loaded(),
                "default": name == (settings.ink_model if kind == "ink" else settings.model),
            })  # fmt: skip
        return {"models": listed, "lms": readers.lms}

    @app.post("/v1/read", openapi_extra={"requestBody": MULTIPART_BODY})
    async def read_images(
        request: Request, model: str | None = model_query, lm: str = lm_query, alternatives: int = alternatives_query
    ) -> dict[str, Any]:
        """Read images (multipart form, field ``file``, one or more)."""
        key = ("image", *options(model, lm, alternatives, settings.model))
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(415, "send images as multipart/form-data in the field 'file'")
        boundary = request.headers["content-type"].partition("boundary=")[2].strip('"').encode()
        if not boundary or b"--" + boundary + b"--" not in await request.body():  # the form's closing line
            raise HTTPException(400, "malformed multipart form: no boundary, or the body ends before the form does")
        try:
            form = await request.form(max_files=settings.max_files, max_fields=settings.max_files)
        except HTTPException:
            raise
        except Exception as err:  # python-multipart's errors for truncated or malformed forms
            raise HTTPException(400, f"malformed multipart form: {err}") from err
        files = [f for f in form.getlist("file") if not isinstance(f, str)]
        if not files:
            raise HTTPException(422, "no images: send one or more files in the field 'file'")
        names, payloads = [], []
        for upload in files:
            data = await upload.read()
            check_image(data, upload.filename or "file", settings.max_pixels)
            names.append(upload.filename or "")
            payloads.append(data)
        readings = await read(key, payloads)
        return {"results": [{"file": n, **reading_json(r)} for n, r in zip(names, readings, strict=True)]}

    @app.post("/v1/read/ink", openapi_extra={"requestBody": INK_BODY})
    async def read_ink(
        request: Request, model: str | None = model_query, lm: str = lm_query, alternatives: int = alternatives_query
    ) -> dict[str, Any]:
        """Read pen strokes: JSON ``{"strokes": [[[x, y], ...], ...]}``."""
        key = ("ink", *options(model, lm, alternatives, settings.ink_model))
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise HTTPException(415, "send strokes as application/json")
        ink = parse_ink(await request.body(), settings.max_strokes, settings.max_points)
        reading = (await read(key, [ink]))[0]
        return {"results": [reading_json(reading)]}

    return app


def warm_up(batcher: Batcher, settings: ServeSettings) -> list[Any]:
    """Load the default models and read once with each (the first reading builds the network's kernels)."""
    import cv2

    image = np.full((64, 200), 255, np.uint8)
    cv2.putText(image, "hello", (10, 45), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.5, 0, 3)
    _, png = cv2.imencode(".png", image)
    ink = [np.array([[0, 0], [5, 20], [10, 0], [15, 20]], np.float32)]
    return [
        batcher.submit(("image", settings.model, "auto", settings.alternatives), png.tobytes()),
        batcher.submit(("ink", settings.ink_model, "auto", settings.alternatives), ink),
    ]
