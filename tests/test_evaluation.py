"""mnistlib.evaluation: metrics on a real (briefly trained) model, most-confused pairs, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from mnistlib.config import new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.evaluation import evaluate, most_confused_pairs
from mnistlib.optim import keras
from mnistlib.preprocess import prepare_images
from mnistlib.training import train_recipe


@pytest.fixture(scope="module")
def scored(mnist):
    new_model_session(0)
    result = train_recipe("dense_128", prepare_images(mnist.x_train[:2000]), mnist.y_train[:2000], epochs=1,
                          batch_size=64, seed=0, verbose=0)
    x, y = prepare_images(mnist.x_test[:500]), mnist.y_test[:500]
    return result.model, x, y, evaluate(result.model, x, y)


def test_evaluation_is_consistent(scored):
    model, x, y, ev = scored
    assert ev.probabilities.shape == (500, 10)
    np.testing.assert_array_equal(ev.predictions, ev.probabilities.argmax(axis=1))
    assert ev.accuracy == pytest.approx(accuracy_score(y, ev.predictions))
    assert 0.5 < ev.accuracy < 1.0
    assert ev.confusion.shape == (10, 10) and ev.confusion.sum() == 500
    assert ev.confusion.trace() == 500 - ev.errors
    np.testing.assert_array_equal(ev.misclassified, np.flatnonzero(ev.predictions != y))
    assert ev.report["accuracy"] == pytest.approx(ev.accuracy)
    assert "precision" in ev.report_text and len(ev.per_class()) == 10
    keras_loss, keras_acc, _ = model.evaluate(x, y, verbose=0)  # loss, accuracy, cross_entropy
    assert ev.loss == pytest.approx(keras_loss, rel=1e-3)
    assert ev.accuracy == pytest.approx(keras_acc)


def test_most_confused_pairs():
    cm = np.diag([50] * 10)
    cm[4, 9], cm[9, 4], cm[7, 2], cm[3, 5] = 6, 3, 6, 1
    pairs = most_confused_pairs(cm, n=3)
    assert list(pairs.itertuples(index=False, name=None)) == [(4, 9, 6), (7, 2, 6), (9, 4, 3)]
    assert len(most_confused_pairs(cm, n=10)) == 4  # zero cells are left out
    with pytest.raises(MnistlibError):
        most_confused_pairs(np.zeros((3, 4)))


def test_bad_inputs_are_refused(scored):
    model, x, y, _ = scored
    with pytest.raises(MnistlibError, match="uint8"):
        evaluate(model, (x * 255).astype(np.uint8), y)
    with pytest.raises(MnistlibError, match="labels"):
        evaluate(model, x, y[:10])


def test_a_model_with_the_wrong_number_of_outputs_is_named_as_such(scored):
    _, x, y, _ = scored
    inputs = keras.Input((28, 28, 1))
    five = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs)))
    with pytest.raises(MnistlibError, match="must output 10"):
        evaluate(five, x, y)


def test_benchmark_results_names_the_newest_run_and_the_older_rows(tmp_path):
    from mnistlib.evaluation import benchmark_results

    bench, line = benchmark_results()  # the committed results of make bench (a whole run, or a partial one merged)
    newest = [s["recipe"] for s in bench["summary"] if any(r["recipe"] == s["recipe"] and r["date"] == bench["date"]
                                                            for r in bench["results"])]
    assert newest and line.startswith(f"{', '.join(newest)}: measured {bench['date'][:10]} on a {bench['machine']}")
    partial = bench | {"date": "2030-01-01T00:00:00+00:00",
                       "results": [r | {"date": "2030-01-01T00:00:00+00:00"} if r["recipe"] == "cnn" else r
                                   for r in bench["results"]]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(partial))
    _, line = benchmark_results(path)
    older = [s["recipe"] for s in bench["summary"] if s["recipe"] != "cnn"]
    assert line.startswith("cnn: measured 2030-01-01") and line.endswith(
        f"; {', '.join(older)} in earlier runs (benchmarks/README.md says where)")


@pytest.mark.parametrize("text", [None, "{not json", '{"summary": []}'])
def test_benchmark_results_refuses_a_missing_or_broken_file_in_one_line(tmp_path, text):
    from mnistlib.evaluation import benchmark_results

    path = tmp_path / "results.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(MnistlibError, match=r"^cannot read the benchmark results results\.json .*make bench\)$"):
        benchmark_results(path)
