"""Turn raw MNIST arrays into model inputs (notebook 03_preprocess).

Scaling to ``float32`` in [0, 1], the channel axis, one-hot labels, a stratified
train/validation split, k-fold splits and a deterministic stratified subset for
quick runs. Splits come from scikit-learn so they are the ones learners will meet
elsewhere.

:func:`run_data` is the one "data for this run" helper (notebooks 07 to 09, the CLI,
:mod:`mnistlib.training`): MNIST, cut to the run profile's size, prepared for the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from mnistlib.config import DEFAULT_SEED, Profile, profile
from mnistlib.data import MNIST, Splits, load_mnist
from mnistlib.errors import MnistlibError
from mnistlib.inputs import NUM_CLASSES, check_labels

#: The quick profile's subsets are drawn with this seed, whatever seed a model trains with, so
#: every command of a run (train, evaluate, cv) sees the same images.
SUBSET_SEED = DEFAULT_SEED


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
    """:func:`scale` then :func:`add_channel`: what every model in :mod:`mnistlib.recipes` eats."""
    return add_channel(scale(images))


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Integer labels ``(N,)`` -> one-hot ``float32 (N, num_classes)``."""
    return np.eye(num_classes, dtype=np.float32)[check_labels(labels)]


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


def profile_subset(data: MNIST, prof: Profile | None = None) -> MNIST:
    """The :class:`~mnistlib.data.MNIST` cut down to the run profile's sizes (all of it in the full profile).

    The subsets are stratified and drawn with :data:`SUBSET_SEED`, never with a model's seed."""
    prof = prof or profile()
    train = stratified_subset(data.y_train, prof.train_size, SUBSET_SEED)
    test = stratified_subset(data.y_test, prof.test_size, SUBSET_SEED)
    if len(train) == len(data.y_train) and len(test) == len(data.y_test):
        return data
    return replace(
        data, x_train=data.x_train[train], y_train=data.y_train[train],
        x_test=data.x_test[test], y_test=data.y_test[test],
    )


@dataclass
class RunData(Splits):
    """The data of one run: model-ready training and test images (:func:`prepare_images`) with their
    labels, cut to ``profile``'s size. ``raw`` is the :class:`~mnistlib.data.MNIST` it came from (same subset)."""

    profile: Profile
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    raw: MNIST

    def epochs(self, wanted: int) -> int:
        """The epochs to run when ``wanted`` are asked for: capped by the profile (2 in the quick one)."""
        return self.profile.epochs(wanted)

    def __repr__(self) -> str:
        return (f"RunData({self.profile.name} profile: {len(self.y_train):,} training and "
                f"{len(self.y_test):,} test images)")


def run_data(prof: Profile | None = None, data: MNIST | None = None) -> RunData:
    """MNIST for this run (notebooks 07 to 09, the CLI): the profile's subset (:func:`profile_subset`),
    prepared for the models. ``data``: an already loaded :class:`~mnistlib.data.MNIST` (default: load it)."""
    prof = prof or profile()
    raw = profile_subset(data if data is not None else load_mnist(), prof)
    return RunData(prof, prepare_images(raw.x_train), raw.y_train, prepare_images(raw.x_test), raw.y_test, raw)
