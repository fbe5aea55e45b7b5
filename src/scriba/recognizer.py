"""Read handwriting with a trained model: ``Recognizer.load(name_or_path).read_image(image)`` (one reading),
``read_images(images)`` (a list), ``read_ink`` / ``read_inks`` for pen trajectories, ``read_page`` for pages."""

from __future__ import annotations

import copy
import dataclasses
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch

from scriba.data.dataset import Sample, as_model_input, collate, pen_ink, render_record
from scriba.data.images import ImageLike, load_image
from scriba.data.normalize import has_writing
from scriba.data.records import Ink, Record
from scriba.decoding import (
    BeamDecoded,
    BeamSearch,
    Decoded,
    ImageTestTimeAugmentation,
    LexiconDecoded,
    LexiconDecoder,
    PenTestTimeAugmentation,
    greedy_decode,
    greedy_decode_one,
    tidy_spaces,
    tidy_text,
)
from scriba.decoding.rescore import rescore
from scriba.decoding.settings import AUTO, DecodingSettings, LmChoice, make_beam_search
from scriba.errors import InputKindError, ModelFileError, ScribaDeprecationWarning
from scriba.layout.page import Page
from scriba.model_file import ModelFile, load_model_file
from scriba.shipped import available, resolve, shipped_dirs

# oneDNN (torch's CPU convolutions) keeps the kernels it built for each input shape, 1,024 by default, with their
# buffers: reading 1,500 scanned lines of as many widths grew from 0.9 to 1.9 GB. 16 keeps memory flat (0.66-0.71
# GB) at the same speed on lines; batches of 32 words, read again and again in benchmarks/bench_inference.py, are
# ~12% slower (the ONNX backend is unaffected). Read when oneDNN first runs: setting it here is in time.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")

DEFAULT_MODEL = "english"
_SUFFIX = ".safetensors"

Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
Backend = Literal["torch", "onnx"]
BACKENDS: tuple[str, ...] = get_args(Backend)


def model_dirs() -> list[Path]:
    """Folders searched for model names: ``$SCRIBA_MODELS`` (os.pathsep-separated), then the package's ``zoo``."""
    return shipped_dirs()


def available_models() -> list[str]:
    """Names of the model files found in :func:`model_dirs`."""
    return available(_SUFFIX)


def resolve_model(name_or_path: str | Path) -> Path:
    """A model file path from a path or a shipped model's name (``default`` is the default model).

    Raises:
        ModelFileError: neither an existing file nor a known name.
    """
    return resolve(DEFAULT_MODEL if str(name_or_path) == "default" else name_or_path, _SUFFIX, "model")


@dataclass
class Alternative:
    """One of the best readings a language-model decoder found.

    Attributes:
        text: the reading.
        score: what the decoder ranks by (natural log): ``ctc + lm_weight * lm + insertion_bonus * len(text)``.
        ctc: natural-log CTC probability of the text given the image.
        lm: natural-log probability of the text under the language model (0 without one).
    """

    text: str
    score: float
    ctc: float
    lm: float


@dataclass
class Reading:
    """What the model read in one image.

    Attributes:
        text: the transcription (greedy decoding, or the recognizer's TTA / lexicon decoding).
        confidence: geometric mean of the characters' probabilities, 0..1 (for a lexicon reading, on its
            best CTC alignment).
        char_confidences: per character of ``text``.
        greedy_text: with a lexicon: what greedy decoding read (None without one).
        lexicon_margin: with a lexicon: CTC log-likelihood of ``text`` minus that of ``greedy_text``
            (0 when they agree; the more negative, the more the lexicon overruled the image).
        in_lexicon: with a lexicon: whether ``text`` is one of its entries.
        alternatives: with beam search: the best readings, best first (``text`` is the first), as many as
            asked for.
    """

    text: str
    confidence: float
    char_confidences: list[float]
    greedy_text: str | None = None
    lexicon_margin: float | None = None
    in_lexicon: bool | None = None
    alternatives: list[Alternative] | None = None


def check_images(images: Sequence[ImageLike]) -> None:
    """Refuse one image given where a sequence of images is expected.

    Raises:
        TypeError: ``images`` is one image (a path, bytes or an array).
    """
    if isinstance(images, str | Path | bytes | np.ndarray):
        raise TypeError("read_images takes a sequence of images: read_image reads one")


