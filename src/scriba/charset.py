"""Charset: the only place where text becomes ids and ids become text.

Id 0 is the CTC blank (torch's ``F.ctc_loss`` default); characters take ids 1..N in the order given.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from scriba.errors import LabelError, UnknownCharactersError

BLANK = 0

UnknownPolicy = Literal["error", "drop"]


@dataclass
class Charset:
    """An ordered set of characters with a CTC blank at id 0.

    Args:
        characters: the characters, each once; character ``characters[i]`` gets id ``i + 1``.
        max_label_length: the longest training label, in characters (0: unknown); bounds
            :meth:`encode_padded`. Decoding is never limited by it.
    """

    characters: str
    max_label_length: int = 0
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        duplicates = [c for c, n in Counter(self.characters).items() if n > 1]
        if duplicates:
            raise ValueError(f"charset repeats characters: {duplicates}")
        if not self.characters:
            raise ValueError("charset is empty")
        self._index = {c: i + 1 for i, c in enumerate(self.characters)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], extra: str = "") -> Charset:
        """Build a charset from every character seen in ``texts`` (sorted), plus ``extra``."""
        texts = list(texts)
        chars = set("".join(texts)) | set(extra)
        longest = max((len(t) for t in texts), default=0)
        return cls("".join(sorted(chars)), max_label_length=longest)

    @property
    def num_classes(self) -> int:
        """Number of model outputs: characters plus the blank."""
        return len(self.characters) + 1

    @property
    def space_id(self) -> int | None:
        """The id of the space character, or None without one."""
        return self._index.get(" ")

    def __len__(self) -> int:
        return len(self.characters)

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def unknown(self, text: str) -> set[str]:
        """Characters of ``text`` that this charset cannot encode."""
        return {c for c in text if c not in self._index}

    def encode(self, text: str, unknown: UnknownPolicy = "error") -> list[int]:
        """Turn ``text`` into ids 1..N.

        Args:
            text: the label.
            unknown: ``"error"`` raises :class:`UnknownCharactersError` listing the characters,
                ``"drop"`` leaves them out.

        Raises:
            UnknownCharactersError: with ``unknown="error"`` when ``text`` holds unknown characters.
            LabelError: when the encoded label is empty.
        """
        missing = self.unknown(text)
        if missing and unknown == "error":
            raise UnknownCharactersError(missing, f"in label {text!r}")
        ids = [self._index[c] for c in text if c in self._index]
        if not ids:
            raise LabelError(f"label {text!r} is empty after encoding")
        return ids

    def encode_padded(self, text: str, pad: int = -1, unknown: UnknownPolicy = "error") -> list[int]:
        """Ids padded to ``max_label_length`` with ``pad`` (the Kaggle notebooks' fixed-size label arrays).

        Raises:
            LabelError: the label is longer than ``max_label_length`` (or no maximum is set).
        """
        ids = self.encode(text, unknown)
        if not self.max_label_length or len(ids) > self.max_label_length:
            raise LabelError(f"label {text!r} does not fit the maximum label length {self.max_label_length}")
        return ids + [pad] * (self.max_label_length - len(ids))

    def decode(self, ids: Sequence[int]) -> str:
        """Turn ids back into text; the blank (0) and out-of-range ids are skipped."""
        n = len(self.characters)
        return "".join(self.characters[i - 1] for i in ids if 0 < i <= n)

    def extend(self, texts: Iterable[str]) -> Charset:
        """A charset with this one's ids unchanged and new characters from ``texts`` appended; the maximum
        label length grows to the longest of ``texts``."""
        texts = list(texts)
        new = sorted(set("".join(texts)) - set(self.characters))
        longest = max((len(t) for t in texts), default=0)
        return Charset(self.characters + "".join(new), max(self.max_label_length, longest))

    def to_dict(self) -> dict[str, object]:
        return {"characters": self.characters, "max_label_length": self.max_label_length, "blank": BLANK}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Charset:
        return cls(str(data["characters"]), int(data.get("max_label_length", 0)))  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Charset:
        return cls.from_dict(json.loads(text))
