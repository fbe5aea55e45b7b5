"""A character n-gram language model: query it, save and load it as one file, write it as ARPA.

The file (``.lm``) is safetensors: the n-gram codes, log-probabilities and backoffs of each order as arrays,
and a JSON header with the vocabulary, the order and a card (the text it was built from, its size, its
perplexity on held-out text). Loading maps the arrays without parsing text, so a 6-gram model of a
million n-grams loads in milliseconds; ``write_arpa`` gives the standard text format for KenLM and others.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from scriba.atomic import atomic_target
from scriba.errors import ModelFileError
from scriba.lm.estimate import BOS_ID, EOS, EOS_ID, UNK_ID, NgramTables, estimate, tidy_sentence
from scriba.shipped import available, resolve

FORMAT = "scriba-lm"
FORMAT_VERSION = 1
LM_SUFFIX = ".lm"
ARPA_SPACE = "<space>"  # ARPA separates tokens by whitespace, so the space character needs a name
# Lookups remembered (each ~300 bytes) before the memo starts over: ~30 MB at most, so reading thousands of
# lines keeps a flat memory (2,000,000 let `scriba read` on 1,000 lines grow 105 MB); the memo pays within a line
# and among the common words of nearby lines, which a smaller memo keeps as well.
_MEMO_LIMIT = 100_000


class NgramLM:
    """A backoff character n-gram model (see :mod:`scriba.lm.estimate`).

    States are ints standing for the last ``order - 1`` tokens; :meth:`score` moves from one to the next.

    Args:
        tables: the model.
        info: its card: sources, sizes, perplexities (free-form JSON).
    """

    def __init__(self, tables: NgramTables, info: dict[str, Any] | None = None) -> None:
        self.tables = tables
        self.info = dict(info or {})
        self.vocab = tables.vocab
        self.order = tables.order
        self._base = len(self.vocab)
        self._history = self._base ** (self.order - 1)  # states: length * _history + code of the last tokens
        self._powers = [self._base**k for k in range(self.order + 1)]
        self._index = {token: i for i, token in enumerate(self.vocab)}
        self._memo: dict[tuple[int, int], tuple[float, int]] = {}

    @classmethod
    def build(cls, sentences: Iterable[str], order: int, info: dict[str, Any] | None = None) -> NgramLM:
        """Estimate a model from sentences (see :func:`scriba.lm.estimate.estimate`)."""
        return cls(estimate(sentences, order), info)

    def __len__(self) -> int:
        """The number of n-grams of all orders."""
        return sum(len(c) for c in self.tables.codes)

    def token(self, char: str) -> int:
        """A character's token id (``<unk>``'s for one the model never saw)."""
        return self._index.get(char, UNK_ID)

    @property
    def start(self) -> int:
        """The state at the start of a text (after ``<s>``)."""
        return self._history + BOS_ID if self.order > 1 else 0

    def score(self, state: int, token: int) -> tuple[float, int]:
        """(natural-log probability of ``token`` after ``state``, the next state)."""
        key = (state, token)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > _MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = self._score(state, token)
        return found

    def end(self, state: int) -> float:
        """The natural-log probability that the text ends after ``state``."""
        return self.score(state, EOS_ID)[0]

    def _score(self, state: int, token: int) -> tuple[float, int]:
        # States are minimal (as KenLM's): the longest suffix of the history that is an n-gram of the model.
        # Every prefix and suffix of a counted n-gram is one too, so the n-gram found for ``token`` below is
        # the longest suffix of history + token in the model: the next state, with no further lookup.
        length, code = divmod(state, self._history)
        base, powers, tables = self._base, self._powers, self.tables
        backoff = 0.0
        for k in range(length, -1, -1):  # the longest context first
            context = code % powers[k]
            found = self._find(k + 1, context * base + token)
            if found >= 0:
                log_prob = backoff + tables.log_probs[k].item(found)
                break
            where = self._find(k, context) if k else -1
            if where >= 0:
                backoff += tables.backoffs[k - 1].item(where)
        if self.order == 1:
            return log_prob, 0
        n = min(k + 1, self.order - 1)
        return log_prob, n * self._history + (context * base + token) % powers[n]

    def _find(self, n: int, code: int) -> int:
        codes = self.tables.codes[n - 1]
        i = int(codes.searchsorted(code))
        return i if i < len(codes) and codes.item(i) == code else -1

    def log_prob(self, text: str, end: bool = True) -> float:
        """The natural-log probability of a text (with its end, unless ``end`` is False)."""
        state, total = self.start, 0.0
        for char in text:
            step, state = self.score(state, self.token(char))
            total += step
        return total + (self.end(state) if end else 0.0)

    def perplexity(self, sentences: Iterable[str]) -> float:
        """Per-character perplexity over sentences, their ends counted as characters (as KenLM counts)."""
        texts = [t for t in (tidy_sentence(s) for s in sentences) if t]
        if not texts:
            raise ValueError("no text to measure perplexity on")
        total = sum(self.log_prob(t) for t in texts)
        return math.exp(-total / sum(len(t) + 1 for t in texts))

    def save(self, path: str | Path) -> Path:
        """Write the model file atomically."""
        tensors: dict[str, np.ndarray] = {}
        for n in range(1, self.order + 1):
            tensors[f"codes.{n}"] = self.tables.codes[n - 1]
            tensors[f"log_probs.{n}"] = self.tables.log_probs[n - 1].astype(np.float32)
            tensors[f"backoffs.{n}"] = self.tables.backoffs[n - 1].astype(np.float32)
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "vocab": list(self.vocab),
            "order": self.order,
            "discounts": [list(d) for d in self.tables.discounts],
            "info": self.info,
        }
        with atomic_target(path) as tmp:
            save_file(tensors, str(tmp), metadata={"scriba_lm": json.dumps(header, ensure_ascii=False)})
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> NgramLM:
        """Read a model file written by :meth:`save`.

        Raises:
            ModelFileError: missing, truncated or not a scriba language model.
        """
        path = Path(path)
        try:
            from safetensors import safe_open

            with safe_open(str(path), "np") as f:
                header = json.loads((f.metadata() or {}).get("scriba_lm", "null"))
            tensors = load_file(str(path))
        except (OSError, SafetensorError, json.JSONDecodeError) as err:
            raise ModelFileError(f"cannot read language model {path}: {err}") from err
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not a scriba language model")
        if header.get("version") != FORMAT_VERSION:
            raise ModelFileError(f"{path}: language model format version {header.get('version')} is not supported")
        order = int(header["order"])
        try:
            tables = NgramTables(
                tuple(header["vocab"]),
                tuple(tensors[f"codes.{n}"] for n in range(1, order + 1)),
                tuple(tensors[f"log_probs.{n}"].astype(np.float64) for n in range(1, order + 1)),
                tuple(tensors[f"backoffs.{n}"].astype(np.float64) for n in range(1, order + 1)),
                tuple(tuple(d) for d in header["discounts"]),
            )
        except KeyError as err:
            raise ModelFileError(f"{path}: language model lacks {err}") from err
        return cls(tables, header.get("info") or {})

    def write_arpa(self, path: str | Path) -> Path:
        """Write the model in ARPA text format (log10; the space character is the token ``<space>``)."""
        names = [ARPA_SPACE if t == " " else t for t in self.vocab]
        lines = ["", "\\data\\"]
        lines += [f"ngram {n}={len(c)}" for n, c in enumerate(self.tables.codes, start=1)]
        for n in range(1, self.order + 1):
            lines += ["", f"\\{n}-grams:"]
            codes, lps, bos = self.tables.codes[n - 1], self.tables.log_probs[n - 1], self.tables.backoffs[n - 1]
            for code, lp, bo in zip(codes.tolist(), lps.tolist(), bos.tolist(), strict=True):
                tokens = []
                for _ in range(n):
                    code, digit = divmod(code, self._base)
                    tokens.append(names[digit])
                gram = " ".join(reversed(tokens))
                prob = -99.0 if lp <= -99 * math.log(10) else lp / math.log(10)
                suffix = f"\t{bo / math.log(10):.6f}" if n < self.order and tokens[0] != EOS else ""
                lines.append(f"{prob:.6f}\t{gram}{suffix}")
        lines += ["", "\\end\\", ""]
        with atomic_target(path) as tmp:
            tmp.write_text("\n".join(lines), encoding="utf-8")
        return Path(path)


def available_lms() -> list[str]:
    """Names of the language model files found where model names are (``$SCRIBA_MODELS``, models/)."""
    return available(LM_SUFFIX)


def resolve_lm(name_or_path: str | Path) -> Path:
    """A language model file from a path or a shipped model's name (``english`` finds ``models/english.lm``).

    Raises:
        ModelFileError: neither an existing file nor a known name.
    """
    return resolve(name_or_path, LM_SUFFIX, "language model")


def load_lm(name_or_path: str | Path) -> NgramLM:
    """:meth:`NgramLM.load` of a path or a shipped model's name (see :func:`resolve_lm`)."""
    return NgramLM.load(resolve_lm(name_or_path))


__all__ = ["ARPA_SPACE", "LM_SUFFIX", "NgramLM", "available_lms", "load_lm", "resolve_lm"]
