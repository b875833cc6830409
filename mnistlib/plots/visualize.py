"""Figures of the raw data (notebook 02_visualize): samples, examples per class, class counts,
pixel intensities, where the ink is (ink_frequency) and the mean digit of each class."""

from __future__ import annotations

import math

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SHAPE, NUM_CLASSES, check_labels
from mnistlib.plots._style import (
    _figure, _target, _tiles, as_count, as_digits, as_labels, color, show_digit, styled,
)

PIXELS = math.prod(IMAGE_SHAPE)  # pixels per image


@styled
def sample_grid(images, labels, n: int = 25, *, cols: int | None = None, title: str | None = None):
    """The first ``n`` images in a grid, each titled with its label (02_visualize)."""
    imgs = as_digits(images)
    y = as_labels(labels, len(imgs))
    n = as_count(n, len(imgs))
    fig, axes = _tiles(n, cols)
    for ax, image, label in zip(axes, imgs, y):
        show_digit(ax, image, f"label {label}")
    fig.suptitle(title or f"The first {n} images and their labels")
    return fig


@styled
def class_examples(images, labels, per_class: int = 8):
    """The first ``per_class`` images of each digit 0-9, one row per class (02_visualize)."""
    imgs = as_digits(images)
    y = as_labels(labels, len(imgs))
    per_class = as_count(per_class, len(imgs), "per_class")
    tile = 0.8
    fig = _figure((per_class * tile + 0.6, NUM_CLASSES * tile + 0.6))
    axes = fig.subplots(NUM_CLASSES, per_class, squeeze=False)
    for digit in range(NUM_CLASSES):
        index = np.flatnonzero(y == digit)[:per_class]
        for col, ax in enumerate(axes[digit]):
            if col < len(index):
                show_digit(ax, imgs[index[col]])
            else:
                ax.set_axis_off()
        axes[digit, 0].set_axis_on()
        axes[digit, 0].set_ylabel(str(digit), rotation=0, fontsize=14, fontweight="bold",
                                  labelpad=14, va="center")
    fig.suptitle(f"{per_class} examples of each digit")
    return fig


@styled
def class_distribution(y_train, y_test):
    """How many images of each digit the training and the test set hold, side by side (02_visualize)."""
    fig = _figure("wide")
    axes = fig.subplots(1, 2)
    digits_ = np.arange(NUM_CLASSES)
    for i, (ax, y, name) in enumerate(zip(axes, (y_train, y_test), ("Training set", "Test set"))):
        y = check_labels(np.asarray(y).ravel(), name=f"{name.lower()} labels")
        if y.size == 0:
            raise MnistlibError(f"{name.lower()} labels are empty")
        counts = np.bincount(y, minlength=NUM_CLASSES)
        bars = ax.bar(digits_, counts, color=color(i), width=0.7)
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts], label_type="center", rotation=90,
                     fontsize=9, color="white", fontweight="bold")
        ax.axhline(y.size / NUM_CLASSES, color="black", linestyle="--", linewidth=1, zorder=3,
                   label=f"perfectly balanced (1/{NUM_CLASSES} each)")
        ax.set_xticks(digits_)
        ax.set_xlabel("digit")
        ax.set_ylabel("number of images")
        ax.set_title(f"{name}: {y.size:,} images")
        ax.set_ylim(0, counts.max() * 1.1)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", frameon=False)
    fig.suptitle("Class distribution: every digit is roughly equally common")
    return fig


@styled
def pixel_histogram(images, ax=None):
    """Histogram of all pixel values (log count axis), with the share of pure-black pixels (02_visualize)."""
    values = np.asarray(images).ravel()
    if values.size == 0:
        raise MnistlibError("images are empty")
    fig, ax = _target(ax, "single")
    if values.dtype == np.uint8:
        counts, edges = np.bincount(values, minlength=256), np.arange(257) - 0.5
        ax.set_xlim(-3, 258)
        ax.set_xlabel("pixel value (0 = black background, 255 = white ink)")
    else:
        counts, edges = np.histogram(values, bins=64)
        ax.set_xlabel("pixel value")
    ax.stairs(counts, edges, fill=True, color=color(0))
    ax.set_yscale("log")
    ax.set_ylabel("number of pixels (log scale)")
    zero = float(np.mean(values == 0))
    ax.text(0.5, 0.95, f"{zero:.0%} of all pixels are exactly 0 (background)", transform=ax.transAxes,
            ha="center", va="top", bbox={"facecolor": "white", "edgecolor": "0.8", "boxstyle": "round"})
    whole = values.size % PIXELS == 0
    ax.set_title(f"Pixel intensities of {values.size // PIXELS if whole else values.size:,}"
                 + (" images" if whole else " pixels"))
    return fig


@styled
def mean_images(images, labels):
    """The average image of each digit 0-9 with a shared colour bar (02_visualize)."""
    imgs = as_digits(images)
    y = as_labels(labels, len(imgs))
    lo, hi = (0.0, 255.0) if imgs.dtype == np.uint8 else (0.0, max(1.0, float(imgs.max())))
    fig = _figure((11.0, 5.0))
    axes = fig.subplots(2, 5)
    im = None
    for digit, ax in enumerate(axes.ravel()):
        members = imgs[y == digit]
        if len(members):
            im = show_digit(ax, members.mean(axis=0, dtype=np.float64), f"{digit}  (n = {len(members):,})",
                            vmin=lo, vmax=hi)
        else:
            ax.set_axis_off()
            ax.set_title(f"{digit}  (no images)")
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.8, label="mean pixel value")
    fig.suptitle("The mean image of each digit")
    return fig


@styled
def ink_frequency(images):
    """For each of the 28x28 positions, the share of images with any ink there; positions that are 0 in
    every image are marked in red (02_visualize)."""
    imgs = as_digits(images)
    if len(imgs) == 0:
        raise MnistlibError("images are empty")
    share = np.mean(imgs > 0, axis=0)
    never = share == 0
    fig, ax = _target(None, (6.4, 5.2))
    im = ax.imshow(share, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    overlay = np.zeros((*share.shape, 4))
    overlay[never] = (0.85, 0.1, 0.1, 1.0)
    ax.imshow(overlay, interpolation="nearest")
    ax.set_xticks([0, 7, 14, 21, 27])
    ax.set_yticks([0, 7, 14, 21, 27])
    ax.set_xlabel(f"column   (red: {int(never.sum())} positions are 0 in all {len(imgs):,} images)")
    ax.set_ylabel("row")
    fig.colorbar(im, ax=ax, label="share of images with ink (> 0) at this position")
    ax.set_title("Where the ink is: the corners never hold any, the border rarely")
    return fig
