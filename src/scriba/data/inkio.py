"""Read and write pen trajectories: W3C InkML files and scriba's canvas JSON.

Both give :data:`~scriba.data.records.Ink`: a list of (K, 2) float32 strokes, x to the right and y
downward, in any unit (screen pixels, tablet units): rendering normalizes the size.

JSON (``.json`` files, and what the web page's drawing canvas sends)::

    {"strokes": [[[x, y], [x, y], ...], [[x, y], ...], ...]}

One list per stroke (pen down to pen up), one point per entry. A point is ``[x, y]`` (further numbers,
such as a time or a pressure, are ignored) or ``{"x": x, "y": y}`` (further keys ignored). A bare list
of strokes is accepted too. Empty strokes are dropped.

InkML (``.inkml``, https://www.w3.org/TR/InkML/): every ``<trace>`` in document order, at any depth of
``<traceGroup>`` nesting, with or without the ``http://www.w3.org/2003/InkML`` default namespace. A
trace is points separated by commas and channel values separated by spaces; the first two channels
are x and y, the others (time, force, ...) are ignored. Difference-encoded values (``'`` first and
``"`` second difference, ``!`` explicit, each prefix holding for its channel until the next) are decoded.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from scriba.data.records import Ink
from scriba.errors import DataFormatError

log = logging.getLogger(__name__)

INKML_NAMESPACE = "http://www.w3.org/2003/InkML"
INK_SUFFIXES = (".inkml", ".json")

# One channel value: an optional difference prefix, then a number or one of InkML's T/F/*/? symbols.
# Signs and prefixes also separate values, so "10-5" is two values and "'3'4" is two first differences.
_VALUE = re.compile(r"""\s*([!'"]?)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[TF*?])""")


def read_ink_file(path: str | Path) -> Ink:
    """Read an ``.inkml`` or ``.json`` ink file (the suffix decides; see the module docstring).

    Returns:
        list of (K, 2) float32 strokes, x right, y down.

    Raises:
        DataFormatError: missing, empty or unparsable file, unknown suffix, or no points.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in INK_SUFFIXES:
        raise DataFormatError(f"unsupported ink file type {path.suffix or '(none)'!r} (use .inkml or .json): {path}")
    if not path.is_file():
        raise DataFormatError(f"ink file not found: {path}")
    data = path.read_bytes()
    if not data.strip():
        raise DataFormatError(f"ink file is empty: {path}")
    ink = ink_from_inkml(data, str(path)) if suffix == ".inkml" else ink_from_json_text(data, str(path))
    log.debug("%s: %d strokes, %d points", path, len(ink), sum(len(s) for s in ink))
    return ink


def write_ink_file(path: str | Path, ink: Ink) -> Path:
    """Write ink as ``.inkml`` or ``.json`` (the suffix decides); float32 coordinates survive exactly.

    Raises:
        DataFormatError: unknown suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in INK_SUFFIXES:
        raise DataFormatError(f"unsupported ink file type {path.suffix or '(none)'!r} (use .inkml or .json): {path}")
    text = ink_to_inkml(ink) if suffix == ".inkml" else json.dumps(ink_to_json(ink))
    path.write_text(text, encoding="utf-8")
    return path


# --- JSON -------------------------------------------------------------------------------------


def ink_from_json_text(text: str | bytes, source: str = "JSON") -> Ink:
    """Parse canvas JSON text; ``source`` names it in error messages.

    Raises:
        DataFormatError: not JSON, not the documented shape, or no points.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{source}: not valid JSON: {_first_line(err)}") from err
    return ink_from_json(data, source)


def ink_from_json(data: Any, source: str = "JSON") -> Ink:
    """Strokes from already-decoded canvas JSON (``{"strokes": [...]}`` or a bare list of strokes).

    Raises:
        DataFormatError: not the documented shape, non-numeric or non-finite coordinates, or no points.
    """
    strokes = data.get("strokes") if isinstance(data, dict) else data
    if not isinstance(strokes, list):
        raise DataFormatError(f'{source}: expected {{"strokes": [[[x, y], ...], ...]}}, got {_kind(data)}')
    ink = []
    for i, stroke in enumerate(strokes):
        if not isinstance(stroke, list):
            raise DataFormatError(f"{source}: stroke {i} must be a list of points, got {_kind(stroke)}")
        points = [_json_point(point, f"{source}: stroke {i}, point {j}") for j, point in enumerate(stroke)]
        if points:
            with np.errstate(over="ignore"):  # beyond float32's range: infinity, refused by _checked
                ink.append(np.array(points, np.float32).reshape(-1, 2))
    return _checked(ink, source)


def _json_point(point: Any, where: str) -> tuple[float, float]:
    if isinstance(point, dict):
        x, y = point.get("x"), point.get("y")
    elif isinstance(point, list) and len(point) >= 2:
        x, y = point[0], point[1]
    else:
        x = y = None
    # bool is an int subclass, but true/false as a coordinate is a bug in the sender.
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise DataFormatError(f'{where}: expected [x, y] or {{"x": x, "y": y}} with numbers, got {point!r:.60}')
    return float(x), float(y)  # type: ignore[arg-type]


def ink_to_json(ink: Ink) -> dict[str, Any]:
    """``{"strokes": [[[x, y], ...], ...]}`` with the shortest numbers that read back to the same float32."""
    return {"strokes": [[[_json_number(x), _json_number(y)] for x, y in _as_float32(s)] for s in ink]}


def _json_number(value: np.float32) -> int | float:
    text = _shortest(value)
    return int(text) if text.lstrip("-").isdigit() else float(text)


# --- InkML ------------------------------------------------------------------------------------


def ink_from_inkml(data: str | bytes, source: str = "InkML") -> Ink:
    """Parse an InkML document (text or bytes; see the module docstring); ``source`` names it in errors.

    Raises:
        DataFormatError: not XML, the root is not ``<ink>``, a malformed trace, or no points.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise DataFormatError(f"{source}: not valid XML: {_first_line(err)}") from err
    if _local(root.tag) != "ink":
        raise DataFormatError(f"{source}: not InkML: the root element is <{_local(root.tag)}>, not <ink>")
    ink = []
    # iter() walks in document order, so strokes inside nested traceGroups keep their writing order.
    for i, trace in enumerate(t for t in root.iter() if _local(t.tag) == "trace"):
        points = _parse_trace(trace.text or "", f"{source}: trace {i}")
        if len(points):
            ink.append(points)
    return _checked(ink, source)


def _parse_trace(text: str, where: str) -> np.ndarray:
    """A trace's text -> (K, 2) float32 x, y, decoding difference-encoded values."""
    modes, values, deltas = ["!", "!"], [0.0, 0.0], [0.0, 0.0]
    points = []
    for j, point in enumerate(p for p in text.split(",") if p.strip()):
        tokens, end = [], 0
        for match in _VALUE.finditer(point):
            if match.start() != end:
                break
            tokens.append(match.groups())
            end = match.end()
        if point[end:].strip():
            raise DataFormatError(f"{where}, point {j}: cannot read {point.strip()!r:.60}")
        if len(tokens) < 2:
            raise DataFormatError(f"{where}, point {j}: needs at least x and y, got {point.strip()!r:.60}")
        for c, (prefix, number) in enumerate(tokens[:2]):
            if number in ("T", "F", "*", "?"):
                raise DataFormatError(f"{where}, point {j}: x and y must be numbers, got {number!r}")
            modes[c] = prefix or modes[c]
            value = float(number)
            if modes[c] == "!":
                deltas[c] = value - values[c] if j else 0.0
                values[c] = value
            else:
                deltas[c] = value if modes[c] == "'" else deltas[c] + value
                values[c] += deltas[c]
        points.append((values[0], values[1]))
    return np.array(points, np.float32).reshape(-1, 2)


def ink_to_inkml(ink: Ink) -> str:
    """An InkML document with one ``<trace>`` per stroke (x y pairs, explicit values)."""
    traces = [
        "  <trace>" + ", ".join(f"{_shortest(x)} {_shortest(y)}" for x, y in _as_float32(s)) + "</trace>" for s in ink
    ]
    return "\n".join([f'<ink xmlns="{INKML_NAMESPACE}">', *traces, "</ink>", ""])


# --- shared -----------------------------------------------------------------------------------


def _checked(ink: Ink, source: str) -> Ink:
    if not ink:
        raise DataFormatError(f"{source}: no strokes with points")
    if not all(np.isfinite(s).all() for s in ink):
        raise DataFormatError(f"{source}: coordinates must be finite numbers (found NaN or infinity)")
    return ink


def _as_float32(stroke: np.ndarray) -> np.ndarray:
    return np.asarray(stroke, np.float32).reshape(-1, 2)


def _shortest(value: np.float32) -> str:
    # The shortest decimal that reads back to the same float32 ("1.1", not "1.100000023841858").
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kind(value: Any) -> str:
    return "an object without a strokes list" if isinstance(value, dict) else type(value).__name__


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
