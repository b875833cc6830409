"""mnistlib.saving: model files with their cards, atomic writes, one-line errors, checked before training."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mnistlib.config import keras, new_model_session, tf
from mnistlib.errors import MnistlibError
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import RECIPES, build_model
from mnistlib.runtime import ExportError, LightModel, light_model_path
from mnistlib.saving import ModelFileError, check_output_path, load_card, load_model, save_model


def test_save_then_load_gives_identical_predictions_and_a_card(tmp_path, mnist):
    x = prepare_images(mnist.x_test[:64])
    new_model_session(1)
    model = build_model("cnn")  # has the custom augmentation layers and schedule
    path = save_model(model, tmp_path / "m.keras", {"recipe": "cnn", "seed": 1, "epochs": 0,
                                                    "test_accuracy": 0.5, "train_seconds": 1.0})
    assert path == tmp_path / "m.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras", "m.tflite"]  # no temporary files
    loaded = load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    light = LightModel(tmp_path / "m.tflite")  # the export for the light runtime, written beside it
    np.testing.assert_allclose(light.predict(x), loaded.predict(x, verbose=0), atol=1e-5)
    card = load_card(path)
    assert card == json.loads((tmp_path / "m.json").read_text())
    assert card["recipe"] == "cnn" and card["seed"] == 1 and card["test_accuracy"] == 0.5
    assert card["params"] == RECIPES["cnn"].params
    assert {"tensorflow", "keras", "numpy"} <= set(card["library_versions"])
    assert card["date"][:2] == "20"


def test_load_missing_or_corrupt_file_names_the_file(tmp_path):
    with pytest.raises(ModelFileError, match="nope.keras"):
        load_model(tmp_path / "nope.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ModelFileError, match="bad.keras"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="nope.json"):
        load_card(tmp_path / "nope.keras")


def test_save_refuses_a_wrong_suffix_and_writes_nothing(tmp_path):
    new_model_session(0)
    with pytest.raises(MnistlibError, match=".keras"):
        save_model(build_model("dense_128"), tmp_path / "m.h5", {})
    assert list(tmp_path.iterdir()) == []


def test_output_path_is_checked_and_created(tmp_path):
    assert check_output_path(tmp_path / "new" / "deeper" / "m.keras") == tmp_path / "new" / "deeper" / "m.keras"
    assert (tmp_path / "new" / "deeper").is_dir() and list((tmp_path / "new" / "deeper").iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelFileError, match="cannot save"):
        check_output_path(blocker / "m.keras")
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(ModelFileError, match="folder"):
        check_output_path(tmp_path / "dir.keras")


def test_export_can_be_turned_off(tmp_path):
    new_model_session(0)
    save_model(build_model("dense_128"), tmp_path / "m.keras", {}, export=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]


@keras().saving.register_keras_serializable(package="test_saving")
class Determinants(keras().layers.Layer):
    """An operation LiteRT's built-ins lack (a 2x2 determinant): a model that saves but cannot be exported."""

    def call(self, x):
        k = keras()
        return k.ops.softmax(tf().linalg.det(k.ops.reshape(x[:, :20, :2, 0], (-1, 10, 2, 2))))


def test_a_failed_export_keeps_the_saved_model_and_removes_the_stale_export(tmp_path):
    """Training is never lost to an export failure: the .keras and its card are saved, the error says so,
    and the previous model's .tflite no longer answers for the new one."""
    k = keras()
    new_model_session(0)
    inputs = k.Input((28, 28, 1))
    model = k.Model(inputs, Determinants()(inputs))
    stale = tmp_path / "m.tflite"
    stale.write_bytes(b"the previous model's export")
    os.utime(stale, (0, 4_000_000_000))  # even one that looks newer than the model
    with pytest.raises(ExportError) as err:
        save_model(model, tmp_path / "m.keras", {"recipe": "det"})
    message = str(err.value)
    assert "\n" not in message and "MatrixDeterminant" in message
    assert f"saved {tmp_path / 'm.keras'} and m.json" in message and "mnistlib export" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]
    assert load_card(tmp_path / "m.keras")["recipe"] == "det"
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0))
    assert light_model_path(tmp_path / "m.keras") is None  # predictions fall back to Keras
