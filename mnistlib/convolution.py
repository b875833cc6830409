"""What a convolution does, computed three ways and measured on a model (notebook 05_convolution).

* :data:`KERNELS`: a few hand-set 3x3 kernels (edge detectors, blur, identity) as plain data;
  :func:`kernel` returns a copy of one.
* :func:`correlate` slides a kernel over an image with SciPy (cross-correlation, which is what
  deep-learning libraries call "convolution"); :func:`keras_conv` does the same with a Keras
  ``Conv2D`` layer whose weights are set to the kernel, so the two can be compared.
* :func:`conv_output_size`: ``floor((n + 2p - k) / s) + 1``, the output-size arithmetic.
* :func:`receptive_fields` walks a Keras model's ``Conv2D`` / pooling layers and says, layer by
  layer, how many input pixels one unit sees (``r_out = r_in + (k - 1) * j_in``, ``j_out = j_in * s``);
  :func:`receptive_box` turns that into the box of pixels one unit sees, and :func:`input_gradient`
  measures which pixels actually move a unit.
* :func:`pca_filters`: first-layer filters taken from the data instead of learnt (the principal components of
  small patches, whitened, each with its negative): ``cnn_fast`` keeps them fixed;
* :func:`param_table`: the parameters of a model per layer and their share;
  :func:`dense_equivalent_params`: what a dense layer with the same inputs and outputs would need.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import signal

from mnistlib.errors import MnistlibError
from mnistlib.inputs import check_images, gray_image


def _frozen(rows) -> np.ndarray:
    arr = np.array(rows, dtype=np.float32)
    arr.setflags(write=False)
    return arr


#: Hand-set 3x3 kernels by name. Applied by cross-correlation (no flip), so ``vertical_edges``
#: is positive where the image gets brighter from left to right (the left edge of a white stroke)
#: and ``horizontal_edges`` where it gets brighter from top to bottom. The Sobel kernels
#: (Sobel & Feldman 1968); ``box_blur`` averages the 3x3 neighbourhood.
KERNELS: dict[str, np.ndarray] = {
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "vertical_edges": _frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "horizontal_edges": _frozen([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "box_blur": _frozen(np.full((3, 3), 1 / 9)),
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}

#: The paddings Keras' Conv2D and pooling layers accept.
PADDINGS = ("valid", "same")


def kernel(name: str) -> np.ndarray:
    """A writable copy of the hand-set kernel called ``name`` (a key of :data:`KERNELS`) (notebook 05_convolution)."""
    try:
        return KERNELS[name].copy()
    except (KeyError, TypeError):
        raise MnistlibError(f"unknown kernel {name!r}; choose one of: {', '.join(KERNELS)}") from None


def _image(image) -> np.ndarray:
    arr = gray_image(image, name="image")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise MnistlibError(f"the image must hold numbers, not {arr.dtype}")
    return arr.astype(np.float32)


def _kernel(k, *, stack: bool = False) -> np.ndarray:
    arr = np.asarray(k, dtype=np.float32) if not isinstance(k, str) else kernel(k)
    ok = arr.ndim == 2 or (stack and arr.ndim == 3)
    if not ok or min(arr.shape[:2]) < 1 or not np.all(np.isfinite(arr)):
        want = "(kh, kw) or (kh, kw, filters)" if stack else "(kh, kw)"
        raise MnistlibError(f"a kernel must be a finite {want} array, not shape {arr.shape}")
    return arr


def _padding(padding: str) -> str:
    if padding not in PADDINGS:
        raise MnistlibError(f"padding must be one of {', '.join(PADDINGS)}, not {padding!r}")
    return padding


def correlate(image, k, padding: str = "valid") -> np.ndarray:
    """Slide kernel ``k`` (an array or a name in :data:`KERNELS`) over a gray ``image`` with
    :func:`scipy.signal.correlate2d` (notebook 05_convolution).

    ``out[i, j] = sum_{a, b} image[i + a, j + b] * k[a, b]`` (no kernel flip). ``padding="valid"``:
    only positions where the kernel fits, ``(H - kh + 1, W - kw + 1)``; ``"same"``: zeros around the
    image so the output keeps its size (odd kernels).
    """
    img, ker = _image(image), _kernel(k)
    if _padding(padding) == "valid" and (ker.shape[0] > img.shape[0] or ker.shape[1] > img.shape[1]):
        raise MnistlibError(f"a {ker.shape} kernel does not fit in a {img.shape} image without padding")
    if padding == "same" and (ker.shape[0] % 2 == 0 or ker.shape[1] % 2 == 0):
        raise MnistlibError("padding='same' needs an odd kernel size here (even kernels pad unevenly)")
    return signal.correlate2d(img, ker, mode=padding, boundary="fill", fillvalue=0).astype(np.float32)


def keras_conv(image, k, padding: str = "valid", strides: int = 1) -> np.ndarray:
    """The same sliding window computed by a Keras ``Conv2D`` layer (no bias) whose weights are set to
    ``k`` (notebook 05_convolution).

    ``k``: a name in :data:`KERNELS`, a ``(kh, kw)`` kernel (returns a ``(H', W')`` map) or a stack
    ``(kh, kw, filters)`` (one layer with that many filters; returns ``(H', W', filters)``).
    """
    from mnistlib.config import keras

    img, ker = _image(image), _kernel(k, stack=True)
    if not isinstance(strides, (int, np.integer)) or isinstance(strides, bool) or strides < 1:
        raise MnistlibError(f"strides must be a positive whole number, not {strides!r}")
    if _padding(padding) == "valid" and (ker.shape[0] > img.shape[0] or ker.shape[1] > img.shape[1]):
        raise MnistlibError(f"a {ker.shape[:2]} kernel does not fit in a {img.shape} image without padding")
    single = ker.ndim == 2
    weights = (ker[:, :, np.newaxis] if single else ker)[:, :, np.newaxis, :]  # (kh, kw, in=1, filters)
    layer = keras().layers.Conv2D(weights.shape[-1], weights.shape[:2], strides=int(strides), padding=padding,
                                  use_bias=False)
    layer.build((None, *img.shape, 1))
    layer.set_weights([weights])
    out = np.asarray(layer(img[np.newaxis, :, :, np.newaxis]))[0]
    return out[:, :, 0] if single else out


def _whole(value, name: str, minimum: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise MnistlibError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return int(value)


def conv_output_size(n: int, k: int, p: int = 0, s: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis (notebook 05_convolution):
    ``floor((n + 2p - k) / s) + 1`` for input length ``n``, kernel ``k``, padding ``p`` on each side
    and stride ``s``. Raises :class:`MnistlibError` when the kernel does not fit in the padded input."""
    n, k, p, s = _whole(n, "n", 1), _whole(k, "k", 1), _whole(p, "p", 0), _whole(s, "s", 1)
    if k > n + 2 * p:
        raise MnistlibError(f"a kernel of {k} does not fit in {n} pixels padded by {p} on each side")
    return (n + 2 * p - k) // s + 1


