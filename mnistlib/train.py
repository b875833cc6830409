"""Training and k-fold cross-validation (notebook 05_train).

:func:`train` fits a recipe (by name) or a compiled model on float32 ``(N, 28, 28, 1)``
images and integer labels, with an optional stratified validation split, a seed, a
learning-rate schedule and callbacks, under the current ``tf.distribute`` strategy
(so the same code uses GPUs where present). It returns a :class:`TrainResult` with the
Keras history, per-epoch training wall time (evaluation excluded) and, when
``test_data`` is given, per-epoch test accuracy (for learning curves only, never to
pick a model).

:func:`cross_validate` runs stratified k-fold cross-validation of a recipe and returns
a tidy table, one row per fold; :func:`cv_summary` gives mean ± standard deviation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mnistlib.config import DEFAULT_SEED, new_model_session
from mnistlib.config import keras as _keras
from mnistlib.errors import MnistlibError

keras = _keras()


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``history``: Keras' per-epoch metrics (``loss``, ``accuracy``, ``val_*``);
    ``epoch_seconds``: training wall time of each epoch (validation and test
    evaluation excluded; the first epoch includes making the recipe's extra training
    digits, :func:`mnistlib.augment.pen_variants`); ``train_seconds``: their cumulative sum;
    ``test_accuracy``: accuracy on ``test_data`` after each epoch (empty without it);
    ``total_seconds``: wall time of the whole call; ``model``: the trained model.
    """

    model: object
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test_accuracy: list[float] = field(default_factory=list)
    total_seconds: float = 0.0
    recipe: str | None = None
    seed: int | None = None
    epochs: int = 0
    batch_size: int = 0

    @property
    def train_seconds(self) -> list[float]:
        """Cumulative training seconds after each epoch."""
        return list(np.cumsum(self.epoch_seconds).round(3))

    @property
    def seconds(self) -> float:
        """Total training seconds (evaluation excluded)."""
        return float(sum(self.epoch_seconds))

    def epochs_table(self):
        """A tidy ``pandas.DataFrame``: one row per epoch with the history, seconds and test accuracy."""
        import pandas as pd

        table = pd.DataFrame(self.history)
        table.insert(0, "epoch", np.arange(1, len(self.epoch_seconds) + 1))
        table["train_seconds"] = self.train_seconds
        if self.test_accuracy:
            table["test_accuracy"] = self.test_accuracy
        return table


class EpochTimer(keras.callbacks.Callback):
    """Times each epoch's training (Keras' validation pass excluded) and, optionally, scores a test set.

    ``on_epoch`` (if given) is called as ``on_epoch(epoch, cumulative_train_seconds,
    test_accuracy_or_None)`` after each epoch — :mod:`mnistlib.cli.train` prints JSON lines with it.
    """

    def __init__(self, test_data=None, batch_size: int = 1000, on_epoch: Callable | None = None,
                 prep_seconds: float = 0.0):
        super().__init__()
        self.prep_seconds = prep_seconds  # added to the first epoch (training data made for it)
        self.test_data = test_data
        self.batch_size = batch_size
        self.on_epoch = on_epoch
        self.epoch_seconds: list[float] = []
        self.test_accuracy: list[float] = []
        self._start = 0.0
        self._val = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._val = 0.0
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self._val_start = time.perf_counter()

    def on_test_end(self, logs=None):
        self._val += time.perf_counter() - self._val_start

    def on_epoch_end(self, epoch, logs=None):
        extra = self.prep_seconds if not self.epoch_seconds else 0.0
        self.epoch_seconds.append(time.perf_counter() - self._start - self._val + extra)
        accuracy = None
        if self.test_data is not None:
            x, y = self.test_data
            probs = self.model.predict(x, batch_size=self.batch_size, verbose=0)
            accuracy = float(np.mean(np.argmax(probs, axis=1) == np.asarray(y)))
            self.test_accuracy.append(accuracy)
            if logs is not None:
                logs["test_accuracy"] = accuracy
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, float(sum(self.epoch_seconds)), accuracy)


def _check_xy(x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1) or x.dtype != np.float32:
        raise MnistlibError(
            f"images must be float32 (N, 28, 28, 1) from prepare_images, not {x.dtype} {x.shape}")
    if len(x) != len(y):
        raise MnistlibError(f"{len(x)} images but {len(y)} labels")
    return x, y.astype(np.int64)


