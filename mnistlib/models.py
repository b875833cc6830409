"""Named model recipes, saving and loading (notebook 04_build_models; 05_train and 07_predict load them).

Every model eats float32 ``(N, 28, 28, 1)`` images in [0, 1]
(:func:`mnistlib.preprocess.prepare_images`), takes integer labels 0..9 and outputs
10 class scores (softmax probabilities; ``dense_50_sigmoid`` outputs ten independent
sigmoids, which is the point of that recipe). :func:`build_model` returns a compiled
model with the recipe's own optimizer and loss; the recipe's training defaults
(epochs, batch size, learning-rate schedule) are in :func:`recipe`.

Recipes from the tutorials this course replaces, kept for comparison:
``keras_example`` (the Keras "simple MNIST convnet", the speed reference), ``dense_128``,
``dense_50_sigmoid``, ``cnn_basic``, ``cnn_small``, ``cnn_dense64``. This project's own:
``dense`` (best dense baseline), ``cnn_fast`` (fastest way to 99 %) and ``cnn`` (best
single model, with the augmentation of :mod:`mnistlib.augment`).

Saving: :func:`save_model` writes ``X.keras`` plus a JSON card ``X.json`` (recipe,
seed, epochs, test accuracy, training seconds, library versions, date), both atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mnistlib.config import DEFAULT_SEED, set_seed
from mnistlib.config import keras as _keras
from mnistlib.errors import MnistlibError

keras = _keras()
layers = keras.layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


class ModelFileError(MnistlibError):
    """A model file is missing, unreadable or not a Keras model."""


# --------------------------------------------------------------------------- schedules


@keras.saving.register_keras_serializable(package="mnistlib")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle learning rate: linear warm-up to ``peak`` over ``warmup`` of the steps, then cosine to ~0."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.2, floor: float = 0.0):
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup = float(warmup)
        self.floor = float(floor)

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        total = float(max(1, self.total_steps))
        up = max(1.0, self.warmup * total)
        warm = self.peak * (step + 1.0) / up
        progress = ops.clip((step - up) / max(1.0, total - up), 0.0, 1.0)
        cos = self.floor + 0.5 * (self.peak - self.floor) * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < up, warm, cos)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup, "floor": self.floor}


def make_schedule(kind: str | None, peak: float, total_steps: int):
    """``"onecycle"``, ``"cosine"`` or ``None``/``"constant"`` -> a Keras learning-rate schedule (or the float)."""
    if kind in (None, "constant", "none"):
        return float(peak)
    if kind == "onecycle":
        return OneCycle(peak, total_steps)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(float(peak), max(1, int(total_steps)))
    raise MnistlibError(f"unknown learning-rate schedule {kind!r}; use onecycle, cosine or constant")


@keras.saving.register_keras_serializable(package="mnistlib")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy for integer labels with label smoothing (Keras' sparse loss has none).

    The true class gets ``1 - s + s/10`` and every other class ``s/10``: the model is not pushed
    to infinite confidence, which helps a short training generalise (``cnn_fast``).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        onehot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        return super().get_config() | {"label_smoothing": self.label_smoothing}


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """A named model: how to build it, its optimizer, and its training defaults."""

    name: str
    description: str
    build: Callable[..., object]  # (**overrides) -> uncompiled keras.Model
    optimizer: str  # "adam", "adamw", "sgd"
    lr: float  # the (peak) learning rate
    epochs: int
    batch_size: int
    schedule: str | None = None  # "onecycle", "cosine" or None (constant)
    params: int = 0  # documented number of parameters (checked by the tests)
    jit_compile: bool = False
    label_smoothing: float = 0.0
    pen_copies: int = 0  # extra training digits per image (mnistlib.augment.pen_variants), made by train()


def _inputs():
    return keras.Input(shape=INPUT_SHAPE, name="image")


def _softmax(x):
    return layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)


def _tutorial_convs(x):
    """Conv32 -> MaxPool -> Conv64 -> MaxPool -> Flatten: the trunk the tutorial CNNs share."""
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    return layers.Flatten()(x)


def _build_keras_example():
    x = inp = _inputs()
    x = layers.Dropout(0.5)(_tutorial_convs(x))
    return keras.Model(inp, _softmax(x), name="keras_example")


def _tutorial_dense(x, units: int):
    """Flatten -> Dense(units) -> Dense(units), ReLU: the trunk the tutorial dense networks share."""
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(units, activation="relu")(x)
    return x


def _build_dense_128():
    x = inp = _inputs()
    return keras.Model(inp, _softmax(_tutorial_dense(x, 128)), name="dense_128")


def _build_dense_50_sigmoid():
    x = inp = _inputs()
    out = layers.Dense(NUM_CLASSES, activation="sigmoid", name="probabilities")(_tutorial_dense(x, 50))
    return keras.Model(inp, out, name="dense_50_sigmoid")


def _build_cnn_basic():
    x = inp = _inputs()
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_uniform")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(100, activation="relu", kernel_initializer="he_uniform")(x)
    return keras.Model(inp, _softmax(x), name="cnn_basic")


def _build_cnn_small():
    x = inp = _inputs()
    x = layers.Dropout(0.3)(_tutorial_convs(x))
    return keras.Model(inp, _softmax(x), name="cnn_small")


def _build_cnn_dense64():
    x = inp = _inputs()
    x = layers.Dense(64, activation="relu")(_tutorial_convs(x))
    return keras.Model(inp, _softmax(x), name="cnn_dense64")


def _build_dense(units: int = 512, dropout: float = 0.2):
    x = inp = _inputs()
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(dropout)(x)
    return keras.Model(inp, _softmax(x), name="dense")


def _conv_bn(x, filters, kernel=3, padding="same", momentum=0.9, bn=True):
    if not bn:  # BatchNorm on conv maps is the slowest layer on a CPU
        return layers.Conv2D(filters, kernel, padding=padding, activation="relu")(x)
    x = layers.Conv2D(filters, kernel, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.Activation("relu")(x)


def _convnet(name, widths, dense, dropout=0.0, kernel=3, momentum=0.9, augment=None, padding="same", conv_bn=True,
             dense_bn=True):
    """[Conv-(BN)-ReLU-MaxPool] per width, Flatten, [Dense-(BN)-ReLU], [Dropout], softmax.

    ``kernel`` is one size for every conv layer or one per layer."""
    x = inp = _inputs()
    if augment is not None:
        x = augment(x)
    kernels = [kernel] * len(widths) if isinstance(kernel, int) else list(kernel)
    for w, k in zip(widths, kernels):
        x = _conv_bn(x, w, k, padding=padding, momentum=momentum, bn=conv_bn)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    if dense and dense_bn:
        x = layers.Dense(dense, use_bias=False)(x)
        x = layers.BatchNormalization(momentum=momentum)(x)
        x = layers.Activation("relu")(x)
    elif dense:
        x = layers.Dense(dense, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(inp, _softmax(x), name=name)


def _build_cnn_fast(widths=(16, 32), dense: int = 128, kernel=5, momentum: float = 0.9,
                    padding: str = "same", conv_bn: bool = False, dense_bn: bool = True):
    return _convnet("cnn_fast", widths, dense, 0.0, kernel, momentum, padding=padding, conv_bn=conv_bn,
                    dense_bn=dense_bn)


def _build_cnn(widths=(32, 64), dense: int = 128, dropout: float = 0.25, kernel: int = 3, momentum: float = 0.9,
               seed: int | None = None, augment: bool = True, conv_bn: bool = False, **strengths):
    from mnistlib.augment import augmentation

    aug = augmentation(seed=seed, **strengths) if augment else None
    return _convnet("cnn", widths, dense, dropout, kernel, momentum, aug, conv_bn=conv_bn)


_RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("keras_example", "Keras 'simple MNIST convnet': conv32-conv64, dropout 0.5, Adam, batch 128 "
               "(the speed reference)", _build_keras_example, "adam", 1e-3, 15, 128, params=34_826),
        Recipe("dense_128", "Flatten -> 128 -> 128 -> softmax, Adam (tutorial dense network)",
               _build_dense_128, "adam", 1e-3, 10, 32, params=118_282),
        Recipe("dense_50_sigmoid", "Flatten -> 50 -> 50 -> sigmoid output, Adam (why softmax is the right output)",
               _build_dense_50_sigmoid, "adam", 1e-3, 10, 32, params=42_310),
        Recipe("cnn_basic", "Conv32 -> MaxPool -> Dense 100 -> softmax, SGD lr 0.01 momentum 0.9, He init "
               "(tutorial CNN)", _build_cnn_basic, "sgd", 1e-2, 10, 32, params=542_230),
        Recipe("cnn_small", "Conv32 -> MaxPool -> Conv64 -> MaxPool -> Dropout 0.3 -> softmax, Adam",
               _build_cnn_small, "adam", 1e-3, 10, 128, params=34_826),
        Recipe("cnn_dense64", "Conv32 -> MaxPool -> Conv64 -> MaxPool -> Dense 64 -> softmax, Adam",
               _build_cnn_dense64, "adam", 1e-3, 10, 128, params=121_930),
        Recipe("dense", "best dense baseline: 2 x (Dense 512 + BatchNorm + ReLU + Dropout), one-cycle Adam",
               _build_dense, "adam", 3e-3, 12, 256, schedule="onecycle", params=672_778),
        Recipe("cnn_fast", "fastest to 99 %: Conv16 5x5-Pool, Conv32 5x5-Pool (no BatchNorm on conv maps: "
               "slow on a CPU), Dense 128-BN, softmax; label smoothing 0.1, one-cycle Adam 5e-3, batch 128, 1 epoch",
               _build_cnn_fast, "adam", 5e-3, 1, 128, schedule="onecycle", params=215_754, label_smoothing=0.1),
        Recipe("cnn", "best single model: augmentation (rotation, shear, zoom, shift, stroke width) and one pen "
               "variant per training digit; Conv32-Pool, Conv64-Pool, Dense 128-BN, Dropout 0.25; one-cycle Adam, "
               "batch 128, 10 epochs", _build_cnn, "adam", 3e-3, 10, 128, schedule="onecycle", params=422_026,
               pen_copies=1),
    )
}

#: Recipe name -> one-line description (what ``mnistlib train --model`` accepts).
RECIPES: dict[str, str] = {name: r.description for name, r in _RECIPES.items()}

#: Recipe name -> documented number of parameters (trainable + BatchNorm statistics).
PARAMS: dict[str, int] = {name: r.params for name, r in _RECIPES.items()}


def recipe(name: str) -> Recipe:
    """The :class:`Recipe` called ``name`` (unknown names -> :class:`MnistlibError` listing the valid ones)."""
    try:
        return _RECIPES[name]
    except (KeyError, TypeError):
        raise MnistlibError(f"unknown model {name!r}; choose one of: {', '.join(_RECIPES)}") from None


def make_optimizer(kind: str, learning_rate):
    """A fresh Keras optimizer of ``kind`` ("adam", "adamw", "sgd") with ``learning_rate`` (float or schedule)."""
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate)
    if kind == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=1e-4)
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise MnistlibError(f"unknown optimizer {kind!r}")


def compile_model(model, optimizer, *, jit_compile: bool = False, label_smoothing: float = 0.0):
    """Compile ``model`` for integer labels with accuracy as the metric (``label_smoothing`` > 0
    uses :class:`SmoothedSparseCrossentropy`)."""
    model.compile(
        optimizer=optimizer,
        loss=SmoothedSparseCrossentropy(label_smoothing) if label_smoothing else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def build_model(name: str, seed: int | None = None, *, learning_rate=None, jit_compile: bool | None = None,
                **overrides):
    """Build and compile recipe ``name`` (notebook 04).

    ``seed`` (if given) is passed to :func:`mnistlib.config.set_seed` first so the
    initial weights are reproducible. ``learning_rate`` (float or Keras schedule)
    replaces the recipe's constant rate; other ``overrides`` go to the recipe's
    builder (e.g. ``widths=(16, 32)``, ``units=256``, augmentation strengths for ``cnn``).
    """
    r = recipe(name)
    if seed is not None:
        set_seed(seed)
    if name == "cnn":
        overrides.setdefault("seed", seed)
    try:
        model = r.build(**overrides)
    except TypeError as exc:
        raise MnistlibError(f"bad option for model {name!r}: {exc}") from None
    lr = r.lr if learning_rate is None else learning_rate
    return compile_model(model, make_optimizer(r.optimizer, lr), label_smoothing=r.label_smoothing,
                         jit_compile=r.jit_compile if jit_compile is None else jit_compile)


def count_params(name_or_model) -> int:
    """Number of parameters of a recipe (by name) or of a built model."""
    model = build_model(name_or_model) if isinstance(name_or_model, str) else name_or_model
    return int(model.count_params())


# --------------------------------------------------------------------------- saving


def _card_path(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model card records."""
    import numpy
    import sklearn

    from mnistlib import __version__

    tf = __import__("tensorflow")
    return {"python": platform.python_version(), "mnistlib": __version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__}


