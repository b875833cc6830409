"""Figures of prediction on new images (notebook 09_predict): an image with its class probabilities,
and a user's image going through the preprocessing steps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.inputs import CLASSES, NUM_CLASSES, gray_image
from mnistlib.plots._style import STYLE, _figure, styled, value_range


def _displayable(image, what: str = "image"):
    """``(array, imshow kwargs)`` for a gray ``(H, W)``/``(H, W, 1)`` or RGB(A) ``(H, W, 3|4)`` image."""
    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if not (arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.size):
        try:
            arr = gray_image(arr, name=what)
        except MnistlibError:
            raise MnistlibError(f"{what} must be a gray (H, W) or colour (H, W, 3) image, "
                                f"not shape {arr.shape}") from None
    interpolation = "nearest" if max(arr.shape[:2]) <= 64 else "antialiased"
    if arr.ndim == 2:
        lo, hi = value_range(arr)
        return arr, {"cmap": STYLE["digit_cmap"], "vmin": lo, "vmax": hi, "interpolation": interpolation}
    if arr.dtype != np.uint8:
        lo, hi = value_range(arr)
        arr = np.clip((arr.astype(float) - lo) / (hi - lo), 0.0, 1.0)
    return arr, {"interpolation": interpolation}


def _show(ax, image, title, what="image"):
    arr, kwargs = _displayable(image, what)
    ax.imshow(arr, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("0.6")
        spine.set_linewidth(0.8)
    ax.set_title(title)


@styled
def probability_bars(image, probabilities, ax=None):
    """The image and its 10 class probabilities as bars, the predicted class highlighted (09_predict).

    With ``ax`` the pair is drawn inside that axes (image left, bars right)."""
    p = np.asarray(probabilities, dtype=float).ravel()
    if p.size != NUM_CLASSES:
        raise MnistlibError(f"probabilities must hold {NUM_CLASSES} values (one per digit), not {p.size}")
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-3:
        raise MnistlibError(f"probabilities must be >= 0 and sum to 1 (softmax output), not sum {p.sum():.3f}")
    if ax is None:
        fig = _figure((8.5, 3.3))
        ax_img, ax_bar = fig.subplots(1, 2, width_ratios=[1, 2.4])
    else:
        fig = ax.get_figure(root=True)
        ax.set_axis_off()
        ax_img = ax.inset_axes([0.0, 0.05, 0.28, 0.85])
        ax_bar = ax.inset_axes([0.40, 0.15, 0.60, 0.72])
    best = int(p.argmax())
    _show(ax_img, image, "input")
    colors = [STYLE["highlight"] if i == best else STYLE["muted"] for i in range(NUM_CLASSES)]
    bars = ax_bar.bar(np.arange(NUM_CLASSES), p, color=colors, width=0.7)
    ax_bar.bar_label(bars, labels=[f"{v:.1%}" if i == best else "" for i, v in enumerate(p)],
                     padding=2, fontsize=9, fontweight="bold", color=STYLE["highlight"])
    ax_bar.set_ylim(0, 1.15)
    ax_bar.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax_bar.set_xticks(np.arange(NUM_CLASSES), [str(c) for c in CLASSES])
    ax_bar.set_xlabel("digit")
    ax_bar.set_ylabel("probability")
    unsure = " (unsure)" if p[best] < 0.5 else ""
    ax_bar.set_title(f"predicted {best} with {p[best]:.1%} probability{unsure}")
    return fig


@styled
def pipeline_steps(steps):
    """A user's image through the preprocessing steps, side by side and titled by the keys of ``steps``
    in order, each with its shape and dtype (09_predict). Images may be gray or RGB, any size."""
    if not isinstance(steps, Mapping) or not steps:
        raise MnistlibError("pipeline_steps needs a non-empty dict: step name -> image")
    n = len(steps)
    fig = _figure((2.6 * n + 0.4, 3.4))
    axes = np.atleast_1d(fig.subplots(1, n))
    for i, (ax, (name, image)) in enumerate(zip(axes, steps.items())):
        arr = np.asarray(image)
        _show(ax, arr, str(name), what=f"step {name!r}")
        ax.set_xlabel(f"{tuple(arr.shape)} {arr.dtype}", fontsize=8)
        if i < n - 1:
            ax.annotate("→", xy=(1.0, 0.5), xycoords="axes fraction", xytext=(6, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=18, color="0.4", annotation_clip=False)
    fig.suptitle("Preprocessing steps, left to right")
    return fig


@styled
def number_reading(picture, reading):
    """A row of digits as :func:`mnistlib.reading.read_number` read it (09_predict): the picture with a box
    and the answer over each digit, and below it the 28×28 image of each digit that the model saw.

    ``picture`` is the picture as :func:`mnistlib.imageprep.load_image` gives it (the pixels the boxes
    refer to); ``reading`` the :class:`~mnistlib.reading.NumberReading`."""
    from matplotlib.patches import Rectangle

    n = len(reading.digits)
    fig = _figure((max(6.0, 1.3 * n + 1.0), 4.6))
    grid = fig.add_gridspec(2, max(n, 1), height_ratios=[2.2, 1.0])
    top = fig.add_subplot(grid[0, :])
    _show(top, np.asarray(picture), f"read: {reading.text or '(blank)'}", what="picture")
    for i, (digit, conf, (x0, y0, x1, y1)) in enumerate(zip(reading.digits, reading.confidences, reading.boxes)):
        top.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.5, color=STYLE["highlight"]))
        top.text(x0, y0 - 2, f"{digit} ({conf:.0%})", color=STYLE["highlight"], fontsize=9, ha="left", va="bottom")
        ax = fig.add_subplot(grid[1, i])
        _show(ax, reading.prepared[i], f"{digit}: {conf:.1%}", what="digit")
    return fig
