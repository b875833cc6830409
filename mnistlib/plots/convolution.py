"""Figures of what a convolution does (notebook 05_convolution): hand-set kernels on a digit, filters taken from
the data (principal components of patches), padding, stride and pooling at one pixel scale, the receptive field of
one unit, and where a CNN's parameters are."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from mnistlib import convolution
from mnistlib.errors import MnistlibError
from mnistlib.plots._style import STYLE, _figure, color, show_digit, styled


def _kernels(kernels) -> dict[str, np.ndarray]:
    if isinstance(kernels, str):
        kernels = [kernels]
    if isinstance(kernels, Mapping):
        items = [(str(name), np.asarray(k, dtype=np.float32)) for name, k in kernels.items()]
    else:
        items = [(str(name), convolution.kernel(name)) for name in kernels]
    if not items:
        raise MnistlibError("give at least one kernel: a name of mnistlib.convolution.KERNELS or name -> array")
    for name, k in items:
        if k.ndim != 2:
            raise MnistlibError(f"kernel {name!r} must be a 2-D array, not shape {k.shape}")
    return dict(items)


def _signed(ax, values, title, limit=None):
    """A signed map on a red (positive) / blue (negative) scale centred on 0."""
    if limit is None:
        limit = float(np.abs(values).max()) or 1.0
    return show_digit(ax, values, title, cmap=STYLE["filter_cmap"], vmin=-limit, vmax=limit, fontsize=9)


@styled
def hand_kernels(image, kernels=("vertical_edges", "horizontal_edges"), *, padding: str = "valid"):
    """One digit (left), then per kernel a row: the kernel with its numbers, and the map
    :func:`mnistlib.convolution.correlate` makes of the digit (05_convolution). ``kernels``: names
    of :data:`mnistlib.convolution.KERNELS` or a dict name -> 2-D array."""
    ks = _kernels(kernels)
    digit = convolution._image(image)
    maps = {name: convolution.correlate(digit, k, padding) for name, k in ks.items()}
    rows = len(ks)
    fig = _figure((9.0, 0.6 + 2.6 * rows))
    grid = fig.add_gridspec(rows, 3, width_ratios=[1.2, 0.9, 1.2])
    show_digit(fig.add_subplot(grid[:, 0]), digit, f"input digit {digit.shape[0]}×{digit.shape[1]}")
    for row, (name, k) in enumerate(ks.items()):
        ax = fig.add_subplot(grid[row, 1])
        limit = float(np.abs(k).max()) or 1.0
        _signed(ax, k, f"kernel '{name}' {k.shape[0]}×{k.shape[1]}", limit)
        for (a, b), v in np.ndenumerate(k):
            ax.text(b, a, f"{v:g}" if abs(v - round(v)) < 1e-6 else f"{v:.2f}", ha="center", va="center",
                    fontsize=10, color="white" if abs(v) > 0.6 * limit else "black")
        out = maps[name]
        im = _signed(fig.add_subplot(grid[row, 2]), out, f"output map {out.shape[0]}×{out.shape[1]} ({padding})")
        fig.colorbar(im, ax=fig.axes[-1], shrink=0.85, label="response")
    fig.suptitle("A hand-set kernel slid over a digit: red = strong positive response, blue = negative")
    return fig


@styled
def pca_filters(weights, bias, image):
    """The filters of :func:`mnistlib.convolution.pca_filters` (top row: the components, whose negatives follow them
    in the layer) and what each makes of one digit before the ReLU (bottom row), on a red / blue scale centred on 0
    (05_convolution)."""
    w, b = np.asarray(weights, dtype=np.float32), np.asarray(bias, dtype=np.float32)
    if w.ndim != 4 or w.shape[2] != 1 or w.shape[3] % 2 or b.shape != (w.shape[3],):
        raise MnistlibError(f"give the (weights, bias) of pca_filters: (k, k, 1, 2n) and (2n,), not "
                            f"{w.shape} and {b.shape}")
    count = w.shape[3] // 2
    digit = convolution._image(image)
    fig = _figure((1.55 * count + 1.7, 3.6))
    grid = fig.add_gridspec(2, count + 1, width_ratios=[1.2] + [1.0] * count)
    show_digit(fig.add_subplot(grid[:, 0]), digit, "input digit")
    answers = [convolution.correlate(digit, w[:, :, 0, i]) + b[i] for i in range(count)]
    limit = max(float(np.abs(a).max()) for a in answers) or 1.0
    for i in range(count):
        _signed(fig.add_subplot(grid[0, i + 1]), w[:, :, 0, i], f"component {i + 1}")
        _signed(fig.add_subplot(grid[1, i + 1]), answers[i], f"its answer {answers[i].shape[0]}×{answers[i].shape[1]}",
                limit)
    fig.suptitle("Filters taken from the data, not learnt: the principal components of 5×5 patches, whitened "
                 "(red +, blue −)")
    return fig


@styled
def padding_stride_pooling(image, kernel="vertical_edges"):
    """The same digit through ``kernel`` with valid and same padding, stride 2, and 2×2 max pooling,
    every panel drawn at one pixel scale so the sizes compare at a glance (05_convolution). The
    first panel is the input with its one-pixel ring of zero padding."""
    from mnistlib.config import keras

    k = _kernels([kernel] if isinstance(kernel, str) else {"kernel": kernel})
    k = next(iter(k.values()))
    digit = convolution._image(image)
    pad = (k.shape[0] - 1) // 2
    same = convolution.keras_conv(digit, k, "same")
    pooled = np.asarray(keras().layers.MaxPooling2D(2)(same[np.newaxis, :, :, np.newaxis]))[0, :, :, 0]
    panels = [
        (np.pad(digit, pad), f"input padded by {pad}\n{digit.shape[0]} → {digit.shape[0] + 2 * pad}", False),
        (convolution.keras_conv(digit, k, "valid"), "conv, padding='valid'\nkernel 3, stride 1", True),
        (same, "conv, padding='same'\nkernel 3, stride 1", True),
        (convolution.keras_conv(digit, k, "same", strides=2), "conv, padding='same'\nkernel 3, stride 2", True),
        (pooled, "max pooling 2×2\nof the 'same' map", True),
    ]
    side = max(p[0].shape[0] for p in panels)
    fig = _figure((2.3 * len(panels), 3.3))
    axes = fig.subplots(1, len(panels))
    limit = float(np.abs(same).max()) or 1.0
    for ax, (values, title, signed) in zip(axes, panels):
        h, w = values.shape
        extent = (-0.5, w - 0.5, h - 0.5, -0.5)
        if signed:
            ax.imshow(values, cmap=STYLE["filter_cmap"], vmin=-limit, vmax=limit, extent=extent)
        else:
            ax.imshow(values, cmap=STYLE["digit_cmap"], vmin=0, vmax=max(float(values.max()), 1e-9), extent=extent)
            ax.add_patch(Rectangle((pad - 0.5, pad - 0.5), w - 2 * pad, h - 2 * pad, fill=False,
                                   edgecolor=STYLE["highlight"], linestyle="--", linewidth=1.2))
        ax.set_xlim(-0.5, side - 0.5)
        ax.set_ylim(side - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title, fontsize=9)
        ax.text(0.5, -0.04, f"{h}×{w}", transform=ax.transAxes, ha="center", va="top", fontsize=11,
                fontweight="bold")
    fig.suptitle("Padding, stride and pooling change the size of the map (all panels at the same pixel scale)")
    return fig


@styled
def receptive_field(image, boxes: Mapping, gradient=None):
    """Left: the digit with one square per layer, the input pixels one unit of that layer sees
    (``boxes``: label -> ``(top, left, bottom, right)`` from :func:`mnistlib.convolution.receptive_box`).
    Right (when ``gradient`` is given): which pixels actually move the last unit, with its square
    (05_convolution)."""
    if not isinstance(boxes, Mapping) or not boxes:
        raise MnistlibError("boxes must be a non-empty dict: label -> (top, left, bottom, right)")
    digit = convolution._image(image)
    for label, box in boxes.items():
        if len(tuple(box)) != 4 or box[2] < box[0] or box[3] < box[1]:
            raise MnistlibError(f"box {label!r} must be (top, left, bottom, right) with bottom >= top, right >= left")
    fig = _figure((10.0 if gradient is not None else 6.0, 5.2))
    axes = fig.subplots(1, 2 if gradient is not None else 1, squeeze=False)[0]

    def frame(ax, box, c, label=None, width=2.2):
        top, left, bottom, right = box
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False,
                               edgecolor=c, linewidth=width, label=label))

    h, w = digit.shape
    for ax in axes:
        ax.set_xlim(-2.5, w + 1.5)
        ax.set_ylim(h + 1.5, -2.5)
    show_digit(axes[0], digit, "one unit per layer: the input pixels it sees")
    for i, (label, box) in enumerate(boxes.items()):
        side = box[2] - box[0] + 1
        frame(axes[0], box, color(i + 1), f"{label}: {side}×{box[3] - box[1] + 1} pixels")
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, frameon=False, fontsize=9)
    if gradient is not None:
        g = np.asarray(gradient, dtype=float)
        if g.shape != digit.shape:
            raise MnistlibError(f"gradient must have the image's shape {digit.shape}, not {g.shape}")
        im = axes[1].imshow(g, cmap=STYLE["map_cmap"], vmin=0, vmax=float(g.max()) or 1.0)
        axes[1].set_xticks([])
        axes[1].set_yticks([])
        for spine in axes[1].spines.values():
            spine.set_visible(False)
        last_label, last = list(boxes.items())[-1]
        frame(axes[1], last, "white", width=2.0)
        axes[1].set_title(f"|gradient| of the {last_label} unit\nnon-zero pixels: {int((g > 0).sum())}; "
                          "outside the square: " + f"{int(_outside(g, last))}")
        fig.colorbar(im, ax=axes[1], shrink=0.8, label="how much the pixel moves the unit")
    fig.suptitle("Receptive field: stacking layers widens what one unit sees")
    return fig


def _outside(g: np.ndarray, box) -> int:
    top, left, bottom, right = box
    mask = np.ones(g.shape, bool)
    mask[max(top, 0):bottom + 1, max(left, 0):right + 1] = False
    return int((g[mask] > 0).sum())


@styled
def param_shares(table, dense_equivalents: Mapping | None = None):
    """Left: the parameters of each layer that has any (``table`` from
    :func:`mnistlib.convolution.param_table`), labelled with their share. Right (with
    ``dense_equivalents``: layer -> parameters a dense layer with the same inputs and outputs would
    need): the conv layers' real parameters vs those, on a log scale (05_convolution)."""
    if not hasattr(table, "columns") or not {"layer", "params", "share"} <= set(table.columns):
        raise MnistlibError("param_shares needs the DataFrame that mnistlib.convolution.param_table(model) returns")
    used = table[table["params"] > 0]
    if used.empty:
        raise MnistlibError("the model has no parameters to show")
    fig = _figure((11.5, 3.8) if dense_equivalents else (6.5, 3.8))
    axes = fig.subplots(1, 2 if dense_equivalents else 1, squeeze=False)[0]
    ax = axes[0]
    names = [f"{n} ({t})" for n, t in zip(used["layer"], used["type"])]
    y = np.arange(len(used))[::-1]
    bars = ax.barh(y, used["params"], color=[color(0) if p < used["params"].max() else STYLE["highlight"]
                                             for p in used["params"]])
    ax.set_yticks(y, names)
    for bar, p, s in zip(bars, used["params"], used["share"]):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  {p:,} ({s:.1f} %)", va="center", fontsize=9)
    ax.set_xlim(0, used["params"].max() * 1.45)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    ax.set_xlabel("parameters")
    ax.set_title(f"Where the {int(table['params'].sum()):,} parameters are")
    if dense_equivalents:
        ax = axes[1]
        layers_ = [n for n in dense_equivalents if n in set(table["layer"])]
        if not layers_:
            raise MnistlibError("dense_equivalents names no layer of the table")
        real = [int(table.loc[table["layer"] == n, "params"].iloc[0]) for n in layers_]
        dense = [int(dense_equivalents[n]) for n in layers_]
        pos = np.arange(len(layers_))
        ax.bar(pos - 0.2, real, 0.4, color=color(0), label="the conv layer (shared 3×3 kernels)")
        ax.bar(pos + 0.2, dense, 0.4, color=STYLE["muted"], label="a dense layer, same inputs and outputs")
        for x, v in [*zip(pos - 0.2, real), *zip(pos + 0.2, dense)]:
            ax.text(x, v * 1.3, f"{v:,}", ha="center", va="bottom", fontsize=9)
        ax.set_yscale("log")
        ax.set_ylim(min(real) / 3, max(dense) * 30)
        ax.set_xticks(pos, layers_)
        ax.set_ylabel("parameters (log scale)")
        ax.legend(loc="upper left", frameon=False)
        ax.set_title("Weight sharing: the same outputs for far fewer weights")
    return fig


__all__ = ["hand_kernels", "padding_stride_pooling", "param_shares", "pca_filters", "receptive_field"]
