"""Figures of the preprocessing step (notebook 03_preprocess): one digit before/after scaling, and
a preview of the random augmentation the ``cnn`` recipe trains with (or, with another title, of its pen
variants)."""

from __future__ import annotations

import inspect

import numpy as np
from matplotlib.patches import Rectangle

from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SHAPE, check_images, gray_image, gray_images
from mnistlib.plots._style import STYLE, _figure, as_count, show_digit, styled
from mnistlib.preprocess import prepare_images


@styled
def before_after_scaling(image_uint8):
    """A raw ``uint8`` 28x28 digit next to its model input (``float32 (28, 28, 1)`` in [0, 1]), each with a
    colour bar, and one pixel's value in both (03_preprocess)."""
    raw = gray_image(image_uint8, name="before_after_scaling's image")
    if raw.dtype != np.uint8 or raw.shape != IMAGE_SHAPE:
        raise MnistlibError(f"before_after_scaling needs one raw uint8 image {IMAGE_SHAPE}, not {raw.dtype} {raw.shape}")
    scaled = check_images(prepare_images(raw[np.newaxis]))[0]
    # mark a mid-gray stroke pixel so learners can follow one number through the scaling
    ink = np.argwhere(raw > 0)
    if len(ink):
        values = raw[raw > 0]
        r, c = ink[np.argmin(np.abs(values.astype(int) - int(np.median(values))))]
    else:
        r, c = raw.shape[0] // 2, raw.shape[1] // 2
    fig = _figure((9.5, 4.6))
    ax_raw, ax_scaled = fig.subplots(1, 2)
    panels = (
        (ax_raw, raw, f"raw: {raw.dtype}, shape {raw.shape}\nvalues {raw.min()} … {raw.max()}",
         f"pixel ({r}, {c}) = {raw[r, c]}"),
        (ax_scaled, scaled, f"model input: {scaled.dtype}, shape {scaled.shape}\n"
         f"values {scaled.min():.2f} … {scaled.max():.2f}", f"pixel ({r}, {c}) = {raw[r, c]} / 255 = "
         f"{scaled[r, c, 0]:.3f}"),
    )
    for ax, img, title, note in panels:
        im = show_digit(ax, img, title)
        ax.add_patch(_square(r, c))
        ax.set_xlabel(note, color=STYLE["highlight"])
        fig.colorbar(im, ax=ax, shrink=0.85, label="pixel value")
    fig.suptitle("Scaling: divide by 255 and add a channel axis (the picture does not change)")
    return fig


def _square(r, c):
    return Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=STYLE["highlight"], linewidth=2)


def _accepts_training(fn) -> bool:
    """Whether ``fn`` can be called with ``training=...`` (Keras layers can; plain functions may not)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _augmented(augment, batch: np.ndarray) -> np.ndarray:
    out = augment(batch, training=True) if _accepts_training(augment) else augment(batch)
    out = np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float32)
    shown = gray_images(out, name="augment's output")
    if len(shown) != len(batch):
        raise MnistlibError(f"augment must return a batch like its input {batch.shape}, not {out.shape}")
    return shown


@styled
def augmentation_preview(images, augment, n_variants: int = 6, *, n: int = 4, title: str | None = None,
                         column_titles=None):
    """``n`` digits (rows): the original, then ``n_variants`` calls of ``augment`` on it (03_preprocess).

    ``augment`` is any callable taking a ``float32`` batch ``(N, 28, 28, 1)`` and returning an augmented
    batch: the Keras layer from :mod:`mnistlib.augment` is called as ``augment(batch, training=True)``,
    callables without a ``training`` argument as ``augment(batch)``. The default ``title`` and column
    titles ("random 1", ...) describe random per-pass augmentation; pass ``title`` and ``column_titles``
    (one per variant) when the calls mean something else, e.g. pen variants made once with different seeds.
    """
    if not callable(augment):
        raise MnistlibError("augment must be callable (a Keras layer or a function on a batch)")
    arr = np.asarray(images)
    if arr.ndim == 2:  # one image
        arr = arr[np.newaxis]
    arr = gray_images(arr)
    n = as_count(n, len(arr))
    n_variants = as_count(n_variants, 10**6, "n_variants")
    if column_titles is None:
        column_titles = [f"random {col + 1}" for col in range(n_variants)]
    column_titles = [str(t) for t in column_titles]
    if len(column_titles) != n_variants:
        raise MnistlibError(f"column_titles needs one title per variant ({n_variants}), not {len(column_titles)}")
    batch = check_images(prepare_images(arr[:n]))
    variants = [_augmented(augment, batch) for _ in range(n_variants)]
    tile = STYLE["tile"]
    fig = _figure(((n_variants + 1) * tile + 0.3, n * tile + 0.9))
    axes = fig.subplots(n, n_variants + 1, squeeze=False)
    for row in range(n):
        show_digit(axes[row, 0], batch[row], "original" if row == 0 else None, color=STYLE["correct"])
        for col in range(n_variants):
            show_digit(axes[row, col + 1], variants[col][row], column_titles[col] if row == 0 else None,
                       vmin=0.0, vmax=1.0)
    fig.suptitle(title or "Data augmentation: each pass draws new random changes")
    return fig
