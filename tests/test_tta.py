"""Test-time augmentation by one-pixel shifts (mnistlib.tta): the wrapper answers with the mean of its
network over shifted images, saves, loads and exports like any model, and a recipe asks for it."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

from mnistlib import tta
from mnistlib.config import keras as _keras
from mnistlib.config import new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.evaluation import evaluate
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import build_model, final_model, get_recipe
from mnistlib.runtime import LightModel, exported_path
from mnistlib.saving import load_card, load_model, save_model
from mnistlib.training import train_recipe

matplotlib.use("Agg")
keras = _keras()


def test_shifted_moves_pixels_by_one_and_brings_in_zeros():
    x = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4, 1)
    down = tta.shifted(x, 1, 0)[0, :, :, 0]
    np.testing.assert_array_equal(down[0], 0)
    np.testing.assert_array_equal(down[1:], x[0, :2, :, 0])
    left = tta.shifted(x, 0, -1)[0, :, :, 0]
    np.testing.assert_array_equal(left[:, :3], x[0, :, 1:, 0])
    np.testing.assert_array_equal(left[:, 3], 0)
    np.testing.assert_array_equal(tta.shifted(x, 0, 0), x)
    with pytest.raises(MnistlibError, match="moves of -1, 0 or 1"):
        tta.shifted(x, 2, 0)
    with pytest.raises(MnistlibError, match=r"\(N, H, W, C\)"):
        tta.shifted(x[0], 1, 0)


def test_shift_settings_start_with_the_image_and_have_no_repeats():
    for n, moves in tta.SHIFTS.items():
        assert moves[0] == (0, 0) and len(set(moves)) == len(moves) == n + 1
    for bad in (3, True, "8", None):
        with pytest.raises(MnistlibError, match="shifts must be one of 0, 4, 8"):
            tta.check_shifts(bad)


@pytest.fixture(scope="module")
def network():
    """An untrained but built course network (random weights answer differently for shifted images)."""
    new_model_session(3)
    return build_model("cnn_fast")


@pytest.mark.parametrize("shifts", [4, 8])
def test_the_wrapper_answers_the_mean_over_the_shifted_images(network, mnist, shifts):
    x = prepare_images(mnist.x_test[:200])
    model = tta.with_shifts(network, shifts)
    expected = np.mean([network.predict(tta.shifted(x, dy, dx), verbose=0) for dy, dx in tta.SHIFTS[shifts]], axis=0)
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert not np.allclose(got, network.predict(x, verbose=0), atol=1e-3)  # the shifts do change the answer
    assert model.name == network.name and model.count_params() == network.count_params()  # weights are shared
    assert tta.base_network(model).get_weights()[0] is not None
    assert tta.shift_count(model) == shifts and tta.shift_count(network) == 0
    assert tta.base_network(network) is network
    for a, b in zip(tta.base_network(model).get_weights(), network.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_shifts_is_the_network_itself_and_a_wrapper_is_not_wrapped_again(network):
    assert tta.with_shifts(network, 0) is network
    with pytest.raises(MnistlibError, match="already averages over shifts"):
        tta.with_shifts(tta.with_shifts(network, 4), 4)
    with pytest.raises(MnistlibError, match="shifts must be one of"):
        tta.with_shifts(network, 2)


def test_a_wrapped_model_saves_loads_and_exports_without_warnings(network, mnist, tmp_path):
    x = prepare_images(mnist.x_test[:500])
    model = final_model(network, get_recipe("cnn_fast").replace(shifts=8))
    expected = model.predict(x, verbose=0)
    path = save_model(model, tmp_path / "shifted.keras", {"shifts": 8})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. Keras' "Skipping variable loading for optimizer"
        loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
    assert tta.shift_count(loaded) == 8 and load_card(path)["shifts"] == 8
    light = LightModel(exported_path(path))
    np.testing.assert_allclose(light.predict(x), expected, atol=1e-5)


def test_a_recipe_with_shifts_trains_the_network_and_hands_back_the_averaging_model(mnist):
    with pytest.raises(MnistlibError, match="recipe 'cnn_fast': shifts must be one of"):
        get_recipe("cnn_fast").replace(shifts=1)
    assert get_recipe("cnn").shifts == 8 and get_recipe("cnn_fast").shifts == 0
    rec = get_recipe("cnn_fast").replace(shifts=4, precision="float32")
    x, y = prepare_images(mnist.x_train[:6000]), mnist.y_train[:6000]
    test = prepare_images(mnist.x_test[:1000]), mnist.y_test[:1000]
    new_model_session(0)
    result = train_recipe(rec, x, y, test_data=test, verbose=0)
    assert tta.shift_count(result.model) == 4
    assert result.test_accuracy[-1] == evaluate(result.model, *test).accuracy  # scored again on what is handed back
    assert result.test_accuracy[-1] > 0.9
    plain = tta.base_network(result.model)
    assert len(result.test_accuracy) == rec.epochs and abs(evaluate(plain, *test).accuracy - result.test_accuracy[-1]) < 0.05
    assert not np.allclose(plain.predict(test[0], verbose=0), result.model.predict(test[0], verbose=0), atol=1e-3)


def test_figures_inside_the_network_look_through_the_wrapper(network, mnist):
    from mnistlib.plots import cnn as cnn_plots

    model = tta.with_shifts(network, 8)
    fig = cnn_plots.conv_filters(model)
    first = next(layer for layer in network.layers if type(layer).__name__ == "Conv2D")
    assert f"layer {first.name!r}" in fig._suptitle.get_text()  # the network's own first convolution
    fig = cnn_plots.feature_maps(model, mnist.x_test[0])
    assert len(fig.axes) > 1


def test_shift_accuracies_score_each_setting_like_the_wrapper(network, mnist):
    x, y = prepare_images(mnist.x_test[:300]), mnist.y_test[:300]
    scores = tta.shift_accuracies(network, x, y)
    assert set(scores) == {0, 4, 8}
    assert scores[0] == evaluate(network, x, y).accuracy
    for n in (4, 8):
        assert scores[n] == evaluate(tta.with_shifts(network, n), x, y).accuracy
    with pytest.raises(MnistlibError, match="shifts must be one of"):
        tta.shift_accuracies(network, x, y, [3])
