"""How a network learns: learning-rate schedules, the loss and the optimizer (notebook 07_train).

* :class:`OneCycle`: warm the learning rate up linearly, then anneal it with a cosine;
  :func:`make_schedule` names the schedules a recipe can ask for.
* :class:`SmoothedSparseCrossentropy`: cross-entropy for integer labels with label smoothing
  (Keras' sparse loss has no such option).
* :func:`make_optimizer` and :func:`compile_model`: the optimizer a recipe names, and the one
  ``compile`` call every model of the course goes through (integer labels, accuracy, and
  :data:`STEPS_PER_EXECUTION` training steps per call of Keras' compiled function).
"""

from __future__ import annotations

import math

from mnistlib.config import keras as _keras
from mnistlib.config import tf as _tf
from mnistlib.errors import MnistlibError
from mnistlib.inputs import check_model

keras = _keras()

#: The learning-rate schedules a recipe may name (``None`` means a constant rate).
SCHEDULES = ("onecycle", "cosine", "constant")
#: The optimizers a recipe may name.
OPTIMIZERS = ("adam", "adamw", "sgd")
#: The losses a recipe may name: ``"categorical"`` for a softmax output, ``"one_vs_rest"`` for ten sigmoids.
LOSSES = ("categorical", "one_vs_rest")
#: Training steps per call of Keras' compiled training function (``compile(steps_per_execution=...)``): the steps
#: run in a TensorFlow loop instead of one Python round trip each (about 1.7 ms per step on a 2-core CPU: a sixth of
#: a ``cnn_fast`` epoch; notebook 07). The weights and every number come out the same as one step per call
#: (``test_training.py``).
#: Under a strategy with several replicas (``mnistlib train --devices N``) a model trains one step per call: Keras
#: 3.15's loop of steps fails under ``MirroredStrategy`` ("You must feed a value for placeholder tensor").
STEPS_PER_EXECUTION = 32


@keras.saving.register_keras_serializable(package="mnistlib")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle learning rate: linear warm-up to ``peak`` over ``warmup`` of the steps, then cosine to ``floor``."""

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
    if kind in (None, "constant"):
        return float(peak)
    if kind == "onecycle":
        return OneCycle(peak, total_steps)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(float(peak), max(1, int(total_steps)))
    raise MnistlibError(f"unknown learning-rate schedule {kind!r}; use one of: {', '.join(SCHEDULES)}")


class _OneHotLoss(keras.losses.Loss):
    """A Keras loss of integer labels 0..9: the labels become one-hot vectors, then ``crossentropy``."""

    crossentropy = staticmethod(keras.losses.categorical_crossentropy)

    def __init__(self, label_smoothing: float, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        onehot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(y_pred)[-1])
        return self.crossentropy(onehot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        return super().get_config() | {"label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="mnistlib")
class SmoothedSparseCrossentropy(_OneHotLoss):
    """Cross-entropy for integer labels with label smoothing (Keras' sparse loss has none).

    The true class gets ``1 - s + s/10`` and every other class ``s/10``: the model is not pushed
    to infinite confidence, which helps a short training generalise (``cnn_fast``).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(label_smoothing, name, **kwargs)


@keras.saving.register_keras_serializable(package="mnistlib")
class OneVsRestCrossentropy(_OneHotLoss):
    """Binary cross-entropy of ten independent sigmoids against one-hot integer labels (notebook 06_build_models).

    Each output unit answers its own question "is this digit a k?": the loss is the mean over
    the ten units of ``-[t log p + (1 - t) log(1 - p)]`` with ``t`` the one-hot label (optionally
    smoothed towards 1/2). Same value as ``keras.losses.BinaryCrossentropy`` on one-hot labels.
    """

    crossentropy = staticmethod(keras.losses.binary_crossentropy)

    def __init__(self, label_smoothing: float = 0.0, name: str = "one_vs_rest_crossentropy", **kwargs):
        super().__init__(label_smoothing, name, **kwargs)


def make_loss(label_smoothing: float = 0.0, kind: str = "categorical"):
    """The loss for integer labels: ``"categorical"`` gives sparse categorical cross-entropy, or
    :class:`SmoothedSparseCrossentropy` when ``label_smoothing`` > 0; ``"one_vs_rest"`` gives
    :class:`OneVsRestCrossentropy` (ten sigmoid outputs)."""
    if not 0.0 <= label_smoothing < 1.0:
        raise MnistlibError(f"label smoothing must be in [0, 1), not {label_smoothing}")
    if kind not in LOSSES:
        raise MnistlibError(f"unknown loss {kind!r}; use one of: {', '.join(LOSSES)}")
    if kind == "one_vs_rest":
        return OneVsRestCrossentropy(label_smoothing)
    return SmoothedSparseCrossentropy(label_smoothing) if label_smoothing else keras.losses.SparseCategoricalCrossentropy()


def make_optimizer(kind: str, learning_rate, ema: float | None = None):
    """A fresh Keras optimizer of ``kind`` (see :data:`OPTIMIZERS`) with ``learning_rate`` (float or schedule).

    ``ema``: keep an exponential moving average of the weights with this momentum (e.g. 0.999); Keras'
    ``fit`` puts the averaged weights into the model when training ends."""
    averaging = {"use_ema": True, "ema_momentum": float(ema)} if ema is not None else {}
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate, **averaging)
    if kind == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=1e-4, **averaging)
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, **averaging)
    raise MnistlibError(f"unknown optimizer {kind!r}; use one of: {', '.join(OPTIMIZERS)}")


def compile_model(model, optimizer, *, label_smoothing: float = 0.0, loss: str = "categorical",
                  jit_compile: bool = False, steps_per_execution: int | None = None):
    """``model.compile`` for integer labels 0..9; returns the model.

    Metrics: accuracy, and ``cross_entropy``, the plain cross-entropy without label smoothing, so that
    the learning curves of recipes trained with and without smoothing share one scale (notebook 07).
    ``steps_per_execution``: by default :data:`STEPS_PER_EXECUTION` on one device and 1 under several replicas
    (callbacks see a batch end every that many steps)."""
    check_model(model, what=f"model {model.name!r}")
    if steps_per_execution is None:
        replicas = _tf().distribute.get_strategy().num_replicas_in_sync
        steps_per_execution = STEPS_PER_EXECUTION if replicas == 1 else 1
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
               keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")]
    model.compile(optimizer=optimizer, loss=make_loss(label_smoothing, loss), metrics=metrics, jit_compile=jit_compile,
                  steps_per_execution=int(steps_per_execution))
    return model


__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "STEPS_PER_EXECUTION", "OneCycle", "OneVsRestCrossentropy",
           "SmoothedSparseCrossentropy", "compile_model", "make_loss", "make_optimizer", "make_schedule"]
