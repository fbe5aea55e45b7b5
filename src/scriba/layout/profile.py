"""A page's ink and its horizontal projection: the first steps of finding its lines (see :mod:`.segment`)."""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_SKEW, SKEW_STEP = 6.0, 0.25  # degrees: scans and photos of a page are tilted a few degrees at most
MAX_POINTS = 40_000  # ink pixels sampled for the skew and profile (their cost, not their answer)
MIN_PEAK = 0.08  # a line's profile peak is at least this fraction of the tallest (a one-word line is ~0.15)
DIP = 0.8  # between two lines' peaks the profile falls below this fraction of the lower one


def find_ink(gray: np.ndarray) -> np.ndarray | None:
    """uint8 (H, W) dark-on-light -> uint8 0/1 ink mask with the paper's light evened out, ruled lines and
    specks removed; None for blank paper."""
    h, w = gray.shape
    if int(gray.max()) - int(gray.min()) < 32:
        return None
    size = int(np.clip(min(h, w) // 25, 15, 61)) | 1  # wider than a pen stroke, narrower than a shadow
    paper = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    paper = cv2.blur(paper, (size, size)).astype(np.float32)
    flat = np.clip(gray.astype(np.float32) / np.maximum(paper, 1.0) * 255.0, 0, 255).astype(np.uint8)
    if int(flat.min()) > 200:
        return None
    threshold, otsu = cv2.threshold(flat, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # Almost no ink: Otsu split the paper's grain; keep only clearly dark pixels.
    ink = (flat < 200).astype(np.uint8) if threshold > 235 else np.asarray(otsu)
    for kernel in ((max(60, w // 6), 1), (1, max(60, h // 6))):  # ruled lines, margins, form frames
        rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones(kernel[::-1], np.uint8))
        ink[cv2.dilate(rules, np.ones((3, 3), np.uint8)) > 0] = 0
    return ink if ink.any() else None


def sample_points(ys: np.ndarray, xs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if len(xs) <= MAX_POINTS:
        return xs.astype(np.float32), ys.astype(np.float32)
    pick = rng.choice(len(xs), MAX_POINTS, replace=False)
    return xs[pick].astype(np.float32), ys[pick].astype(np.float32)


def estimate_skew(xs: np.ndarray, ys: np.ndarray, bin_size: float) -> float:
    """Degrees (positive: lines fall to the right) whose projection of the points is sharpest: the largest
    sum of squared histogram counts (bins of ``bin_size`` px); among near-ties, the one nearest 0."""
    angles = np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, SKEW_STEP)
    scores = []
    for angle in angles:
        projected = ys - math.tan(math.radians(angle)) * xs
        counts = np.bincount(((projected - projected.min()) / bin_size).astype(np.int64))
        scores.append(float(np.square(counts.astype(np.float64)).sum()))
    best = np.asarray(scores)
    near = np.flatnonzero(best >= best.max() * 0.995)
    return float(angles[near[np.argmin(np.abs(angles[near]))]])


def smooth(profile: np.ndarray, sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return np.convolve(profile, kernel / kernel.sum(), mode="same")


def find_peaks(profile: np.ndarray, distance: float, dip: float = DIP) -> list[int]:
    """Indices of the profile's line peaks, in increasing order: local maxima at least MIN_PEAK of the highest,
    taken highest first, each kept when every taller kept peak is at least ``distance`` away with a valley
    between them below ``dip`` times this peak (a shoulder of a tall line is no line of its own)."""
    inner = (profile[1:-1] >= profile[:-2]) & (profile[1:-1] > profile[2:])
    candidates = np.flatnonzero(inner) + 1
    candidates = candidates[profile[candidates] >= MIN_PEAK * profile.max()]
    kept: list[int] = []
    for i in candidates[np.argsort(-profile[candidates], kind="stable")]:
        i = int(i)
        if all(abs(i - k) >= distance and profile[min(i, k) : max(i, k)].min() < dip * profile[i] for k in kept):
            kept.append(i)
    return sorted(kept)
