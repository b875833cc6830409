"""mnistlib.panels: the experiment panel (notebook 07) and the mistakes threshold (notebook 08), on real
MNIST with real (tiny) Keras training; the run log goes to a temporary project folder (MNISTLIB_HOME)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from mnistlib.errors import MnistlibError
from mnistlib.panels import ExperimentPanel, MistakesExplorer, archive_log, augment_settings, experiments_path
from mnistlib.preprocess import prepare_images, stratified_subset
from mnistlib.recipes import get_recipe


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh project folder in the quick profile: the run log is <tmp>/build/quick/experiments.jsonl."""
    monkeypatch.setenv("MNISTLIB_HOME", str(tmp_path))
    monkeypatch.setenv("MNISTLIB_QUICK", "1")
    return tmp_path


@pytest.fixture(scope="module")
def small_train(mnist):
    """1,500 stratified training digits, model-ready (the panel holds 250 of them out for validation)."""
    index = stratified_subset(mnist.y_train, 1500, seed=0)
    return prepare_images(mnist.x_train[index]), mnist.y_train[index]


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_run_appends_a_row_and_a_log_line_that_a_new_panel_reloads(home, small_train):
    panel = ExperimentPanel(["dense_128", "cnn_fast"], data=small_train)
    log = home / "build" / "quick" / "experiments.jsonl"
    assert panel.path == log == experiments_path()
    assert panel.runs.empty and not log.exists()
    # validation: a fixed, stratified part of the training images, disjoint from what runs train on
    assert len(np.intersect1d(panel._val, panel._rest)) == 0
    assert len(panel._val) + len(panel._rest) == 1500
    shares = np.bincount(small_train[1]) / 1500  # stratified: each digit in the validation part in its share
    assert np.all(np.abs(np.bincount(small_train[1][panel._val], minlength=10) - 250 * shares) <= 1)

    row = panel.run(recipe="dense_128", epochs=2, train_size=1000, batch_size=64)
    assert row["recipe"] == "dense_128" and row["train_size"] == 1000 and row["batch_size"] == 64
    assert row["epochs_run"] == 2 and not row["stopped"]
    assert row["learning_rate"] == get_recipe("dense_128").learning_rate  # the recipe's own, as the dropdown sets
    assert row["val_accuracy"] > 0.5  # it learned: chance is 0.1
    assert [len(v) for v in panel.history.values()] == [2] * len(panel.history)
    assert panel.w_curve.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "dense_128" in panel.w_table.value

    lines = _lines(log)
    assert len(lines) == 1 and lines[0]["run"] == 1 and lines[0]["val_accuracy"] == row["val_accuracy"]
    assert len(lines[0]["history"]["val_accuracy"]) == 2
    assert panel.runs.iloc[0]["val_accuracy"] == row["val_accuracy"]

    reopened = ExperimentPanel(["dense_128", "cnn_fast"], data=small_train)  # e.g. after a kernel restart
    assert reopened.runs.to_dict("records") == panel.runs.to_dict("records")
    second = reopened.run(epochs=1, train_size=1000, augment=1.0)
    assert second["run"] == 2 and second["augment"] == 1.0 and second["epochs_run"] == 1
    assert len(_lines(log)) == 2 and len(reopened.runs) == 2

    # a long log shows its newest rows; a half-written last line (a killed kernel) is skipped
    copies = [{**lines[0], "run": n} for n in range(3, 15)]
    with log.open("a") as out:
        out.writelines(json.dumps(c) + "\n" for c in copies)
        out.write('{"run": 15, "recipe": "dense_1')
    long = ExperimentPanel(["dense_128"], data=small_train)
    assert len(long.runs) == 14 and long.bad_log_lines == 1
    assert long.w_table.value.split("<tbody>")[1].count("<tr>") == 10 and "the last 10 of 14 runs" in long.w_table.value
    assert long.run(epochs=1, train_size=500)["run"] == 15

    long.clear()
    assert long.runs.empty and not log.exists()


