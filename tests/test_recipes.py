"""mnistlib.recipes, networks and optim: recipes as data, parameter counts, schedules, the loss."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from mnistlib import networks
from mnistlib.config import PRECISION_ENV, compute_policy, native_bfloat16, new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.optim import OneCycle, OneVsRestCrossentropy, SmoothedSparseCrossentropy, keras
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import (RECIPES, TRAIN_SIZE, Recipe, build_model, first_filters, float32_copy, get_recipe,
                              recipe_table)
from mnistlib.training import train_recipe


def dense(n_in, n_out):
    return n_in * n_out + n_out


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


# Parameter counts worked out by hand from the layer sizes (not read back from Keras).
HAND_COUNTED = {
    "dense_128": dense(784, 128) + dense(128, 128) + dense(128, 10),
    "dense_50_sigmoid": dense(784, 50) + dense(50, 50) + dense(50, 10),
    "cnn_basic": conv(3, 1, 32) + dense(13 * 13 * 32, 100) + dense(100, 10),
    "cnn_small": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 10),
    "cnn_dense64": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 64) + dense(64, 10),
    "keras_example": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 10),
    # this course's recipes: bias-free dense layers followed by BatchNorm (4 numbers per unit);
    # the CNNs' conv layers have biases and no BatchNorm (the slowest layer on a CPU)
    "dense": 784 * 512 + 4 * 512 + 512 * 512 + 4 * 512 + dense(512, 10),
    # cnn_fast: valid padding, 28 -> conv 24 -> pool 12 -> conv 8 -> pool 4
    "cnn_fast": conv(5, 1, 8) + conv(5, 8, 24) + 4 * 4 * 24 * 128 + 4 * 128 + dense(128, 10),
    "cnn": conv(3, 1, 32) + conv(3, 32, 64) + 7 * 7 * 64 * 128 + 4 * 128 + dense(128, 10),
}


def test_every_recipe_is_hand_counted():
    assert set(RECIPES) == set(HAND_COUNTED)


@pytest.mark.parametrize("name", list(HAND_COUNTED))
def test_every_recipe_builds_with_its_documented_parameter_count(name):
    new_model_session(0)
    model = build_model(name)
    assert model.count_params() == HAND_COUNTED[name]  # what Keras built
    assert RECIPES[name].params == HAND_COUNTED[name]  # what the recipe documents
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert model.name == name and model.optimizer is not None and model.compiled


def test_outputs_are_class_probabilities(mnist):
    x = prepare_images(mnist.x_test[:8])
    new_model_session(0)
    probs = build_model("cnn_fast").predict(x, verbose=0)
    assert probs.shape == (8, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(MnistlibError) as info:
        build_model("resnet")
    assert "resnet" in str(info.value)
    assert all(name in str(info.value) for name in RECIPES)


def test_one_model_session_one_set_of_initial_weights():
    def weights(seed):
        new_model_session(seed)
        return build_model("dense_128").get_weights()

    a, b, c = weights(3), weights(3), weights(4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_augmentation_is_a_recipe_field_and_follows_the_session_seed():
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")

    def augmented(seed, recipe="cnn"):
        new_model_session(seed)
        model = build_model(recipe)
        return np.asarray(model.get_layer("augmentation")(x, training=True))

    assert np.array_equal(augmented(1), augmented(1))
    assert not np.array_equal(augmented(1), augmented(2))
    plain = get_recipe("cnn").replace(augment=None)
    new_model_session(1)
    assert "augmentation" not in [layer.name for layer in build_model(plain).layers]
    new_model_session(1)
    assert "augmentation" not in [layer.name for layer in build_model("cnn_fast").layers]


def test_replace_changes_settings_and_network_options():
    cnn = get_recipe("cnn")
    smaller = cnn.replace(widths=(8, 16), epochs=2, learning_rate=1e-3)
    assert smaller.options["widths"] == (8, 16) and smaller.options["dropout"] == 0.25
    assert smaller.epochs == 2 and smaller.learning_rate == 1e-3 and smaller.params is None
    assert cnn.options == {"dropout": 0.25} and RECIPES["cnn"] is cnn  # the registered recipe is untouched
    new_model_session(0)
    assert build_model(smaller).count_params() == conv(3, 1, 8) + conv(3, 8, 16) + 7 * 7 * 16 * 128 + 4 * 128 + dense(128, 10)
    assert cnn.network_options()["kernel"] == 3


def test_a_stride_2_convolution_replaces_the_pooling_after_it():
    new_model_session(0)
    model = build_model(get_recipe("cnn_fast").replace(strides=(1, 2), padding="same"))
    # Conv8 5x5 + pool: 14x14; Conv24 5x5 with stride 2: 7x7, no pool; the dense layer sees 7*7*24 numbers
    assert [type(layer).__name__ for layer in model.layers].count("MaxPooling2D") == 1
    assert model.count_params() == conv(5, 1, 8) + conv(5, 8, 24) + 7 * 7 * 24 * 128 + 4 * 128 + dense(128, 10)
    with pytest.raises(ValueError):  # one stride per width
        build_model(get_recipe("cnn_fast").replace(strides=(1, 2, 2)))


def test_valid_padding_shrinks_each_map_by_the_kernel_less_one():
    def map_sizes(padding):
        new_model_session(0)
        model = build_model(get_recipe("cnn_fast").replace(padding=padding))
        return [layer.output.shape[1] for layer in model.layers if type(layer).__name__ in ("Conv2D", "MaxPooling2D")]

    assert map_sizes("valid") == [24, 12, 8, 4]  # conv, pool, conv, pool
    assert map_sizes("same") == [28, 14, 14, 7]


def test_a_pca_first_layer_is_set_from_the_images_and_never_trained(mnist):
    rec = get_recipe("cnn_fast").replace(pca_first=True, epochs=1)
    x, y = prepare_images(mnist.x_train[:1024]), mnist.y_train[:1024]
    filters = first_filters(rec, x)
    new_model_session(0)
    model = build_model(rec, train_size=len(x), fixed_filters=filters)
    fixed = model.get_layer("pca_filters")
    assert not fixed.trainable and fixed.trainable_weights == []
    assert model.count_params() == HAND_COUNTED["cnn_fast"]  # the same layers, the first one fixed
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == HAND_COUNTED["cnn_fast"] - conv(5, 1, 8) - 2 * 128  # (and BatchNorm's running statistics)
    second = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D" and layer is not fixed)
    before = second.get_weights()[0].copy()
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)
    for got, given in zip(fixed.get_weights(), filters, strict=True):
        np.testing.assert_array_equal(got, given)
    assert not np.array_equal(second.get_weights()[0], before)  # while the rest learns
    assert first_filters("cnn", x) is None
    with pytest.raises(MnistlibError, match="no fixed first layer"):
        build_model("cnn", fixed_filters=filters)
    with pytest.raises(MnistlibError, match="even"):
        first_filters(rec.replace(widths=(15, 32)), x)


def test_train_recipe_computes_the_fixed_filters_from_its_own_training_digits(mnist):
    rec = get_recipe("cnn_fast").replace(pca_first=True, epochs=1)
    x, y = prepare_images(mnist.x_train[:1000]), mnist.y_train[:1000]
    new_model_session(3)
    model = train_recipe(rec, x, y, seed=3, verbose=0).model
    for got, expected in zip(model.get_layer("pca_filters").get_weights(), first_filters(rec, x, 3), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_bad_options_are_caught_on_the_signature_and_real_bugs_are_not_hidden():
    with pytest.raises(MnistlibError, match="widhts.*widths"):
        get_recipe("cnn").replace(widhts=(8, 16))
    with pytest.raises(MnistlibError, match="units"):
        Recipe("x", "bad", networks.dense, {"unit": 3})
    with pytest.raises(MnistlibError, match="optimizer"):
        Recipe("x", "bad", networks.dense, optimizer="adagrad")
    with pytest.raises(MnistlibError, match="augmentation setting"):
        Recipe("x", "bad", networks.dense, augment={"flip": 1.0})

    def buggy(x, units: int = 4):
        return networks.classifier(keras.layers.Dense(units + "1")(x))  # a TypeError inside the builder

    with pytest.raises(TypeError):
        build_model(Recipe("buggy", "a builder with a bug", buggy))


def schedule_of(model) -> dict:
    """The learning-rate schedule a compiled model's optimizer was given, as its config."""
    learning_rate = model.optimizer.get_config()["learning_rate"]
    assert learning_rate["class_name"] == "OneCycle"
    return learning_rate["config"]


