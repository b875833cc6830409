"""mnistlib.train: short real training runs, reproducibility, k-fold cross-validation."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlib import models
from mnistlib.errors import MnistlibError
from mnistlib.preprocess import prepare_images, stratified_subset
from mnistlib.train import TrainResult, cross_validate, cv_summary, train


@pytest.fixture(scope="module")
def small(mnist):
    """2,000 training and 1,000 test images, class-balanced."""
    tr = stratified_subset(mnist.y_train, 2000, seed=0)
    te = stratified_subset(mnist.y_test, 1000, seed=0)
    return (prepare_images(mnist.x_train[tr]), mnist.y_train[tr],
            prepare_images(mnist.x_test[te]), mnist.y_test[te])


@pytest.fixture(scope="module")
def run_twice(small):
    x, y, xt, yt = small
    return [train("cnn_fast", x, y, epochs=2, batch_size=64, seed=7, test_data=(xt, yt), verbose=0)
            for _ in range(2)]


def test_short_training_beats_chance_by_far(run_twice, small):
    result = run_twice[0]
    assert isinstance(result, TrainResult)
    assert len(result.epoch_seconds) == len(result.test_accuracy) == 2 == len(result.history["loss"])
    assert result.test_accuracy[-1] > 0.8  # chance is 0.1
    assert all(s > 0 for s in result.epoch_seconds)
    assert result.train_seconds[-1] == pytest.approx(sum(result.epoch_seconds), abs=1e-2)
    assert result.total_seconds >= result.seconds
    table = result.epochs_table()
    assert list(table["epoch"]) == [1, 2] and "test_accuracy" in table


def test_same_seed_same_numbers(run_twice):
    a, b = run_twice
    assert a.test_accuracy == b.test_accuracy
    assert a.history == b.history


def test_validation_split_is_held_out(small):
    x, y, _, _ = small
    result = train("dense_128", x, y, epochs=1, batch_size=100, seed=0, validation_split=0.2, verbose=0)
    assert "val_accuracy" in result.history and "val_loss" in result.history
    assert 0.5 < result.history["val_accuracy"][0] <= 1.0


def test_a_compiled_model_with_a_schedule(small):
    from mnistlib.models import build_model

    x, y, xt, yt = small
    model = build_model("dense_128", seed=0)
    result = train(model, x, y, epochs=1, batch_size=100, seed=0, schedule="cosine", test_data=(xt, yt),
                   verbose=0)
    assert result.model is model
    assert result.test_accuracy[0] > 0.6


def test_bad_arguments_are_one_line_errors(small):
    x, y, _, _ = small
    with pytest.raises(MnistlibError, match="epochs"):
        train("dense_128", x, y, epochs=0)
    with pytest.raises(MnistlibError, match="unknown model"):
        train("nope", x, y, epochs=1)
    with pytest.raises(MnistlibError, match="float32"):
        train("dense_128", x[..., 0], y, epochs=1)


def test_cross_validate_returns_k_scores(small):
    x, y, _, _ = small
    table = cross_validate("dense_128", x[:900], y[:900], k=3, epochs=1, seed=0, batch_size=64, progress=False)
    assert list(table["fold"]) == [1, 2, 3]
    assert set(table.columns) >= {"fold", "accuracy", "loss", "seconds"}
    assert (table["n_val"] == 300).all() and (table["n_train"] == 600).all()
    assert (table["accuracy"] > 0.5).all()
    summary = cv_summary(table)
    assert summary["accuracy_mean"] == pytest.approx(table["accuracy"].mean())
    assert summary["accuracy_sd"] == pytest.approx(np.std(table["accuracy"], ddof=1))


def test_cnn_trains_on_its_pen_variants_too(small):
    x, y, _, _ = small
    x, y = x[:300], y[:300]
    with_pens = train("cnn", x, y, epochs=1, batch_size=100, seed=3, verbose=0)
    assert models.recipe("cnn").pen_copies == 1
    assert int(with_pens.model.optimizer.iterations) == 6  # 300 digits + 300 pen variants, batches of 100
    plain = train("cnn", x, y, epochs=1, batch_size=100, seed=3, verbose=0, augment=False)
    assert int(plain.model.optimizer.iterations) == 3
    assert with_pens.epoch_seconds[0] > 0