def check_inks(inks: Sequence[Ink]) -> None:
    """Refuse one ink given where a sequence of inks is expected: its strokes would be read as inks.

    Raises:
        TypeError: ``inks`` is one ink (a list of (K, 2) strokes, arrays or lists of points).
    """
    first = inks[0] if len(inks) else None
    if isinstance(first, np.ndarray) and first.ndim == 2:
        one = True
    else:
        point = first[0] if isinstance(first, list | tuple) and first else None
        one = isinstance(point, list | tuple) and bool(point) and isinstance(point[0], int | float)
    if one:
        raise TypeError("read_inks takes a sequence of inks: read_ink reads one")


class Recognizer:
    """A loaded model ready to read images or ink."""

    def __init__(
        self,
        model_file: ModelFile,
        device: str | torch.device = "cpu",
        crop_margin: float | None = None,
        tta: ImageTestTimeAugmentation | PenTestTimeAugmentation | None = None,
        lexicon: LexiconDecoder | None = None,
        precision: Precision = "fp32",
        decoder: BeamSearch | None = None,
        alternatives: int = 1,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        pen = model_file.preprocessing.reads_pen
        if isinstance(tta, ImageTestTimeAugmentation) and pen:
            raise InputKindError("ImageTestTimeAugmentation varies images; this model reads pen trajectories")
        if isinstance(tta, PenTestTimeAugmentation) and not pen:
            raise InputKindError("PenTestTimeAugmentation varies pen trajectories; this model reads images")
        self.model_file = model_file
        self.shipped_name: str | None = None  # set by load() when a shipped model is loaded by its name
        self.device = torch.device(device)
        self.precision = precision
        self.dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        model = model_file.model if precision == "fp32" else copy.deepcopy(model_file.model)  # the file keeps fp32
        self.model = model.to(self.device, self.dtype).eval()
        self.charset = model_file.charset
        self.preprocessing = model_file.preprocessing
        if crop_margin is not None:
            self.preprocessing = dataclasses.replace(self.preprocessing, margin=crop_margin)
        if alternatives < 1:
            raise ValueError(f"alternatives must be 1 or more, got {alternatives}")
        self.tta = tta
        self.lexicon = lexicon
        self.decoder = decoder
        self.alternatives = alternatives
        self.backend: Backend = "torch"

    @classmethod
    def load(
        cls,
        name_or_path: str | Path = "default",
        device: str | torch.device = "cpu",
        crop_margin: float | None = None,
        tta: bool | ImageTestTimeAugmentation | PenTestTimeAugmentation = False,
        lexicon: str | Path | LexiconDecoder | None = None,
        precision: Precision = "fp32",
        lm: LmChoice = AUTO,
        lm_weight: float | None = None,
        insertion_bonus: float | None = None,
        beam: int | None = None,
        alternatives: int = 1,
        backend: Backend = "torch",
    ) -> Recognizer:
        """Load a shipped model by name (see ``scriba models``) or a model file by path.

        Args:
            name_or_path: a shipped model's name, ``default``, or a model file.
            device: where the model runs.
            crop_margin: crop images to their writing and frame it with this fraction of its height
                (e.g. 0.1, for photos or scans with wide margins); None keeps the model's preprocessing.
            tta: read every input in several variants and keep the best-supported reading (True: the default
                :class:`ImageTestTimeAugmentation`, 9 variants, about 9x slower, for an image model; for a model of
                pen trajectories :class:`PenTestTimeAugmentation`, 7 distortions of the ink). More accurate.
            lexicon: prefer entries of this lexicon (a file: CSV with a ``text`` column or one entry per
                line, repeats counting as frequency; or a configured :class:`LexiconDecoder`): a reading
                outside it must be better supported by ``oov_penalty`` (default 6 nats).
            lm: the character language model to decode with by beam search: ``auto`` (the model's own, if
                its file names one: ``english`` reads with ``english.lm``), None (greedy), or a name or path.
            lm_weight: overrides the language model's weight tuned for the model (its file's ``decoding``).
            insertion_bonus: overrides the tuned bonus per character.
            beam: overrides the beam width (without an LM, ``beam`` alone asks for a CTC beam search).
            alternatives: how many best readings each :class:`Reading` lists (beam search only).
            backend: ``torch``, or ``onnx`` to run the network with onnxruntime (``pip install scriba[onnx]``):
                a model file is exported once into ``~/.cache/scriba/onnx``; an ``.onnx`` file from
                ``scriba export`` is read as it is (its metadata holds the charset and preprocessing).
            precision: ``fp32``, or ``bf16`` to run the network in bfloat16: on a CPU with AMX or
                AVX512-BF16 about 1.7-1.9x faster in batches of 32 at the same CER (benchmarks/bench_inference.py),
                slower one image at a time; on other CPUs much slower. Decoding stays float32.

        Raises:
            ModelFileError: unknown name, missing, truncated or mismatched file.
            ValueError: ``precision`` is not ``fp32`` or ``bf16``.
            InputKindError: a ``tta`` object for the other kind of input.
            DataFormatError: the lexicon file is missing, unreadable or has no entry the model can write.
            ConfigError: a negative LM weight or a beam below 1.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        network = None
        if Path(name_or_path).suffix == ".onnx" or backend == "onnx":
            if precision != "fp32":
                raise ValueError("the onnx backend runs in float32: drop precision")
            from scriba.export import OnnxNetwork, cached_onnx, load_onnx

            if Path(name_or_path).suffix == ".onnx":
                path = Path(name_or_path)
                if not path.is_file():
                    raise ModelFileError(f"model file not found: {path}")
                model_file, network = load_onnx(path)
            else:
                path = resolve_model(name_or_path)
                model_file = load_model_file(path, device)
                network = OnnxNetwork(cached_onnx(path, model_file))
        else:
            path = resolve_model(name_or_path)
            model_file = load_model_file(path, device)
        augmentation = tta if not isinstance(tta, bool) else None
        if tta is True:
            pen = model_file.preprocessing.reads_pen
            augmentation = PenTestTimeAugmentation() if pen else ImageTestTimeAugmentation()
        if lexicon is not None and not isinstance(lexicon, LexiconDecoder):
            lexicon = LexiconDecoder.read(lexicon, model_file.charset)
        settings = DecodingSettings.of_model(model_file.info)
        decoder = make_beam_search(model_file.charset, settings, lm, lm_weight, insertion_bonus, beam)
        recognizer = cls(model_file, device, crop_margin, augmentation, lexicon, precision, decoder, alternatives)
        if network is not None:
            recognizer.model = network  # type: ignore[assignment]
            recognizer.backend = "onnx"
        if path != Path(name_or_path):  # resolve_model found it by name among the shipped models
            recognizer.shipped_name = path.stem
        return recognizer

    @property
    def name(self) -> str:
        """The shipped model's name when loaded by it (``english``), else the run name its file records."""
        return self.shipped_name or str(self.model_file.info.get("name", self.model_file.architecture))

    @property
    def reads_pen(self) -> bool:
        """Whether the model reads pen trajectories (point sequences) instead of images: then ``read_image(s)``
        and ``prepare`` refuse images, and ``read_inks`` feeds it the ink's points."""
        return self.preprocessing.reads_pen

    def prepare(self, image: ImageLike) -> np.ndarray:
        """An image (path, array or PIL) -> the preprocessed uint8 (height, W) model input.

        Raises:
            ImageError: missing, empty or undecodable image.
            InputKindError: the model reads pen trajectories, not images.
        """
        if self.reads_pen:
            raise InputKindError(
                f"model {self.name} reads pen trajectories (ink files: InkML, JSON strokes), not images"
            )
        return self.preprocessing.apply(load_image(image))

    def prepare_record(self, record: Record) -> np.ndarray:
        """A dataset record (image or ink) -> the preprocessed uint8 model input (float32 point features for
        a model of pen trajectories, which refuses image records with InputKindError)."""
        return render_record(record, self.preprocessing, self.model_file.ink_style)

    def read_image(self, image: ImageLike) -> Reading:
        """Read one image of a line or word: a path, a numpy array (gray, RGB or float) or a PIL image.

        Raises:
            ImageError: the image is missing, empty or cannot be decoded.
            InputKindError: the model reads pen trajectories, not images.
        """
        return self.read_images([image])[0]

    def read_images(self, images: Sequence[ImageLike], batch_size: int = 32) -> list[Reading]:
        """Read several images (paths, numpy arrays, PIL images), batched; one reading per image, in order.

        Raises:
            ImageError: an image is missing, empty or cannot be decoded.
            InputKindError: the model reads pen trajectories, not images.
        """
        check_images(images)
        return self.read_prepared([self.prepare(image) for image in images], batch_size)

    def read(self, images: ImageLike | Sequence[ImageLike], batch_size: int = 32) -> list[Reading]:
        """Deprecated: :meth:`read_image` reads one image, :meth:`read_images` several. Returns a list of
        readings for one image or several, as before; removed after one release."""
        warnings.warn(
            "Recognizer.read is deprecated: use read_image(image) for one image (one Reading) or "
            "read_images(images) for several (a list)",
            ScribaDeprecationWarning,
            stacklevel=2,
        )
        if isinstance(images, str | Path | bytes | np.ndarray) or not isinstance(images, Sequence):
            images = [images]
        return self.read_images(images, batch_size)

    def read_page(self, image: ImageLike, batch_size: int = 32) -> Page:
        """Read a page or paragraph: its lines found (:func:`scriba.layout.segment.find_lines`), each cut out
        and all read in one batch, decoded as :meth:`read_images` decodes; words placed by the CTC alignment.
        An image of one line reads as :meth:`read_image` reads it. See :mod:`scriba.layout.read`.

        Raises:
            ImageError: missing, empty or undecodable image.
            InputKindError: the model reads pen trajectories, not images.
        """
        from scriba.layout.read import read_page

        return read_page(self, image, batch_size)

    def decode_log_probs(self, log_probs: torch.Tensor) -> Reading:
        """The reading of one input's (T, C) log-probabilities (:meth:`log_probs`), decoded as :meth:`read_images`
        decodes an input without test-time augmentation (beam search with the LM, lexicon, or greedy)."""
        return self.reading_of(self._decode([log_probs]))

    def read_ink(self, ink: Ink) -> Reading:
        """Read one pen trajectory: a list of (K, 2) strokes (x, y; y downward; any unit)."""
        return self.read_inks([ink])[0]

    def read_inks(self, inks: Sequence[Ink], batch_size: int = 32) -> list[Reading]:
        """Read several pen trajectories: rendered with the model's ink style for an image model, as point
        features for a model of pen trajectories.

        Raises:
            DataFormatError: an ink has no points.
        """
        check_inks(inks)
        return self.read_records([Record(None, ink=ink) for ink in inks], batch_size)

    def read_records(
        self, records: Sequence[Record], batch_size: int = 32, prepared: Sequence[np.ndarray] | None = None
    ) -> list[Reading]:
        """Read image or ink records (a model of pen trajectories needs ink records).

        Args:
            prepared: the records' inputs if already made (``prepare_record``), so they are not made twice;
                a pen model's test-time augmentation distorts the ink itself and makes its own.

        Raises:
            ImageError / DataFormatError: a record's image or ink cannot be read.
            InputKindError: an image record for a model of pen trajectories.
        """
        if isinstance(self.tta, PenTestTimeAugmentation):
            return [self.reading_of(self._decode(lps)) for lps in self.variant_log_probs(records, batch_size)]
        if prepared is None:
            prepared = [self.prepare_record(record) for record in records]
        return self.read_prepared(prepared, batch_size)

    @torch.inference_mode()
    def read_prepared(self, prepared: Sequence[np.ndarray], batch_size: int = 32) -> list[Reading]:
        """Read preprocessed inputs (uint8 images, or float32 point features for a model of pen trajectories);
        batches group similar widths to limit padding.

        Raises:
            InputKindError: test-time augmentation for pen trajectories, which distorts ink, not features
                (use ``read_records`` or ``read_inks``).
        """
        if isinstance(self.tta, PenTestTimeAugmentation):
            raise InputKindError("test-time augmentation of pen trajectories reads ink records, not prepared features")
        # Nothing to read (blank paper, a speck, noise): an empty reading of confidence 0, not the network's guess.
        readable = [i for i, x in enumerate(prepared) if x.dtype != np.uint8 or has_writing(x)]
        readings = [Reading("", 0.0, []) for _ in prepared]
        inputs = [prepared[i] for i in readable]
        if self.tta is not None or self.lexicon is not None or self.decoder is not None:
            per_input = self._variant_log_probs(self._image_variants(inputs, self.tta), batch_size)
            for i, lps in zip(readable, per_input, strict=True):
                readings[i] = self.reading_of(self._decode(lps))
            return readings
        for chunk, log_probs, output_lengths in self._batches(inputs, batch_size):
            for j, d in zip(chunk, greedy_decode(log_probs, output_lengths), strict=True):
                readings[readable[j]] = self.reading_of(d)
        return readings

    def variant_log_probs(
        self, records: Sequence[Record], batch_size: int = 32, prepared: Sequence[np.ndarray] | None = None
    ) -> list[list[torch.Tensor]]:
        """For each record, the (T_k, C) log-probabilities of each variant it is read in: its test-time
        augmentation's variants, or just the record as it is (``prepared``: see :meth:`read_records`).

        Raises:
            ImageError / DataFormatError / InputKindError: as :meth:`read_records`.
        """
        if isinstance(self.tta, PenTestTimeAugmentation):
            tta = self.tta
            variants = [tta.variants(pen_ink(record), self.preprocessing) for record in records]
        else:
            if prepared is None:
                prepared = [self.prepare_record(record) for record in records]
            variants = self._image_variants(prepared, self.tta)
        return self._variant_log_probs(variants, batch_size)

    @staticmethod
    def _image_variants(
        prepared: Sequence[np.ndarray], tta: ImageTestTimeAugmentation | None
    ) -> list[list[np.ndarray]]:
        """Each prepared input's image TTA variants, or the input alone (also a pen model's features read
        without TTA: a pen model's variants come from the ink)."""
        return [tta.variants(x) if tta is not None else [x] for x in prepared]

    def _variant_log_probs(self, variants: list[list[np.ndarray]], batch_size: int) -> list[list[torch.Tensor]]:
        flat = self.log_probs([v for per_input in variants for v in per_input], batch_size)
        out, start = [], 0
        for per_input in variants:
            out.append(flat[start : start + len(per_input)])
            start += len(per_input)
        return out

    def _decode(self, log_probs: list[torch.Tensor]) -> Decoded:
        """One input's reading from its variants' log-probabilities: by beam search (with the others' proposals,
        see :mod:`scriba.decoding.rescore`), else with the lexicon or TTA if there is one, else greedily."""
        if self.decoder is not None:
            if len(log_probs) == 1 and self.lexicon is None:
                return self.decoder.decode(log_probs[0], self.alternatives)
            return rescore(log_probs, self.decoder, self.lexicon, self.alternatives)
        if self.lexicon is not None:
            return self.lexicon.decode(log_probs)
        if self.tta is not None:
            return self.tta.combine(log_probs)
        return greedy_decode_one(log_probs[0])

    def reading_of(self, decoded: Decoded) -> Reading:
        """The :class:`Reading` of decoded ids (spaces tidied, text from this model's charset)."""
        decoded = tidy_spaces(decoded, self.charset.space_id)
        reading = Reading(self.charset.decode(decoded.ids), decoded.confidence, decoded.char_confidences)
        if isinstance(decoded, LexiconDecoded):
            reading.greedy_text = tidy_text(self.charset.decode(decoded.greedy_ids))
            reading.lexicon_margin = decoded.margin
            reading.in_lexicon = decoded.in_lexicon
        if isinstance(decoded, BeamDecoded):
            reading.alternatives = [
                Alternative(tidy_text(self.charset.decode(h.ids)), h.score, h.ctc, h.lm) for h in decoded.hypotheses
            ]
            if self.lexicon is not None and decoded.greedy_ids is not None:
                reading.greedy_text = tidy_text(self.charset.decode(decoded.greedy_ids))
                reading.lexicon_margin = decoded.margin
                reading.in_lexicon = reading.text in self.lexicon.lexicon
        return reading

    def _batches(
        self, prepared: Sequence[np.ndarray], batch_size: int
    ) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
        """(indices into ``prepared``, log_probs (T, N, C), output lengths (N,)) per batch of similar widths."""
        order = sorted(range(len(prepared)), key=lambda i: prepared[i].shape[1])
        empty = torch.zeros(0, dtype=torch.long)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = collate([Sample(torch.from_numpy(as_model_input(prepared[i])), empty, "") for i in chunk])
            images = batch.images.to(self.device, self.dtype)
            log_probs, output_lengths = self.model(images, batch.widths.to(self.device))
            yield chunk, log_probs.float().cpu(), output_lengths.cpu()

    @torch.inference_mode()
    def log_probs(self, prepared: Sequence[np.ndarray], batch_size: int = 32) -> list[torch.Tensor]:
        """Each preprocessed image's (T, C) per-frame log-probabilities on the CPU, in input order (what
        the decoders read; for custom decoding or calibration)."""
        out: list[torch.Tensor] = [torch.empty(0)] * len(prepared)
        for chunk, log_probs, output_lengths in self._batches(prepared, batch_size):
            for j, i in enumerate(chunk):
                out[i] = log_probs[: int(output_lengths[j]), j]
        return out
