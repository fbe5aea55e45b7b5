"""What a request may hold: a body within the size limit (:class:`BodyLimit`), images that are images and not
too large (:func:`check_image`), strokes within the limits (:func:`parse_ink`), and the OpenAPI shapes of the
two bodies. Each refusal is an HTTP error with a reason, answered as JSON by :func:`error`."""

from __future__ import annotations

import io
import json

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scriba.data.inkio import ink_from_json
from scriba.data.records import Ink
from scriba.errors import DataFormatError

IMAGE_TYPES = "PNG, JPEG, TIFF, BMP, WebP, GIF, PNM"


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by their Content-Length or, without one, as they
    arrive (pure ASGI, so nothing larger is ever buffered)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        too_large = error(413, f"request body over {self.limit} bytes")
        if length is not None:
            if not length.isdigit():
                await error(400, "invalid Content-Length")(scope, receive, send)
                return
            if int(length) > self.limit:
                await too_large(scope, receive, send)
                return
        received, started = 0, False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass


MULTIPART_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            }
        }
    },
}
POINT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 4}
INK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["strokes"],
                "properties": {
                    "strokes": {
                        "type": "array",
                        "description": "strokes of [x, y] points (optionally [x, y, t] or [x, y, t, pressure]), "
                        "y downward, any unit",
                        "items": {"type": "array", "items": POINT},
                    }
                },
            }
        }
    },
}


def check_image(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse what is not an image (415) or too large to decode (413) from its header, before decoding."""
    from PIL import Image

    if not data:
        raise HTTPException(400, f"{name}: empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception as err:  # PIL raises several kinds for what is not an image
        raise HTTPException(415, f"{name}: not an image ({IMAGE_TYPES})") from err
    if width * height > max_pixels:
        raise HTTPException(413, f"{name}: {width} x {height} px is over {max_pixels} pixels")


def parse_ink(body: bytes, max_strokes: int, max_points: int) -> Ink:
    """The strokes of a JSON body, within the limits (counted before any conversion)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise HTTPException(400, f"not valid JSON: {err}") from err
    strokes = data.get("strokes") if isinstance(data, dict) else None
    if not isinstance(strokes, list):
        raise HTTPException(422, 'expected {"strokes": [[[x, y], ...], ...]}')
    points = sum(len(s) for s in strokes if isinstance(s, list))
    if len(strokes) > max_strokes or points > max_points:
        raise HTTPException(413, f"{len(strokes)} strokes, {points} points: at most {max_strokes} and {max_points}")
    try:
        return ink_from_json(data, "strokes")
    except DataFormatError as err:
        raise HTTPException(422, str(err)) from err
