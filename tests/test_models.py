"""mnistlib.models and mnistlib.augment: recipes, parameter counts, saving/loading, augmentation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnistlib import models
from mnistlib.augment import RandomStrokeWidth, augmentation, pen_variants
from mnistlib.errors import MnistlibError
from mnistlib.preprocess import prepare_images


def arr(tensor):
    return models.keras.ops.convert_to_numpy(tensor)


def dense(n_in, n_out):
    return n_in * n_out + n_out


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


# Parameter counts worked out by hand from the layer sizes in the issue (not read back from Keras).
HAND_COUNTED = {
    "dense_128": dense(784, 128) + dense(128, 128) + dense(128, 10),
    "dense_50_sigmoid": dense(784, 50) + dense(50, 50) + dense(50, 10),
    "cnn_basic": conv(3, 1, 32) + dense(13 * 13 * 32, 100) + dense(100, 10),
    "cnn_small": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 10),
    "cnn_dense64": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 64) + dense(64, 10),
    "keras_example": conv(3, 1, 32) + conv(3, 32, 64) + dense(5 * 5 * 64, 10),
    # this project's recipes: bias-free layers followed by BatchNorm (4 numbers per channel);
    # the CNNs' conv layers have biases and no BatchNorm (the slowest layer on a CPU)
    "dense": 784 * 512 + 4 * 512 + 512 * 512 + 4 * 512 + dense(512, 10),
    "cnn_fast": conv(5, 1, 16) + conv(5, 16, 32) + 7 * 7 * 32 * 128 + 4 * 128 + dense(128, 10),
    "cnn": conv(3, 1, 32) + conv(3, 32, 64) + 7 * 7 * 64 * 128 + 4 * 128 + dense(128, 10),
}


@pytest.mark.parametrize("name", list(models.RECIPES))
def test_every_recipe_builds_with_its_documented_parameter_count(name):
    model = models.build_model(name, seed=0)
    assert model.count_params() == models.PARAMS[name] == models.count_params(model)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert model.optimizer is not None  # compiled
    assert models.PARAMS[name] == HAND_COUNTED[name]


def test_outputs_are_class_probabilities(mnist):
    x = prepare_images(mnist.x_test[:8])
    probs = models.build_model("cnn_fast", seed=0).predict(x, verbose=0)
    assert probs.shape == (8, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(MnistlibError) as info:
        models.build_model("resnet")
    message = str(info.value)
    assert "resnet" in message
    for name in models.RECIPES:
        assert name in message


def test_same_seed_same_initial_weights():
    a = models.build_model("dense_128", seed=3).get_weights()
    b = models.build_model("dense_128", seed=3).get_weights()
    c = models.build_model("dense_128", seed=4).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_save_then_load_gives_identical_predictions_and_a_card(tmp_path, mnist):
    x = prepare_images(mnist.x_test[:64])
    model = models.build_model("cnn", seed=1)  # has the custom augmentation layer
    path = models.save_model(model, tmp_path / "m.keras", {"recipe": "cnn", "seed": 1, "epochs": 0,
                                                           "test_accuracy": 0.5, "train_seconds": 1.0})
    assert path == tmp_path / "m.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]  # no temporary files left
    loaded = models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    card = models.load_card(path)
    assert card == json.loads((tmp_path / "m.json").read_text())
    assert card["recipe"] == "cnn" and card["seed"] == 1 and card["test_accuracy"] == 0.5
    assert card["params"] == models.PARAMS["cnn"]
    assert {"tensorflow", "keras", "numpy"} <= set(card["library_versions"])
    assert card["date"][:2] == "20"


def test_load_missing_or_corrupt_file_names_the_file(tmp_path):
    with pytest.raises(models.ModelFileError, match="nope.keras"):
        models.load_model(tmp_path / "nope.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(models.ModelFileError, match="bad.keras"):
        models.load_model(bad)
    with pytest.raises(models.ModelFileError, match="nope.json"):
        models.load_card(tmp_path / "nope.keras")


def test_save_refuses_a_wrong_suffix_and_writes_nothing(tmp_path):
    with pytest.raises(MnistlibError, match=".keras"):
        models.save_model(models.build_model("dense_128"), tmp_path / "m.h5", {})
    assert list(tmp_path.iterdir()) == []


def test_onecycle_schedule_warms_up_then_anneals():
    schedule = models.OneCycle(peak=0.01, total_steps=100, warmup=0.2)
    lrs = np.array([float(schedule(step)) for step in range(100)])
    assert lrs.argmax() in (19, 20) and lrs.max() == pytest.approx(0.01, rel=1e-3)
    assert np.all(np.diff(lrs[:19]) > 0) and np.all(np.diff(lrs[21:]) <= 0)
    assert lrs[-1] < 0.001


def test_augmentation_is_seeded_training_only_and_keeps_the_digit(mnist):
    x = prepare_images(mnist.x_train[:32])
    a1 = arr(augmentation(seed=5)(x, training=True))
    a2 = arr(augmentation(seed=5)(x, training=True))
    assert a1.shape == x.shape and a1.dtype == np.float32
    np.testing.assert_array_equal(a1, a2)  # one seed, one result
    assert not np.allclose(a1, x)
    np.testing.assert_array_equal(arr(augmentation(seed=5)(x, training=False)), x)
    assert a1.min() >= -1e-6 and a1.max() <= 1 + 1e-6
    # Small jitter: the ink stays roughly where it was (the centre of mass moves by a few pixels at most).
    rows = np.arange(28)[None, :, None, None]
    centre = lambda im: (im * rows).sum(axis=(1, 2, 3)) / im.sum(axis=(1, 2, 3))  # noqa: E731
    assert np.abs(centre(a1) - centre(x)).max() < 5


def test_stroke_width_thickens_and_thins(mnist):
    x = prepare_images(mnist.x_train[:16])
    layer = RandomStrokeWidth(factor=1.0, seed=0)
    out = arr(layer(x, training=True))
    ink_in, ink_out = x.sum(axis=(1, 2, 3)), out.sum(axis=(1, 2, 3))
    assert (ink_out > ink_in * 1.05).any() and (ink_out < ink_in * 0.95).any()
    np.testing.assert_array_equal(arr(layer(x, training=False)), x)


def test_smoothed_sparse_crossentropy_matches_keras_on_one_hot_labels():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=6).astype("float32")
    labels = np.array([0, 3, 9, 1, 1, 7])
    onehot = np.eye(10, dtype="float32")[labels]
    keras = models.keras
    for s in (0.0, 0.1, 0.3):
        ours = float(models.SmoothedSparseCrossentropy(s)(labels, probs))
        ref = float(keras.losses.CategoricalCrossentropy(label_smoothing=s)(onehot, probs))
        assert ours == pytest.approx(ref, rel=1e-5)
    plain = float(keras.losses.SparseCategoricalCrossentropy()(labels, probs))
    assert float(models.SmoothedSparseCrossentropy(0.0)(labels, probs)) == pytest.approx(plain, rel=1e-5)
    assert float(models.SmoothedSparseCrossentropy(0.1)(labels, probs)) != pytest.approx(plain, rel=1e-3)
    assert isinstance(models.build_model("cnn_fast").loss, models.SmoothedSparseCrossentropy)


def test_pen_variants_are_seeded_refitted_digits_with_other_pens(mnist):
    from scipy import ndimage

    from mnistlib.imageprep import fit_and_center

    x = mnist.x_train[:60]
    a = pen_variants(x, copies=2, seed=3)
    assert a.shape == (120, 28, 28, 1) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, pen_variants(x, copies=2, seed=3, threads=1))  # seeded, any thread count
    assert not np.array_equal(a, pen_variants(x, copies=2, seed=4))
    assert not np.array_equal(a[:60], a[60:])  # the two copies differ
    for v in a[..., 0]:  # refitted like a prepared photo: longest side 20 px, centre of mass near (14, 14)
        rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)
        assert np.allclose(ndimage.center_of_mass(v), 14, atol=1.5)
    # the pen changes: relative to the same digit refitted, some variants carry much more ink, some less
    ratio = a[..., 0].sum(axis=(1, 2)) / np.tile([fit_and_center(d / 255.0).sum() for d in x], 2)
    assert ratio.max() > 1.5 and ratio.min() < 0.9
    with pytest.raises(ValueError, match="28, 28"):
        pen_variants(np.zeros((2, 32, 32)))
