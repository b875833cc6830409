"""Figures of learning by hand (notebook 04_from_scratch): the nearest-mean baseline at work, the
learning-rate sweep, the training curve of the NumPy loop and the learned weight images."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import MaxNLocator

from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SHAPE, NUM_CLASSES
from mnistlib.plots._style import STYLE, _figure, color, show_digit, styled


def _square(row, what: str) -> np.ndarray:
    a = np.asarray(row, dtype=np.float64)
    if a.size != IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        raise MnistlibError(f"{what} must hold 28 x 28 = 784 values, not {a.size}")
    return a.reshape(IMAGE_SHAPE)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what there is)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    n = np.arange(1, values.size + 1)
    lo = np.maximum(0, n - window)
    return (c[n] - c[lo]) / (n - lo)


@styled
def nearest_mean_demo(image, means, distances, *, label=None):
    """One image, then the ten class means titled with their distance to it; the nearest mean (the
    prediction) is framed (04_from_scratch). ``means``: ``(10, 784)``; ``distances``: ``(10,)``."""
    means = np.asarray(means, dtype=np.float64)
    dist = np.asarray(distances, dtype=np.float64).ravel()
    if means.shape[0] != NUM_CLASSES or dist.shape != (NUM_CLASSES,):
        raise MnistlibError(f"nearest_mean_demo needs {NUM_CLASSES} means and {NUM_CLASSES} distances")
    best = int(dist.argmin())
    fig = _figure((12.5, 2.3))
    axes = fig.subplots(1, NUM_CLASSES + 1)
    show_digit(axes[0], _square(image, "image"), "the image" + (f"\n(label {label})" if label is not None else "\n"),
               vmin=0, vmax=1)
    for d, ax in enumerate(axes[1:]):
        hit = d == best
        show_digit(ax, _square(means[d], "a class mean"), f"mean {d}\nd = {dist[d]:.3f}", vmin=0, vmax=1,
                   color=STYLE["highlight"] if hit else None, fontweight="bold" if hit else "normal")
    fig.suptitle(f"Nearest class mean: predicted {best} (framed, smallest distance d)")
    return fig


@styled
def lr_sweep(curves: Mapping, *, smooth: int = 10, steps_per_epoch: int | None = None):
    """Minibatch loss per step for each learning rate (faint: raw, bold: moving average over ``smooth``
    steps), log scale; a dotted line at ln 10, the loss of a uniform guess (04_from_scratch).
    ``curves``: learning rate -> sequence of losses."""
    if not isinstance(curves, Mapping) or not curves:
        raise MnistlibError("lr_sweep needs a dict: learning rate -> list of minibatch losses")
    fig = _figure((9.0, 4.6))
    ax = fig.add_subplot()
    top = 0.0
    for i, (lr, losses) in enumerate(sorted(curves.items(), key=lambda kv: float(kv[0]))):
        y = np.asarray(losses, dtype=np.float64).ravel()
        if y.size == 0:
            raise MnistlibError(f"learning rate {lr}: no losses to plot")
        y = np.where(np.isfinite(y), y, np.nan)
        steps = np.arange(1, y.size + 1)
        ax.plot(steps, y, color=color(i), alpha=0.2, linewidth=0.8)
        ax.plot(steps, _smooth(np.nan_to_num(y, nan=np.nanmax(y)), smooth), color=color(i), linewidth=2.2,
                label=f"lr = {lr:g}")
        top = max(top, float(np.nanmax(y)))
    ax.axhline(np.log(NUM_CLASSES), color="black", linestyle=":", linewidth=1.2)
    ax.annotate("ln 10: uniform guess", (1, np.log(NUM_CLASSES)), xytext=(4, 4), textcoords="offset points",
                fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(min(0.15, ax.get_ylim()[0]), max(top * 1.2, 3.0))
    ax.set_xlabel("step (one minibatch)" + (f"; one epoch = {steps_per_epoch} steps" if steps_per_epoch else ""))
    ax.set_ylabel("cross-entropy loss (log scale)")
    ax.grid(True, which="both")
    ax.legend(title="learning rate", loc="center left",
              bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("Learning-rate sweep: too small is slow, too large jumps around")
    return fig


@styled
def scratch_training(step_losses, steps_per_epoch: int, val_accuracy, *, baseline: float | None = None,
                     smooth: int = 50):
    """Left: minibatch loss per step (raw and moving average) with epoch boundaries; right: validation
    accuracy after each epoch against the nearest-mean ``baseline`` (04_from_scratch)."""
    losses = np.asarray(step_losses, dtype=np.float64).ravel()
    acc = np.asarray(val_accuracy, dtype=np.float64).ravel()
    if losses.size == 0 or acc.size == 0 or steps_per_epoch < 1:
        raise MnistlibError("scratch_training needs step losses, steps_per_epoch >= 1 and validation accuracies")
    fig = _figure("wide")
    ax_loss, ax_acc = fig.subplots(1, 2)
    steps = np.arange(1, losses.size + 1)
    ax_loss.plot(steps, losses, color=color(0), alpha=0.25, linewidth=0.7, label="minibatch loss")
    ax_loss.plot(steps, _smooth(losses, smooth), color=color(0), linewidth=2, label=f"average of {smooth} steps")
    for e in range(1, acc.size):
        ax_loss.axvline(e * steps_per_epoch, color=STYLE["muted"], linestyle="--", linewidth=1)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel(f"step ({steps_per_epoch} per epoch; dashed: epoch ends)")
    ax_loss.set_ylabel("cross-entropy (log scale)")
    ax_loss.set_title("Training loss, step by step")
    ax_loss.legend(frameon=False)
    ax_loss.grid(True, which="both")
    epochs = np.arange(1, acc.size + 1)
    ax_acc.plot(epochs, acc, "o-", color=color(0), linewidth=2, label="softmax regression")
    if baseline is not None:
        ax_acc.axhline(baseline, color=STYLE["highlight"], linestyle="--", linewidth=1.5,
                       label=f"nearest class mean ({baseline:.1%})")
    low = min(acc.min(), baseline if baseline is not None else acc.min())
    ax_acc.set_ylim(low - 0.015, max(acc.max(), low) + 0.01)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax_acc.set_title("Validation accuracy after each epoch")
    ax_acc.legend(frameon=False, loc="center right")
    ax_acc.grid(True)
    fig.suptitle("Softmax regression trained by the NumPy loop")
    return fig


@styled
def weight_images(weights):
    """The ten columns of ``W (784, 10)`` as 28 x 28 images on one symmetric red-blue scale: red pixels
    push towards the digit, blue ones away from it (04_from_scratch)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (IMAGE_SHAPE[0] * IMAGE_SHAPE[1], NUM_CLASSES):
        raise MnistlibError(f"weight_images needs W of shape (784, {NUM_CLASSES}), not {w.shape}")
    lim = float(np.abs(w).max()) or 1.0
    fig = _figure((11.0, 5.0))
    axes = fig.subplots(2, 5)
    im = None
    for d, ax in enumerate(axes.ravel()):
        im = show_digit(ax, w[:, d].reshape(IMAGE_SHAPE), f"digit {d}", cmap=STYLE["filter_cmap"], vmin=-lim,
                        vmax=lim)
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight (red: evidence for, blue: against)")
    fig.suptitle("What softmax regression learned: one weight image per digit")
    return fig


__all__ = ["lr_sweep", "nearest_mean_demo", "scratch_training", "weight_images"]
