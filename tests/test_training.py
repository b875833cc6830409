"""mnistlib.training: short real training runs, one seeding ritual, no hidden recompiles, k-fold CV."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mnistlib import networks
from mnistlib.config import PRECISION_ENV, new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.optim import (
    STEPS_PER_EXECUTION, SmoothedSparseCrossentropy, compile_model, keras, make_optimizer, make_schedule,
)
from mnistlib.preprocess import prepare_images, stratified_subset
from mnistlib.recipes import RECIPES, Recipe, build_model, get_recipe, register_recipe
from mnistlib.runtime import ExportError
from mnistlib.saving import load_card
from mnistlib.training import (
    TrainResult, _batches, _save_or_rescue, cross_validate, cv_summary, fit, train_recipe,
)


@pytest.fixture(scope="module")
def small(mnist):
    """2,000 training and 1,000 test images, class-balanced."""
    tr = stratified_subset(mnist.y_train, 2000, seed=0)
    te = stratified_subset(mnist.y_test, 1000, seed=0)
    return (prepare_images(mnist.x_train[tr]), mnist.y_train[tr],
            prepare_images(mnist.x_test[te]), mnist.y_test[te])


@pytest.fixture(scope="module")
def run_twice(small):
    x, y, xt, yt = small
    runs = []
    for _ in range(2):
        new_model_session(7)
        runs.append(train_recipe("cnn_fast", x, y, epochs=2, batch_size=64, seed=7, test_data=(xt, yt), verbose=0))
    return runs


def test_short_training_beats_chance_by_far(run_twice):
    result = run_twice[0]
    assert isinstance(result, TrainResult)
    assert len(result.epoch_seconds) == len(result.test_accuracy) == 2 == len(result.history["loss"])
    assert result.test_accuracy[-1] > 0.8  # chance is 0.1
    assert all(s > 0 for s in result.epoch_seconds)
    assert result.train_seconds[-1] == pytest.approx(sum(result.epoch_seconds), abs=1e-2)
    assert result.total_seconds >= result.seconds
    assert result.recipe == "cnn_fast" and result.train_images == 2000 and result.batch_size == 64
    table = result.epochs_table()
    assert list(table["epoch"]) == [1, 2] and "test_accuracy" in table


def test_same_session_seed_same_numbers(run_twice):
    a, b = run_twice
    assert a.test_accuracy == b.test_accuracy
    assert a.history == b.history


def test_a_mixed_precision_recipe_trains_deterministically_and_returns_a_float32_model(small, monkeypatch):
    """bfloat16 forced (as on a CPU with AMX): same seed, same numbers; the model handed back computes in float32
    and the last test accuracy is the float32 model's."""
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    x, y, xt, yt = small
    rec = get_recipe("cnn_fast").replace(precision="bfloat16")
    runs = []
    for _ in range(2):
        new_model_session(7)
        runs.append(train_recipe(rec, x, y, epochs=2, batch_size=64, seed=7, test_data=(xt, yt), verbose=0))
    a, b = runs
    assert a.history == b.history and a.test_accuracy == b.test_accuracy
    assert a.history["loss"][-1] < a.history["loss"][0] and a.test_accuracy[-1] > 0.8
    assert {layer.dtype_policy.name for layer in a.model.layers} == {"float32"}
    probs = a.model.predict(xt, verbose=0)
    assert a.test_accuracy[-1] == float(np.mean(probs.argmax(axis=1) == yt))


def test_weight_averaging_hands_back_the_averaged_weights(small):
    """ema: the model handed back holds the moving average, not the last step's weights, and its last test
    accuracy is scored on those averaged weights."""
    x, y, xt, yt = small
    rec = get_recipe("cnn_fast")
    runs = {}
    for ema in (None, 0.9):
        new_model_session(7)
        runs[ema] = train_recipe(rec.replace(ema=ema), x, y, epochs=1, batch_size=64, seed=7, test_data=(xt, yt),
                                 verbose=0)
    plain, averaged = runs[None], runs[0.9]
    assert plain.history["loss"] == averaged.history["loss"]  # the same steps ...
    first = [np.asarray(w) for w in (plain.model.trainable_weights[0], averaged.model.trainable_weights[0])]
    assert not np.array_equal(*first)  # ... averaged
    probs = averaged.model.predict(xt, verbose=0)
    assert averaged.test_accuracy[-1] == float(np.mean(probs.argmax(axis=1) == yt)) > 0.8
    with pytest.raises(MnistlibError, match="ema"):
        rec.replace(ema=1.5)


