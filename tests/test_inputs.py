"""mnistlib.inputs, the input contract: each check accepts and converts what it should, refuses the rest
with one clear line (an InputError, which is a MnistlibError)."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlib.config import keras as _keras
from mnistlib.errors import MnistlibError
from mnistlib.inputs import (
    CLASSES, IMAGE_SHAPE, INPUT_SHAPE, NUM_CLASSES, InputError, check_images, check_labels, check_model,
    check_outputs, gray_image, gray_images,
)
from mnistlib.preprocess import prepare_images


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_the_contract_constants():
    assert IMAGE_SHAPE == (28, 28) and INPUT_SHAPE == (28, 28, 1)
    assert CLASSES == tuple(range(10)) and NUM_CLASSES == 10
    assert issubclass(InputError, MnistlibError)


# --- check_images --------------------------------------------------------------------------------

def test_check_images_accepts_prepared_digits_and_adds_the_channel(mnist):
    x = prepare_images(mnist.x_test[:5])[..., 0]  # (5, 28, 28) float32 in [0, 1]
    out = check_images(x)
    assert out.shape == (5, 28, 28, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], x)
    assert check_images(out.astype(np.float64)).dtype == np.float32
    assert check_images(out) is out  # already right: no copy


def test_check_images_refuses_raw_uint8_with_the_hint(mnist):
    with pytest.raises(InputError) as err:
        check_images(mnist.x_test[:5])
    message = _one_line(err)
    assert "uint8" in message and "[0, 1]" in message and "prepare_images" in message


@pytest.mark.parametrize("shape", [(28, 28), (5, 32, 32), (5, 28, 28, 3), (5, 784), (1, 1, 28, 28, 1)])
def test_check_images_refuses_other_shapes(shape):
    with pytest.raises(InputError, match=r"\(N, 28, 28\)") as err:
        check_images(np.zeros(shape, np.float32))
    assert str(shape) in _one_line(err)


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan, np.inf])
def test_check_images_refuses_values_outside_0_1(bad):
    x = np.zeros((2, 28, 28), np.float32)
    x[1, 3, 4] = bad
    with pytest.raises(InputError, match=r"values in \[0, 1\]"):
        check_images(x)


def test_check_images_refuses_an_empty_batch_and_text():
    with pytest.raises(InputError, match="empty"):
        check_images(np.zeros((0, 28, 28), np.float32))
    with pytest.raises(InputError, match="numbers"):
        check_images(np.full((1, 28, 28), "a"))


# --- gray_images / gray_image --------------------------------------------------------------------

def test_gray_images_drops_the_channel_and_keeps_the_values(mnist):
    raw = mnist.x_test[:3]
    assert gray_images(raw) is raw  # nothing to drop: the same array
    np.testing.assert_array_equal(gray_images(raw[..., np.newaxis]), raw)
    assert gray_images(raw).dtype == np.uint8  # any dtype: it is for plots
    for bad in (raw[0], np.zeros((3, 28, 28, 3)), np.zeros((0, 28, 28))):
        with pytest.raises(InputError, match="batch of gray images"):
            gray_images(bad)


def test_gray_image_accepts_one_image_in_every_usual_shape(mnist):
    digit = mnist.x_test[0]
    for shaped in (digit, digit[..., np.newaxis], digit[np.newaxis], digit[np.newaxis, ..., np.newaxis]):
        np.testing.assert_array_equal(gray_image(shaped), digit)
    for bad in (mnist.x_test[:2], np.zeros((28, 28, 3)), np.zeros(784)):
        with pytest.raises(InputError, match="one gray image"):
            gray_image(bad)


# --- check_labels --------------------------------------------------------------------------------

def test_check_labels_accepts_digits_and_converts_them(mnist):
    y = check_labels(mnist.y_test[:100], 100)
    assert y.dtype == np.int64 and y.shape == (100,)
    np.testing.assert_array_equal(y, mnist.y_test[:100])
    np.testing.assert_array_equal(check_labels(np.array([[3], [7]])), [3, 7])  # a column
    np.testing.assert_array_equal(check_labels(np.array([3.0, 7.0])), [3, 7])  # whole floats


@pytest.mark.parametrize("labels", [[0, 10], [-1, 3], [255, 0]])
def test_check_labels_refuses_labels_out_of_range(labels):
    with pytest.raises(InputError, match=r"0\.\.9"):
        check_labels(np.array(labels))


def test_check_labels_refuses_one_hot_with_the_hint():
    one_hot = np.eye(10, dtype=np.float32)[[3, 1, 4]]
    with pytest.raises(InputError, match=r"argmax\(axis=1\)") as err:
        check_labels(one_hot)
    assert "(3, 10)" in _one_line(err)


def test_check_labels_refuses_fractions_text_a_scalar_and_a_wrong_count():
    with pytest.raises(InputError, match="whole numbers"):
        check_labels(np.array([0.5, 1.0]))
    with pytest.raises(InputError, match="whole numbers"):
        check_labels(np.array(["3", "7"]))  # not a numpy TypeError
    with pytest.raises(InputError) as err:
        check_labels(np.int64(3))
    assert "argmax" not in _one_line(err)  # no one-hot hint for a single number
    with pytest.raises(InputError, match="5 images but 3 labels"):
        check_labels([1, 2, 3], 5)


# --- check_outputs -------------------------------------------------------------------------------

def test_check_outputs_accepts_ten_scores_per_image():
    p = np.random.default_rng(0).dirichlet(np.ones(10), size=4)
    out = check_outputs(p, 4)
    assert out.dtype == np.float32 and out.shape == (4, 10)
    np.testing.assert_allclose(out, p, rtol=1e-6)


def test_check_outputs_refuses_five_outputs_per_image():
    with pytest.raises(InputError) as err:
        check_outputs(np.full((4, 5), 0.2), 4)
    message = _one_line(err)
    assert "outputs 5 values per image" in message and "must output 10" in message


def test_check_outputs_refuses_a_flat_vector_wrong_rows_nan_and_text():
    with pytest.raises(InputError, match=r"shape \(10,\)"):
        check_outputs(np.full(10, 0.1))
    with pytest.raises(InputError, match="3 rows for 4 images"):
        check_outputs(np.full((3, 10), 0.1), 4)
    nan = np.full((2, 10), 0.1)
    nan[1, 4] = np.nan
    with pytest.raises(InputError, match="NaN"):
        check_outputs(nan, 2)
    with pytest.raises(InputError, match="not numbers"):
        check_outputs([["a"] * 10])


# --- check_model ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    return _keras()


def _model(keras, *widths):
    inputs = keras.Input(INPUT_SHAPE)
    flat = keras.layers.Flatten()(inputs)
    outputs = [keras.layers.Dense(w)(flat) for w in widths]
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs)


def test_check_model_passes_a_classifier_of_ten(keras):
    model = _model(keras, 10)
    assert check_model(model) is model
    unbuilt = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5)])
    assert check_model(unbuilt) is unbuilt  # nothing declared yet: its outputs are checked when it runs


def test_check_model_refuses_five_outputs_and_several_heads(keras):
    with pytest.raises(InputError) as err:
        check_model(_model(keras, 5), what="model.keras")
    message = _one_line(err)
    assert message.startswith("model.keras outputs 5 values per image") and "must output 10" in message
    with pytest.raises(InputError, match="has 2 outputs"):
        check_model(_model(keras, 10, 10))