def test_a_recipe_schedule_is_laid_out_for_the_data_it_trains_on():
    new_model_session(0)
    fast = schedule_of(build_model("cnn_fast"))
    assert fast["total_steps"] == 3 * -(-TRAIN_SIZE // 128) == 3 * get_recipe("cnn_fast").steps_per_epoch()
    assert fast["peak"] == get_recipe("cnn_fast").learning_rate
    new_model_session(0)
    small = schedule_of(build_model("cnn", train_size=300, epochs=2, batch_size=100))
    assert small["total_steps"] == 2 * 6  # 300 digits + 300 pen variants in batches of 100, twice


def test_recipe_table_lists_every_recipe():
    table = recipe_table()
    assert list(table.index) == list(RECIPES)
    assert table.loc["cnn", "pen_copies"] == 1 and table.loc["cnn", "augment"]
    assert table.loc["cnn_fast", "label_smoothing"] == 0.1


def test_no_library_code_branches_on_a_recipe_name():
    """Recipes are data: no comparison in mnistlib/ mentions a recipe's name."""
    offenders = []
    for path in (Path(__file__).resolve().parent.parent / "mnistlib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                strings = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                offenders += [f"{path.name}:{node.lineno}" for s in strings if s in RECIPES]
    assert offenders == []


def test_onecycle_schedule_warms_up_then_anneals():
    schedule = OneCycle(peak=0.01, total_steps=100, warmup=0.2)
    lrs = np.array([float(schedule(step)) for step in range(100)])
    assert lrs.argmax() in (19, 20) and lrs.max() == pytest.approx(0.01, rel=1e-3)
    assert np.all(np.diff(lrs[:19]) > 0) and np.all(np.diff(lrs[21:]) <= 0)
    assert lrs[-1] < 0.001


def test_smoothed_sparse_crossentropy_matches_keras_on_one_hot_labels():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=6).astype("float32")
    labels = np.array([0, 3, 9, 1, 1, 7])
    onehot = np.eye(10, dtype="float32")[labels]
    for s in (0.0, 0.1, 0.3):
        ours = float(SmoothedSparseCrossentropy(s)(labels, probs))
        ref = float(keras.losses.CategoricalCrossentropy(label_smoothing=s)(onehot, probs))
        assert ours == pytest.approx(ref, rel=1e-5)
    plain = float(keras.losses.SparseCategoricalCrossentropy()(labels, probs))
    assert float(SmoothedSparseCrossentropy(0.0)(labels, probs)) == pytest.approx(plain, rel=1e-5)
    assert float(SmoothedSparseCrossentropy(0.1)(labels, probs)) != pytest.approx(plain, rel=1e-3)
    new_model_session(0)
    loss = build_model("cnn_fast").loss
    assert isinstance(loss, SmoothedSparseCrossentropy) and loss.label_smoothing == 0.1


def test_one_vs_rest_loss_is_binary_crossentropy_on_one_hot_labels():
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.01, 0.99, size=(6, 10)).astype("float32")  # ten sigmoids: rows need not sum to 1
    labels = np.array([2, 0, 9, 5, 5, 1])
    onehot = np.eye(10, dtype="float32")[labels]
    for s in (0.0, 0.1):
        ours = float(OneVsRestCrossentropy(s)(labels, probs))
        ref = float(keras.losses.BinaryCrossentropy(label_smoothing=s)(onehot, probs))
        assert ours == pytest.approx(ref, rel=1e-5)
    by_hand = -np.mean(onehot * np.log(probs) + (1 - onehot) * np.log(1 - probs))
    assert float(OneVsRestCrossentropy()(labels, probs)) == pytest.approx(by_hand, rel=1e-4)


