"""A network learning by hand, in NumPy (notebook 04_from_scratch).

Two classifiers that need no deep-learning framework:

* the pixel-similarity baseline: the mean image of each digit (:func:`nearest_mean_fit`) and
  the nearest mean as the prediction (:func:`nearest_mean_predict`, L2 or L1 distance);
* softmax regression: logits ``z = x W + b``, :func:`softmax`, the mean :func:`cross_entropy`,
  its gradient with respect to the logits :func:`grad_softmax_ce` (``(p - y) / n``), and
  minibatch gradient descent over one epoch in a fixed order (:func:`sgd_epoch`), the same
  updates ``keras.optimizers.SGD`` makes in ``model.fit(..., shuffle=False)``.

The notebook writes the loop out itself; these are the same pieces for the tests and for reuse.
:func:`steps_per_epoch` is the arithmetic behind Keras' ``938/938`` progress counter.
"""

from __future__ import annotations

import math

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SIZE, NUM_CLASSES, check_images, check_labels

#: Inputs of softmax regression: one row of 28 x 28 = 784 pixel values per image.
N_FEATURES = IMAGE_SIZE * IMAGE_SIZE
_METRICS = ("l2", "l1")


def flatten(images, *, name: str = "images") -> np.ndarray:
    """Model inputs ``(N, 28, 28[, 1])`` in [0, 1] -> ``float32 (N, 784)`` rows (notebook 04_from_scratch).

    Raw ``uint8`` pixels and anything else that breaks :func:`mnistlib.inputs.check_images` raise
    :class:`~mnistlib.errors.MnistlibError`.
    """
    return check_images(images, name=name).reshape(-1, N_FEATURES)


def _rows(x, name: str = "x") -> np.ndarray:
    """``x`` as a 2-D ``(N, 784)`` float array, or already-flat rows; images are flattened."""
    a = np.asarray(x)
    if a.ndim in (3, 4):
        return flatten(a, name=name)
    if a.ndim != 2 or a.shape[1] != N_FEATURES or len(a) == 0:
        raise MnistlibError(f"{name} must be images (N, 28, 28) or rows (N, {N_FEATURES}), not shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise MnistlibError(f"{name} must be floats in [0, 1] (scale uint8 pixels first), not {a.dtype}")
    return a


def nearest_mean_fit(x, y) -> np.ndarray:
    """The mean image of each digit, ``(10, 784)``: the whole 'training' of the pixel-similarity
    baseline (notebook 04_from_scratch)."""
    x = _rows(x)
    y = check_labels(y, len(x))
    missing = sorted(set(range(NUM_CLASSES)) - set(np.unique(y).tolist()))
    if missing:
        raise MnistlibError(f"every digit needs at least one training image; none of {missing}")
    return np.stack([x[y == d].mean(axis=0, dtype=np.float64) for d in range(NUM_CLASSES)])


def mean_distances(means, x, metric: str = "l2") -> np.ndarray:
    """``(N, 10)`` distances from each image to each class mean: ``"l2"`` = root mean squared
    difference, ``"l1"`` = mean absolute difference (fastbook's two choices) (notebook 04_from_scratch)."""
    if metric not in _METRICS:
        raise MnistlibError(f"metric must be one of {', '.join(_METRICS)}, not {metric!r}")
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (NUM_CLASSES, N_FEATURES):
        raise MnistlibError(f"means must have shape ({NUM_CLASSES}, {N_FEATURES}), not {means.shape}")
    x = _rows(x)
    out = np.empty((len(x), NUM_CLASSES))
    for start in range(0, len(x), 2000):  # chunks: (2000, 10, 784) at most in memory
        diff = x[start:start + 2000, None, :] - means[None]
        out[start:start + 2000] = (np.sqrt((diff ** 2).mean(-1)) if metric == "l2" else np.abs(diff).mean(-1))
    return out


def nearest_mean_predict(means, x, metric: str = "l2") -> np.ndarray:
    """The digit whose mean image is closest to each image (notebook 04_from_scratch)."""
    return mean_distances(means, x, metric).argmin(axis=1)


def softmax(z) -> np.ndarray:
    """Row-wise softmax ``exp(z_k) / sum_j exp(z_j)``, computed stably (the row maximum is
    subtracted first, which does not change the result) (notebook 04_from_scratch)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise MnistlibError(f"logits must be a 2-D array (N, classes), not shape {z.shape}")
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _labels_for(y, n: int, k: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (n and (y.min() < 0 or y.max() >= k)):
        raise MnistlibError(f"labels must be {n} integers in 0..{k - 1}, not an array of shape {y.shape} ({y.dtype})")
    return y


def cross_entropy(p, y) -> float:
    """Mean cross-entropy ``-(1/n) sum_i ln p_i[y_i]`` of probabilities ``p (n, k)`` for integer labels ``y``
    (notebook 04_from_scratch)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise MnistlibError(f"probabilities must be a non-empty 2-D array (N, classes), not shape {p.shape}")
    y = _labels_for(y, len(p), p.shape[1])
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))


