"""mnistlib.preprocess and the run profile, on real labels."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlib import config
from mnistlib.errors import MnistlibError
from mnistlib.preprocess import (
    add_channel, kfold_splits, one_hot, prepare_images, profile_subset, run_data, scale, stratified_subset,
    train_val_split,
)


def test_scale_and_channel(mnist):
    x = prepare_images(mnist.x_test[:100])
    assert x.shape == (100, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x[..., 0] * 255, mnist.x_test[:100], atol=1e-4)
    assert add_channel(x).shape == x.shape  # idempotent
    assert scale(x) is x or np.shares_memory(scale(x), x)


def test_one_hot(mnist):
    y = one_hot(mnist.y_test[:50])
    assert y.shape == (50, 10) and y.dtype == np.float32
    np.testing.assert_array_equal(y.argmax(1), mnist.y_test[:50])
    assert (y.sum(1) == 1).all()
    with pytest.raises(MnistlibError):
        one_hot(np.array([3, 10]))


def test_train_val_split_is_stratified(mnist):
    x_tr, x_val, y_tr, y_val = train_val_split(mnist.x_train, mnist.y_train, 0.1, seed=1)
    assert len(x_val) == 6000 and len(x_tr) == 54000
    share_val = np.bincount(y_val, minlength=10) / len(y_val)
    share_all = np.bincount(mnist.y_train, minlength=10) / len(mnist.y_train)
    np.testing.assert_allclose(share_val, share_all, atol=0.002)


def test_kfold_covers_everything_once(mnist):
    y = mnist.y_test[:1000]
    folds = list(kfold_splits(y, k=4, seed=0))
    assert len(folds) == 4
    val = np.concatenate([v for _, v in folds])
    assert sorted(val.tolist()) == list(range(1000))
    for train_idx, val_idx in folds:
        assert not set(train_idx) & set(val_idx)
    with pytest.raises(MnistlibError):
        list(kfold_splits(y, k=1))


def test_stratified_subset_is_deterministic_and_balanced(mnist):
    a = stratified_subset(mnist.y_train, 3000, seed=7)
    b = stratified_subset(mnist.y_train, 3000, seed=7)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 3000 and (np.diff(a) > 0).all()
    counts = np.bincount(mnist.y_train[a], minlength=10)
    expected = np.bincount(mnist.y_train, minlength=10) * 3000 / 60000
    assert np.abs(counts - expected).max() <= 1
    assert not np.array_equal(a, stratified_subset(mnist.y_train, 3000, seed=8))


def test_profiles(monkeypatch, mnist):
    monkeypatch.delenv("MNISTLIB_QUICK", raising=False)
    assert config.profile() is config.FULL and profile_subset(mnist) is mnist
    monkeypatch.setenv("MNISTLIB_QUICK", "1")
    quick = config.profile()
    assert quick.quick and quick.epochs(30) == quick.max_epochs
    small = profile_subset(mnist)
    assert len(small.y_train) == quick.train_size and len(small.y_test) == quick.test_size
    run = run_data(data=mnist)
    assert run.profile is quick and run.x_train.shape == (quick.train_size, 28, 28, 1)
    assert run.x_train.dtype == np.float32 and run.x_test.max() <= 1.0
    np.testing.assert_array_equal(run.y_test, small.y_test)  # the same subset, whatever seed a model uses
    assert run.epochs(30) == quick.max_epochs
    monkeypatch.setenv("MNISTLIB_QUICK", "maybe")
    with pytest.raises(MnistlibError, match="MNISTLIB_QUICK"):
        config.profile()


def test_set_seed_makes_keras_reproducible():
    keras = config.keras()

    def draw():
        config.new_model_session(123)
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return np.asarray(layer.kernel), np.random.rand(3)

    (w1, r1), (w2, r2) = draw(), draw()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(r1, r2)
