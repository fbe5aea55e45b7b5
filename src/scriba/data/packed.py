"""Prepared data on disk: preprocessed images and ink strokes in LMDB files, read lazily by each process.

A prepared folder (written once by ``scriba prepare``, see :func:`write_prepared`)::

    prepared.json   format, the fingerprint of the config sections that made it, charset, cleaning, counts
    train.lmdb      per item i (9-digit key ``k``): ``k.png`` the preprocessed uint8 (height, W) image as PNG,
    val.lmdb        ``k.txt`` the UTF-8 label, ``k.ink`` the strokes of ink records; ``meta.widths`` (N,)
                    int32 and ``meta.ink`` (N,) uint8 (1: has strokes), so batching needs no decoding

Strokes are stored as int32 stroke count, int32 points per stroke, then float32 (x, y) points: float32 is
what rendering converts to anyway, so styled ink renders exactly as it would from the source records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import lmdb
import numpy as np

from scriba.data.images import Preprocessing
from scriba.data.ink import InkStyle, render_ink, sample_ink_style
from scriba.data.records import Ink
from scriba.errors import ConfigError, DataFormatError

log = logging.getLogger(__name__)

FORMAT, VERSION = "scriba-prepared", 1
PREPARED_JSON = "prepared.json"
_ITEMS_PER_TXN = 1000  # bounds the dirty pages a write transaction holds in memory


@dataclass
class SplitData:
    """One split to write: preprocessed uint8 images, labels, and strokes (None for image records)."""

    images: list[np.ndarray]
    texts: list[str]
    inks: list[Ink | None]


def fingerprint(sections: dict[str, Any]) -> str:
    """A stable hash of JSON-like config sections (dict order and tuples vs lists do not matter)."""
    text = json.dumps(sections, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise DataFormatError(f"cv2 could not encode a {image.shape} image as PNG")
    return data.tobytes()


def _encode_ink(ink: Ink) -> bytes:
    strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in ink]
    lengths = np.array([len(strokes), *(len(s) for s in strokes)], np.int32)
    points = np.concatenate(strokes) if strokes else np.zeros((0, 2), np.float32)
    return lengths.tobytes() + points.tobytes()


def _decode_ink(data: bytes) -> Ink:
    count = int(np.frombuffer(data, np.int32, 1)[0])
    lengths = np.frombuffer(data, np.int32, count, offset=4)
    points = np.frombuffer(data, np.float32, offset=4 * (count + 1)).reshape(-1, 2)
    return np.split(points, np.cumsum(lengths)[:-1]) if count else []


def _write_split(path: Path, split: SplitData) -> int:
    """Write one split's LMDB file; returns its size in bytes."""
    raw = sum(i.nbytes for i in split.images) + sum(8 * sum(len(s) for s in k) for k in split.inks if k)
    # LMDB needs its maximum size up front: PNG is smaller than raw pixels, pages add a bounded overhead.
    map_size = 2 * raw + 3 * 4096 * len(split.texts) + (64 << 20)
    env = lmdb.open(str(path), subdir=False, map_size=map_size, meminit=False)
    try:
        for start in range(0, len(split.texts), _ITEMS_PER_TXN):
            with env.begin(write=True) as txn:
                for i in range(start, min(start + _ITEMS_PER_TXN, len(split.texts))):
                    txn.put(f"{i:09d}.png".encode(), _encode_png(split.images[i]))
                    txn.put(f"{i:09d}.txt".encode(), split.texts[i].encode("utf-8"))
                    ink = split.inks[i]
                    if ink is not None:
                        txn.put(f"{i:09d}.ink".encode(), _encode_ink(ink))
        with env.begin(write=True) as txn:
            txn.put(b"meta.widths", np.array([i.shape[1] for i in split.images], np.int32).tobytes())
            txn.put(b"meta.ink", np.array([k is not None for k in split.inks], np.uint8).tobytes())
        env.sync(True)
    finally:
        env.close()
    Path(f"{path}-lock").unlink(missing_ok=True)  # readers open without locking: the folder is read-only
    return path.stat().st_size


