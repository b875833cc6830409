"""Model recipes as data, and the one function that builds them (notebook 06_build_models).

A :class:`Recipe` says what to build (a builder from :mod:`mnistlib.networks` and its
options, whether to put :func:`mnistlib.augment.augmentation` in front) and how to train it
(optimizer, learning rate and schedule, loss, label smoothing, epochs, batch size, extra
pen-variant digits). :data:`RECIPES` is the one registry; :func:`get_recipe` looks a name up,
:func:`register_recipe` adds one, :func:`build_model` turns a recipe into a compiled Keras model.
No code anywhere tests a recipe's name: a new model is a new :class:`Recipe`.

Recipes from the tutorials this course replaces, kept for comparison: ``keras_example`` (the
Keras "simple MNIST convnet", the speed reference), ``dense_128``, ``dense_50_sigmoid``,
``cnn_basic``, ``cnn_small``, ``cnn_dense64``. This course's own: ``dense`` (best dense
network), ``cnn_fast`` (fastest to 99 %) and ``cnn`` (best single model).

The loss follows the output layer. A softmax output is trained with (sparse) categorical
cross-entropy (``loss="categorical"``, the default). Ten independent sigmoids are trained
one-vs-rest with binary cross-entropy on one-hot labels (``loss="one_vs_rest"``,
:class:`OneVsRestCrossentropy`). A sigmoid output with the categorical loss is refused: with
Keras 3 on TensorFlow that loss silently takes the pre-sigmoid values as softmax logits, so the
"sigmoid" model would train exactly like a softmax one (notebook 06 shows it).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from mnistlib import networks
from mnistlib.augment import DEFAULTS as AUGMENT_DEFAULTS
from mnistlib.augment import augmentation
from mnistlib.config import PRECISIONS, compute_policy
from mnistlib.config import keras as _keras
from mnistlib.convolution import pca_filters
from mnistlib.errors import MnistlibError
from mnistlib.inputs import INPUT_SHAPE
from mnistlib.optim import (
    LOSSES, OPTIMIZERS, SCHEDULES, OneVsRestCrossentropy, compile_model, make_optimizer, make_schedule,
)
from mnistlib.tta import check_shifts, with_shifts

keras = _keras()

#: The number of MNIST training images: what a recipe's schedule is laid out for unless told otherwise.
TRAIN_SIZE = 60_000


@dataclass(frozen=True)
class Recipe:
    """A named model: what to build and how to train it. Pure data; :func:`build_model` builds it.

    ``network(x, **options)`` returns the output tensor for input ``x`` (:mod:`mnistlib.networks`).
    ``augment``: strengths for :func:`mnistlib.augment.augmentation` (``{}`` = its defaults),
    or ``None`` for no augmentation layers. ``schedule``: ``"onecycle"``, ``"cosine"`` or ``None``
    (constant ``learning_rate``). ``loss``: ``"categorical"`` (softmax output) or ``"one_vs_rest"``
    (sigmoid output, :class:`OneVsRestCrossentropy`). ``pen_copies``: pen variants of each training
    digit added to the training set (:func:`mnistlib.pens.pen_variants`, made by
    :func:`mnistlib.training.train_recipe`). ``flagged_ones``: the share of the training 1s added again with a flag,
    as many writers outside North America write them (:func:`mnistlib.forms.flagged_ones`; before the pen variants,
    which are then made of them too). ``lowres_pens``: the share of those pen variants written as low-resolution
    scans blown up instead (``pen_variants(..., lowres=...)``), ``elastic_pens`` the share bent by an elastic
    distortion (``pen_variants(..., elastic=...)``). ``ema``: momentum of an exponential moving average of the
    weights, which become the trained model (``None``: no averaging). ``precision``: ``"float32"``, or
    ``"bfloat16"`` for mixed precision where the CPU computes bfloat16 in hardware
    (:func:`mnistlib.config.compute_policy`; the trained model is handed back in float32,
    :func:`float32_copy`). ``shifts``: test-time augmentation, 0, 4 or 8: the trained network is saved
    inside a model that answers with the mean of its probabilities over the image and that many one-pixel
    shifts (:func:`mnistlib.tta.with_shifts`; training itself sees no shifts). ``params``: the documented
    parameter count (``None`` once the network's options are changed).
    """

    name: str
    description: str
    network: Callable
    options: Mapping = field(default_factory=dict)
    optimizer: str = "adam"
    loss: str = "categorical"
    learning_rate: float = 1e-3
    schedule: str | None = None
    label_smoothing: float = 0.0
    epochs: int = 10
    batch_size: int = 128
    augment: Mapping | None = None
    pen_copies: int = 0
    flagged_ones: float = 0.0
    lowres_pens: float = 0.0
    elastic_pens: float = 0.0
    ema: float | None = None
    precision: str = "float32"
    shifts: int = 0
    params: int | None = None

    def __post_init__(self):
        where = f"recipe {self.name!r}"
        self.check_options(self.options)
        if self.optimizer not in OPTIMIZERS:
            raise MnistlibError(f"{where}: unknown optimizer {self.optimizer!r}; use one of: {', '.join(OPTIMIZERS)}")
        if self.loss not in LOSSES:
            raise MnistlibError(f"{where}: unknown loss {self.loss!r}; use one of: {', '.join(LOSSES)}")
        if self.network_options().get("output") == "sigmoid" and self.loss != "one_vs_rest":
            raise MnistlibError(f"{where}: a sigmoid output layer needs loss='one_vs_rest' (categorical "
                                "cross-entropy would treat the pre-sigmoid values as softmax logits)")
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise MnistlibError(f"{where}: unknown schedule {self.schedule!r}; use one of: {', '.join(SCHEDULES)}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MnistlibError(f"{where}: {name} must be a positive integer, not {value!r}")
        if not (isinstance(self.pen_copies, int) and self.pen_copies >= 0):
            raise MnistlibError(f"{where}: pen_copies must be a whole number >= 0, not {self.pen_copies!r}")
        for name, of in (("flagged_ones", "the 1s"), ("lowres_pens", "the pen variants"),
                         ("elastic_pens", "the pen variants")):
            share = getattr(self, name)
            if isinstance(share, bool) or not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
                raise MnistlibError(f"{where}: {name} must be a share of {of} in [0, 1], not {share!r}")
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise MnistlibError(f"{where}: ema must be a momentum in (0, 1) or None, not {self.ema!r}")
        if self.precision not in PRECISIONS:
            raise MnistlibError(f"{where}: unknown precision {self.precision!r}; use one of: {', '.join(PRECISIONS)}")
        try:
            check_shifts(self.shifts)
        except MnistlibError as exc:
            raise MnistlibError(f"{where}: {exc}") from None
        if not self.learning_rate > 0:
            raise MnistlibError(f"{where}: learning_rate must be positive, not {self.learning_rate!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise MnistlibError(f"{where}: label_smoothing must be in [0, 1), not {self.label_smoothing!r}")
        if self.augment is not None:
            unknown = sorted(set(self.augment) - set(AUGMENT_DEFAULTS))
            if unknown:
                raise MnistlibError(f"{where}: unknown augmentation setting(s) {', '.join(unknown)}; "
                                    f"use: {', '.join(AUGMENT_DEFAULTS)}")

    def network_options(self) -> dict:
        """Every option the network takes, with the value this recipe uses (its own, else the default)."""
        params = list(inspect.signature(self.network).parameters.values())[1:]
        return {p.name: self.options.get(p.name, p.default) for p in params}

    def check_options(self, options: Mapping) -> None:
        """Refuse options the network does not take, naming the ones it does (checked on the signature)."""
        accepted = list(inspect.signature(self.network).parameters)[1:]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise MnistlibError(f"recipe {self.name!r}: its network {self.network.__name__} has no option "
                                f"{', '.join(map(repr, unknown))}; its options are: {', '.join(accepted) or 'none'}")

    def replace(self, **changes) -> Recipe:
        """A copy with some settings changed: recipe fields (``epochs=3``, ``learning_rate=1e-3``,
        ``augment=None``, ...) or network options (``widths=(16, 32)``, ``dropout=0.5``, ...)."""
        fields = {f.name for f in dataclasses.fields(self)}
        options = {k: changes.pop(k) for k in list(changes) if k not in fields}
        self.check_options(options)
        if options:
            changes["options"] = {**self.options, **options}
            changes.setdefault("params", None)
        return dataclasses.replace(self, **changes)

    def steps_per_epoch(self, train_size: int = TRAIN_SIZE, batch_size: int | None = None) -> int:
        """Optimizer steps in one epoch over ``train_size`` digits plus their pen variants (``train_size`` counts the
        flagged 1s of ``flagged_ones`` too, which :func:`mnistlib.training.train_recipe` adds before the variants)."""
        return math.ceil(train_size * (1 + self.pen_copies) / (batch_size or self.batch_size))

    def summary(self) -> dict:
        """The recipe as a flat dict (notebook 06 shows them as a table)."""
        return {"recipe": self.name, "network": self.network.__name__, "params": self.params,
                "optimizer": self.optimizer, "loss": self.loss, "learning_rate": self.learning_rate,
                "schedule": self.schedule or "constant",
                "label_smoothing": self.label_smoothing, "epochs": self.epochs, "batch_size": self.batch_size,
                "augment": self.augment is not None, "pen_copies": self.pen_copies,
                "flagged_ones": self.flagged_ones, "ema": self.ema,
                "precision": self.precision, "shifts": self.shifts, "description": self.description}


#: The registry: recipe name -> :class:`Recipe` (what ``mnistlib train --model`` accepts).
RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe, *, replace: bool = False) -> Recipe:
    """Add ``recipe`` to :data:`RECIPES` (``replace=True`` to redefine a name); returns it."""
    if recipe.name in RECIPES and not replace:
        raise MnistlibError(f"a recipe called {recipe.name!r} exists; pass replace=True to redefine it")
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(recipe: str | Recipe) -> Recipe:
    """The :class:`Recipe` called ``recipe`` (a Recipe is returned as it is); unknown names list the valid ones."""
    if isinstance(recipe, Recipe):
        return recipe
    try:
        return RECIPES[recipe]
    except (KeyError, TypeError):
        raise MnistlibError(f"unknown model {recipe!r}; choose one of: {', '.join(RECIPES)}") from None


def first_filters(recipe: str | Recipe, images, seed: int = 0):
    """The fixed first-layer filters of ``recipe`` for training on ``images``: ``(weights, bias)`` from
    :func:`mnistlib.convolution.pca_filters` when its network has ``pca_first`` (``cnn_fast``), else ``None``
    (notebook 06; :func:`mnistlib.training.train_recipe` passes them to :func:`build_model`)."""
    options = get_recipe(recipe).network_options()
    if not options.get("pca_first"):
        return None
    width = options["widths"][0]
    if width % 2:
        raise MnistlibError(f"a PCA first layer has each component and its negative: its width must be even, "
                            f"not {width}")
    return pca_filters(images, options["kernel"], width // 2, seed=seed)


def build_model(recipe: str | Recipe, *, train_size: int = TRAIN_SIZE, epochs: int | None = None,
                batch_size: int | None = None, fixed_filters=None):
    """Build and compile ``recipe`` (a name or a :class:`Recipe`) (notebook 06).

    Input ``(28, 28, 1)`` -> the recipe's augmentation (active only in training) -> its network;
    compiled with its optimizer, loss (:data:`LOSSES`) and learning-rate schedule. A schedule is laid out over
    ``epochs`` x :meth:`Recipe.steps_per_epoch` steps (by default the recipe's own epochs over the
    60,000 training digits and their pen variants), which is exactly what
    :func:`mnistlib.training.train_recipe` passes for the data it trains on. Weights and
    augmentation follow Keras' global seed: call :func:`mnistlib.config.new_model_session` first.
    The network (not the augmentation) is built under the recipe's :func:`~mnistlib.config.compute_policy`;
    its output layer always computes in float32. ``fixed_filters``: ``(weights, bias)`` for a fixed first layer
    (:func:`first_filters`); a recipe with one built without them keeps random filters there (enough to look at
    its layers, not to train it well).
    """
    rec = get_recipe(recipe)
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = augmentation(**rec.augment)(inputs) if rec.augment is not None else inputs
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(compute_policy(rec.precision))
    try:
        model = keras.Model(inputs, rec.network(x, **rec.options), name=rec.name)
    finally:
        keras.mixed_precision.set_global_policy(before)
    if fixed_filters is not None:
        fixed = {layer.name: layer for layer in model.layers}.get("pca_filters")
        if fixed is None:
            raise MnistlibError(f"recipe {rec.name!r} has no fixed first layer to take fixed_filters")
        fixed.set_weights(list(fixed_filters)[:len(fixed.get_weights())])  # (no bias before a BatchNorm)
    steps = (epochs or rec.epochs) * rec.steps_per_epoch(train_size, batch_size)
    optimizer = make_optimizer(rec.optimizer, make_schedule(rec.schedule, rec.learning_rate, steps), rec.ema)
    return compile_model(model, optimizer, label_smoothing=rec.label_smoothing, loss=rec.loss)


def float32_copy(model, recipe: str | Recipe):
    """``model`` (built by :func:`build_model` from ``recipe``) with every layer computing in float32, the same
    layer names and weights, compiled afresh: what a mixed-precision recipe saves and predicts with, so that
    its file and LiteRT export run on any CPU (:func:`mnistlib.training.train_recipe`). A float32 model is
    returned as it is."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    rec = get_recipe(recipe)

    def in_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=in_float32)
    copy.set_weights(model.get_weights())
    return compile_model(copy, make_optimizer(rec.optimizer, rec.learning_rate), label_smoothing=rec.label_smoothing,
                         loss=rec.loss)