def same_padding(n: int, k: int, s: int = 1) -> tuple[int, int]:
    """The zeros Keras' ``padding="same"`` adds before and after an axis of length ``n``
    (notebook 05_convolution): the output is ``ceil(n / s)`` long; the total padding is split with the
    extra pixel, if any, at the end."""
    n, k, s = _whole(n, "n", 1), _whole(k, "k", 1), _whole(s, "s", 1)
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _pair(value, name: str, layer) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise MnistlibError(f"layer {layer.name!r}: receptive_fields handles square {name}s only, not {values}")
    return int(values[0])


def _geometry(layer):
    """``(kind, kernel, stride, dilation, padding)`` of a layer that slides a window, else ``None``."""
    from mnistlib.config import keras

    L = keras().layers
    if isinstance(layer, L.Conv2D):
        return ("conv", _pair(layer.kernel_size, "kernel", layer), _pair(layer.strides, "stride", layer),
                _pair(layer.dilation_rate, "dilation", layer), layer.padding)
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        return ("max pool" if isinstance(layer, L.MaxPooling2D) else "avg pool",
                _pair(layer.pool_size, "pool size", layer), _pair(layer.strides, "stride", layer), 1, layer.padding)
    return None


def receptive_fields(model) -> pd.DataFrame:
    """Walk a Keras model's layers from the input to the first layer without a spatial map (e.g.
    ``Flatten``) and give, per ``Conv2D`` / pooling layer, the receptive field (notebook 05_convolution).

    Columns: ``layer``, ``kind``, ``kernel`` (k, dilated), ``stride`` (s), ``padding`` (zeros before
    the first pixel), ``size`` (output map side), ``jump`` (input pixels between neighbouring units:
    ``j_out = j_in * s``), ``rf`` (side of the square of input pixels one unit sees:
    ``r_out = r_in + (k - 1) * j_in``) and ``start`` (input row/column of the centre of unit 0's
    field). The first row is the input itself (r = 1, j = 1). Layers that keep the map's size
    (activations, batch norm, augmentation) change nothing and are skipped.
    """
    if not hasattr(model, "layers") or not hasattr(model, "inputs"):
        raise MnistlibError(f"receptive_fields needs a Keras model, not {type(model).__name__}")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4:
        raise MnistlibError(f"model {model.name!r} does not take images (N, H, W, C): its input is {shape}")
    n, r, j, start = int(shape[1]), 1, 1, 0.0
    rows = [{"layer": "input", "kind": "input", "kernel": 1, "stride": 1, "padding": 0, "size": n, "jump": j,
             "rf": r, "start": start}]
    for layer in model.layers[1:]:
        out_shape = tuple(layer.output.shape)
        if len(out_shape) != 4:
            break
        geom = _geometry(layer)
        if geom is None:
            if int(out_shape[1]) != n:
                raise MnistlibError(f"layer {layer.name!r} ({type(layer).__name__}) changes the map from {n} to "
                                    f"{out_shape[1]} pixels in a way receptive_fields does not know")
            continue
        kind, k, s, d, padding = geom
        k = d * (k - 1) + 1  # a dilated kernel spans this many pixels
        before = same_padding(n, k, s)[0] if padding == "same" else 0
        r, start, j = r + (k - 1) * j, start + ((k - 1) / 2 - before) * j, j * s
        n = int(out_shape[1])
        rows.append({"layer": layer.name, "kind": kind, "kernel": k, "stride": s, "padding": before, "size": n,
                     "jump": j, "rf": r, "start": start})
    if len(rows) == 1:
        raise MnistlibError(f"model {model.name!r} has no Conv2D or pooling layer before its first non-image layer")
    return pd.DataFrame(rows)


