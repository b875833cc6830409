"""Training, timing and k-fold cross-validation (notebook 07_train).

Two levels, one path:

* :func:`fit` fits a compiled Keras model and times it. It never recompiles: the model keeps
  the optimizer, loss and metrics you gave it.
* :func:`train_recipe` trains a :class:`~mnistlib.recipes.Recipe`: it holds out a validation
  split if asked, adds the recipe's pen variants, builds the model with the schedule laid out
  for exactly that data (:func:`mnistlib.recipes.build_model`), then calls :func:`fit`.

Weights and augmentation follow Keras' global seed: call
:func:`mnistlib.config.new_model_session` once before each model. The ``seed`` arguments here
seed only the data's randomness (validation split, pen variants, k-fold split).

:func:`cross_validate` scores a recipe on stratified folds of the training set (each fold a fresh
model session) and :func:`cv_summary` gives mean ± sd. :func:`train_and_save`, :func:`run_cross_validation`
and :func:`load_or_train` are the whole-run helpers of the CLI and notebooks 08 and 09.
Training runs under the current ``tf.distribute`` strategy, so the same code uses several GPUs.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mnistlib.calibration import Calibration, calibrate, calibration_split, card_temperature
from mnistlib.config import DEFAULT_SEED, Profile, compute_policy, new_model_session, profile
from mnistlib.config import keras as _keras
from mnistlib.config import tf as _tf
from mnistlib.errors import MnistlibError
from mnistlib.evaluation import evaluate
from mnistlib.forms import flagged_ones
from mnistlib.inputs import check_images, check_labels
from mnistlib.pens import pen_variants
from mnistlib.preprocess import SUBSET_SEED, kfold_splits, run_data, train_val_split
from mnistlib.recipes import Recipe, build_model, final_model, first_filters, get_recipe
from mnistlib.runtime import ExportError
from mnistlib.saving import check_output_path, load_card, load_model, save_model, saved_model_path

keras = _keras()


@dataclass
class TrainResult:
    """What :func:`fit` and :func:`train_recipe` return.

    ``history``: Keras' per-epoch metrics (``loss``, ``accuracy``, ``val_*``);
    ``epoch_seconds``: training wall time of each epoch (validation and test evaluation
    excluded; the first epoch includes making the recipe's pen variants); ``test_accuracy``:
    accuracy on ``test_data`` after each epoch (empty without it; for learning curves, never
    for decisions); ``total_seconds``: wall time of the whole call; ``model``: the trained model;
    ``calibration``: the temperature fitted on held-out training images (:func:`train_and_save` only).
    """

    model: object
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test_accuracy: list[float] = field(default_factory=list)
    total_seconds: float = 0.0
    recipe: str | None = None
    epochs: int = 0
    batch_size: int = 0
    train_images: int = 0
    calibration: Calibration | None = None

    @property
    def train_seconds(self) -> list[float]:
        """Cumulative training seconds after each epoch."""
        return list(np.cumsum(self.epoch_seconds).round(3))

    @property
    def seconds(self) -> float:
        """Total training seconds (evaluation excluded)."""
        return float(sum(self.epoch_seconds))

    def epochs_table(self) -> pd.DataFrame:
        """One row per epoch: the history, cumulative training seconds and test accuracy."""
        table = pd.DataFrame(self.history)
        table.insert(0, "epoch", np.arange(1, len(self.epoch_seconds) + 1))
        table["train_seconds"] = self.train_seconds
        if self.test_accuracy:
            table["test_accuracy"] = self.test_accuracy
        return table


def _accuracy(model, x, y, batch_size: int = 1000) -> float:
    """Share of the images ``x`` whose most probable class is their label ``y`` (the test accuracy that
    :class:`EpochTimer` records after each epoch and :func:`train_recipe` re-scores on the model it hands back)."""
    return float(np.mean(np.argmax(model.predict(x, batch_size=batch_size, verbose=0), axis=1) == y))


class EpochTimer(keras.callbacks.Callback):
    """Times each epoch's training (Keras' validation pass excluded) and, optionally, scores a test set.

    ``on_epoch`` (if given) is called as ``on_epoch(epoch, cumulative_train_seconds,
    test_accuracy_or_None)`` after each epoch (``mnistlib train`` prints a line with it).
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
        self._start = self._val_start = self._val = 0.0

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
            accuracy = _accuracy(self.model, *self.test_data, batch_size=self.batch_size)
            self.test_accuracy.append(accuracy)
            if logs is not None:
                logs["test_accuracy"] = accuracy
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, float(sum(self.epoch_seconds)), accuracy)


