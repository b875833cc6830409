"""mnistlib.runtime: LiteRT exports of the course's models answer like the Keras models, without TensorFlow;
``mnistlib export`` writes them atomically and fails in one line."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnistlib.config import keras, tf
from mnistlib.inputs import INPUT_SHAPE, InputError, check_model
from mnistlib.preprocess import prepare_images
from mnistlib.runtime import (
    BATCH_SIZE, ExportError, LightModel, RuntimeModelError, export_model, exported_path, light_model_path,
)
from mnistlib.saving import ModelFileError, load_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def test_images(mnist):
    return prepare_images(mnist.x_test)


@pytest.mark.parametrize("name", ["cnn", "dense"])
def test_the_committed_exports_match_their_keras_models_on_all_10000_test_images(name, test_images, mnist):
    """The shipped models/X.tflite gives the probabilities of models/X.keras (within 1e-5) on every
    test image: the export is current and the light runtime computes what Keras computes."""
    light_path = MODELS / f"{name}.tflite"
    assert light_model_path(MODELS / f"{name}.keras") == light_path  # present, and not older than the .keras
    expected = load_model(MODELS / f"{name}.keras").predict(test_images, batch_size=1000, verbose=0)
    got = LightModel(light_path).predict(test_images)
    assert got.shape == (10_000, 10) and got.dtype == np.float32
    assert np.max(np.abs(got - expected)) <= 1e-5
    assert (got.argmax(1) == expected.argmax(1)).all()
    assert (got.argmax(1) == mnist.y_test).mean() > 0.98


def test_light_model_behaves_like_a_keras_model_for_prediction(test_images):
    model = LightModel(MODELS / "cnn.tflite")
    assert model.output_shape == (None, 10) and check_model(model) is model
    x = test_images[: BATCH_SIZE + 44]  # more than one interpreter call, and a last batch of another size
    whole = model.predict(x)
    assert whole.shape == (len(x), 10)
    np.testing.assert_allclose(model.predict(x, batch_size=7), whole, atol=1e-6)  # batching changes nothing
    np.testing.assert_allclose(model.predict_on_batch(x[:1]), whole[:1], atol=1e-6)
    np.testing.assert_allclose(model.predict(x[:3, :, :, 0]), whole[:3], atol=1e-6)  # (N, 28, 28) accepted
    np.testing.assert_allclose(whole.sum(axis=1), 1, atol=1e-5)  # softmax probabilities
    with pytest.raises(InputError, match="uint8"):
        model.predict((x[:2] * 255).astype(np.uint8))
    with pytest.raises(InputError, match="batch of"):
        model.predict(np.zeros((2, 32, 32, 1), np.float32))


def test_light_model_refuses_missing_corrupt_and_wrong_files(tmp_path):
    with pytest.raises(RuntimeModelError, match="not found.*nope.tflite"):
        LightModel(tmp_path / "nope.tflite")
    for name, content in (("empty.tflite", b""), ("junk.tflite", b"junk" * 100),
                          ("keras.tflite", (MODELS / "cnn.keras").read_bytes())):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(RuntimeModelError, match=f"corrupt or wrong format.*{name}"):
            LightModel(tmp_path / name)
    k = keras()
    inputs = k.Input(INPUT_SHAPE)
    five = k.Model(inputs, k.layers.Dense(5, activation="softmax")(k.layers.Flatten()(inputs)))
    five.export(str(tmp_path / "five.tflite"), format="litert", verbose=False)  # Keras' own export, unchecked
    with pytest.raises(RuntimeModelError, match="outputs 5 values per image"):
        LightModel(tmp_path / "five.tflite")


def test_export_from_a_file_writes_beside_it_atomically(tmp_path, test_images):
    source = tmp_path / "m.keras"
    shutil.copy(MODELS / "dense.keras", source)
    assert light_model_path(source) is None  # nothing exported yet
    out = export_model(source)
    assert out == exported_path(source) == tmp_path / "m.tflite" == light_model_path(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "m.tflite"]  # no temporary file left
    # the same model as the committed export (exported from the model in memory: tensor names and the
    # last float bits may differ)
    np.testing.assert_allclose(LightModel(out).predict(test_images[:100]),
                               LightModel(MODELS / "dense.tflite").predict(test_images[:100]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(LightModel(out).predict(test_images[:100]),
                               load_model(source).predict(test_images[:100], verbose=0), atol=1e-5)


def test_an_export_older_than_its_model_is_not_used(tmp_path):
    source, light = tmp_path / "m.keras", tmp_path / "m.tflite"
    shutil.copy(MODELS / "dense.keras", source)
    shutil.copy(MODELS / "dense.tflite", light)
    assert light_model_path(source) == light
    stat = light.stat()
    os.utime(source, (stat.st_atime, stat.st_mtime + 60))  # the .keras replaced a minute after the export
    assert light_model_path(source) is None
    assert light_model_path(light) == light  # asked for by name, the export itself is used


def test_a_failed_export_writes_nothing_and_says_why_in_one_line(tmp_path):
    k = keras()

    class Determinants(k.layers.Layer):  # an operation LiteRT's built-ins lack: a 2x2 determinant
        def call(self, x):
            return k.ops.softmax(tf().linalg.det(k.ops.reshape(x[:, :20, :2, 0], (-1, 10, 2, 2))))

    inputs = k.Input(INPUT_SHAPE)
    unsupported = k.Model(inputs, Determinants()(inputs))
    out = tmp_path / "u.tflite"
    out.write_bytes(b"the previous export")
    with pytest.raises(ExportError) as err:
        export_model(unsupported, out)
    message = str(err.value)
    assert "\n" not in message and "MatrixDeterminant" in message and len(message) < 400, message
    assert out.read_bytes() == b"the previous export"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.tflite"]  # no temporary file left

    five = k.Model(inputs, k.layers.Dense(5, activation="softmax")(k.layers.Flatten()(inputs)))
    with pytest.raises(ExportError, match="outputs 5 values per image"):  # converted, then refused by the check
        export_model(five, tmp_path / "five.tflite")
    with pytest.raises(ExportError, match="out="):
        export_model(five)
    with pytest.raises(ExportError, match=r"end in \.tflite"):
        export_model(MODELS / "dense.keras", tmp_path / "x.onnx")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(ExportError, match="corrupt.*bad.keras"):
        export_model(bad)
    with pytest.raises(ExportError, match="not found.*nope.keras"):
        export_model(tmp_path / "nope.keras")
    with zipfile.ZipFile(tmp_path / "zip.keras", "w") as archive:  # a zip file, but not a Keras model
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ModelFileError, match="zip.keras"):
        export_model(tmp_path / "zip.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.keras", "u.tflite", "zip.keras"]


def test_mnistlib_export_command(tmp_path, run_cli, assert_one_line_error):
    source = tmp_path / "m.keras"
    shutil.copy(MODELS / "dense.keras", source)
    proc = run_cli("export", str(source))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "m.tflite") and proc.stderr == ""
    probe = np.random.default_rng(0).random((8, *INPUT_SHAPE), dtype=np.float32)
    np.testing.assert_allclose(LightModel(tmp_path / "m.tflite").predict(probe),
                               LightModel(MODELS / "dense.tflite").predict(probe), rtol=0, atol=1e-6)

    (tmp_path / "corrupt.keras").write_bytes(b"\x00" * 100)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_one_line_error(run_cli("export", str(tmp_path / "corrupt.keras")), 2, "corrupt.keras")
    assert_one_line_error(run_cli("export", str(tmp_path / "missing.keras")), 2, "missing.keras")
    assert_one_line_error(run_cli("export", str(source), "--out", str(tmp_path / "m.onnx")), 2, ".tflite")
    assert_one_line_error(run_cli("export"), 2, "required")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, not even half
