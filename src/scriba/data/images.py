"""Image loading and the preprocessing every model input goes through.

Convention: loaded images are uint8 grayscale with dark ink on a light background. Model inputs are
float32 with ink = 1.0 and background = 0.0, so that zero padding is blank paper.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from scriba.data.normalize import crop_with_margin, normalize_image, otsu_ink
from scriba.data.pen import PEN_FEATURES, pen_features
from scriba.data.records import Ink
from scriba.errors import ImageError, InputKindError

log = logging.getLogger(__name__)

ImageLike = str | Path | bytes | np.ndarray | Any  # Any: PIL.Image.Image, imported lazily


def load_image(source: ImageLike) -> np.ndarray:
    """Load a path, an encoded file's bytes, a numpy array or a PIL image as uint8 grayscale (H, W), dark ink on
    light paper.

    Raises:
        ImageError: the file is missing, empty or not a decodable image, or the array is empty.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            raise ImageError(f"{path} is a folder, not an image")
        if not path.is_file():
            raise ImageError(f"image not found: {path}")
        image = decode_image(np.fromfile(path, dtype=np.uint8), str(path))
    elif isinstance(source, bytes | bytearray | memoryview):
        image = decode_image(np.frombuffer(source, dtype=np.uint8), "image bytes")
    else:
        image = _array_from(source)
    if image.size == 0 or min(image.shape[:2]) == 0:
        raise ImageError("image is empty")
    return ensure_dark_on_light(_within_size(image, source))


def decode_image(data: np.ndarray, where: str) -> np.ndarray:
    """An encoded image file's bytes (uint8 array) -> uint8 grayscale (H, W) as stored (``where`` names it in
    errors). IMREAD_GRAYSCALE also converts palette/RGBA PNGs and 16-bit images.

    Raises:
        ImageError: no bytes, or not a format OpenCV decodes.
    """
    if data.size == 0:
        raise ImageError(f"image file is empty: {where}")
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ImageError(f"cannot decode image: {where}")
    return image


MAX_SIDE = 6000  # px: a 300 dpi scan of a text line is under 3,000 px wide; larger images are scaled down


def _within_size(image: np.ndarray, source: object) -> np.ndarray:
    """The image scaled down (area-averaged) so that its longer side is at most ``MAX_SIDE``, with a warning:
    preparing a 20000 x 200 image at full size took 15 s, for a model that reads it 32-64 px high."""
    height, width = image.shape[:2]
    if max(height, width) <= MAX_SIDE:
        return image
    scale = MAX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    where = source if isinstance(source, str | Path) else "an image"
    log.warning("%s is %d x %d px: scaled down to %d x %d to read it", where, width, height, *size)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _array_from(source: Any) -> np.ndarray:
    if not isinstance(source, np.ndarray):
        try:
            source = np.asarray(source.convert("L"))  # PIL image
        except AttributeError as err:
            raise ImageError(f"not an image: {type(source).__name__}") from err
    array = source
    if array.dtype != np.uint8:
        high = 1.0 if np.issubdtype(array.dtype, np.floating) and float(array.max(initial=0)) <= 1.0 else 255.0
        array = np.clip(array.astype(np.float32) * (255.0 / high), 0, 255).astype(np.uint8)
    if array.ndim == 3:
        if array.shape[2] == 4:
            array = cv2.cvtColor(array, cv2.COLOR_RGBA2GRAY)
        elif array.shape[2] == 3:
            array = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
        elif array.shape[2] == 1:
            array = array[:, :, 0]
    if array.ndim != 2:
        raise ImageError(f"image array must be (H, W) or (H, W, C), got shape {source.shape}")
    return np.ascontiguousarray(array)


