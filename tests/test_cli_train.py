"""The train / evaluate / cv subcommands: a real quick-profile run, and every bad input -> one line, exit 2."""

from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, run_cli
from mnistlib.calibration import CALIBRATION_FRACTION
from mnistlib.config import QUICK as QUICK_PROFILE

QUICK = {"MNISTLIB_QUICK": "1"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("cli") / "d.keras"
    proc = run_cli("train", "--model", "dense_128", "--epochs", "1", "--json", "--out", str(out),
                   env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    return out, [json.loads(line) for line in proc.stdout.splitlines()]


def test_train_json_lines_and_saved_model(trained):
    out, lines = trained
    epoch, summary = lines
    assert set(epoch) == {"epoch", "train_seconds", "test_accuracy"} and epoch["epoch"] == 1
    assert 0.5 < epoch["test_accuracy"] <= 1.0 and epoch["train_seconds"] > 0
    assert summary["model_path"] == str(out) and summary["test_accuracy"] == epoch["test_accuracy"]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["recipe"] == "dense_128" and card["test_accuracy"] == epoch["test_accuracy"]
    assert card["profile"] == "quick" and card["epochs"] == 1
    # a stratified 1/12 of the run's training images is held out to fit the temperature
    quick_train = QUICK_PROFILE.train_size
    calibration = card["calibration"]
    assert calibration["images"] == round(quick_train * CALIBRATION_FRACTION)
    assert card["train_images"] == quick_train - calibration["images"]
    assert calibration["temperature"] > 0 and calibration["nll_after"] <= calibration["nll_before"]
    assert summary["temperature"] == pytest.approx(calibration["temperature"], abs=1e-4)


def test_no_calibration_trains_on_every_image(tmp_path, mnist_dir):
    out = tmp_path / "all.keras"
    proc = run_cli("train", "--model", "dense_128", "--epochs", "1", "--no-calibration", "--json", "--out", str(out),
                   env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert "calibration" not in card and card["train_images"] == QUICK_PROFILE.train_size
    assert json.loads(proc.stdout.splitlines()[-1])["temperature"] is None


def test_evaluate_reports_the_same_accuracy_whatever_the_training_seed(trained, tmp_path, mnist_dir):
    out, lines = trained
    proc = run_cli("evaluate", str(out), "--json", env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["test_accuracy"] == pytest.approx(lines[-1]["test_accuracy"])
    # a model trained with another seed is scored on the same quick-profile test images
    other = tmp_path / "seed7.keras"
    proc = run_cli("train", "--model", "dense_50_sigmoid", "--epochs", "1", "--seed", "7", "--json", "--out",
                   str(other), env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    trained_accuracy = json.loads(proc.stdout.splitlines()[-1])["test_accuracy"]
    proc = run_cli("evaluate", str(other), "--json", env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert json.loads(proc.stdout)["test_accuracy"] == pytest.approx(trained_accuracy)
    assert set(report["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall"} <= set(report["per_class"]["3"])


def test_two_devices_give_the_numbers_of_one(trained, tmp_path, mnist_dir):
    """MirroredStrategy over the CPU split into two logical devices: same recipe, seed and data as `trained` (and
    one step per call of Keras' function there: its loop of steps fails under MirroredStrategy)."""
    _, lines = trained
    out = tmp_path / "two.keras"
    proc = run_cli("train", "--model", "dense_128", "--epochs", "1", "--devices", "2", "--json", "--out", str(out),
                   env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["devices"] == 2 and json.loads(out.with_suffix(".json").read_text())["devices"] == 2
    assert summary["compute_policy"] == "float32"  # dense_128 asks for float32 on every CPU
    assert summary["test_accuracy"] == pytest.approx(lines[-1]["test_accuracy"], abs=2e-3)


def test_cv_reports_k_folds(mnist_dir):
    proc = run_cli("cv", "--model", "dense_50_sigmoid", "--folds", "2", "--epochs", "1", "--json",
                   env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["folds"] == 2 and len(report["per_fold"]) == 2
    assert 0.3 < report["accuracy_mean"] <= 1.0


def test_unknown_model_lists_the_valid_names(tmp_path):
    proc = run_cli("train", "--model", "resnet50", "--out", str(tmp_path / "x.keras"))
    line = assert_one_line_error(proc, 2, "resnet50")
    assert "cnn_fast" in line and "dense_128" in line
    assert list(tmp_path.iterdir()) == []
    assert_one_line_error(run_cli("cv", "--model", "resnet50", "--folds", "2"), 2, "dense_128")


@pytest.mark.parametrize("epochs", ["0", "-3", "two"])
def test_non_positive_epochs(epochs, tmp_path):
    proc = run_cli("train", "--model", "dense", "--epochs", epochs, "--out", str(tmp_path / "x.keras"))
    assert_one_line_error(proc, 2, "--epochs")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_fails_before_any_training(tmp_path, mnist_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = run_cli("train", "--model", "dense_128", "--epochs", "1", "--json", "--out", str(blocker / "m.keras"),
                   env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert_one_line_error(proc, 2, "cannot save")
    assert proc.stdout == ""  # not one epoch was trained
    assert_one_line_error(run_cli("train", "--model", "dense_128", "--out", str(tmp_path / "m.h5")), 2, ".keras")


def test_evaluate_names_a_model_that_is_not_a_digit_classifier(tmp_path, mnist_dir):
    from mnistlib.optim import keras

    inputs = keras.Input((28, 28, 1))
    five = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs)))
    five.save(tmp_path / "five.keras")
    proc = run_cli("evaluate", str(tmp_path / "five.keras"), env={**QUICK, "MNIST_DATA_DIR": str(mnist_dir)})
    assert_one_line_error(proc, 2, "must output 10")


def test_missing_and_corrupt_model_files(tmp_path):
    assert_one_line_error(run_cli("evaluate", str(tmp_path / "none.keras")), 2, "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    assert_one_line_error(run_cli("evaluate", str(bad)), 2, "bad.keras")