def final_model(model, recipe: str | Recipe):
    """The model ``recipe`` saves and predicts with, made from the ``model`` it trained
    (:func:`mnistlib.training.train_recipe`): in float32 (:func:`float32_copy`), and inside
    :func:`mnistlib.tta.with_shifts` when the recipe averages over shifts (compiled with the network's
    optimizer, which holds the shared weights' training state)."""
    rec = get_recipe(recipe)
    model = float32_copy(model, rec)
    if not rec.shifts:
        return model
    return compile_model(with_shifts(model, rec.shifts), model.optimizer, label_smoothing=rec.label_smoothing,
                         loss=rec.loss)


def recipe_table():
    """:data:`RECIPES` as a ``pandas.DataFrame``, one row per recipe (notebook 06)."""
    return pd.DataFrame([r.summary() for r in RECIPES.values()]).set_index("recipe")


for _recipe in (
    Recipe("keras_example", "Keras 'simple MNIST convnet': conv32-conv64, dropout 0.5, Adam, batch 128 "
           "(the speed reference)", networks.tutorial_cnn, {"dropout": 0.5}, epochs=15, params=34_826),
    Recipe("dense_128", "Flatten -> 128 -> 128 -> softmax, Adam (tutorial dense network)",
           networks.tutorial_dense, {"units": 128}, batch_size=32, params=118_282),
    Recipe("dense_50_sigmoid", "Flatten -> 50 -> 50 -> ten sigmoids trained one-vs-rest (binary cross-entropy on "
           "one-hot labels), Adam (tutorial: a sigmoid output layer)",
           networks.tutorial_dense, {"units": 50, "output": "sigmoid"}, loss="one_vs_rest", batch_size=32,
           params=42_310),
    Recipe("cnn_basic", "Conv32 -> MaxPool -> Dense 100 -> softmax, SGD lr 0.01 momentum 0.9, He init (tutorial CNN)",
           networks.tutorial_cnn, {"convs": 1, "dense_units": 100}, optimizer="sgd", learning_rate=1e-2,
           batch_size=32, params=542_230),
    Recipe("cnn_small", "Conv32 -> MaxPool -> Conv64 -> MaxPool -> Dropout 0.3 -> softmax, Adam",
           networks.tutorial_cnn, {"dropout": 0.3}, params=34_826),
    Recipe("cnn_dense64", "Conv32 -> MaxPool -> Conv64 -> MaxPool -> Dense 64 -> softmax, Adam",
           networks.tutorial_cnn, {"dense_units": 64}, params=121_930),
    Recipe("dense", "best dense network: augmentation, 2 x (Dense 512 + BatchNorm + ReLU + Dropout 0.2), label "
           "smoothing 0.1, one-cycle Adam 3e-3, batch 256, 12 epochs (augmentation and label smoothing chosen on "
           "validation folds: benchmarks/bench_select.py)", networks.dense, {}, learning_rate=3e-3,
           schedule="onecycle", label_smoothing=0.1, epochs=12, batch_size=256, augment={}, params=672_778),
    Recipe("cnn_fast", "fastest to 99 %: a fixed first layer (Conv8 5x5 = the training patches' 4 whitened principal "
           "components and their negatives, not trained: no gradients for it or into it)-Pool, Conv24 5x5-Pool, both "
           "with LeNet's valid padding (no BatchNorm on conv maps: slow on a CPU), Dense 128-BN, softmax; label "
           "smoothing 0.1, one-cycle Adam 8e-3, batch 128, 3 epochs, bfloat16 where the CPU has it (chosen on "
           "validation folds: benchmarks/bench_select.py)",
           networks.convnet, {"widths": (8, 24), "kernel": 5, "dense_units": 128, "padding": "valid",
                              "pca_first": True},
           learning_rate=8e-3, schedule="onecycle", label_smoothing=0.1, epochs=3, batch_size=128,
           precision="bfloat16", params=55_986),
    Recipe("cnn", "best single model: augmentation (rotation, shear, zoom, shift, stroke width), half the training "
           "1s again with a flag (benchmarks/bench_styles.py) and one pen variant per training digit; Conv32-Pool, "
           "Conv64-Pool, Dense 128-BN, Dropout 0.25; one-cycle Adam 3e-3, batch 128, 10 epochs; answers with the "
           "mean over the image and its 8 one-pixel shifts (chosen on held-out images: benchmarks/bench_tta.py)",
           networks.convnet, {"dropout": 0.25}, learning_rate=3e-3, schedule="onecycle", augment={},
           flagged_ones=0.5, pen_copies=1, shifts=8, params=422_026),
):
    register_recipe(_recipe)


__all__ = ["RECIPES", "TRAIN_SIZE", "Recipe", "build_model", "final_model", "first_filters", "float32_copy",
           "get_recipe", "recipe_table", "register_recipe"]