def ensure_dark_on_light(gray: np.ndarray) -> np.ndarray:
    """Invert light-on-dark images (e.g. chalk, dark-mode canvases): paper is the majority of pixels."""
    return 255 - gray if float(np.median(gray)) < 128 else gray


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input; saved in every model file.

    Args:
        height: output height in pixels.
        mode: ``keep_ratio`` scales to ``height`` keeping the aspect ratio (batches are padded);
            ``fixed`` fits the image into a ``width`` x ``height`` canvas, padding with paper
            (the Kaggle names notebooks' 256x64 input).
        width: canvas width for ``fixed``.
        min_width: narrowest output of ``keep_ratio`` (very short words still get frames).
        max_width: widest output of ``keep_ratio``; wider images are squeezed.
        margin: when 0 or more, crop to the writing's bounding box first and add this fraction of its
            height as paper on every side, so that images with wide or uneven margins (photos, scans,
            canvases) are framed like the training data; negative (the default) keeps images as they are.
        stretch: ``keep_ratio`` only: widen the scaled image by this factor. Above 1 it gives CTC more
            frames per character: text lines scaled to 32 px (tall because of ascenders, descenders and
            baseline drift) leave some characters barely one frame at the 4x width reduction of the models.
        tall_height: ``keep_ratio`` only, 0 = off: an image taller than this many pixels is widened as if it
            were this tall. Meant for loose crops (a form field cut with the rows above and below it): their
            writing is a small part of the height, and scaling the whole crop to ``height`` would leave it
            too few frames. On the Kaggle names, 44 halves the CER of the tall crops.
        tall_band: with ``tall_height``: crop an image taller than ``tall_height`` to its line of writing first
            (:func:`writing_line`), so the writing of a loose crop is scaled as large as a tight crop's.
        band_above: with ``tall_band``: cut images taller than this many pixels instead of ``tall_height``;
            0 cuts every image, so that writing small in a tight crop (a quarter of the Kaggle names' tight
            crops have ink over less than half their height) is scaled up too. None: ``tall_height``.
        normalize: even the light, crop to the writing with ``margin`` (0.1 when ``margin`` is negative) and turn a
            line level first (:func:`scriba.data.normalize.normalize_image`): a model trained so reads scans and
            photos with wide margins, tilt and shadows as it reads its training data.
        deslant: with ``normalize``: also shear the strokes upright.
        input: ``image``, or ``pen`` for models that read pen trajectories as point sequences
            (:func:`scriba.data.pen.pen_features`) and no images; then ``height`` is the number of features
            per point (6) and the fields above do not apply.
        pen_step: ``pen`` only: points are resampled this far apart along each stroke, in band heights.
        pen_deskew: ``pen`` only: turn writing long enough to be a line level first.
    """

    height: int = 32
    mode: Literal["keep_ratio", "fixed"] = "keep_ratio"
    width: int = 256
    min_width: int = 16
    max_width: int = 1600
    margin: float = -1.0
    stretch: float = 1.0
    tall_height: int = 0
    tall_band: bool = False
    band_above: int | None = None
    normalize: bool = False
    deslant: bool = False
    input: Literal["image", "pen"] = "image"
    pen_step: float = 0.1
    pen_deskew: bool = True

    def __post_init__(self) -> None:
        if self.input not in ("image", "pen"):
            raise ValueError(f"preprocessing input must be image or pen, not {self.input!r}")
        if self.reads_pen:
            if self.height != PEN_FEATURES:
                raise ValueError(
                    f"preprocessing height is the number of features per point for pen input: {PEN_FEATURES}, "
                    f"not {self.height}"
                )
            if not 0.01 <= self.pen_step <= 1:
                raise ValueError(f"preprocessing pen_step must be between 0.01 and 1 band height, got {self.pen_step}")
            return
        if self.mode not in ("keep_ratio", "fixed"):
            raise ValueError(f"preprocessing mode must be keep_ratio or fixed, not {self.mode!r}")
        if self.height < 8 or self.width < 8 or self.min_width < 1 or self.max_width < self.min_width:
            raise ValueError(f"invalid preprocessing sizes: {self}")
        if not 0.25 <= self.stretch <= 4:
            raise ValueError(f"preprocessing stretch must be between 0.25 and 4, got {self.stretch}")
        if self.tall_height < 0:
            raise ValueError(f"preprocessing tall_height must be 0 (off) or a height in pixels, got {self.tall_height}")
        if self.tall_band and (self.mode != "keep_ratio" or not self.tall_height):
            raise ValueError("preprocessing tall_band needs mode keep_ratio and a tall_height")
        if self.deslant and not self.normalize:
            raise ValueError("preprocessing deslant needs normalize")
        if self.band_above is not None and (not self.tall_band or self.band_above < 0):
            raise ValueError(f"preprocessing band_above needs tall_band and a height >= 0, got {self.band_above}")

    @property
    def reads_pen(self) -> bool:
        """Whether this is the input of a model of pen trajectories (point features, no images)."""
        return self.input == "pen"

    def point_features(
        self,
        ink: Ink,
        rng: np.random.Generator | None = None,
        augment: float = 0.0,
        shear: float = 0.0,
        x_scale: float = 1.0,
        y_scale: float = 1.0,
    ) -> np.ndarray:
        """A pen model's input: :func:`scriba.data.pen.pen_features` of ``ink`` with this preprocessing's
        ``pen_step`` and ``pen_deskew`` (the other arguments are that function's), so training, reading and
        test-time augmentation turn ink into points alike.

        Raises:
            DataFormatError: the ink has no points.
        """
        return pen_features(ink, self.pen_step, self.pen_deskew, rng, augment, shear, x_scale, y_scale)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**data)

    def apply(self, gray: np.ndarray) -> np.ndarray:
        """Resize a uint8 dark-on-light image: (H, W) -> (height, W') uint8.

        Raises:
            InputKindError: this preprocessing is for a model of pen trajectories.
        """
        if self.reads_pen:
            raise InputKindError("this model reads pen trajectories (ink files), not images")
        if self.normalize:
            gray = normalize_image(gray, self.margin if self.margin >= 0 else 0.1, self.deslant)
        elif self.margin >= 0:
            gray = crop_to_ink(gray, self.margin)
        threshold = self.tall_height if self.band_above is None else self.band_above
        if self.tall_band and gray.shape[0] > threshold:
            gray = writing_line(gray, tight=gray.shape[0] <= self.tall_height)
        h, w = gray.shape
        if self.mode == "fixed":
            scale = min(self.height / h, self.width / w)
            new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
            resized = cv2.resize(gray, (new_w, new_h), interpolation=_interpolation(scale))
            canvas = np.full((self.height, self.width), 255, np.uint8)
            top = (self.height - new_h) // 2
            canvas[top : top + new_h, :new_w] = resized
            return canvas
        reference = min(h, self.tall_height) if self.tall_height else h
        new_w = int(np.clip(round(w * self.height / reference * self.stretch), self.min_width, self.max_width))
        return cv2.resize(gray, (new_w, self.height), interpolation=_interpolation(self.height / h))


def crop_to_ink(gray: np.ndarray, margin: float) -> np.ndarray:
    """Crop a dark-on-light image to its ink and pad ``margin`` x the ink's height of paper on every side.

    Ink is what Otsu's threshold separates from the paper, after an opening that drops isolated specks
    (scanner dust, JPEG noise); an image without ink is returned unchanged.
    """
    # Pad with the paper's own tone (a bright percentile), not pure white, so scans keep their look.
    return crop_with_margin(gray, margin, paper=int(np.percentile(gray, 90)))


def writing_line(gray: np.ndarray, tight: bool = False) -> np.ndarray:
    """Crop a loose crop of a form field to its line of writing, keeping the full width.

    A loose crop holds the field's printed label above the writing and, cut by the crop's top and bottom
    edges, pieces of the neighbouring fields. Ink (:func:`otsu_ink`) in connected pieces of at least 5
    pixels (not specks) that come within 2 rows of neither edge falls into bands of rows (gaps of up to
    3 rows close); the line of writing is the lowest band at least 0.6 as tall as the tallest (the
    printed label sits above the writing, and is no taller), padded by 0.6 of its height above and below.
    No morphological opening: it breaks thin pen strokes apart. The constants were chosen on the Kaggle
    names' `val` and `train` parts and on how many of the unlabeled tall crops came out as a bare printed
    label (13 of 1,688). An image without such ink is returned unchanged.

    ``tight``: the image is a tight crop (``Preprocessing.band_above``), where a piece touching an edge may
    be the writing itself (a name touching the bottom edge under a small printed label): it is returned
    unchanged when such a piece is more than 2.5 times as tall as the line's ink. (2.5 was chosen among 1.5,
    2, 2.5, 3 and 4 on the Kaggle names: `val` CER is the same from 2 up, and 2.5-3 spared the most, 13, of
    the 34 of 2,100 unlabeled crops whose reading changed by 4 or more letters when cut, e.g. `CLEMENT`
    read as `L`.)
    """
    h = gray.shape[0]
    ink = otsu_ink(gray)
    if ink is None:
        return gray
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    top = stats[:, cv2.CC_STAT_TOP]
    pieces = stats[:, cv2.CC_STAT_AREA] >= 5  # not specks
    pieces[0] = False  # label 0 is the paper
    inside = pieces & (top > 2) & (top + stats[:, cv2.CC_STAT_HEIGHT] < h - 2)
    rows = np.flatnonzero(inside[labels].any(axis=1))
    if not len(rows):
        return gray
    breaks = np.flatnonzero(np.diff(rows) > 4)  # more than 3 blank rows between two ink rows
    starts, ends = rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]] + 1
    heights = ends - starts
    line = np.flatnonzero(heights >= 0.6 * heights.max())[-1]
    if tight:
        at_edge = pieces & ~inside
        if at_edge.any() and stats[at_edge, cv2.CC_STAT_HEIGHT].max() > 2.5 * heights[line]:
            return gray
    pad = round(0.6 * heights[line])
    return gray[max(0, starts[line] - pad) : min(h, ends[line] + pad)]


def _interpolation(scale: float) -> int:
    # INTER_AREA antialiases when shrinking; INTER_LINEAR is the better choice when enlarging.
    return cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR


def to_model_input(gray: np.ndarray) -> np.ndarray:
    """uint8 dark-on-light (H, W) -> float32 (1, H, W) with ink = 1, paper = 0."""
    return ((255.0 - gray.astype(np.float32)) / 255.0)[None]