def _atomic_target(path: Path, suffix: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual permissions
    return Path(tmp)


def save_model(model, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Save ``model`` to ``path`` (``.keras``) and its JSON card beside it, both atomically (notebook 05).

    The card gets ``recipe``/``seed``/``epochs``/``test_accuracy``/``train_seconds`` from
    ``card`` (missing ones are null) plus ``params``, ``library_versions``, ``date`` and
    ``file``. The optimizer state is not kept (the file is for prediction; it stays small);
    :func:`load_model` compiles the model again (Adam, sparse cross-entropy, accuracy).
    Returns the model path.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise MnistlibError(f"model files end in .keras: {path}")
    info = {"recipe": None, "seed": None, "epochs": None, "test_accuracy": None, "train_seconds": None}
    info.update(card or {})
    info.update({
        "params": int(model.count_params()),
        "library_versions": library_versions(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "file": path.name,
    })
    # An uncompiled copy (no optimizer state): same weights, a third of the size.
    slim = type(model).from_config(model.get_config())
    slim.set_weights(model.get_weights())
    tmp_model = _atomic_target(path, ".keras")
    tmp_card = _atomic_target(_card_path(path), ".json")
    try:
        slim.save(tmp_model)
        tmp_card.write_text(json.dumps(info, indent=2, default=_jsonable) + "\n")
        os.replace(tmp_model, path)
        os.replace(tmp_card, _card_path(path))
    finally:
        for tmp in (tmp_model, tmp_card):
            tmp.unlink(missing_ok=True)
    return path


def _jsonable(value):
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` model saved by :func:`save_model` (notebooks 06, 07).

    A missing, unreadable or corrupt file -> :class:`ModelFileError` naming the file.
    """
    import mnistlib.augment  # noqa: F401  (registers the custom layer before deserialising)

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"not a Keras model file (corrupt or wrong format): {path}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a bad file
        first = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"cannot load model file {path}: {first or type(exc).__name__}") from None
    return compile_model(model, make_optimizer("adam", 1e-3))  # ready for model.evaluate()


def load_card(path: str | os.PathLike) -> dict:
    """The JSON card of the model at ``path`` (``X.keras`` -> ``X.json``; a ``.json`` path is read directly)."""
    card = Path(path) if str(path).endswith(".json") else _card_path(path)
    try:
        return json.loads(card.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"model card not found: {card}") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read model card {card}: {exc}") from None


__all__ = [
    "DEFAULT_SEED", "PARAMS", "RECIPES", "ModelFileError", "OneCycle", "Recipe", "build_model", "compile_model",
    "count_params", "load_card", "load_model", "make_optimizer", "make_schedule", "recipe", "save_model",
]