def _checked(data, what: str):
    x, y = data
    x = check_images(x, name=f"{what} images")
    return x, check_labels(y, len(x), name=f"{what} labels")


def _positive(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise MnistlibError(f"{what} must be a positive integer, not {value!r}")
    return int(value)


def _batches(x, y, batch_size: int):
    """The shuffled batches ``model.fit(x, y, batch_size=..., shuffle=True)`` makes (Keras' own pipeline, so the same
    seed gives the same batches), with tf.data's autotuning turned off. With it on, each epoch's input iterator keeps
    a tuning thread that sleeps for up to a minute, and destroying the iterator waits for it to wake up: Keras makes
    a new iterator at every epoch boundary, so an epoch stalled at random for 1 to 20 s (seen with every recipe, on
    Intel and AMD CPUs). The batches are gathered from memory, so there is nothing to tune. Keras has no public name
    for its pipeline; ``test_training.py`` checks that the numbers stay those of ``model.fit(x, y)``."""
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    tf = _tf()
    adapter = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    return adapter.get_tf_dataset().with_options(options).apply(
        tf.data.experimental.assert_cardinality(adapter.num_batches))


def fit(model, x, y, *, epochs: int = 5, batch_size: int = 128, validation_data=None, test_data=None,
        callbacks: Sequence = (), on_epoch: Callable | None = None, verbose: int = 2,
        prep_seconds: float = 0.0) -> TrainResult:
    """``model.fit`` on images ``x`` and integer labels ``y``, timed epoch by epoch (notebook 07).

    ``model`` must be compiled; it is trained as it is (its optimizer, loss and metrics are
    kept). ``validation_data=(x, y)`` is scored by Keras after each epoch (``val_*`` in the
    history); ``test_data=(x, y)`` is scored too, for learning curves only. ``prep_seconds``:
    time spent making the training data, counted in the first epoch. The optimizer's variables are made before
    ``model.fit``, so Keras traces the training step once; the numbers are those of ``model.fit`` alone.
    """
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise MnistlibError("compile the model before fitting it (model.compile or mnistlib.recipes.build_model)")
    x, y = _checked((x, y), "training")
    epochs, batch_size = _positive(epochs, "epochs"), _positive(batch_size, "batch size")
    validation_data = _checked(validation_data, "validation") if validation_data is not None else None
    test_data = _checked(test_data, "test") if test_data is not None else None
    start = time.perf_counter()
    timer = EpochTimer(test_data, on_epoch=on_epoch, prep_seconds=prep_seconds)
    if not model.optimizer.built:  # built here, as Keras does under a strategy; else Keras builds it in the first
        with model.distribute_strategy.scope():  # trace and traces the training step twice (0.6 s or more)
            model.optimizer.build(model.trainable_variables)
    history = model.fit(_batches(x, y, batch_size), epochs=epochs, shuffle=False, validation_data=validation_data,
                        callbacks=[timer, *callbacks], verbose=verbose)
    return TrainResult(
        model=model,
        history={k: [float(v) for v in vals] for k, vals in history.history.items() if k != "test_accuracy"},
        epoch_seconds=[round(s, 4) for s in timer.epoch_seconds], test_accuracy=timer.test_accuracy,
        total_seconds=time.perf_counter() - start + prep_seconds, recipe=model.name, epochs=epochs,
        batch_size=batch_size, train_images=len(x),
    )


def training_digits(recipe: str | Recipe, x, y, seed: int = DEFAULT_SEED):
    """``x``, ``y`` with the flagged 1s of ``recipe.flagged_ones`` added (seeded by ``seed``): the digits that
    :func:`train_recipe` trains on before its pen variants, so ``len`` of them is the ``train_size`` of
    :meth:`mnistlib.recipes.Recipe.steps_per_epoch` (notebook 07's table of steps)."""
    rec = get_recipe(recipe)
    if not rec.flagged_ones:
        return x, y
    flagged, ones = flagged_ones(x, y, rec.flagged_ones, seed=seed)
    return np.concatenate([x, flagged]), np.concatenate([y, ones])


def train_recipe(recipe: str | Recipe, x, y, *, epochs: int | None = None, batch_size: int | None = None,
                 seed: int = DEFAULT_SEED, validation_split: float = 0.0, validation_data=None, test_data=None,
                 callbacks: Sequence = (), on_epoch: Callable | None = None, verbose: int = 2) -> TrainResult:
    """Train ``recipe`` (a name or a :class:`~mnistlib.recipes.Recipe`) on ``x``, ``y`` (notebook 07).

    ``epochs`` and ``batch_size`` default to the recipe's (change anything else with
    ``recipe.replace(...)``). ``validation_split`` holds out a stratified fraction of ``x``
    (:func:`mnistlib.preprocess.train_val_split`, seeded by ``seed``); ``validation_data`` gives
    one explicitly. The recipe's flagged 1s (``recipe.flagged_ones``) and then its pen variants (seeded by
    ``seed``) are made from what is left and added to it (and a fixed first layer's filters computed from the
    digits, :func:`mnistlib.recipes.first_filters`: counted in the first epoch's seconds, like the pen variants);
    then :func:`mnistlib.recipes.build_model` lays the schedule out over exactly these digits and :func:`fit`
    trains. Call :func:`mnistlib.config.new_model_session` first.
    The model handed back is the one the recipe saves (:func:`mnistlib.recipes.final_model`): in float32
    after mixed precision (``recipe.precision``), averaging over one-pixel shifts when ``recipe.shifts``.
    When it or weight averaging (``recipe.ema``) changes the model after the last epoch, the last test
    accuracy is scored again on the model handed back.
    """
    rec = get_recipe(recipe)
    epochs = _positive(epochs if epochs is not None else rec.epochs, "epochs")
    batch_size = _positive(batch_size if batch_size is not None else rec.batch_size, "batch size")
    x, y = _checked((x, y), "training")
    if validation_split and validation_data is not None:
        raise MnistlibError("give validation_split or validation_data, not both")
    if validation_split:
        x, x_val, y, y_val = train_val_split(x, y, validation_split, seed)
        validation_data = (x_val, y_val)
    prep = time.perf_counter()
    x, y = training_digits(rec, x, y, seed)
    n_digits = len(x)
    filters = first_filters(rec, x, seed)
    if rec.pen_copies:
        x = np.concatenate([x, pen_variants(x, rec.pen_copies, seed=seed, lowres=rec.lowres_pens,
                                          elastic=rec.elastic_pens)])
        y = np.tile(y, rec.pen_copies + 1)
    prep = time.perf_counter() - prep
    with _tf().distribute.get_strategy().scope():
        model = build_model(rec, train_size=n_digits, epochs=epochs, batch_size=batch_size, fixed_filters=filters)
    result = fit(model, x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                 test_data=test_data, callbacks=callbacks, on_epoch=on_epoch, verbose=verbose, prep_seconds=prep)
    trained = result.model
    with _tf().distribute.get_strategy().scope():
        result.model = final_model(trained, rec)
    if (result.model is not trained or rec.ema is not None) and result.test_accuracy:
        result.test_accuracy[-1] = _accuracy(result.model, *_checked(test_data, "test"))
    return result


def cross_validate(recipe: str | Recipe, x, y, k: int = 5, *, epochs: int | None = None,
                   batch_size: int | None = None, seed: int = DEFAULT_SEED, progress: bool = True) -> pd.DataFrame:
    """Stratified k-fold cross-validation of ``recipe`` on ``x``, ``y`` (notebook 07).

    Each fold starts a fresh model session seeded with ``seed``, trains on k-1 parts and scores
    the held-out part with :func:`mnistlib.evaluation.evaluate`. Returns one row per fold:
    ``fold``, ``accuracy``, ``loss`` (plain cross-entropy), ``seconds`` (training), ``n_train``,
    ``n_val``; :func:`cv_summary` turns it into mean ± sd. A tqdm bar shows the folds.
    """
    rec = get_recipe(recipe)
    x, y = _checked((x, y), "training")
    rows = []
    folds = list(kfold_splits(y, k=int(k), seed=seed))
    for fold, (tr, va) in enumerate(tqdm(folds, desc=f"{rec.name} {k}-fold CV", unit="fold",
                                         disable=not progress), start=1):
        new_model_session(seed)
        result = train_recipe(rec, x[tr], y[tr], epochs=epochs, batch_size=batch_size, seed=seed, verbose=0)
        scores = evaluate(result.model, x[va], y[va])
        rows.append({"fold": fold, "accuracy": scores.accuracy, "loss": scores.loss,
                     "seconds": round(result.seconds, 3), "n_train": len(tr), "n_val": len(va)})
    return pd.DataFrame(rows)


def cv_summary(table: pd.DataFrame) -> dict[str, float]:
    """Mean and sample standard deviation of a :func:`cross_validate` table's accuracy and loss."""
    sd = (lambda s: float(s.std(ddof=1))) if len(table) > 1 else (lambda s: 0.0)
    return {"folds": int(len(table)), "accuracy_mean": float(table["accuracy"].mean()),
            "accuracy_sd": sd(table["accuracy"]), "loss_mean": float(table["loss"].mean()), "loss_sd": sd(table["loss"])}


def run_cross_validation(recipe: str | Recipe, *, folds: int | None = None, epochs: int | None = None,
                         seed: int = DEFAULT_SEED, progress: bool = True, prof: Profile | None = None):
    """:func:`cross_validate` on this run's training images (``mnistlib cv``): ``folds`` defaults to the
    profile's, ``epochs`` to the recipe's (capped by the profile). Returns the table and its summary."""
    rec = get_recipe(recipe)
    data = run_data(prof)
    folds = data.profile.folds if folds is None else folds
    if folds < 2:
        raise MnistlibError(f"k-fold cross-validation needs at least 2 folds, not {folds}")
    table = cross_validate(rec, *data.train, k=folds, epochs=data.epochs(epochs or rec.epochs), seed=seed,
                           progress=progress)
    return table, cv_summary(table)


def _save_or_rescue(model, out: Path, card: dict) -> Path:
    """Save; if that fails after all, save to the temporary folder instead and say where (no training is lost).
    An :class:`~mnistlib.runtime.ExportError` is passed on as it is: the model and card are saved, only
    their LiteRT export failed (``mnistlib export`` retries it)."""
    try:
        return save_model(model, out, card)
    except ExportError:
        raise
    except Exception as first:  # noqa: BLE001 - whatever went wrong, keep the trained model
        rescue = Path(tempfile.mkdtemp(prefix="mnistlib-")) / out.name
        save_model(model, rescue, card)
        raise MnistlibError(f"could not save the model to {out} ({' '.join(str(first).split())}); "
                            f"the trained model was saved to {rescue} instead") from None


def train_and_save(recipe: str | Recipe, out=None, *, epochs: int | None = None, batch_size: int | None = None,
                   seed: int = DEFAULT_SEED, on_epoch: Callable | None = None, verbose: int = 0,
                   prof: Profile | None = None, devices: int = 1,
                   calibrate_confidence: bool = True, test_every_epoch: bool = True) -> tuple[TrainResult, Path]:
    """Train ``recipe`` on this run's training images and save it with its card (``mnistlib train``).

    Checks that ``out`` (default ``<profile models folder>/<name>.keras``) can be written
    *before* training, starts one model session with ``seed``, trains on ``devices`` devices
    (:func:`distribution_strategy`), scores the test images after each epoch (reported, never used
    for decisions; ``bench_models.py`` reads the time to 99 % from them), or only once after training with
    ``test_every_epoch=False`` (notebook 07; the weights are the same either way). With ``calibrate_confidence`` (the default) a stratified 1/12 of the training
    images (:func:`mnistlib.calibration.calibration_split`, the same images for every recipe and seed:
    5,000 of 60,000) is held out of training, the temperature is fitted on them and stored in the card
    under ``calibration`` (``mnistlib.predict`` applies it). Returns the :class:`TrainResult` and the path.
    """
    rec = get_recipe(recipe)
    prof = prof or profile()
    out = check_output_path(out if out is not None else prof.models_dir / f"{rec.name}.keras")
    strategy = distribution_strategy(devices)
    data = run_data(prof)
    epochs = data.epochs(epochs or rec.epochs)
    x_train, y_train = data.train
    if calibrate_confidence:
        fit_index, held = calibration_split(y_train, SUBSET_SEED)
        (x_train, y_train), (x_held, y_held) = (x_train[fit_index], y_train[fit_index]), (x_train[held], y_train[held])
    new_model_session(seed)
    with strategy.scope():
        result = train_recipe(rec, x_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed,
                              test_data=data.test if test_every_epoch else None, on_epoch=on_epoch, verbose=verbose)
    if not test_every_epoch:
        result.test_accuracy = [evaluate(result.model, *data.test).accuracy]
    card = {"recipe": rec.name, "seed": seed, "epochs": epochs, "batch_size": result.batch_size,
            "test_accuracy": result.test_accuracy[-1], "train_seconds": round(result.seconds, 3),
            "profile": prof.name, "train_images": len(y_train), "test_images": len(data.y_test),
            "devices": strategy.num_replicas_in_sync, "compute_policy": compute_policy(rec.precision),
            "shifts": rec.shifts}
    if calibrate_confidence:
        probs = result.model.predict(x_held, batch_size=1000, verbose=0)
        result.calibration = calibrate(probs, y_held, fit_on=f"{len(y_held):,} training images held out of training "
                                       f"(calibration.calibration_split, seed {SUBSET_SEED})")
        card["calibration"] = result.calibration.as_dict()
    return result, _save_or_rescue(result.model, out, card)


def distribution_strategy(devices: int = 1):
    """The ``tf.distribute`` strategy for ``devices`` devices (``mnistlib train --devices N``).

    1: the default strategy (one device). N > 1: ``MirroredStrategy`` over the first N GPUs when there
    are that many, else over the CPU split into N logical devices (a way to try data-parallel training
    on a laptop; it must run before TensorFlow has used its devices). Each replica gets ``batch_size / N``
    images of every batch and the gradients are averaged, so the numbers match one device up to rounding
    (BatchNorm statistics are per replica). Enter its ``scope()`` after :func:`new_model_session`.
    """
    devices = _positive(devices, "devices")
    tf = _tf()
    if devices == 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= devices:
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)])
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or [None]) < devices:
        try:  # listing logical devices would start the runtime: configure first
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError:
            raise MnistlibError(f"cannot split the CPU into {devices} devices once TensorFlow has started; "
                                "ask for the devices first thing in a fresh process") from None
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:devices]])


def load_or_train(name: str, seed: int = DEFAULT_SEED, prof: Profile | None = None):
    """The saved model ``name`` (notebooks 08, 09): the profile's models folder first, then ``models/``;
    when neither has it, train it now with :func:`train_and_save` (so each notebook runs on its own).
    Predictions with it through :mod:`mnistlib.predict` use its card's temperature (:func:`~mnistlib.predict.set_temperature`)."""
    from mnistlib.predict import set_temperature

    prof = prof or profile()
    path = saved_model_path(name, prof)
    if path is not None:
        model = load_model(path)
        set_temperature(model, card_temperature(load_card(path)))
        return model
    print(f"no saved {name!r} model: training it now ({prof.name} profile)")
    result = train_and_save(name, seed=seed, prof=prof, verbose=2)[0]
    set_temperature(result.model, result.calibration.temperature if result.calibration else 1.0)
    return result.model


__all__ = ["EpochTimer", "TrainResult", "cross_validate", "cv_summary", "distribution_strategy", "fit", "load_or_train",
           "run_cross_validation", "train_and_save", "train_recipe", "training_digits"]