def test_a_sigmoid_output_is_trained_one_vs_rest_and_never_with_the_categorical_loss(mnist):
    new_model_session(0)
    model = build_model("dense_50_sigmoid")
    assert isinstance(model.loss, OneVsRestCrossentropy)
    probs = model.predict(prepare_images(mnist.x_test[:8]), verbose=0)
    assert np.all((probs > 0) & (probs < 1)) and np.ptp(probs.sum(axis=1)) > 0  # independent sigmoids
    assert not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    x, y = prepare_images(mnist.x_train[:1024]), mnist.y_train[:1024]
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)  # one-vs-rest starts slowly: 96 steps
    after = model.evaluate(x, y, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] and after["accuracy"] > 0.6
    # Keras 3 on TensorFlow would read a sigmoid output's pre-sigmoid values as softmax logits: refused
    with pytest.raises(MnistlibError, match="one_vs_rest"):
        get_recipe("dense_50_sigmoid").replace(loss="categorical")
    with pytest.raises(MnistlibError, match="one_vs_rest"):
        get_recipe("dense_128").replace(output="sigmoid")
    with pytest.raises(MnistlibError, match="loss"):
        get_recipe("dense_128").replace(loss="hinge")


AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AVX2_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_bfloat16_is_used_only_where_the_cpu_computes_it_in_hardware(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert native_bfloat16(AMX_CPU) and not native_bfloat16(AVX2_CPU) and not native_bfloat16("")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN told to act as a plain AVX2 CPU
    assert not native_bfloat16(AMX_CPU)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert native_bfloat16(AMX_CPU)
    assert compute_policy("float32") == "float32"
    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert compute_policy("bfloat16") == "float32"
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    assert compute_policy("bfloat16") == "mixed_bfloat16" and compute_policy("float32") == "float32"
    monkeypatch.setenv(PRECISION_ENV, "fp8")
    with pytest.raises(MnistlibError, match="MNISTLIB_PRECISION"):
        compute_policy("bfloat16")
    with pytest.raises(MnistlibError, match="precision"):
        get_recipe("cnn_fast").replace(precision="float16")


def test_a_bfloat16_recipe_builds_a_mixed_network_and_hands_back_a_float32_copy(monkeypatch, mnist):
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    rec = get_recipe("cnn").replace(precision="bfloat16")
    new_model_session(0)
    mixed = build_model(rec)
    policies = {layer.name: layer.dtype_policy.name for layer in mixed.layers}
    assert policies["conv2d"] == "mixed_bfloat16" and policies["probabilities"] == "float32"
    assert policies["augmentation"] == "float32"  # the augmentation resamples in float32
    assert keras.mixed_precision.global_policy().name == "float32"  # restored for the next model
    copy = float32_copy(mixed, rec)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    assert [layer.name for layer in copy.layers] == [layer.name for layer in mixed.layers]
    for a, b in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = prepare_images(mnist.x_test[:64])
    p32, p16 = copy.predict(x, verbose=0), mixed.predict(x, verbose=0)
    assert p32.dtype == np.float32 and np.abs(p32 - p16).max() < 0.05  # bfloat16 keeps ~3 significant digits
    assert not np.array_equal(p32, p16)
    assert copy.optimizer is not None and float32_copy(copy, rec) is copy
