"""mnistlib.convolution (notebook 05_convolution): SciPy and Keras agree, the size formula matches Keras,
receptive fields match the pixels that really move a unit, and the parameter table adds up."""

from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import signal

from mnistlib import convolution as cv
from mnistlib.config import keras, new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.plots import convolution as pc
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import build_model

import matplotlib.pyplot as plt  # noqa: E402  (after mnistlib.plots picked the backend)

K = keras()


@pytest.fixture(scope="module")
def digits(mnist):
    """Five real training digits, prepared (float32 in [0, 1]), as (5, 28, 28)."""
    return prepare_images(mnist.x_train[:5])[..., 0]


@pytest.fixture(scope="module")
def cnn():
    new_model_session(0)
    return build_model("cnn")


@pytest.mark.parametrize("name", sorted(cv.KERNELS))
@pytest.mark.parametrize("padding", cv.PADDINGS)
def test_scipy_and_keras_conv2d_agree_on_real_digits(digits, name, padding):
    for image in digits:
        a = cv.correlate(image, name, padding)
        b = cv.keras_conv(image, name, padding)
        assert a.shape == b.shape == ((28, 28) if padding == "same" else (26, 26))
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_correlate_is_the_textbook_sum_and_convolution_flips_the_kernel(digits):
    rng = np.random.default_rng(0)
    k = rng.normal(size=(3, 3)).astype(np.float32)
    image = digits[0]
    out = cv.correlate(image, k)
    i, j = 11, 7
    np.testing.assert_allclose(out[i, j], np.sum(image[i:i + 3, j:j + 3] * k), rtol=1e-5)
    np.testing.assert_allclose(out, signal.convolve2d(image, k[::-1, ::-1], mode="valid"), atol=1e-5)
    assert not np.allclose(out, signal.convolve2d(image, k, mode="valid"), atol=1e-3)


def test_keras_conv_with_a_stack_of_kernels_and_a_stride(digits):
    stack = np.stack([cv.kernel("vertical_edges"), cv.kernel("horizontal_edges")], axis=-1)
    out = cv.keras_conv(digits[1], stack, "valid", strides=2)
    assert out.shape == (13, 13, 2)
    for f, name in enumerate(("vertical_edges", "horizontal_edges")):
        np.testing.assert_allclose(out[:, :, f], cv.correlate(digits[1], name)[::2, ::2], atol=1e-5)


def test_edge_kernels_respond_to_the_edges_they_are_named_after():
    image = np.zeros((28, 28), np.float32)
    image[:, 14:] = 1.0  # a vertical edge: dark left, bright right
    assert np.abs(cv.correlate(image, "vertical_edges")).max() > 0
    assert np.abs(cv.correlate(image, "horizontal_edges")).max() == 0
    np.testing.assert_allclose(cv.correlate(image.T, "horizontal_edges"), cv.correlate(image, "vertical_edges").T)


def _keras_length(n, k, p, s) -> int:
    x = K.Input((n, n, 1))
    y = K.layers.ZeroPadding2D(p)(x) if p else x
    return int(K.layers.Conv2D(1, k, strides=s, padding="valid")(y).shape[1])


@pytest.mark.parametrize("n,k,p,s", [c for c in itertools.product((5, 7, 28), (1, 2, 3, 5), (0, 1, 2), (1, 2, 3))
                                     if c[1] <= c[0] + 2 * c[2]])
def test_output_size_formula_matches_keras(n, k, p, s):
    assert cv.conv_output_size(n, k, p, s) == _keras_length(n, k, p, s)


