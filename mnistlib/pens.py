"""Pen variants: MNIST training digits rewritten with other pens, made once before training (notebooks 03, 07).

A picture of a digit reaches the model through :func:`mnistlib.imageprep.to_mnist`, which
thresholds it and refits it to the 20-pixel box, so a bold marker or a low-resolution scan
gives much thicker, harder-edged strokes than any MNIST digit. :func:`pen_variants` writes
MNIST training digits with such pens (much bolder or finer, slanted, squashed, often
binarised) and refits them exactly like a prepared photo; the ``cnn`` recipe adds one
variant per training digit (:func:`mnistlib.training.train_recipe`). Notebook 03 shows them
beside the augmentation layers of :mod:`mnistlib.augment`.

This module never imports TensorFlow: the variants are made in joblib's worker processes
(Python's lock makes threads no faster), which import just this module.
"""

from __future__ import annotations

import os

import numpy as np
from joblib import Parallel, delayed
from PIL import Image
from scipy import ndimage

from mnistlib.config import DEFAULT_SEED
from mnistlib.imageprep import MIN_CROP, fit_and_center, ink_box, thin_strokes
from mnistlib.inputs import INPUT_SHAPE, check_images

#: Working scale of :func:`pen_variants` (28 px -> 84 px), so a pen can change by a third of a pixel.
PEN_SCALE = 3
#: Pen-radius changes at the working scale, drawn uniformly: negative thins, positive thickens.
PEN_RADII = (-2, -1, 0, 0, 1, 2, 3, 4)
#: Longest side, in pixels, of a digit written as a low-resolution scan (:func:`_low_resolution`), drawn uniformly:
#: scikit-learn's 8x8 digits span about 8 of their pixels.
LOWRES_SIDES = (6.0, 10.0)
#: Elastic distortion of a digit (Simard et al. 2003) at the 28-px scale: a random displacement field smoothed by
#: a Gaussian of ``ELASTIC_SIGMA`` px and scaled by ``ELASTIC_ALPHA`` px.
ELASTIC_ALPHA, ELASTIC_SIGMA = 34.0, 4.0
#: Digits per job; each job has its own random stream, so the variants do not depend on the processes.
CHUNK = 2000


def _disk(radius: int) -> np.ndarray:
    return np.hypot(*np.mgrid[-radius:radius + 1, -radius:radius + 1]) <= radius + 0.3


