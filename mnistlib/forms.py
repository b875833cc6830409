"""Other writers' forms of a digit as extra training digits: a 1 with a flag (a recipe's ``flagged_ones``).

MNIST's writers rarely put a flag on a 1, and many writers elsewhere always do; to a network trained on MNIST a
flagged 1 lies between a 1 and a 7 (``benchmarks/bench_styles.py``; notebook 09, solution 7). :func:`flagged_ones`
copies a share of the training 1s and draws a short up-stroke into the top of each one's stem, then refits the
digit like a prepared picture (:func:`mnistlib.imageprep.fit_and_center`). The flag must not turn a 1 into a 7:
it is steep (30-60 degrees below the horizontal), short (a fifth to a third of the stem) and at least 25 degrees
away from the stem's own direction, so a 1 that leans too far right for that gets no flag.
:func:`mnistlib.training.train_recipe` adds the copies before the pen variants (:mod:`mnistlib.pens`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from mnistlib.config import DEFAULT_SEED
from mnistlib.imageprep import fit_and_center

#: Drawing scale of the flag (28 px -> 112 px), so its edges come out anti-aliased.
SCALE = 4
#: The flag: degrees below the horizontal, its length as a share of the stem, and the least angle to the stem.
FLAG_ANGLE, FLAG_LENGTH, MIN_ANGLE_TO_STEM = (30.0, 60.0), (0.2, 0.35), 25.0


def add_flag(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """``image`` (float ``(28, 28)`` in [0, 1], a 1) with a flag drawn into the top of its stem and refitted, or
    ``None`` when the stem leans too far for a flag that stays clear of it."""
    ys, xs = np.nonzero(image > 0.3)
    if len(xs) < 5:
        return None
    points = np.stack([xs, ys], axis=1).astype(float)
    centre = points.mean(axis=0)
    down = np.linalg.svd(points - centre, full_matrices=False)[2][0]  # the stem's direction
    down = -down if down[1] < 0 else down
    along = (points - centre) @ down
    top = points[along <= along.min() + 1.0].mean(axis=0)
    stem = along.max() - along.min() + 1.0
    # the stem seen from its top, as degrees below the horizontal on the left (> 90: it leans left)
    stem_angle = math.degrees(math.atan2(down[1], -down[0]))
    steepest = min(FLAG_ANGLE[1], stem_angle - MIN_ANGLE_TO_STEM)
    if steepest < FLAG_ANGLE[0]:
        return None
    angle = math.radians(rng.uniform(FLAG_ANGLE[0], steepest))
    end = top + rng.uniform(*FLAG_LENGTH) * stem * np.array([-math.cos(angle), math.sin(angle)])
    width = max(2, round(SCALE * len(xs) / stem))  # the pen: ink area over stem length
    big = Image.new("L", (image.shape[1] * SCALE, image.shape[0] * SCALE), 0)
    pen = ImageDraw.Draw(big)
    ends = [tuple((p + 0.5) * SCALE) for p in (end, top)]
    pen.line(ends, fill=255, width=width)
    for x, y in ends:  # a round pen
        pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    flag = np.asarray(big.resize(image.shape[::-1], Image.BOX), np.float32) / 255.0
    return fit_and_center(np.maximum(image, flag))


def flagged_ones(images: np.ndarray, labels: np.ndarray, share: float, seed: int = DEFAULT_SEED):
    """Flagged copies of ``share`` of the 1s in ``images`` (float ``(N, 28, 28, 1)`` in [0, 1]) and their labels:
    ``(copies (M, 28, 28, 1) float32, labels (M,))``, seeded (:func:`add_flag`; a 1 it cannot flag is skipped)."""
    rng = np.random.default_rng([seed, 1])
    ones = np.flatnonzero(np.asarray(labels) == 1)
    chosen = np.sort(rng.choice(ones, int(round(share * len(ones))), replace=False))
    copies = [c for c in (add_flag(images[i, ..., 0], rng) for i in chosen) if c is not None]
    x = np.stack(copies)[..., np.newaxis].astype(np.float32) if copies else np.empty((0, *images.shape[1:]), np.float32)
    return x, np.ones(len(x), dtype=np.asarray(labels).dtype)


__all__ = ["FLAG_ANGLE", "FLAG_LENGTH", "MIN_ANGLE_TO_STEM", "SCALE", "add_flag", "flagged_ones"]