def train(
    name_or_model,
    x_train,
    y_train,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = DEFAULT_SEED,
    validation_split: float = 0.0,
    validation_data=None,
    schedule: str | None = "recipe",
    learning_rate: float | None = None,
    callbacks: Sequence = (),
    test_data=None,
    on_epoch: Callable | None = None,
    verbose: int = 2,
    **overrides,
) -> TrainResult:
    """Train a recipe (by name) or a compiled Keras model (notebook 05).

    ``epochs``/``batch_size``/``learning_rate``/``schedule`` default to the recipe's
    (a model passed in keeps its optimizer and gets ``epochs=5``, ``batch_size=128``).
    ``schedule``: ``"onecycle"``, ``"cosine"``, ``"constant"``/``None`` or ``"recipe"``
    (the recipe's own); any other schedule replaces the model's optimizer by a fresh
    one of the same kind. ``validation_split`` holds out a stratified fraction of the
    training set (:func:`mnistlib.preprocess.train_val_split`); ``validation_data``
    gives one explicitly. ``test_data=(x, y)`` scores the test set after every epoch
    (reported, never used for decisions). ``seed`` seeds everything (a recipe is
    built after :func:`mnistlib.config.new_model_session`). Extra ``overrides`` go to
    :func:`mnistlib.models.build_model`. A recipe with ``pen_copies`` (``cnn``) also trains
    on that many :func:`mnistlib.augment.pen_variants` of each training digit (made after the
    validation split; not with ``augment=False``).
    """
    from mnistlib import models
    from mnistlib.config import set_seed, tf
    from mnistlib.preprocess import train_val_split

    x_train, y_train = _check_xy(x_train, y_train)
    name = name_or_model if isinstance(name_or_model, str) else None
    rec = models.recipe(name) if name else None
    epochs = int(epochs if epochs is not None else (rec.epochs if rec else 5))
    batch_size = int(batch_size if batch_size is not None else (rec.batch_size if rec else 128))
    if epochs < 1:
        raise MnistlibError(f"epochs must be a positive integer, not {epochs}")
    if batch_size < 1:
        raise MnistlibError(f"batch size must be a positive integer, not {batch_size}")

    if validation_split and validation_data is not None:
        raise MnistlibError("give validation_split or validation_data, not both")
    if validation_split:
        x_train, x_val, y_train, y_val = train_val_split(x_train, y_train, validation_split, seed)
        validation_data = (x_val, y_val)
    elif validation_data is not None:
        validation_data = _check_xy(*validation_data)
    if test_data is not None:
        test_data = _check_xy(*test_data)
    prep = time.perf_counter()
    if rec is not None and rec.pen_copies and overrides.get("augment", True):
        from mnistlib.augment import pen_variants

        x_train = np.concatenate([x_train, pen_variants(x_train, rec.pen_copies, seed=seed)])
        y_train = np.tile(y_train, rec.pen_copies + 1)
    prep = time.perf_counter() - prep

    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    start = time.perf_counter()
    strategy = tf().distribute.get_strategy()
    with strategy.scope():
        if rec is not None:
            new_model_session(seed)
            kind = rec.schedule if schedule == "recipe" else schedule
            lr = models.make_schedule(kind, learning_rate or rec.lr, steps)
            model = models.build_model(name, seed=seed, learning_rate=lr, **overrides)
        else:
            if overrides:
                raise MnistlibError(f"options {sorted(overrides)} only apply to a recipe name, not a model")
            set_seed(seed)
            model = name_or_model
            if schedule != "recipe" or learning_rate is not None:
                opt = model.optimizer
                peak = learning_rate or float(keras.ops.convert_to_numpy(opt.learning_rate))
                lr = models.make_schedule(None if schedule == "recipe" else schedule, peak, steps)
                config = opt.get_config() | {"learning_rate": lr}
                config.pop("name", None)
                models.compile_model(model, type(opt)(**config), jit_compile=bool(model.jit_compile))
    timer = EpochTimer(test_data, on_epoch=on_epoch, prep_seconds=prep)
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True,
        validation_data=validation_data, callbacks=[timer, *callbacks], verbose=verbose,
    )
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items() if k != "test_accuracy"}
    return TrainResult(
        model=model, history=hist, epoch_seconds=[round(s, 4) for s in timer.epoch_seconds],
        test_accuracy=timer.test_accuracy, total_seconds=time.perf_counter() - start,
        recipe=name or getattr(model, "name", None), seed=seed, epochs=epochs, batch_size=batch_size,
    )