def _low_resolution(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` (light on dark, any size) as :func:`mnistlib.imageprep.to_mnist` sees a tiny scan of it: binarised
    half the time (a scanner), reduced by area averaging until its longest side is :data:`LOWRES_SIDES` px, blown
    up again (bicubic) to :data:`~mnistlib.imageprep.MIN_CROP` px, thresholded and its strokes thinned."""
    found = ink_box(x > 0.1)
    if found is None:
        return x
    crop = x[found]
    if rng.random() < 0.5:
        crop = (crop > 0.5).astype(np.float32)
    scale = rng.uniform(*LOWRES_SIDES) / max(crop.shape)
    small = Image.fromarray(np.ascontiguousarray(crop, np.float32), "F").resize(
        (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))), Image.BOX)
    small = np.pad(np.asarray(small, np.float32), 1)
    factor = -(-MIN_CROP // max(small.shape))
    up = np.asarray(Image.fromarray(small, "F").resize((small.shape[1] * factor, small.shape[0] * factor),
                                                       Image.BICUBIC), np.float32)
    binary = (up > rng.uniform(0.2, 0.45) * up.max()).astype(np.float32)
    return thin_strokes(binary)


def _elastic(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` (at the working scale) bent by a smooth random displacement field: :data:`ELASTIC_ALPHA`,
    :data:`ELASTIC_SIGMA` (px at 28 px) times :data:`PEN_SCALE`."""
    sigma, alpha = ELASTIC_SIGMA * PEN_SCALE, ELASTIC_ALPHA * PEN_SCALE
    dy, dx = (ndimage.gaussian_filter(rng.uniform(-1.0, 1.0, x.shape), sigma) * alpha for _ in range(2))
    rows, cols = np.mgrid[0:x.shape[0], 0:x.shape[1]]
    return ndimage.map_coordinates(x, [rows + dy, cols + dx], order=1).astype(np.float32)


def _pen_variant(image: np.ndarray, rng: np.random.Generator, lowres: float = 0.0,
                 elastic: float = 0.0) -> np.ndarray:
    n = image.shape[0] * PEN_SCALE
    x = np.asarray(Image.fromarray(np.asarray(image, np.float32), "F").resize((n, n), Image.BILINEAR), np.float32)
    angle = np.deg2rad(rng.uniform(-15.0, 15.0))
    shear = rng.uniform(-0.3, 0.3)
    sy, sx = np.exp(rng.uniform(-0.2, 0.2, size=2))  # squash or stretch each axis on its own
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotate @ np.array([[1.0, 0.0], [shear, 1.0]]) @ np.diag([sy, sx])
    inverse = np.linalg.inv(matrix)
    centre = np.array([n / 2.0, n / 2.0])
    x = ndimage.affine_transform(x, inverse, offset=centre - inverse @ centre, order=1)
    if elastic and rng.random() < elastic:  # (no draw at all without it)
        x = _elastic(x, rng)
    radius = int(rng.choice(PEN_RADII))
    if radius > 0:
        x = ndimage.grey_dilation(x, footprint=_disk(radius))
    elif radius < 0:
        thinner = ndimage.grey_erosion(x, footprint=_disk(-radius))
        if (thinner > 0.5).sum() > 0.4 * (x > 0.5).sum():  # never erase a thin digit
            x = thinner
    if lowres and rng.random() < lowres:  # (no draw at all without them: the other variants stay the same)
        return fit_and_center(_low_resolution(x, rng))
    if rng.random() < 0.7:  # a scanner or the to_mnist threshold: hard edges
        x = (x > rng.uniform(0.25, 0.6)).astype(np.float32)
    return fit_and_center(x)


def _chunk(images: np.ndarray, seed: int, copy: int, start: int, lowres: float = 0.0,
           elastic: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng([seed, copy, start])
    return np.stack([_pen_variant(image, rng, lowres, elastic) for image in images])


def pen_variants(images, copies: int = 2, seed: int = DEFAULT_SEED, processes: int | None = None,
                 lowres: float = 0.0, elastic: float = 0.0) -> np.ndarray:
    """``copies`` pen variants of every image (float32 ``(copies * N, 28, 28, 1)`` in [0, 1], copy-major).

    ``images``: MNIST digits, uint8 0..255 or float in [0, 1], ``(N, 28, 28)`` or ``(N, 28, 28, 1)``.
    Each variant: upsampled x3, rotated ±15°, slanted ±0.3, each axis scaled by e^±0.2, the pen
    radius changed by one of :data:`PEN_RADII` (thirds of a pixel), binarised at a random level
    70 % of the time, and refitted with :func:`mnistlib.imageprep.fit_and_center`. A share ``lowres`` of the
    variants is written instead as a low-resolution scan blown up (:func:`_low_resolution`); a share ``elastic``
    is bent by an elastic distortion (:func:`_elastic`) after the affine change (both measured for ``cnn`` by
    ``benchmarks/bench_tta.py``; no shipped recipe uses them). Seeded: the
    same ``seed`` gives the same variants, whatever ``processes`` (default: one per CPU core;
    ``1`` works in this process); jobs of :data:`CHUNK` digits go to joblib's worker processes.
    The ``cnn`` recipe adds one copy to its training set (notebook 07).
    """
    x = np.asarray(images)
    x = check_images(x / np.float32(255.0) if x.dtype == np.uint8 else x, name="pen_variants' digits")[..., 0]
    jobs = [(c, start) for c in range(copies) for start in range(0, len(x), CHUNK)]
    processes = len(os.sched_getaffinity(0)) if processes is None else max(1, int(processes))
    out = np.empty((copies * len(x), *INPUT_SHAPE), np.float32)
    chunks = (delayed(_chunk)(x[start:start + CHUNK], seed, c, start, lowres, elastic) for c, start in jobs)
    # joblib's worker processes import this module only (never the caller's TensorFlow or script)
    done = Parallel(n_jobs=max(1, min(processes, len(jobs))))(chunks)
    for (c, start), variants in zip(jobs, done):
        out[c * len(x) + start:c * len(x) + start + len(variants), ..., 0] = variants
    return out


__all__ = ["CHUNK", "ELASTIC_ALPHA", "ELASTIC_SIGMA", "LOWRES_SIDES", "PEN_RADII", "PEN_SCALE", "pen_variants"]