def _field(fields, layer: str) -> pd.Series:
    """The row of ``layer`` in a :func:`receptive_fields` table."""
    if not isinstance(fields, pd.DataFrame) or not {"layer", "rf", "jump", "start", "size"} <= set(fields.columns):
        raise MnistlibError("expected the table that receptive_fields(model) returns")
    match = fields[fields["layer"] == layer]
    if match.empty:
        raise MnistlibError(f"no layer {layer!r} in the table; it has: {', '.join(map(str, fields['layer']))}")
    return match.iloc[0]


def receptive_box(fields: pd.DataFrame, layer: str, row: int, col: int) -> tuple[int, int, int, int]:
    """The square of input pixels unit ``(row, col)`` of ``layer`` sees, from :func:`receptive_fields`'
    table (notebook 05_convolution): ``(top, left, bottom, right)``, inclusive pixel indices. Parts
    may lie outside the image: there the unit sees the zero padding."""
    f = _field(fields, layer)
    size = int(f["size"])
    for name, value in (("row", row), ("col", col)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < size:
            raise MnistlibError(f"{name} must be a whole number in 0..{size - 1} for layer {layer!r}, not {value!r}")
    half = (int(f["rf"]) - 1) / 2
    centre_r, centre_c = f["start"] + row * f["jump"], f["start"] + col * f["jump"]
    return (round(centre_r - half), round(centre_c - half), round(centre_r + half), round(centre_c + half))


def unit_at(fields: pd.DataFrame, layer: str, y: float, x: float) -> tuple[int, int]:
    """The unit ``(row, col)`` of ``layer`` whose receptive field is centred nearest to input pixel
    ``(y, x)`` (notebook 05_convolution), from :func:`receptive_fields`' table."""
    f = _field(fields, layer)
    last = int(f["size"]) - 1
    return tuple(int(min(max(round((v - f["start"]) / f["jump"]), 0), last)) for v in (y, x))


def input_gradient(model, layer: str, image, row: int, col: int) -> np.ndarray:
    """``|d(sum of unit (row, col)'s channels in layer) / d(input pixel)|`` for one prepared image
    ``(28, 28)`` or ``(28, 28, 1)`` in [0, 1] (notebook 05_convolution): non-zero only on the pixels
    that move that unit, which all lie in its receptive field (:func:`receptive_box`)."""
    from mnistlib.config import keras, tf

    try:
        target = model.get_layer(layer)
    except (AttributeError, ValueError):
        raise MnistlibError(f"the model has no layer called {layer!r}") from None
    if len(target.output.shape) != 4:
        raise MnistlibError(f"layer {layer!r} has no spatial map: its output is {tuple(target.output.shape)}")
    h, w = int(target.output.shape[1]), int(target.output.shape[2])
    for name, value, size in (("row", row, h), ("col", col, w)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < size:
            raise MnistlibError(f"{name} must be a whole number in 0..{size - 1} for layer {layer!r}, not {value!r}")
    probe = keras().Model(model.inputs[0], target.output)
    x = tf().Variable(_image(image)[np.newaxis, :, :, np.newaxis])
    with tf().GradientTape() as tape:
        unit = tf().reduce_sum(probe(x, training=False)[0, row, col, :])
    return np.abs(np.asarray(tape.gradient(unit, x))[0, :, :, 0])


def pca_filters(images, kernel: int = 5, count: int = 8, *, sample: int = 300, seed: int = 0):
    """First-layer filters computed from ``images`` instead of learnt (notebook 05_convolution; the fixed first
    convolution of ``cnn_fast``, :func:`mnistlib.recipes.first_filters`).

    The ``count`` principal components of the ``kernel`` x ``kernel`` patches of ``sample`` images drawn with
    ``seed`` (the eigenvectors of the patches' covariance with the largest eigenvalues), whitened: each filter
    answers with that component's coordinate of the patch, centred on the mean patch and scaled to unit variance.
    Each filter is followed by its negative, so a ReLU after them keeps both signs. 300 digits give about 170,000
    patches: plenty for a 25 x 25 covariance, computed in a few hundredths of a second. Returns ``(weights, bias)``
    for a ``Conv2D(2 * count, kernel)`` on one channel: ``weights`` of shape ``(kernel, kernel, 1, 2 * count)``,
    ``bias`` of shape ``(2 * count,)``.
    """
    x = check_images(images)[..., 0]
    kernel, count = _whole(kernel, "kernel", 1), _whole(count, "count", 1)
    if count > kernel * kernel:
        raise MnistlibError(f"a {kernel}x{kernel} patch has {kernel * kernel} principal components, not {count}")
    picked = np.random.default_rng(seed).choice(len(x), min(_whole(sample, "sample", 1), len(x)), replace=False)
    patches = np.lib.stride_tricks.sliding_window_view(x[np.sort(picked)], (kernel, kernel), axis=(1, 2))
    patches = patches.reshape(-1, kernel * kernel).astype(np.float64)
    mean = patches.mean(axis=0)
    variance, vectors = np.linalg.eigh(np.cov(patches, rowvar=False))  # ascending variance
    variance, vectors = variance[::-1][:count], vectors[:, ::-1][:, :count].T
    vectors *= np.sign(vectors[np.arange(count), np.abs(vectors).argmax(axis=1)])[:, np.newaxis]  # a fixed sign
    w = vectors / np.sqrt(variance)[:, np.newaxis]
    w = np.concatenate([w, -w])
    bias = -(w @ mean)
    return w.T.reshape(kernel, kernel, 1, 2 * count).astype(np.float32), bias.astype(np.float32)


def param_table(model) -> pd.DataFrame:
    """One row per layer of a Keras model: ``layer``, ``type``, ``output`` shape, ``params`` (all of
    them, as ``model.count_params()`` counts), ``trainable`` and ``share`` (% of the model's
    parameters); layers without parameters are kept, so the table reads like ``model.summary()``
    (notebook 05_convolution). ``params`` sums to ``model.count_params()``."""
    if not hasattr(model, "layers") or not hasattr(model, "count_params"):
        raise MnistlibError(f"param_table needs a Keras model, not {type(model).__name__}")
    if not model.built:
        raise MnistlibError(f"model {model.name!r} is not built yet: build it on a keras.Input first")
    total = model.count_params()
    rows = []
    for layer in model.layers:
        params = int(layer.count_params()) if layer.built else 0
        trainable = int(sum(np.prod(w.shape) for w in layer.trainable_weights))
        shape = tuple(layer.output.shape)[1:] if hasattr(layer, "output") else ()
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output": shape, "params": params,
                     "trainable": trainable, "share": 100.0 * params / total if total else 0.0})
    return pd.DataFrame(rows)


def dense_equivalent_params(in_shape, out_shape, bias: bool = True) -> int:
    """Parameters of a dense layer connecting every one of ``prod(in_shape)`` inputs to every one of
    ``prod(out_shape)`` outputs (plus one bias per output) (notebook 05_convolution): what a layer
    with the same inputs and outputs as a convolution would need without weight sharing."""
    sizes = []
    for name, shape in (("in_shape", in_shape), ("out_shape", out_shape)):
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if not dims or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in dims):
            raise MnistlibError(f"{name} must be positive whole numbers, not {shape!r}")
        sizes.append(math.prod(int(d) for d in dims))
    n_in, n_out = sizes
    return n_in * n_out + (n_out if bias else 0)


__all__ = ["KERNELS", "PADDINGS", "conv_output_size", "correlate", "dense_equivalent_params", "input_gradient",
           "kernel", "keras_conv", "param_table", "pca_filters", "receptive_box", "receptive_fields", "same_padding",
           "unit_at"]