def grad_softmax_ce(z, y) -> np.ndarray:
    """Gradient of the mean cross-entropy of ``softmax(z)`` with respect to the logits ``z``:
    ``(p - onehot(y)) / n`` (notebook 04_from_scratch)."""
    p = softmax(z)
    y = _labels_for(y, len(p), p.shape[1])
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def numerical_grad(f, z, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences ``(f(z + eps e_j) - f(z - eps e_j)) / (2 eps)`` for every entry of ``z``
    (checks :func:`grad_softmax_ce`; notebook 04_from_scratch)."""
    z = np.array(z, dtype=np.float64)
    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        old = z[idx]
        z[idx] = old + eps
        up = f(z)
        z[idx] = old - eps
        down = f(z)
        z[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def init_params(scale: float = 0.0, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``W (784, 10)`` and ``b (10,)`` in float64: zeros, or ``W`` normal with standard deviation
    ``scale`` (notebook 04_from_scratch)."""
    if not scale >= 0:
        raise MnistlibError(f"scale must be >= 0, not {scale!r}")
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, scale, (N_FEATURES, NUM_CLASSES)) if scale else np.zeros((N_FEATURES, NUM_CLASSES))
    return w, np.zeros(NUM_CLASSES)


def _params(w, b) -> tuple[np.ndarray, np.ndarray]:
    w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if w.shape != (N_FEATURES, NUM_CLASSES) or b.shape != (NUM_CLASSES,):
        raise MnistlibError(f"W must be ({N_FEATURES}, {NUM_CLASSES}) and b ({NUM_CLASSES},), "
                            f"not {w.shape} and {b.shape}")
    return w, b


def loss_and_grads(w, b, x, y) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of softmax regression on a batch and its gradients ``dL/dW = x^T g``,
    ``dL/db = sum_i g_i`` with ``g = dL/dz`` (notebook 04_from_scratch)."""
    w, b = _params(w, b)
    x = _rows(x)
    y = check_labels(y, len(x))
    z = x @ w + b
    g = grad_softmax_ce(z, y)
    return cross_entropy(softmax(z), y), x.T @ g, g.sum(axis=0)


def predict(w, b, x) -> np.ndarray:
    """The most probable digit under softmax regression ``argmax(x W + b)`` (notebook 04_from_scratch)."""
    w, b = _params(w, b)
    return (_rows(x) @ w + b).argmax(axis=1)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Minibatches in one pass over ``n`` examples: ``ceil(n / batch_size)`` (the last one may be smaller);
    the number Keras prints as ``938/938`` for 60,000 images in batches of 64 (notebook 04_from_scratch)."""
    for value, what in ((n, "the number of examples"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise MnistlibError(f"{what} must be a positive integer, not {value!r}")
    return math.ceil(int(n) / int(batch_size))


def sgd_epoch(w, b, x, y, *, learning_rate: float, batch_size: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """One epoch of minibatch gradient descent on softmax regression, batches in the given order
    (no shuffling): for each batch, ``W -= lr * dL/dW``, ``b -= lr * dL/db``. Returns the new ``W``,
    ``b`` (copies) and the loss of each batch before its step (notebook 04_from_scratch)."""
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise MnistlibError(f"learning_rate must be a positive number, not {learning_rate!r}")
    w, b = (a.copy() for a in _params(w, b))
    x = _rows(x)
    y = check_labels(y, len(x))
    steps = steps_per_epoch(len(x), batch_size)  # also checks batch_size
    losses = []
    for start in range(0, steps * batch_size, batch_size):
        loss, dw, db = loss_and_grads(w, b, x[start:start + batch_size], y[start:start + batch_size])
        w -= learning_rate * dw
        b -= learning_rate * db
        losses.append(loss)
    return w, b, losses


__all__ = ["N_FEATURES", "cross_entropy", "flatten", "grad_softmax_ce", "init_params", "loss_and_grads",
           "mean_distances", "nearest_mean_fit", "nearest_mean_predict", "numerical_grad", "predict", "sgd_epoch",
           "softmax", "steps_per_epoch"]