@pytest.mark.parametrize("n,k,s", list(itertools.product((7, 14, 28, 29), (1, 2, 3, 5), (1, 2, 3))))
def test_same_padding_gives_keras_same_sizes(n, k, s):
    before, after = cv.same_padding(n, k, s)
    assert after - before in (0, 1)
    x = K.Input((n, n, 1))
    same = int(K.layers.Conv2D(1, k, strides=s, padding="same")(x).shape[1])
    assert same == -(-n // s) == (n + before + after - k) // s + 1


def test_pooling_follows_the_same_formula():
    x = K.Input((28, 28, 1))
    assert int(K.layers.MaxPooling2D(2)(x).shape[1]) == cv.conv_output_size(28, 2, 0, 2)
    assert int(K.layers.MaxPooling2D(3, strides=2)(x).shape[1]) == cv.conv_output_size(28, 3, 0, 2)


def _linear_stack(pool=K.layers.AveragePooling2D):
    """A linear copy of the cnn's geometry (all-ones kernels, no ReLU, average pooling): every pixel
    in a unit's receptive field moves it, so the gradient's support is exactly the field."""
    x = inputs = K.Input((28, 28, 1))
    for width in (4, 8):
        x = K.layers.Conv2D(width, 3, padding="same", kernel_initializer="ones", use_bias=False)(x)
        x = pool(2)(x)
    x = K.layers.Conv2D(2, 5, strides=2, padding="valid", kernel_initializer="ones", use_bias=False)(x)
    return K.Model(inputs, x)


def test_receptive_field_of_a_known_stack():
    model = _linear_stack()
    fields = cv.receptive_fields(model)
    # r: 1 -> 3 (k3, j1) -> 4 (k2, j1) -> 8 (k3, j2) -> 10 (k2, j2) -> 10 + 4*4 = 26 (k5, j4)
    assert fields["rf"].tolist() == [1, 3, 4, 8, 10, 26]
    assert fields["jump"].tolist() == [1, 1, 2, 2, 4, 8]
    assert fields["size"].tolist() == [28, 28, 14, 14, 7, 2]


@pytest.mark.parametrize("layer_index", [1, 2, 3, 4, 5])
def test_receptive_box_is_the_support_of_the_input_gradient(digits, layer_index):
    model = _linear_stack()
    fields = cv.receptive_fields(model)
    name = fields["layer"].iloc[layer_index]
    size = int(fields["size"].iloc[layer_index])
    for row, col in {(0, 0), (size // 2, size // 3), (size - 1, size - 1)}:
        top, left, bottom, right = cv.receptive_box(fields, name, row, col)
        assert bottom - top + 1 == right - left + 1 == fields["rf"].iloc[layer_index]
        expected = np.zeros((28, 28), bool)
        expected[max(top, 0):bottom + 1, max(left, 0):right + 1] = True
        grad = cv.input_gradient(model, name, digits[2], row, col)
        np.testing.assert_array_equal(grad > 0, expected)


def test_the_cnns_receptive_fields_and_unit_at(cnn, digits):
    fields = cv.receptive_fields(cnn)
    assert fields["layer"].tolist()[1:] == [layer.name for layer in cnn.layers
                                            if isinstance(layer, (K.layers.Conv2D, K.layers.MaxPooling2D))]
    last = fields["layer"].iloc[-1]
    assert fields["size"].iloc[-1] == cnn.get_layer("flatten").input.shape[1]
    row, col = cv.unit_at(fields, last, 14, 14)
    box = cv.receptive_box(fields, last, row, col)
    grad = cv.input_gradient(cnn, last, digits[0], row, col)
    inside = np.zeros((28, 28), bool)
    inside[box[0]:box[2] + 1, box[1]:box[3] + 1] = True
    assert grad[inside].sum() > 0 and not np.any(grad[~inside] > 0)


def test_param_table_sums_to_count_params(cnn):
    table = cv.param_table(cnn)
    assert table["params"].sum() == cnn.count_params()
    assert table["trainable"].sum() == sum(int(np.prod(w.shape)) for w in cnn.trainable_weights)
    assert table["share"].sum() == pytest.approx(100.0)
    conv = table[table["type"] == "Conv2D"]
    for _, row in conv.iterrows():
        kernel = cnn.get_layer(row["layer"]).kernel.shape  # (kh, kw, in, out)
        assert row["params"] == kernel[0] * kernel[1] * kernel[2] * kernel[3] + kernel[3]


def test_dense_equivalent_params():
    assert cv.dense_equivalent_params((28, 28, 1), (28, 28, 32)) == 784 * 784 * 32 + 784 * 32
    assert cv.dense_equivalent_params(784, 128, bias=False) == 784 * 128
    x = K.Input((12,))
    layer = K.layers.Dense(5)
    layer(x)
    assert cv.dense_equivalent_params(12, 5) == layer.count_params()


@pytest.mark.parametrize("call", [
    lambda: cv.kernel("sobel"),
    lambda: cv.correlate(np.zeros((28, 28)), np.zeros(3)),
    lambda: cv.correlate(np.zeros((2, 2)), "box_blur"),
    lambda: cv.correlate(np.zeros((28, 28)), np.ones((2, 2)), "same"),
    lambda: cv.correlate(np.zeros((28, 28)), "identity", "full"),
    lambda: cv.correlate(np.zeros((28, 28)), np.array([[np.nan]])),
    lambda: cv.keras_conv(np.zeros((28, 28)), "identity", strides=0),
    lambda: cv.conv_output_size(28, 31),
    lambda: cv.conv_output_size(28, 3, -1),
    lambda: cv.conv_output_size(28, 3, 0, 0),
    lambda: cv.conv_output_size(28.0, 3),
    lambda: cv.same_padding(0, 3),
    lambda: cv.receptive_fields("cnn"),
    lambda: cv.param_table([1, 2]),
    lambda: cv.dense_equivalent_params((28, 0), 3),
    lambda: cv.receptive_box(cv.receptive_fields(_linear_stack()), "nope", 0, 0),
    lambda: cv.receptive_box(cv.receptive_fields(_linear_stack()), "conv2d", 28, 0),
    lambda: cv.receptive_fields(K.Sequential([K.Input((10,)), K.layers.Dense(3)])),
])
def test_bad_input_raises_mnistlib_error(call):
    with pytest.raises(MnistlibError):
        call()


def test_receptive_fields_needs_a_conv_or_pool_layer():
    x = K.Input((28, 28, 1))
    model = K.Model(x, K.layers.Dense(3)(K.layers.Flatten()(x)))
    with pytest.raises(MnistlibError, match="no Conv2D or pooling"):
        cv.receptive_fields(model)


# --- figures -------------------------------------------------------------------------------------

@pytest.fixture
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a plotting function called plt.show()")

    monkeypatch.setattr(plt, "show", fail)
    before = dict(mpl.rcParams)
    yield
    plt.close("all")
    assert {k for k in before if before[k] != mpl.rcParams.get(k)} == set()


def test_figures(_no_show, digits, cnn):
    fig = pc.hand_kernels(digits[0], ("vertical_edges", "horizontal_edges", "box_blur"))
    assert isinstance(fig, Figure)
    maps = [ax.images[0].get_array() for ax in fig.axes if ax.images and ax.get_title().startswith("output")]
    assert len(maps) == 3
    np.testing.assert_allclose(np.asarray(maps[0]), cv.correlate(digits[0], "vertical_edges"))

    fig = pc.padding_stride_pooling(digits[0])
    sizes = [tuple(ax.images[0].get_array().shape) for ax in fig.axes if ax.images]
    assert sizes == [(30, 30), (26, 26), (28, 28), (14, 14), (14, 14)]

    fields = cv.receptive_fields(cnn)
    boxes = {name: cv.receptive_box(fields, name, *cv.unit_at(fields, name, 14, 14)) for name in fields["layer"][1:]}
    last = fields["layer"].iloc[-1]
    grad = cv.input_gradient(cnn, last, digits[0], *cv.unit_at(fields, last, 14, 14))
    fig = pc.receptive_field(digits[0], boxes, grad)
    assert "outside the square: 0" in fig.axes[1].get_title()

    table = cv.param_table(cnn)
    fig = pc.param_shares(table, {"conv2d": 1})
    labels = {t.get_text().strip() for t in fig.axes[0].texts}
    used = table[table["params"] > 0]
    assert labels == {f"{p:,} ({s:.1f} %)" for p, s in zip(used["params"], used["share"])}
    with pytest.raises(MnistlibError):
        pc.param_shares([1, 2])
    with pytest.raises(MnistlibError):
        pc.receptive_field(digits[0], {})

    weights, bias = cv.pca_filters(digits, count=4)
    fig = pc.pca_filters(weights, bias, digits[0])
    answers = [ax.images[0].get_array() for ax in fig.axes if ax.get_title().startswith("its answer")]
    assert len(answers) == 4 and answers[0].shape == (24, 24)
    np.testing.assert_allclose(np.asarray(answers[3]), cv.correlate(digits[0], weights[:, :, 0, 3]) + bias[3],
                               atol=1e-5)
    with pytest.raises(MnistlibError):
        pc.pca_filters(weights[..., :3], bias[:3], digits[0])


def test_pca_filters_whiten_the_patches_they_were_computed_from(mnist):
    images = prepare_images(mnist.x_train[:200])[..., 0]
    weights, bias = cv.pca_filters(images, kernel=5, count=8, sample=len(images))
    assert weights.shape == (5, 5, 1, 16) and bias.shape == (16,) and weights.dtype == np.float32
    np.testing.assert_array_equal(weights[..., 8:], -weights[..., :8])  # each component, then its negative
    np.testing.assert_array_equal(bias[8:], -bias[:8])
    # the filters' answers on every 5x5 patch of those images: centred, unit variance, uncorrelated
    answers = np.stack([cv.correlate(image, weights[:, :, 0, i]) + bias[i] for image in images for i in range(8)])
    answers = answers.reshape(len(images), 8, -1).transpose(1, 0, 2).reshape(8, -1)
    np.testing.assert_allclose(answers.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.cov(answers), np.eye(8), atol=1e-3)
    # the same patches give the same filters; another draw of 50 images gives (slightly) different ones
    again, _ = cv.pca_filters(images, kernel=5, count=8, sample=50, seed=1)
    np.testing.assert_array_equal(again, cv.pca_filters(images, kernel=5, count=8, sample=50, seed=1)[0])
    assert not np.array_equal(again, cv.pca_filters(images, kernel=5, count=8, sample=50, seed=2)[0])


@pytest.mark.parametrize("call", [
    lambda x: cv.pca_filters(x, kernel=5, count=26),  # a 5x5 patch has 25 components
    lambda x: cv.pca_filters(x, kernel=0),
    lambda x: cv.pca_filters((x * 255).astype(np.uint8)),  # raw pixels
    lambda x: cv.pca_filters(x, sample=0),
])
def test_pca_filters_refuse_bad_input(digits, call):
    with pytest.raises(MnistlibError):
        call(digits)