def test_stop_button_stops_a_background_run_early(home, small_train):
    panel = ExperimentPanel(["dense_128"], data=small_train)
    panel.w_epochs.value = 20
    panel.w_batch.value = 16
    panel.w_train_size.value = 1000
    panel.w_run.click()  # what a click does: train in a background thread
    assert panel.running and not panel.w_stop.disabled
    deadline = time.monotonic() + 120
    while not panel.history.get("val_accuracy") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert panel.history.get("val_accuracy"), "no epoch finished within 2 minutes"
    panel.w_stop.click()
    panel.wait(120)
    assert not panel.running and panel.error is None
    (row,) = panel.runs.to_dict("records")
    assert row["stopped"] is True and row["epochs"] == 20
    assert 1 <= row["epochs_run"] < 20
    assert len(_lines(panel.path)) == 1
    assert panel.w_stop.disabled and not panel.w_run.disabled
    # the stop does not carry over: the next run trains all its epochs
    assert panel.run(epochs=2, batch_size=128)["epochs_run"] == 2


@pytest.mark.parametrize("bad, words", [
    ({"epochs": -1}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"recipe": "no_such_recipe"}, "unknown recipe"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"augment": -0.5}, "augment"),
    ({"train_size": 10**6}, "train_size"),
    ({"batch_size": 0}, "batch_size"),
    ({"epoch": 3}, "unknown setting"),
])
def test_bad_settings_raise_one_line_and_write_nothing(home, small_train, bad, words):
    panel = ExperimentPanel(["dense_128"], data=small_train)
    with pytest.raises(MnistlibError) as info:
        panel.run(**bad)
    message = str(info.value)
    assert words in message and "\n" not in message
    with pytest.raises(MnistlibError):
        panel.start(**bad)
    assert not panel.running and panel.runs.empty and not panel.path.exists()


def test_augmentation_strength_scales_the_recipe_settings():
    cnn, fast = get_recipe("cnn"), get_recipe("cnn_fast")
    assert augment_settings(fast, 0.0) is None
    double = augment_settings(cnn, 2.0)
    assert double == {k: 2 * v for k, v in augment_settings(cnn, 1.0).items()}
    assert augment_settings(fast, 1.0) == augment_settings(cnn, 1.0)  # a recipe without augmentation: the defaults


@pytest.fixture(scope="module")
def probs_and_labels(mnist):
    """Real predicted probabilities: softmax regression (scikit-learn) on 2,000 digits, scored on 1,000 test digits."""
    from sklearn.linear_model import LogisticRegression

    tr = stratified_subset(mnist.y_train, 2000, seed=1)
    te = stratified_subset(mnist.y_test, 1000, seed=1)
    model = LogisticRegression(max_iter=200).fit(mnist.x_train[tr].reshape(len(tr), -1) / 255.0, mnist.y_train[tr])
    probs = model.predict_proba(mnist.x_test[te].reshape(len(te), -1) / 255.0)
    return mnist.x_test[te], mnist.y_test[te], probs


def test_threshold_counts_the_confident_mistakes(probs_and_labels):
    images, labels, probs = probs_and_labels
    explorer = MistakesExplorer(images, labels, probs, threshold=0.5)
    p32 = probs.astype(np.float32)
    confidence, predicted = p32.max(axis=1), p32.argmax(axis=1)
    assert explorer.total_mistakes == int(np.sum(predicted != labels)) > 0
    counts = []
    for t in (0.0, 0.5, 0.9, 0.99, 1.0):
        expected = int(np.sum((confidence >= t) & (predicted != labels)))
        assert explorer.set_threshold(t) == explorer.count == expected
        assert explorer.answered == int(np.sum(confidence >= t))
        assert explorer.summary.startswith(f"{expected:,} mistakes with confidence ≥ {t:.2f} out of "
                                           f"{explorer.total_mistakes:,}")
        assert explorer.w_gallery.value[:8] == b"\x89PNG\r\n\x1a\n"
        counts.append(expected)
    assert counts[0] == explorer.total_mistakes and counts[0] > counts[2]  # the threshold really filters
    explorer.slider.value = 0.9  # moving the slider does the same
    assert explorer.count == counts[2] and f"{counts[2]:,} mistakes" in explorer.w_summary.value
    for bad in (-0.1, 1.5, "high", True):
        with pytest.raises(MnistlibError, match="threshold"):
            explorer.set_threshold(bad)
    assert explorer.count == counts[2]


def test_archive_log_moves_the_runs_aside_and_keeps_them(home):
    log = experiments_path()
    assert archive_log() is None  # nothing to move
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text('{"run": 1}\n')
    first = archive_log()
    assert not log.exists() and first.read_text() == '{"run": 1}\n' and first.parent == log.parent
    log.write_text('{"run": 1}\n{"run": 2}\n')
    second = archive_log()  # same second: a new name, the first archive is kept
    assert second != first and first.exists() and second.read_text().count("run") == 2
