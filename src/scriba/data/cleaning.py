"""Label cleaning with a report of what was dropped and why (the Kaggle notebooks' clean_data).

Image-level problems (undecodable files, labels too long for their image) are found when the images
are loaded (:func:`scriba.data.dataset.load_images`) and counted in the same report.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from scriba.charset import Charset
from scriba.data.records import Record

# The Kaggle names dataset marks illegible or blank boxes with these labels.
SPECIAL_LABELS = ("UNREADABLE", "EMPTY")
_SPACES = re.compile(r"\s+")


@dataclass
class CleaningOptions:
    """What cleaning does.

    Args:
        uppercase: upper-case every label (the names model reads capitals).
        normalize_whitespace: strip and collapse runs of whitespace to one space.
        special_labels: labels that mean "no text" and are dropped.
        unknown_characters: with a charset, ``drop_sample`` drops labels holding characters it lacks,
            ``drop_characters`` removes those characters, ``keep`` leaves the label as is.
        drop_validation_copies: in training, drop training files whose bytes repeat a validation image
            (:func:`drop_copies_of`); false for a recipe that validates on its own training data on purpose.
    """

    uppercase: bool = False
    normalize_whitespace: bool = True
    special_labels: tuple[str, ...] = SPECIAL_LABELS
    unknown_characters: Literal["drop_sample", "drop_characters", "keep"] = "drop_sample"
    drop_validation_copies: bool = True


@dataclass
class CleaningReport:
    """Counts of records read, kept and dropped per reason, with a few examples of each."""

    total: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    characters_removed: int = 0

    def drop(self, reason: str, record: Record, detail: str = "") -> None:
        self.dropped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5:
            shown.append(f"{record.name}: {detail}" if detail else record.name)

    def summary(self) -> str:
        """One line per reason, for the CLI and logs."""
        lines = [f"read {self.total}, kept {self.kept}, dropped {self.total - self.kept}"]
        for reason, count in self.dropped.most_common():
            lines.append(f"  {reason}: {count} (e.g. {', '.join(self.examples.get(reason, []))})")
        if self.characters_removed:
            lines.append(f"  characters removed from kept labels: {self.characters_removed}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["dropped"] = dict(self.dropped)
        return data

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")


def clean(
    records: list[Record], options: CleaningOptions | None = None, charset: Charset | None = None
) -> tuple[list[Record], CleaningReport]:
    """Normalize labels and drop records that cannot be training targets.

    Reasons: ``missing_label`` (None), ``special_label`` (UNREADABLE, EMPTY), ``empty_label``
    (nothing left after normalizing), ``unknown_characters`` (with a charset and ``drop_sample``).

    Returns:
        The kept records (new objects; the input is untouched) and the report.
    """
    options = options or CleaningOptions()
    report = CleaningReport(total=len(records))
    kept = []
    for record in records:
        text = record.text
        if text is None:
            report.drop("missing_label", record)
            continue
        if options.normalize_whitespace:
            text = _SPACES.sub(" ", text).strip()
        if text in options.special_labels:
            report.drop("special_label", record, text)
            continue
        if options.uppercase:
            text = text.upper()
        if charset is not None and options.unknown_characters != "keep":
            missing = charset.unknown(text)
            if missing and options.unknown_characters == "drop_sample":
                report.drop("unknown_characters", record, "".join(sorted(missing)))
                continue
            if missing:
                report.characters_removed += sum(c in missing for c in text)
                text = "".join(c for c in text if c not in missing)
                if options.normalize_whitespace:
                    text = _SPACES.sub(" ", text).strip()
        if not text:
            report.drop("empty_label", record)
            continue
        kept.append(Record(text=text, image=record.image, ink=record.ink, meta=dict(record.meta)))
    report.kept = len(kept)
    return kept, report


def drop_copies_of(
    records: list[Record], held_out: list[Record], report: CleaningReport
) -> tuple[list[Record], CleaningReport]:
    """Drop training records whose image file is byte for byte one of ``held_out``'s (validation) images.

    A dataset that holds the same file twice, once in each split (27 doctors' prescriptions in `val` repeat 23
    `train` files, which have 5 more copies in `train`: 28 dropped), would
    otherwise score the model on images it trained on. Reason ``copy_of_validation_image``; records without
    an image file (ink, arrays) are kept.

    Returns:
        The kept records and ``report`` with the drops added.
    """
    held = {digest for digest in map(_file_digest, held_out) if digest is not None}
    if not held:
        return records, report
    kept = []
    for record in records:
        if _file_digest(record) in held:
            report.drop("copy_of_validation_image", record)
        else:
            kept.append(record)
    report.kept = len(kept)
    return kept, report


def _file_digest(record: Record) -> str | None:
    """The BLAKE2 digest of a record's image file, or None without one (or when it cannot be read)."""
    if not isinstance(record.image, Path):
        return None
    try:
        return hashlib.blake2b(record.image.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None  # loading the images reports the unreadable file