def cross_validate(
    name: str,
    x,
    y,
    k: int = 5,
    epochs: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    batch_size: int | None = None,
    progress: bool = True,
    **overrides,
):
    """Stratified k-fold cross-validation of recipe ``name`` (notebook 05).

    Each fold trains a fresh model (seeded with ``seed``) on k-1 parts and scores the
    held-out part. Returns a tidy ``pandas.DataFrame``, one row per fold: ``fold``,
    ``accuracy``, ``loss``, ``seconds`` (training time), ``n_train``, ``n_val``.
    :func:`cv_summary` turns it into mean ± sd. A tqdm bar shows progress over folds.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from mnistlib import models
    from mnistlib.preprocess import kfold_splits

    models.recipe(name)  # fail early on an unknown name
    x, y = _check_xy(x, y)
    k = int(k)
    rows = []
    folds = list(kfold_splits(y, k=k, seed=seed))
    for fold, (tr, va) in enumerate(tqdm(folds, desc=f"{name} {k}-fold CV", unit="fold", disable=not progress),
                                    start=1):
        result = train(name, x[tr], y[tr], epochs=epochs, batch_size=batch_size, seed=seed, verbose=0,
                       **overrides)
        loss, accuracy = result.model.evaluate(x[va], y[va], batch_size=1000, verbose=0)
        rows.append({"fold": fold, "accuracy": float(accuracy), "loss": float(loss),
                     "seconds": round(result.seconds, 3), "n_train": len(tr), "n_val": len(va)})
    return pd.DataFrame(rows)


def cv_summary(table) -> dict[str, float]:
    """Mean and sample standard deviation of a :func:`cross_validate` table's accuracy and loss."""
    return {
        "folds": int(len(table)),
        "accuracy_mean": float(table["accuracy"].mean()),
        "accuracy_sd": float(table["accuracy"].std(ddof=1)) if len(table) > 1 else 0.0,
        "loss_mean": float(table["loss"].mean()),
        "loss_sd": float(table["loss"].std(ddof=1)) if len(table) > 1 else 0.0,
    }


def train_and_save(
    name: str,
    out=None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = DEFAULT_SEED,
    on_epoch: Callable | None = None,
    verbose: int = 0,
    prof=None,
) -> tuple[TrainResult, object]:
    """Train recipe ``name`` on the profile's training images and save it with its card (``mnistlib train``).

    The test images are scored after each epoch (reported, never used for decisions). ``out``
    defaults to ``<profile models folder>/<name>.keras`` (``models/`` in the full profile).
    Returns the :class:`TrainResult` and the saved path.
    """
    from pathlib import Path

    from mnistlib.config import profile
    from mnistlib.data import load_mnist
    from mnistlib.models import recipe, save_model
    from mnistlib.preprocess import prepare_images, profile_subset

    rec = recipe(name)
    prof = prof or profile()
    out = Path(out) if out is not None else prof.models_dir / f"{name}.keras"
    if out.suffix != ".keras":
        raise MnistlibError(f"model files end in .keras: {out}")
    epochs = prof.epochs(epochs or rec.epochs)
    data = profile_subset(load_mnist(), prof, seed=seed)
    x_train, x_test = prepare_images(data.x_train), prepare_images(data.x_test)
    result = train(name, x_train, data.y_train, epochs=epochs, batch_size=batch_size, seed=seed,
                   test_data=(x_test, data.y_test), on_epoch=on_epoch, verbose=verbose)
    path = save_model(result.model, out, {
        "recipe": name, "seed": seed, "epochs": epochs, "batch_size": result.batch_size,
        "test_accuracy": result.test_accuracy[-1], "train_seconds": round(result.seconds, 3),
        "profile": prof.name, "train_images": int(len(x_train)), "test_images": int(len(x_test)),
    })
    return result, path


def load_or_train(name: str, seed: int = DEFAULT_SEED, prof=None):
    """The saved model ``name`` (notebooks 06, 07): the profile's models folder first, then ``models/``;
    when neither has it, train it now with :func:`train_and_save` (so each notebook runs on its own)."""
    from mnistlib.config import MODELS_DIR, profile
    from mnistlib.models import load_model

    prof = prof or profile()
    for folder in dict.fromkeys((prof.models_dir, MODELS_DIR)):
        path = folder / f"{name}.keras"
        if path.is_file():
            return load_model(path)
    print(f"no saved {name!r} model: training it now ({prof.name} profile)")
    return train_and_save(name, seed=seed, prof=prof, verbose=2)[0].model


__all__ = ["EpochTimer", "TrainResult", "cross_validate", "cv_summary", "load_or_train", "train",
           "train_and_save"]