def test_training_never_reseeds_behind_the_callers_back(small):
    """One seeding ritual: without a new model session the second model starts from other weights."""
    x, y, _, _ = small
    new_model_session(5)
    first = train_recipe("dense_128", x[:100], y[:100], epochs=1, batch_size=100, verbose=0)
    second = train_recipe("dense_128", x[:100], y[:100], epochs=1, batch_size=100, verbose=0)
    assert not np.array_equal(first.model.get_weights()[0], second.model.get_weights()[0])


def test_validation_split_is_held_out(small):
    x, y, _, _ = small
    new_model_session(0)
    result = train_recipe("dense_128", x, y, epochs=1, batch_size=100, seed=0, validation_split=0.2, verbose=0)
    assert "val_accuracy" in result.history and "val_loss" in result.history
    assert 0.5 < result.history["val_accuracy"][0] <= 1.0
    assert result.train_images == 1600 and int(result.model.optimizer.iterations) == 16


def test_fit_keeps_the_models_own_loss_optimizer_and_schedule(small):
    """fit never recompiles: label smoothing and a schedule the caller chose survive training."""
    x, y, xt, yt = small
    new_model_session(0)
    model = build_model(get_recipe("dense_128"))
    schedule = make_schedule("cosine", 0.01, total_steps=20)
    loss = SmoothedSparseCrossentropy(0.2)
    optimizer = make_optimizer("adam", schedule)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    result = fit(model, x, y, epochs=1, batch_size=100, test_data=(xt, yt), verbose=0)
    assert result.model is model
    assert model.loss is loss and model.loss.label_smoothing == 0.2
    assert model.optimizer is optimizer and int(optimizer.iterations) == 20
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(20)), abs=1e-9)  # followed to its end
    # the history's loss is the smoothed one: higher than the plain cross-entropy of the same model
    plain = float(keras.losses.SparseCategoricalCrossentropy()(y, model.predict(x, verbose=0)))
    assert result.history["loss"][0] > plain
    assert result.test_accuracy[0] > 0.6


def test_many_steps_per_call_change_no_number(small):
    """compile_model runs STEPS_PER_EXECUTION training steps per call of Keras' function, to save the Python round
    trip of each step: the weights, the history and the test accuracy are exactly those of one step per call, for a
    recipe with random augmentation and a number of steps that is not a multiple of it."""
    x, y, xt, yt = small
    assert STEPS_PER_EXECUTION > 1 and build_model("dense_128").steps_per_execution == STEPS_PER_EXECUTION
    runs = {}
    for per_call in (1, STEPS_PER_EXECUTION):
        new_model_session(11)
        model = build_model("cnn", train_size=len(x), epochs=1, batch_size=48)
        compile_model(model, model.optimizer, label_smoothing=0.0, steps_per_execution=per_call)
        assert model.steps_per_execution == per_call
        runs[per_call] = fit(model, x, y, epochs=2, batch_size=48, test_data=(xt, yt), verbose=0)
    one, many = runs[1], runs[STEPS_PER_EXECUTION]
    assert int(one.model.optimizer.iterations) == int(many.model.optimizer.iterations) == 2 * 42  # 2,000 / 48
    assert one.history == many.history and one.test_accuracy == many.test_accuracy
    assert all(np.array_equal(a, b) for a, b in zip(one.model.get_weights(), many.model.get_weights(), strict=True))
    assert one.history["loss"][1] < one.history["loss"][0]


def test_fit_trains_on_the_batches_keras_would_shuffle_without_tf_data_autotuning(small):
    """fit feeds Keras' own shuffled batches (the same numbers as model.fit(x, y, shuffle=True)) with tf.data's
    autotuning off: its tuning thread made destroying each epoch's input iterator stall for up to 20 s."""
    x, y, _, _ = small
    histories = []
    for ours in (True, False):
        new_model_session(3)
        model = build_model(get_recipe("dense_128"))
        if ours:
            histories.append(fit(model, x, y, epochs=2, batch_size=100, verbose=0).history)
        else:
            histories.append(model.fit(x, y, epochs=2, batch_size=100, shuffle=True, verbose=0).history)
    assert histories[0] == histories[1]
    new_model_session(3)
    batches = _batches(x, y, 300)
    assert batches.options().autotune.enabled is False
    assert int(batches.cardinality()) == 7  # 2,000 images: six batches of 300 and one of 200
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(labels) == sorted(y) and not np.array_equal(labels, y)  # every image once, shuffled