def write_prepared(out: Path, splits: dict[str, SplitData], info: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Write a prepared folder atomically: built beside ``out``, renamed into place only when complete.

    ``out`` may be absent, empty or an earlier prepared folder (anything else is refused: it would be deleted).

    An interrupted write (Ctrl-C, an error) removes its partial folder, and an existing ``out`` stays
    intact until the new one is complete; a killed process leaves only a hidden ``.NAME.partial-*``.

    Args:
        out: the folder to (re)place.
        splits: ``train`` and ``val`` data.
        info: JSON-able facts for ``prepared.json`` (``fingerprint``, ``config``, ``charset``, ``cleaning``).

    Returns:
        Per split: ``samples``, ``ink`` (samples with strokes) and ``bytes`` on disk.
    """
    out = Path(out)
    if out.exists() and not (out / PREPARED_JSON).is_file() and (not out.is_dir() or any(out.iterdir())):
        # Replacing deletes the old folder: never one that holds something else.
        raise ConfigError(f"{out} exists and is not a prepared data folder: choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        counts = {
            name: {
                "samples": len(s.texts),
                "ink": sum(k is not None for k in s.inks),
                "bytes": _write_split(temp / f"{name}.lmdb", s),
            }
            for name, s in splits.items()
        }
        meta = {"format": FORMAT, "version": VERSION, **info, "splits": counts}
        # prepared.json last: a folder without it is never trusted.
        (temp / PREPARED_JSON).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str), "utf-8")
        _replace_folder(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return counts


def _replace_folder(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; a previous ``out`` is moved aside first (rename cannot replace a folder)."""
    if not out.exists():
        os.rename(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old / out.name)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(old / out.name, out)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


_handles: dict[tuple[int, int], Any] = {}  # (st_dev, st_ino) of an LMDB file -> its open environment
_handles_pid = os.getpid()


def _environment(path: Path, key: tuple[int, int]) -> Any:
    """This process's read-only handle of an LMDB file, opened on first use."""
    global _handles_pid
    if _handles_pid != os.getpid():
        # A forked worker inherits its parent's handles: LMDB forbids using them across fork, and py-lmdb
        # refuses to open a file again while they are open here. Closing them in the child is harmless.
        for env in _handles.values():
            env.close()
        _handles.clear()
        _handles_pid = os.getpid()
    env = _handles.get(key)
    if env is None:
        try:
            stat = path.stat()
            env = lmdb.open(str(path), subdir=False, readonly=True, lock=False, readahead=False, meminit=False)
        except (OSError, lmdb.Error) as err:
            raise DataFormatError(f"cannot open {path}: {err}") from err
        if (stat.st_dev, stat.st_ino) != key:  # a worker must not mix an older folder's widths with new items
            env.close()
            raise DataFormatError(f"{path} was prepared again while in use: start again")
        _handles[key] = env
    return env


class PackedSplit:
    """Random access to one split's LMDB file.

    Holds no LMDB handle, so it pickles into data loader workers as is: each process opens the file
    once on first access, and every split object of that file in the process shares the handle (LMDB
    forbids opening a file twice in one process). The handle is keyed by the file's identity, so a
    folder prepared again under the same path is read afresh.
    """

    def __init__(self, path: Path, expected: int | None = None) -> None:
        self.path = Path(path)
        try:
            stat = self.path.stat()
        except OSError as err:
            raise DataFormatError(f"cannot open {self.path} ({err.strerror}): run scriba prepare again") from err
        self._key = (stat.st_dev, stat.st_ino)
        widths, ink = self._get("meta.widths", "meta.ink")
        self.widths = np.frombuffer(widths, np.int32).copy()
        self.has_ink = np.frombuffer(ink, np.uint8).astype(bool)
        if len(self.has_ink) != len(self.widths) or (expected is not None and len(self.widths) != expected):
            raise DataFormatError(f"{self.path}: item counts disagree with prepared.json: run scriba prepare again")

    def __len__(self) -> int:
        return len(self.widths)

    def _get(self, *keys: str) -> list[bytes]:
        with _environment(self.path, self._key).begin() as txn:
            values = [txn.get(key.encode()) for key in keys]
        missing = [key for key, value in zip(keys, values, strict=True) if value is None]
        if missing:
            raise DataFormatError(f"{self.path} lacks {', '.join(missing)}: run scriba prepare again")
        return values

    def close(self) -> None:
        """Close this process's handle of the file (the next access opens it again)."""
        env = _handles.pop(self._key, None) if _handles_pid == os.getpid() else None
        if env is not None:
            env.close()

    def image(self, index: int) -> tuple[np.ndarray, str]:
        """The preprocessed uint8 (height, W) image and label of item ``index``."""
        png, text = self._get(f"{index:09d}.png", f"{index:09d}.txt")
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise DataFormatError(f"{self.path}: item {index} is not a decodable PNG")
        return image, text.decode("utf-8")

    def strokes(self, index: int) -> tuple[Ink, str]:
        """The strokes (list of (K, 2) float32) and label of ink item ``index``."""
        ink, text = self._get(f"{index:09d}.ink", f"{index:09d}.txt")
        return _decode_ink(ink), text.decode("utf-8")

    def load_all(self) -> tuple[list[np.ndarray], list[str]]:
        """Every image and label, in order (for validation, held in memory)."""
        items = [self.image(i) for i in range(len(self))]
        self.close()
        return [image for image, _ in items], [text for _, text in items]


class _PackedItems:
    """Items ``indices`` of a :class:`PackedSplit`, with their widths known without decoding."""

    def __init__(self, split: PackedSplit, indices: Sequence[int] | np.ndarray) -> None:
        self.split = split
        self.indices = np.asarray(indices, np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def width(self, index: int) -> int:
        return int(self.split.widths[self.indices[index]])


class PackedImageItems(_PackedItems):
    """Preprocessed images of a :class:`PackedSplit`, decoded at each load."""

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        return self.split.image(int(self.indices[index]))


class PackedInkItems(_PackedItems):
    """Ink items of a :class:`PackedSplit`, read lazily and drawn in a new random style around ``base`` at
    every load, exactly as :class:`~scriba.data.items.StyledInkItems` draws them (same key, same sample)."""

    def __init__(
        self,
        split: PackedSplit,
        indices: Sequence[int] | np.ndarray,
        preprocessing: Preprocessing,
        base: InkStyle,
        strength: float,
    ) -> None:
        super().__init__(split, indices)
        self.preprocessing, self.base, self.strength = preprocessing, base, strength

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        # The same draws in the same order as StyledInkItems.load.
        style = sample_ink_style(rng, self.strength, self.base)
        ink, text = self.split.strokes(int(self.indices[index]))
        return self.preprocessing.apply(render_ink(ink, style, rng)), text


@dataclass
class PreparedFolder:
    """An opened prepared folder: ``info`` is prepared.json."""

    path: Path
    info: dict[str, Any]
    train: PackedSplit
    val: PackedSplit


def open_prepared(path: Path, sections: dict[str, Any]) -> PreparedFolder:
    """Open a prepared folder made from config ``sections`` (see :func:`fingerprint`).

    Raises:
        ConfigError: it was prepared from other sections.
        DataFormatError: it is missing, incomplete or of another format version.
    """
    path = Path(path)
    info_path = path / PREPARED_JSON
    if not info_path.is_file():
        raise DataFormatError(f"{path} is not a prepared data folder (no {PREPARED_JSON}): run scriba prepare")
    try:
        info = json.loads(info_path.read_text("utf-8"))
        counts = {name: int(info["splits"][name]["samples"]) for name in ("train", "val")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataFormatError(f"{info_path} is unreadable ({err}): run scriba prepare again") from err
    if info.get("format") != FORMAT or info.get("version") != VERSION:
        raise DataFormatError(f"{path} has prepared format {info.get('version')!r}; this scriba reads {VERSION}")
    if info.get("fingerprint") != fingerprint(sections):
        stored = info.get("config") or {}
        # Compare as JSON (tuples become lists) to name only the sections that really differ.
        current = json.loads(json.dumps(sections, default=str))
        differ = [key for key in current if stored.get(key) != current[key]] or ["unknown"]
        raise ConfigError(
            f"{path} was prepared with another data/preprocessing config (differs in {', '.join(differ)}): "
            "run scriba prepare again"
        )
    train, val = (PackedSplit(path / f"{name}.lmdb", counts[name]) for name in ("train", "val"))
    log.info("prepared data %s: %d train, %d val samples", path, len(train), len(val))
    return PreparedFolder(path, info, train, val)
