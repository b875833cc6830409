"""Turn raw MNIST arrays into model inputs (notebook 03_preprocess).

Scaling to ``float32`` in [0, 1], the channel axis, one-hot labels, a stratified
train/validation split, k-fold splits and a deterministic stratified subset for
quick runs. Splits come from scikit-learn so they are the ones learners will meet
elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from mnistlib.config import DEFAULT_SEED
from mnistlib.errors import MnistlibError

NUM_CLASSES = 10


def scale(images: np.ndarray) -> np.ndarray:
    """``uint8`` pixels 0..255 -> ``float32`` in [0, 1]."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32, copy=False)


def add_channel(images: np.ndarray) -> np.ndarray:
    """``(N, 28, 28)`` -> ``(N, 28, 28, 1)``: Keras conv layers want a channel axis."""
    images = np.asarray(images)
    return images if images.ndim == 4 else images[..., np.newaxis]


def prepare_images(images: np.ndarray) -> np.ndarray:
    """:func:`scale` then :func:`add_channel`: what every model in :mod:`mnistlib.models` eats."""
    return add_channel(scale(images))


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Integer labels ``(N,)`` -> one-hot ``float32 (N, num_classes)``."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise MnistlibError(f"labels must lie in 0..{num_classes - 1}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def train_val_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stratified split: ``x_train, x_val, y_train, y_val`` with every class in both parts."""
    if not 0.0 < val_fraction < 1.0:
        raise MnistlibError(f"val_fraction must be between 0 and 1, not {val_fraction}")
    return train_test_split(x, y, test_size=val_fraction, stratify=y, random_state=seed)


def kfold_splits(
    y: np.ndarray, k: int = 5, seed: int = DEFAULT_SEED, stratified: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train_index, val_index)`` for each of ``k`` folds (shuffled, stratified by default)."""
    if k < 2:
        raise MnistlibError(f"k-fold cross-validation needs k >= 2, not {k}")
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=True, random_state=seed)
    return splitter.split(np.zeros(len(y)), y)


def stratified_subset(y: np.ndarray, n: int | None, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Sorted indices of a deterministic, class-balanced subset of ``n`` items (all when ``n`` is None)."""
    y = np.asarray(y)
    if n is None or n >= len(y):
        return np.arange(len(y))
    if n < NUM_CLASSES:
        raise MnistlibError(f"a stratified subset needs at least {NUM_CLASSES} items, not {n}")
    index, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(index)


def profile_subset(data, prof=None, seed: int = DEFAULT_SEED):
    """The :class:`~mnistlib.data.MNIST` cut down to the run profile's sizes (all of it in the full profile)."""
    from dataclasses import replace

    from mnistlib.config import profile

    prof = prof or profile()
    train = stratified_subset(data.y_train, prof.train_size, seed)
    test = stratified_subset(data.y_test, prof.test_size, seed)
    if len(train) == len(data.y_train) and len(test) == len(data.y_test):
        return data
    return replace(
        data, x_train=data.x_train[train], y_train=data.y_train[train],
        x_test=data.x_test[test], y_test=data.y_test[test],
    )
