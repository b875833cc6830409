"""Test-time augmentation by one-pixel shifts (notebook 07_train; 05 and 08 look inside with :func:`base_network`).

A trained network answers for the image and for copies of it moved by one pixel; the model that is
saved averages those probabilities. A digit drawn one pixel off-centre is still the same digit, so
the average is steadier than one look: ``cnn`` gains about 0.2 points on held-out training images and
0.08 on the test set (``benchmarks/bench_tta.py`` chose 8 shifts on held-out images before the test
set was scored). :func:`shifted` moves a batch in numpy, :func:`with_shifts` wraps a trained network
into one Keras model that does it inside (built-in layers only, so that it saves, loads and exports
to LiteRT like any other model; the network's weights are shared, not copied), and
:func:`base_network` finds the network inside again (notebook 05's solution 6, notebook 08's filter and
feature-map figures).
A recipe asks for it with ``Recipe.shifts`` (:mod:`mnistlib.recipes`).
"""

from __future__ import annotations

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.inputs import INPUT_SHAPE

#: Shift settings by their number of shifts: the image itself first, then ``(dy, dx)`` moves
#: (``dy`` rows down, ``dx`` columns right). 4: up, down, left, right; 8: the 3 x 3 neighbourhood.
SHIFTS = {0: [(0, 0)],
          4: [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)],
          8: [(0, 0)] + [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]}

#: The name of the averaging layer that marks a model made by :func:`with_shifts`, and of the network inside.
AVERAGE_LAYER, NETWORK = "shift_average", "network"


def check_shifts(shifts) -> int:
    """``shifts`` if it is one of :data:`SHIFTS` (0, 4 or 8), else a :class:`MnistlibError`."""
    if isinstance(shifts, bool) or shifts not in SHIFTS:
        raise MnistlibError(f"shifts must be one of {', '.join(map(str, SHIFTS))} (one-pixel shifts averaged "
                            f"at test time), not {shifts!r}")
    return int(shifts)


def shifted(x, dy: int, dx: int) -> np.ndarray:
    """Images ``(N, H, W, C)`` moved ``dy`` rows down and ``dx`` columns right by at most one pixel;
    zeros (background) come in at the edge, nothing wraps round."""
    x = np.asarray(x)
    if x.ndim != 4 or max(abs(dy), abs(dx)) > 1:
        raise MnistlibError(f"shifted takes images (N, H, W, C) and moves of -1, 0 or 1, not shape {x.shape} "
                            f"and ({dy}, {dx})")
    h, w = x.shape[1:3]
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    return padded[:, 1 - dy:h + 1 - dy, 1 - dx:w + 1 - dx]


def with_shifts(network, shifts: int = 8, name: str | None = None):
    """One Keras model (named ``name``, default the network's) whose output is the mean of ``network``'s
    probabilities over the image and its ``shifts`` one-pixel shifts (:data:`SHIFTS`). Each shift is a
    ``ZeroPadding2D`` then a ``Cropping2D``; the network enters once, as :data:`NETWORK`, a view that
    shares its layers and weights; its compile state is left behind. ``shifts=0`` returns ``network``."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    if check_shifts(shifts) == 0:
        return network
    if base_network(network) is not network:
        raise MnistlibError(f"model {network.name!r} already averages over shifts")
    layers = keras.layers
    view = keras.Model(network.inputs[0], network.outputs[0], name=NETWORK)
    image = keras.Input(INPUT_SHAPE, name="image")
    padded = layers.ZeroPadding2D(1, name="pad")(image)
    outputs = []
    for dy, dx in SHIFTS[shifts]:
        name_ = f"shift_{('up', '0', 'down')[dy + 1]}_{('left', '0', 'right')[dx + 1]}"
        crop = layers.Cropping2D(((1 - dy, 1 + dy), (1 - dx, 1 + dx)), name=name_)(padded)
        outputs.append(view(crop))
    return keras.Model(image, layers.Average(name=AVERAGE_LAYER)(outputs), name=name or network.name)


def shift_accuracies(network, x, y, settings=tuple(SHIFTS), batch_size: int = 1000) -> dict[int, float]:
    """Accuracy of ``network`` on images ``x`` (model inputs) with labels ``y`` for each number of shifts in
    ``settings``, each image's probabilities averaged over it and its shifts; every shifted copy is
    predicted once (notebook 07, ``benchmarks/bench_tta.py``)."""
    settings = [check_shifts(n) for n in settings]
    moves = {move for n in settings for move in SHIFTS[n]}
    probs = {move: network.predict(shifted(x, *move), batch_size=batch_size, verbose=0) for move in moves}
    y = np.asarray(y)
    return {n: float((np.mean([probs[m] for m in SHIFTS[n]], axis=0).argmax(axis=1) == y).mean()) for n in settings}


def base_network(model):
    """The network inside a model made by :func:`with_shifts`; any other model is returned as it is."""
    names = {layer.name for layer in getattr(model, "layers", [])}
    return model.get_layer(NETWORK) if {AVERAGE_LAYER, NETWORK} <= names else model


def shift_count(model) -> int:
    """How many one-pixel shifts ``model`` averages over (0 for a plain network)."""
    if base_network(model) is model:
        return 0
    from mnistlib.config import keras

    return sum(isinstance(layer, keras().layers.Cropping2D) for layer in model.layers) - 1


__all__ = ["AVERAGE_LAYER", "NETWORK", "SHIFTS", "base_network", "check_shifts", "shift_accuracies", "shift_count",
           "shifted", "with_shifts"]
