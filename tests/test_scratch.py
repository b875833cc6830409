"""Learning by hand (mnistlib.scratch, notebook 04_from_scratch) on the real MNIST."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from mnistlib import config, preprocess, scratch
from mnistlib.errors import MnistlibError
from mnistlib.recipes import RECIPES


@pytest.fixture(scope="module")
def split(mnist):
    """A stratified 7,000-image subset of the training set: 6,000 rows to train, 1,000 to validate."""
    index = preprocess.stratified_subset(mnist.y_train, 7000, seed=0)
    x = scratch.flatten(preprocess.prepare_images(mnist.x_train[index]))
    x_tr, x_val, y_tr, y_val = preprocess.train_val_split(x, mnist.y_train[index], val_fraction=1 / 7, seed=0)
    return x_tr, y_tr, x_val, y_val


def test_flatten_gives_784_float_rows(mnist):
    rows = scratch.flatten(preprocess.prepare_images(mnist.x_train[:5]))
    assert rows.shape == (5, 784) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[1].reshape(28, 28), mnist.x_train[1] / np.float32(255))


def test_softmax_rows_are_probabilities_even_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = scratch.softmax(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_allclose(scratch.softmax(z + 7.0), p)  # shifting all logits changes nothing


def test_gradient_formula_matches_finite_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=(7, 10))
    y = rng.integers(0, 10, size=7)
    numeric = scratch.numerical_grad(lambda zz: scratch.cross_entropy(scratch.softmax(zz), y), z)
    formula = scratch.grad_softmax_ce(z, y)
    assert np.abs(formula - numeric).max() < 1e-7
    np.testing.assert_allclose(formula.sum(axis=1), 0.0, atol=1e-12)  # p - y sums to 0 per row


def test_parameter_gradients_match_finite_differences(split):
    x, y = split[0][:32].astype(np.float64), split[1][:32]
    w, b = scratch.init_params(0.05, seed=3)
    _, dw, db = scratch.loss_and_grads(w, b, x, y)
    rng = np.random.default_rng(0)
    for j, k in zip(rng.choice(np.flatnonzero(x.any(axis=0)), 5), rng.integers(0, 10, 5)):  # inked pixels
        eps = 1e-6
        up, down = w.copy(), w.copy()
        up[j, k] += eps
        down[j, k] -= eps
        numeric = (scratch.loss_and_grads(up, b, x, y)[0] - scratch.loss_and_grads(down, b, x, y)[0]) / (2 * eps)
        assert abs(numeric - dw[j, k]) < 1e-7
        assert dw[j, k] != 0.0
    numeric_b = scratch.numerical_grad(lambda bb: scratch.loss_and_grads(w, bb, x, y)[0], b)
    assert np.abs(numeric_b - db).max() < 1e-7


def test_initial_loss_is_ln_10_for_zero_weights(split):
    x, y = split[0], split[1]
    w, b = scratch.init_params()
    loss, _, _ = scratch.loss_and_grads(w, b, x, y)
    assert loss == pytest.approx(math.log(10), abs=1e-12)
    w_small, _ = scratch.init_params(0.01, seed=0)
    assert scratch.loss_and_grads(w_small, b, x, y)[0] == pytest.approx(math.log(10), abs=0.05)


@pytest.mark.filterwarnings("ignore:.*zero standard deviation:UserWarning")  # MNIST's blank border pixels
def test_nearest_mean_matches_sklearn_and_is_a_real_baseline(split):
    x_tr, y_tr, x_val, y_val = split
    means = scratch.nearest_mean_fit(x_tr, y_tr)
    pred = scratch.nearest_mean_predict(means, x_val, "l2")
    sk = NearestCentroid().fit(x_tr, y_tr)
    np.testing.assert_allclose(sk.centroids_, means, atol=1e-4)
    np.testing.assert_array_equal(sk.predict(x_val), pred)
    assert 0.7 < np.mean(pred == y_val) < 0.9
    assert np.mean(scratch.nearest_mean_predict(means, x_val, "l1") == y_val) > 0.5


def test_a_few_epochs_reach_85_percent_on_validation(split):
    x_tr, y_tr, x_val, y_val = split
    w, b = scratch.init_params()
    for _ in range(3):
        w, b, losses = scratch.sgd_epoch(w, b, x_tr, y_tr, learning_rate=0.5, batch_size=64)
    assert len(losses) == scratch.steps_per_epoch(len(x_tr), 64)
    assert np.mean(losses) < 0.5 < math.log(10)
    assert np.mean(scratch.predict(w, b, x_val) == y_val) > 0.85


def test_numpy_loop_and_keras_fit_agree_after_one_epoch(split):
    x, y = split[0][:2000], split[1][:2000]
    w0, b0 = scratch.init_params(0.01, seed=5)
    w, b, _ = scratch.sgd_epoch(w0, b0, x, y, learning_rate=0.5, batch_size=64)
    keras = config.keras()
    config.new_model_session(0)
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
    model.layers[0].set_weights([w0.astype("float32"), b0.astype("float32")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    wk, bk = model.layers[0].get_weights()
    assert np.abs(w - w0).max() > 0.05  # the weights did move
    assert np.abs(wk - w).max() < 1e-4
    assert np.abs(bk - b).max() < 1e-4


@pytest.mark.parametrize(("n", "batch", "steps"), [(60_000, 64, 938), (60_000, 256, 235), (60_000, 100, 600),
                                                   (54_000, 128, 422), (1, 64, 1), (64, 64, 1), (65, 64, 2)])
def test_steps_per_epoch(n, batch, steps):
    assert scratch.steps_per_epoch(n, batch) == steps


def test_steps_per_epoch_agrees_with_the_recipes():
    for rec in RECIPES.values():
        for n in (54_000, 55_000, 60_000):
            assert scratch.steps_per_epoch(n * (1 + rec.pen_copies), rec.batch_size) == rec.steps_per_epoch(n)


@pytest.mark.parametrize("call", [
    lambda: scratch.flatten(np.zeros((3, 28, 28), np.uint8)),
    lambda: scratch.flatten(np.zeros((3, 27, 27), np.float32)),
    lambda: scratch.nearest_mean_fit(np.zeros((4, 784), np.float32), np.array([0, 1, 2, 3])),
    lambda: scratch.nearest_mean_predict(np.zeros((10, 784)), np.zeros((2, 784), np.float32), "l3"),
    lambda: scratch.nearest_mean_predict(np.zeros((9, 784)), np.zeros((2, 784), np.float32)),
    lambda: scratch.cross_entropy(np.full((2, 10), 0.1), np.array([0, 10])),
    lambda: scratch.grad_softmax_ce(np.zeros((2, 10)), np.array([1])),
    lambda: scratch.softmax(np.zeros(10)),
    lambda: scratch.loss_and_grads(np.zeros((10, 784)), np.zeros(10), np.zeros((2, 784)), np.array([0, 1])),
    lambda: scratch.sgd_epoch(*scratch.init_params(), np.zeros((2, 784)), np.array([0, 1]), learning_rate=0.1,
                              batch_size=0),
    lambda: scratch.sgd_epoch(*scratch.init_params(), np.zeros((2, 784)), np.array([0, 1]), learning_rate=-1.0,
                              batch_size=2),
    lambda: scratch.predict(*scratch.init_params(), np.zeros((2, 784), np.int64)),
    lambda: scratch.steps_per_epoch(0, 64),
    lambda: scratch.steps_per_epoch(100, True),
    lambda: scratch.steps_per_epoch(100.0, 64),
    lambda: scratch.init_params(-1.0),
])
def test_bad_input_raises_mnistlib_error(call):
    with pytest.raises(MnistlibError):
        call()


def test_plots_return_figures_and_refuse_bad_input(split):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from mnistlib.plots.scratch import lr_sweep, nearest_mean_demo, scratch_training, weight_images

    x_tr, y_tr, x_val, _ = split
    means = scratch.nearest_mean_fit(x_tr, y_tr)
    w, b, losses = scratch.sgd_epoch(*scratch.init_params(), x_tr[:640], y_tr[:640], learning_rate=0.5, batch_size=64)
    figs = [nearest_mean_demo(x_val[0], means, scratch.mean_distances(means, x_val[:1])[0], label=3),
            lr_sweep({0.1: losses, 10.0: [2.3, np.inf, 5.0]}),
            scratch_training(losses * 2, 10, [0.8, 0.85], baseline=0.8),
            weight_images(w)]
    assert all(isinstance(f, Figure) for f in figs)
    assert "predicted" in figs[0]._suptitle.get_text()
    for bad in (lambda: lr_sweep({}), lambda: weight_images(w.T), lambda: nearest_mean_demo(x_val[0], means, [1.0]),
                lambda: scratch_training([], 10, [0.9])):
        with pytest.raises(MnistlibError):
            bad()
    plt.close("all")
