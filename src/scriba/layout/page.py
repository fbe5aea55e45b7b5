"""What scriba read on a page: :class:`Page` of :class:`PageLine` of :class:`PageWord`, with their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scriba.layout.geometry import Box, Point


@dataclass
class PageWord:
    """A word of a line.

    Attributes:
        text: the word (no spaces).
        confidence: geometric mean of its characters' probabilities, 0..1.
        box: (x0, y0, x1, y1) in page pixels, x1 and y1 exclusive; x from the CTC alignment of the line's
            reading, y from the line's ink over that span.
    """

    text: str
    confidence: float
    box: Box


@dataclass
class PageLine:
    """A line of a page and its reading.

    Attributes:
        text: what was read.
        confidence: the line reading's confidence, 0..1.
        box: (x0, y0, x1, y1) around the line's ink, page pixels, x1 and y1 exclusive.
        polygon: the line's outline (see :class:`scriba.layout.geometry.LineGeometry`).
        baseline: the points of the line the letters sit on, left to right (None where not known).
        words: the words of ``text`` in order with their boxes.
    """

    text: str
    confidence: float
    box: Box
    polygon: list[Point]
    baseline: list[Point] | None = None
    words: list[PageWord] = field(default_factory=list)


@dataclass
class Page:
    """A page read line by line.

    Attributes:
        lines: in reading order.
        width / height: the image's size in pixels.
        image: the image file's name (None for an array).
    """

    lines: list[PageLine]
    width: int
    height: int
    image: str | None = None

    @property
    def text(self) -> str:
        """The lines' texts joined by newlines, in reading order."""
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: image, width, height, text and lines (text, confidence, box, polygon, baseline, words)."""
        return {
            "image": self.image,
            "width": self.width,
            "height": self.height,
            "text": self.text,
            "lines": [
                {
                    "text": line.text,
                    "confidence": round(line.confidence, 4),
                    "box": list(line.box),
                    "polygon": [list(p) for p in line.polygon],
                    "baseline": None if line.baseline is None else [list(p) for p in line.baseline],
                    "words": [
                        {"text": w.text, "confidence": round(w.confidence, 4), "box": list(w.box)} for w in line.words
                    ],
                }
                for line in self.lines
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Page:
        """The page of :meth:`to_dict`'s JSON form."""

        def point(p: list[int]) -> Point:
            return int(p[0]), int(p[1])

        def box(b: list[int]) -> Box:
            return int(b[0]), int(b[1]), int(b[2]), int(b[3])

        lines = [
            PageLine(
                line["text"],
                float(line["confidence"]),
                box(line["box"]),
                [point(p) for p in line["polygon"]],
                None if line.get("baseline") is None else [point(p) for p in line["baseline"]],
                [PageWord(w["text"], float(w["confidence"]), box(w["box"])) for w in line.get("words", [])],
            )
            for line in data["lines"]
        ]
        return cls(lines, int(data["width"]), int(data["height"]), data.get("image"))