def test_fit_traces_the_training_step_once(small):
    """Keras builds an unbuilt optimizer inside the first trace of its training function and then traces the step a
    second time (about 0.6 s of the first epoch); fit builds it first, so the step is traced once, and trains exactly
    as Keras' own model.fit (the test above)."""
    x, y, _, _ = small
    traces = {}
    for ours in (True, False):
        new_model_session(3)
        model = build_model("cnn_fast", train_size=len(x), epochs=2)
        step, calls = model.train_step, []
        model.train_step = lambda data, step=step, calls=calls: calls.append(1) or step(data)  # runs when traced
        if ours:
            fit(model, x, y, epochs=2, verbose=0)
        else:
            model.fit(x, y, epochs=2, batch_size=128, verbose=0)
        traces[ours] = len(calls)
    assert traces == {True: 1, False: 2}


def test_fit_needs_a_compiled_model(small):
    x, y, _, _ = small
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, networks.tutorial_dense(inputs, units=8))
    with pytest.raises(MnistlibError, match="compile"):
        fit(model, x, y, epochs=1)


def test_bad_arguments_are_one_line_errors(small):
    x, y, _, _ = small
    with pytest.raises(MnistlibError, match="epochs"):
        train_recipe("dense_128", x, y, epochs=0)
    with pytest.raises(MnistlibError, match="unknown model"):
        train_recipe("nope", x, y, epochs=1)
    with pytest.raises(MnistlibError, match="uint8"):
        train_recipe("dense_128", (x * 255).astype(np.uint8), y, epochs=1)
    with pytest.raises(MnistlibError, match="labels"):
        train_recipe("dense_128", x, y[:10], epochs=1)


def test_a_new_recipe_is_added_by_adding_data(small):
    x, y, _, _ = small
    tiny = Recipe("tiny_test_cnn", "a registered test recipe", networks.convnet,
                  {"widths": (4,), "dense_units": 8}, epochs=1, batch_size=50)
    register_recipe(tiny)
    try:
        with pytest.raises(MnistlibError, match="exists"):
            register_recipe(tiny)
        assert get_recipe("tiny_test_cnn") is tiny
        new_model_session(0)
        result = train_recipe("tiny_test_cnn", x[:50], y[:50], verbose=0)
        assert int(result.model.optimizer.iterations) == 1 and result.model.name == "tiny_test_cnn"
    finally:
        RECIPES.pop("tiny_test_cnn")


def test_cnn_trains_on_its_pen_variants_too(small):
    x, y, _, _ = small
    x, y = x[:300], y[:300]
    assert get_recipe("cnn").pen_copies == 1
    cnn = get_recipe("cnn").replace(flagged_ones=0.0)  # the flagged 1s have their own test below
    new_model_session(3)
    with_pens = train_recipe(cnn, x, y, epochs=1, batch_size=100, seed=3, verbose=0)
    assert int(with_pens.model.optimizer.iterations) == 6  # 300 digits + 300 pen variants, batches of 100
    assert with_pens.train_images == 600 and with_pens.epoch_seconds[0] > 0
    new_model_session(3)
    plain = train_recipe(cnn.replace(pen_copies=0), x, y, epochs=1, batch_size=100, verbose=0)
    assert int(plain.model.optimizer.iterations) == 3


def test_cross_validate_returns_k_scores(small):
    x, y, _, _ = small
    table = cross_validate("dense_128", x[:900], y[:900], k=3, epochs=1, seed=0, batch_size=64, progress=False)
    assert list(table["fold"]) == [1, 2, 3]
    assert set(table.columns) >= {"fold", "accuracy", "loss", "seconds"}
    assert (table["n_val"] == 300).all() and (table["n_train"] == 600).all()
    assert (table["accuracy"] > 0.5).all()
    summary = cv_summary(table)
    assert summary["accuracy_mean"] == pytest.approx(table["accuracy"].mean())
    assert summary["accuracy_sd"] == pytest.approx(np.std(table["accuracy"], ddof=1))
    again = cross_validate("dense_128", x[:900], y[:900], k=3, epochs=1, seed=0, batch_size=64, progress=False)
    assert list(again["accuracy"]) == list(table["accuracy"])  # each fold starts its own seeded session


