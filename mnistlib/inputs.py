"""The input contract: what every model of the course eats and outputs (notebooks 03 to 09).

One place says it, one set of checks enforces it (scikit-learn's ``check_array`` habit):

* a model input is a batch of gray images, ``float32`` of shape :data:`INPUT_SHAPE` per image
  (28 x 28 pixels, one channel), light ink on black, values in [0, 1]
  (:func:`mnistlib.preprocess.prepare_images` makes it from the raw ``uint8`` digits);
* labels are integers 0..9, one per image (:data:`NUM_CLASSES` classes);
* a model outputs :data:`NUM_CLASSES` scores per image.

:func:`check_images` validates (and converts) model inputs, :func:`gray_images` and
:func:`gray_image` give the channel-less pictures the plots draw, :func:`check_labels` checks
labels and :func:`check_outputs` what a model returned. Training, evaluation, prediction,
augmentation and plots all call them. NumPy only: importing this never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

from mnistlib.errors import MnistlibError

#: Side of an MNIST image in pixels, its shape, and the shape of one model input (with the channel axis).
IMAGE_SIZE = 28
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE)
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
#: The dtype of model inputs.
INPUT_DTYPE = np.float32
#: The ten digits, and how many there are.
CLASSES = tuple(range(10))
NUM_CLASSES = len(CLASSES)


class InputError(MnistlibError):
    """Images, labels or model outputs that break the input contract."""


def _shape_text(a: np.ndarray) -> str:
    return f"{a.dtype} array of shape {a.shape}"


def check_images(images, *, name: str = "images") -> np.ndarray:
    """Validate a batch of model inputs and return it as ``float32 (N, 28, 28, 1)``.

    Accepts floats in [0, 1] of shape ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` (the channel axis is
    added). Raw ``uint8`` pixels are refused with a hint to scale them first, the commonest
    MNIST bug (a model trained on [0, 1] sees 0..255 as pure white). Raises :class:`InputError`.
    """
    a = np.asarray(images)
    if a.dtype == np.uint8:
        raise InputError(f"{name} are raw uint8 pixels 0..255: scale them to [0, 1] first "
                         "(mnistlib.preprocess.prepare_images)")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise InputError(f"{name} must be numbers, not {a.dtype}")
    if a.ndim == 3:
        a = a[..., np.newaxis]
    if a.ndim != 4 or a.shape[1:] != INPUT_SHAPE:
        raise InputError(f"{name} must be a batch of (N, {IMAGE_SIZE}, {IMAGE_SIZE}) or "
                         f"(N, {IMAGE_SIZE}, {IMAGE_SIZE}, 1) images, not {_shape_text(np.asarray(images))}")
    if len(a) == 0:
        raise InputError(f"{name} is an empty batch")
    a = a.astype(INPUT_DTYPE, copy=False)
    lo, hi = float(a.min()), float(a.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
        raise InputError(f"{name} must hold values in [0, 1], not {lo:g}..{hi:g}")
    return a


def gray_images(images, *, name: str = "images") -> np.ndarray:
    """A non-empty batch of gray pictures as ``(N, H, W)``: drops a trailing channel axis of 1.

    Any dtype and value range (raw ``uint8`` digits or model inputs); for plots."""
    a = np.asarray(images)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3 or a.size == 0:
        raise InputError(f"{name} must be a non-empty batch of gray images (N, 28, 28), not {_shape_text(a)}")
    return a


def gray_image(image, *, name: str = "image") -> np.ndarray:
    """One gray picture as ``(H, W)``: accepts ``(H, W)``, ``(H, W, 1)`` or a batch of one."""
    a = np.asarray(image)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or a.size == 0:
        raise InputError(f"{name} must be one gray image (28, 28), not {_shape_text(np.asarray(image))}")
    return a


def check_labels(labels, n: int | None = None, *, name: str = "labels") -> np.ndarray:
    """Validate integer digit labels (0..9) and return them as ``int64 (N,)``; ``n``: the number of images."""
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = " (one-hot labels? use labels.argmax(axis=1))" if y.ndim == 2 else ""
        raise InputError(f"{name} must be one integer per image (N,), not {_shape_text(y)}{hint}")
    if y.size and not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise InputError(f"{name} must be whole numbers 0..{NUM_CLASSES - 1}, not {y.dtype}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise InputError(f"{name} must be whole numbers 0..{NUM_CLASSES - 1}, not {y.dtype}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise InputError(f"{name} must lie in 0..{NUM_CLASSES - 1}, not {y.min()}..{y.max()}")
    if n is not None and len(y) != n:
        raise InputError(f"{n} images but {len(y)} {name}")
    return y


def check_outputs(outputs, n: int | None = None, *, what: str = "the model") -> np.ndarray:
    """Validate what a model returned for ``n`` images: ``(N, 10)`` finite scores; returns them as float32."""
    try:
        p = np.asarray(outputs, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"{what} returned {type(outputs).__name__}, not numbers") from None
    if p.ndim != 2:
        raise InputError(f"{what} returned an array of shape {p.shape}; a digit classifier returns "
                         f"(N, {NUM_CLASSES}): {NUM_CLASSES} scores (one per digit) for each image")
    if p.shape[1] != NUM_CLASSES:
        raise InputError(f"{what} outputs {p.shape[1]} values per image; a digit classifier must output "
                         f"{NUM_CLASSES} (one per digit)")
    if n is not None and len(p) != n:
        raise InputError(f"{what} returned {len(p)} rows for {n} images")
    if p.size and not np.all(np.isfinite(p)):
        raise InputError(f"{what} returned NaN or infinite scores (did its training diverge?)")
    return p


def check_model(model, *, what: str = "the model"):
    """Check a Keras model's declared output against the contract before using it; returns the model.

    A model whose output shape is not known yet (an unbuilt ``Sequential``) passes; its outputs are
    checked by :func:`check_outputs` once it has run."""
    try:
        shape = model.output_shape
    except AttributeError:  # not a Keras model, or an unbuilt one: nothing declared to check
        shape = None
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list))):
        raise InputError(f"{what} has {len(shape)} outputs; a digit classifier has one, of {NUM_CLASSES} values")
    if shape is not None and (len(shape) != 2 or shape[-1] != NUM_CLASSES):
        per_image = tuple(shape[1:])
        raise InputError(f"{what} outputs {per_image[0] if len(per_image) == 1 else per_image} values per image; "
                         f"a digit classifier must output {NUM_CLASSES} (one per digit)")
    return model


__all__ = [
    "CLASSES", "IMAGE_SHAPE", "IMAGE_SIZE", "INPUT_DTYPE", "INPUT_SHAPE", "InputError", "NUM_CLASSES",
    "check_images", "check_labels", "check_model", "check_outputs", "gray_image", "gray_images",
]
