"""Synthetic handwriting datasets from handwriting fonts: names in form fields, words and lines.

:class:`SyntheticGenerator` draws (image, text) samples on the fly, deterministic under a seed, and
:func:`synthesize` writes a ``path,text`` dataset that scriba's ``table`` reader reads. Glyph-level
rendering (and :func:`render_text`, the plain renderer of the shipped example images, kept here
for its callers) lives in :mod:`scriba.data.glyphs`, texts in :mod:`scriba.data.corpus`.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scriba.data.corpus import NAME_CHARS, TEXT_CHARS, Corpus, compose_line, name_corpus, read_corpus, style_word
from scriba.data.corpus import word_corpus as default_word_corpus
from scriba.data.glyphs import (
    InkStyle,
    font_characters,
    handwriting_fonts,
    ink_on_paper,
    letter_height,
    render_ink,
    render_text,
    resolve_font,
)
from scriba.errors import ScribaError

__all__ = ["KINDS", "SyntheticGenerator", "handwriting_fonts", "render_text", "synthesize"]

log = logging.getLogger(__name__)

PrintedFont = ImageFont.FreeTypeFont | ImageFont.ImageFont
KINDS = ("names", "words", "lines")
# Script fonts join their letters and have ornate capitals, unlike block capitals on a form.
SCRIPT_FONTS = frozenset({"dancing-script", "great-vibes", "satisfy", "yellowtail"})
# Fonts whose lowercase letters are small capitals: a lowercase label would not match the image.
CAPS_ONLY_FONTS = frozenset({"permanent-marker"})
FIELD_LABELS = ("NOM", "PRENOM", "NOM :", "PRENOM :", "Nom", "Prenom", "NOM DE NAISSANCE")
# Printed text of neighbouring fields that a crop catches at its top or bottom edge.
FORM_FRAGMENTS = (
    "DATE DE NAISSANCE",
    "DATE DE NAISSANCE - CLASSE",
    "CODE RNE / UAI",
    "ADRESSE",
    "CODE POSTAL",
    "VILLE",
    "SIGNATURE",
    "TELEPHONE",
    "NOM",
)
MAX_TRIES = 100


def _dejavu(bold: bool) -> Path | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    spec = importlib.util.find_spec("matplotlib")  # matplotlib ships DejaVu; locate it without importing
    roots = [Path(p) / "mpl-data" / "fonts" / "ttf" for p in (spec.submodule_search_locations or [])] if spec else []
    roots.append(Path("/usr/share/fonts/truetype/dejavu"))
    return next((root / name for root in roots if (root / name).is_file()), None)


@lru_cache(maxsize=32)
def printed_font(size: int, bold: bool = False) -> PrintedFont:
    """A printed (non-handwriting) font for form labels: DejaVu Sans where found, else PIL's default."""
    path = _dejavu(bold)
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def render_name_field(text: str, font: Path, rng: np.random.Generator) -> np.ndarray:
    """A name in capitals in a form field, like the Kaggle NOM / PRENOM crops (about 324x36 px).

    A printed label at the left edge, box lines and/or an underline, sometimes printed text of a
    neighbouring field cut by the crop, and wide-spaced handwritten capitals. One crop in four is a loose
    one, as a sixth of the real crops are (up to ~75 px tall): the label on a row of its own above the
    writing and the next field's printed label under it; in most of those, as on the real forms, the
    neighbouring field's handwritten digits (a school code above, a birth date below) show too, cut by
    the crop's edge. They are not part of the label: the model learns to read only the name's row.

    Returns:
        uint8 (H, W) dark ink on light paper, wider than tall.
    """
    cap = rng.uniform(11, 18)  # capital height in pixels, as in the real crops
    style = InkStyle(
        size=cap / letter_height(font, "H"),
        weight=rng.uniform(0, 1),
        jitter=rng.uniform(0.03, 0.08),
        spacing=rng.uniform(0.08, 0.4),
        word_space=rng.uniform(1.2, 2.2),
        slant=rng.normal(0, 0.06),
    )
    hand, baseline = render_ink(text, font, style, rng)
    label = str(rng.choice(FIELD_LABELS)) if rng.random() < 0.8 else ""
    label_font = printed_font(int(rng.integers(9, 14)), bold=bool(rng.random() < 0.5))
    left = int(rng.integers(0, 6))
    loose = rng.random() < 0.25
    if loose:
        x_text = left + int(rng.integers(8, 60))
        top = int(rng.integers(14, 24))  # the label's row
        height = top + hand.shape[0] + int(rng.integers(8, 22))
        y_text = top + int(rng.integers(0, 4))
    else:
        label_right = left + 2 + (int(label_font.getlength(label)) if label else 0)
        x_text = label_right + int(rng.integers(10, 40))
        height = max(int(rng.integers(28, 50)), hand.shape[0] + 8)
        y_text = int(np.clip((height - hand.shape[0]) // 2 + round(rng.normal(0, 2)), 2, height - hand.shape[0] - 2))
    width = max(int(rng.choice((284, 324, 388))) + int(rng.integers(-10, 10)), x_text + hand.shape[1] + 8)
    baseline_y = y_text + baseline

    printed, lines = Image.new("L", (width, height), 0), Image.new("L", (width, height), 0)
    draw, rule = ImageDraw.Draw(printed), ImageDraw.Draw(lines)
    if loose:
        if label:
            draw.text((left + 2 + int(rng.integers(0, 20)), int(rng.integers(1, 4))), label, font=label_font, fill=255,
                      anchor="lt")  # fmt: skip
        if rng.random() < 0.7:  # the next field's label, cut by the bottom edge
            below = "   ".join(rng.choice(FORM_FRAGMENTS, size=int(rng.integers(1, 3))))
            position = (int(rng.integers(0, width // 3)), height - int(rng.integers(5, 12)))
            draw.text(position, below, font=label_font, fill=255, anchor="lt")
    elif label:
        top_aligned = rng.random() < 0.5
        draw.text((left + 2, 1 if top_aligned else baseline_y), label, font=label_font, fill=255,
                  anchor="lt" if top_aligned else "ls")  # fmt: skip
    if rng.random() < 0.3:
        # Only a few pixels of the neighbour's glyphs show: its baseline sits just inside the top
        # edge, or its cap line just inside the bottom edge.
        at_top, inside = rng.random() < 0.5, int(rng.integers(2, 6))
        position = (int(rng.integers(0, width // 2)), inside if at_top else height - inside)
        draw.text(position, str(rng.choice(FORM_FRAGMENTS)), font=label_font, fill=255, anchor="ls" if at_top else "lt")
    # Every field has at least one long rule: an underline, a box, or both.
    thickness = 2 if rng.random() < 0.25 else 1
    form = int(rng.integers(3))
    if form != 1:
        y = min(height - 1, baseline_y + int(rng.integers(2, 6)))
        rule.line([(max(0, x_text - int(rng.integers(0, 30))), y), (width, y)], fill=255, width=thickness)
    if form != 0:
        for y in (int(rng.integers(0, 3)), height - 1 - int(rng.integers(0, 3))):
            rule.line([(0, y), (width, y)], fill=255, width=thickness)
    if rng.random() < 0.6:
        rule.line([(left, 0), (left, height)], fill=255, width=thickness)

    writing = np.zeros((height, width), np.float32)
    writing[y_text : y_text + hand.shape[0], x_text : x_text + hand.shape[1]] = hand
    if loose and rng.random() < 0.7:
        _add_neighbour_digits(writing, font, style, rng, y_text, y_text + hand.shape[0])
    layers = [
        (np.asarray(lines, np.float32) / 255, rng.uniform(60, 170)),
        (np.asarray(printed, np.float32) / 255, rng.uniform(0, 70)),
        (writing, rng.uniform(10, 100)),
    ]
    blur = rng.uniform(0.3, 0.8) if rng.random() < 0.5 else 0.0
    return ink_on_paper(layers, rng.uniform(235, 255), rng, blur=blur, noise=rng.uniform(0, 4))


def _add_neighbour_digits(
    writing: np.ndarray, font: Path, style: InkStyle, rng: np.random.Generator, name_top: int, name_bottom: int
) -> None:
    """Handwritten digits of the field above or below (a school code, a date), cut by the crop's top or
    bottom edge so that 20-80% of their height shows (never reaching the name's rows
    ``name_top:name_bottom``), drawn into ``writing`` in place."""
    digits = "".join(rng.choice(list("0123456789"), size=int(rng.integers(6, 10))))
    if rng.random() < 0.15:
        digits += str(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ")))
    neighbour = render_ink(digits, font, dataclasses.replace(style, spacing=rng.uniform(0.2, 0.6)), rng)[0]
    height, width = writing.shape
    at_top = rng.random() < 0.5
    room = name_top - 1 if at_top else height - name_bottom - 1
    shown = min(int(neighbour.shape[0] * rng.uniform(0.2, 0.8)), room)
    if shown < 3:
        return
    if at_top:  # only its lower part is inside the crop
        part, top = neighbour[neighbour.shape[0] - shown :], 0
    else:
        part, top = neighbour[:shown], height - shown
    left = int(rng.uniform(0.3, 0.6) * width)
    part = part[:height, : max(0, width - left)]
    region = writing[top : top + part.shape[0], left : left + part.shape[1]]
    np.maximum(region, part, out=region)


def render_writing(text: str, font: Path, rng: np.random.Generator, line: bool, joined: bool = False) -> np.ndarray:
    """A word (``line`` False) or a line of words with natural spacing and a mild baseline drift.

    Args:
        text: what to write.
        font: a font file that can render ``text``.
        rng: the source of every random choice.
        line: a line of words (baseline drift, smaller letters) rather than one word.
        joined: the font joins its letters (a script font): keep the glyph jitter and spacing small.

    Returns:
        uint8 (H, W) dark ink on light paper, with a few pixels of paper around the ink.
    """
    style = InkStyle(
        size=(rng.uniform(9, 15) if line else rng.uniform(12, 20)) / letter_height(font, "x"),  # x-height in pixels
        weight=rng.uniform(0, 1),
        jitter=rng.uniform(0.01, 0.03) if joined else rng.uniform(0.02, 0.06),
        # Extra spacing would break the joins of a script font.
        spacing=rng.uniform(-0.01, 0.01) if joined else rng.uniform(-0.02, 0.06),
        word_space=rng.uniform(0.9, 1.8),
        drift=rng.uniform(0.01, 0.08) if line else 0.0,
        slant=rng.normal(0, 0.1),
    )
    coverage, _ = render_ink(text, font, style, rng)
    pad = rng.integers(3, 16, size=4)
    coverage = np.pad(coverage, ((pad[0], pad[1]), (pad[2], pad[3])))
    blur = rng.uniform(0.3, 0.7) if rng.random() < 0.3 else 0.0
    return ink_on_paper(
        [(coverage, rng.uniform(0, 100))], rng.uniform(225, 255), rng, blur=blur, noise=rng.uniform(0, 3)
    )


class SyntheticGenerator:
    """Draws (image, text) samples of one kind on the fly.

    Args:
        kind: ``names`` (capitals in a form field), ``words`` or ``lines``.
        corpus: a corpus file (see :func:`scriba.data.corpus.read_corpus`) or a :class:`Corpus`;
            None: built-in French names, or English words from ``wordfreq``. Names are written in
            capitals.
        seed: seed of the random source :meth:`sample` uses when it is given none.
        fonts: fontpkg slugs or font files; None: every installed family (for names, all but the
            script fonts). A font is only used for texts it has every glyph of.
        charset: texts with other characters are not used; None: the names charset for names,
            printable ASCII for the default words and lines, no limit for a user's corpus.

    Raises:
        ScribaError: unknown kind or font; corpus missing or empty; no text can be written with
            these fonts and this charset.
    """

    def __init__(
        self,
        kind: str,
        corpus: Corpus | Path | str | None = None,
        seed: int = 0,
        fonts: Sequence[str | Path] | None = None,
        charset: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ScribaError(f"unknown synthetic kind {kind!r}; choose from {', '.join(KINDS)}")
        self.kind = kind
        installed = handwriting_fonts()
        if fonts is None:
            fonts = [f for f in installed if kind != "names" or f not in SCRIPT_FONTS]
        self.fonts = {(str(f) if str(f) in installed else Path(f).stem): resolve_font(f) for f in fonts}
        if not self.fonts:
            raise ScribaError("no font to write with")
        if charset is None:
            charset = NAME_CHARS if kind == "names" else TEXT_CHARS if corpus is None else None
        self.charset = frozenset(charset) if charset is not None else None
        self._glyphs = {name: font_characters(path) | {" "} for name, path in self.fonts.items()}
        self._composed = corpus is None and kind != "names"  # default words and lines are styled on the fly
        if corpus is None:
            base = name_corpus() if kind == "names" else default_word_corpus()
        else:
            base = corpus if isinstance(corpus, Corpus) else read_corpus(corpus)
        if kind == "names":
            base = base.map(str.upper)
        self.corpus = base.filter(self._writable)
        if not len(self.corpus):
            raise ScribaError(
                f"no text of the corpus can be written with the fonts {', '.join(self.fonts)}"
                + (" and the charset" if self.charset is not None else "")
            )
        if len(self.corpus) < len(base):
            log.info("synthetic %s: %d of %d texts cannot be written", kind, len(base) - len(self.corpus), len(base))
        self._rng = np.random.default_rng(seed)

    def _writable(self, text: str) -> bool:
        if not text.strip() or (self.charset is not None and not set(text) <= self.charset):
            return False
        return bool(self._fonts_for(text))

    def _fonts_for(self, text: str) -> list[str]:
        chars = set(text)
        lower = any(c.islower() for c in chars)
        return [n for n, g in self._glyphs.items() if chars <= g and not (lower and n in CAPS_ONLY_FONTS)]

    def _text(self, rng: np.random.Generator) -> str:
        if not self._composed:
            return self.corpus.sample(rng)
        if self.kind == "words":
            return style_word(self.corpus.sample(rng), rng)
        return compose_line(self.corpus, rng)

    def sample_with_font(self, rng: np.random.Generator | None = None) -> tuple[np.ndarray, str, str]:
        """One sample and the name of the font it was written with.

        Returns:
            uint8 (H, W) dark-on-light image, its text, the font name.
        """
        rng = self._rng if rng is None else rng
        for _ in range(MAX_TRIES):
            text = self._text(rng)
            # Styling adds digits and punctuation that a font or the charset may lack: draw again.
            if not self._writable(text):
                continue
            names = self._fonts_for(text)
            name = names[int(rng.integers(len(names)))]
            font = self.fonts[name]
            if self.kind == "names":
                # Some people write their name in small letters on a form that asks for capitals; the
                # label stays in capitals.
                written = text
                if rng.random() < 0.15 and name not in CAPS_ONLY_FONTS:
                    candidate = text.title() if rng.random() < 0.6 else text.lower()
                    written = candidate if set(candidate) <= self._glyphs[name] else text
                return render_name_field(written, font, rng), text, name
            return render_writing(text, font, rng, line=self.kind == "lines", joined=name in SCRIPT_FONTS), text, name
        raise ScribaError(f"no writable {self.kind} text after {MAX_TRIES} tries")

    def sample(self, rng: np.random.Generator | None = None) -> tuple[np.ndarray, str]:
        """One sample: uint8 (H, W) dark ink on light paper and its text.

        Args:
            rng: the random source (the same state gives the same sample); None: the generator's own.
        """
        image, text, _ = self.sample_with_font(rng)
        return image, text


def synthesize(
    kind: str,
    count: int,
    out_dir: Path | str,
    seed: int = 0,
    corpus: Path | str | None = None,
    fonts: Sequence[str | Path] | None = None,
) -> Path:
    """Write ``count`` synthetic images to ``out_dir/images/`` and ``out_dir/labels.csv``.

    The table has columns ``path,text,font`` (paths relative to ``out_dir``), which scriba's
    ``table`` reader reads. The same arguments write the same files.

    Returns:
        The path of ``labels.csv``.

    Raises:
        ScribaError: ``count`` below 1, or see :class:`SyntheticGenerator`.
    """
    if count < 1:
        raise ScribaError(f"count must be at least 1, got {count}")
    generator = SyntheticGenerator(kind, corpus, seed=seed, fonts=fonts)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        image, text, font = generator.sample_with_font(rng)
        relative = f"images/{i:06d}.png"
        if not cv2.imwrite(str(out_dir / relative), image):
            raise ScribaError(f"cannot write {out_dir / relative}")
        rows.append((relative, text, font))
    labels = out_dir / "labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "text", "font"))
        writer.writerows(rows)
    log.info("wrote %d synthetic %s to %s", count, kind, out_dir)
    return labels