def test_a_model_that_cannot_be_saved_where_asked_is_rescued(tmp_path):
    new_model_session(0)
    model = build_model("dense_50_sigmoid")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(MnistlibError, match="saved to") as info:
        _save_or_rescue(model, blocker / "m.keras", {"recipe": "dense_50_sigmoid"})
    rescued = info.value.args[0].rsplit("saved to ", 1)[1].split(" instead")[0]
    assert load_card(rescued)["recipe"] == "dense_50_sigmoid"
    shutil.rmtree(Path(rescued).parent)


def test_compile_model_refuses_a_model_that_is_not_a_digit_classifier():
    inputs = keras.Input((28, 28, 1))
    five = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    with pytest.raises(MnistlibError, match="10"):
        compile_model(five, make_optimizer("adam", 1e-3))


def test_a_model_saved_but_not_exported_is_not_rescued_elsewhere(tmp_path):
    """An export failure is not a save failure: the model stays where it was asked to go, and the
    error says how to retry the export (no copy in a temporary folder)."""
    new_model_session(0)
    model = build_model("dense_50_sigmoid")
    (tmp_path / "m.tflite").mkdir()  # the export's place is taken by a folder
    with pytest.raises(ExportError, match="mnistlib export") as info:
        _save_or_rescue(model, tmp_path / "m.keras", {"recipe": "dense_50_sigmoid"})
    assert "saved to" not in str(info.value)
    assert load_card(tmp_path / "m.keras")["recipe"] == "dense_50_sigmoid"


def test_scoring_the_test_set_once_trains_the_same_model(tmp_path, monkeypatch, mnist_dir):
    """Notebook 07 scores the test set once (``test_every_epoch=False``): the weights are those of the
    per-epoch run, and the card's test accuracy is that model's accuracy on the profile's test images."""
    from mnistlib.config import QUICK
    from mnistlib.evaluation import evaluate
    from mnistlib.preprocess import run_data
    from mnistlib.training import train_and_save

    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    every, _ = train_and_save("cnn_fast", tmp_path / "every.keras", epochs=2, seed=3, prof=QUICK)
    once, path = train_and_save("cnn_fast", tmp_path / "once.keras", epochs=2, seed=3, prof=QUICK,
                                test_every_epoch=False)
    assert len(every.test_accuracy) == 2 and len(once.test_accuracy) == 1
    assert all(np.array_equal(a, b) for a, b in zip(every.model.get_weights(), once.model.get_weights()))
    data = run_data(QUICK)
    assert once.test_accuracy[0] == evaluate(once.model, *data.test).accuracy == every.test_accuracy[-1]
    assert load_card(path)["test_accuracy"] == once.test_accuracy[0]


def test_a_recipe_with_flagged_ones_trains_on_flagged_copies_of_its_ones_too(small):
    from mnistlib.forms import flagged_ones

    x, y, _, _ = small
    x, y = x[:300], y[:300]
    flagged, _ = flagged_ones(x, y, 1.0, seed=3)
    assert 0 < len(flagged) <= int((y == 1).sum())
    new_model_session(3)
    result = train_recipe(get_recipe("cnn").replace(pen_copies=0, flagged_ones=1.0), x, y, epochs=1,
                          batch_size=100, seed=3, verbose=0)
    assert result.train_images == 300 + len(flagged)
    assert int(result.model.optimizer.iterations) == -(-(300 + len(flagged)) // 100)
    # training_digits is what notebook 07 counts the steps from: the same digits, the plain recipes unchanged
    from mnistlib.training import training_digits
    rec = get_recipe("cnn").replace(flagged_ones=1.0)
    digits, labels = training_digits(rec, x, y, seed=3)
    assert len(digits) == len(labels) == 300 + len(flagged) and np.array_equal(digits[300:], flagged)
    assert rec.steps_per_epoch(len(labels), 100) == -(-(300 + len(flagged)) * 2 // 100)
    assert training_digits("dense", x, y, seed=3)[0] is x
