"""Figures inside a convolutional network (notebook 08_evaluate): the first layer's filters, and the
feature maps of one digit through each convolution layer."""

from __future__ import annotations

import numpy as np

from mnistlib.config import keras
from mnistlib.errors import MnistlibError
from mnistlib.inputs import INPUT_SHAPE, check_images, gray_image
from mnistlib.plots._style import STYLE, _figure, show_digit, styled
from mnistlib.preprocess import prepare_images
from mnistlib.tta import base_network


def _conv_layers(model) -> list:
    """The model's top-level ``Conv2D`` layers, in order."""
    conv = keras().layers.Conv2D
    if not hasattr(model, "layers"):
        raise MnistlibError(f"expected a Keras model, not {type(model).__name__}")
    return [layer for layer in model.layers if isinstance(layer, conv)]


def _pick_layer(model, layer):
    convs = _conv_layers(model)
    if layer is None:
        if not convs:
            raise MnistlibError(f"model {model.name!r} has no Conv2D layer")
        return convs[0]
    if isinstance(layer, str):
        try:
            layer = model.get_layer(layer)
        except ValueError:
            raise MnistlibError(f"model {model.name!r} has no layer called {layer!r}") from None
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(convs) <= layer < len(convs):
            raise MnistlibError(f"model {model.name!r} has {len(convs)} Conv2D layers, no number {layer}")
        return convs[layer]
    if layer not in convs:
        raise MnistlibError(f"layer {getattr(layer, 'name', layer)!r} is not a Conv2D layer of {model.name!r}")
    return layer


@styled
def conv_filters(model, layer=None, *, cols: int = 8):
    """The kernels of a Conv2D layer (default: the first one) as small red/blue images on one shared
    scale (08_evaluate). ``layer``: None, a layer name, the index among the Conv2D layers, or the layer.
    Kernels with several input channels are shown averaged over them. A model that averages over shifts
    (:func:`mnistlib.tta.with_shifts`) shows its network's."""
    layer = _pick_layer(base_network(model), layer)
    weights = layer.get_weights()
    if not weights:
        raise MnistlibError(f"layer {layer.name!r} has no weights yet: build the model first")
    kernel = np.asarray(weights[0])  # (kh, kw, in, out)
    kh, kw, n_in, n_out = kernel.shape
    shown = kernel.mean(axis=2) if n_in > 1 else kernel[:, :, 0]
    limit = float(np.abs(shown).max()) or 1.0
    cols = max(1, min(cols, n_out))
    rows = -(-n_out // cols)
    fig = _figure((cols * 1.0 + 1.2, rows * 1.1 + 0.8))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n_out:]:
        ax.remove()
    im = None
    for i, ax in enumerate(axes[:n_out]):
        im = show_digit(ax, shown[:, :, i], f"{i + 1}", cmap=STYLE["filter_cmap"], vmin=-limit, vmax=limit,
                        fontsize=8)
    fig.colorbar(im, ax=list(axes[:n_out]), shrink=0.8, label="weight")
    note = f", averaged over {n_in} input channels" if n_in > 1 else ""
    fig.suptitle(f"The {n_out} filters ({kh}×{kw}) of layer {layer.name!r}{note}\n"
                 "red: bright pixels here raise the output, blue: they lower it")
    return fig


def _block_end(model, conv):
    """The last layer of conv -> [BatchNormalization] -> [Activation/ReLU] (what the next layer sees)."""
    layers_ = keras().layers
    follow = (layers_.BatchNormalization, layers_.Activation, layers_.ReLU)
    chain = list(model.layers)
    end, i = conv, chain.index(conv) + 1
    while i < len(chain) and isinstance(chain[i], follow):
        end, i = chain[i], i + 1
    return end


def _one_image(image) -> np.ndarray:
    """One digit (raw ``uint8`` or a model input) as a checked model-input batch of one."""
    arr = gray_image(image, name="feature_maps' image")
    return check_images(prepare_images(arr[np.newaxis]), name="feature_maps' image")  # uint8 -> scaled


@styled
def feature_maps(model, image, *, max_maps: int = 8):
    """One digit (left) and up to ``max_maps`` of its feature maps after each Conv2D layer (one row per
    layer; after the layer's BatchNorm/ReLU when they follow it) (08_evaluate). Layers that only act in
    training (augmentation, dropout) are inactive here. A model that averages over shifts
    (:func:`mnistlib.tta.with_shifts`) shows its network's maps for the image itself."""
    if not isinstance(max_maps, int) or max_maps < 1:
        raise MnistlibError(f"max_maps must be a positive whole number, not {max_maps!r}")
    model = base_network(model)
    convs = _conv_layers(model)
    if not convs:
        raise MnistlibError(f"model {getattr(model, 'name', '?')!r} has no Conv2D layer")
    try:
        inputs = model.inputs
        if not inputs:
            raise ValueError
        ends = [_block_end(model, c) for c in convs]
        probe = keras().Model(inputs[0] if len(inputs) == 1 else inputs, [e.output for e in ends])
    except (AttributeError, ValueError):
        raise MnistlibError(f"the model must be built on a keras.Input (e.g. keras.Input({INPUT_SHAPE})) first") from None
    batch = _one_image(image)
    outputs = probe(batch, training=False)
    maps = [np.asarray(o)[0] for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    cols = max(min(max_maps, m.shape[-1]) for m in maps)
    fig = _figure((1.8 + cols * 1.15, 0.75 + 1.12 * len(maps)))
    grid = fig.add_gridspec(len(maps), cols + 1, width_ratios=[1.6] + [1] * cols)
    show_digit(fig.add_subplot(grid[:, 0]), batch[0], "input digit")
    for row, (conv, end, fmap) in enumerate(zip(convs, ends, maps)):
        for j in range(min(cols, fmap.shape[-1])):
            ax = fig.add_subplot(grid[row, j + 1])
            show_digit(ax, fmap[:, :, j], f"map {j + 1}" if row == 0 else None, cmap=STYLE["map_cmap"],
                       vmin=float(fmap[:, :, j].min()), vmax=float(fmap[:, :, j].max()) + 1e-9, fontsize=8)
            if j == 0:
                after = f"\n→ {end.name}" if end is not conv else ""
                ax.set_ylabel(f"{conv.name}{after}\n{'×'.join(map(str, fmap.shape))}", fontsize=8)
    fig.suptitle("Feature maps: what each convolution layer responds to (bright = strong)")
    return fig
