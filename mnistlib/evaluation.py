"""Evaluating a trained model on the test set (notebook 08_evaluate).

:func:`evaluate` returns an :class:`Evaluation`: loss, accuracy, class probabilities,
predictions, the confusion matrix and classification report (both from
scikit-learn) and the indices of the misclassified images;
:func:`most_confused_pairs` lists the (true, predicted) pairs the model mixes up most;
:func:`evaluate_model_file` scores a saved model on this run's test images (``mnistlib evaluate``);
:func:`model_card` reads the card of the model ``training.load_or_train`` loads;
:func:`benchmark_results` reads the recipes' benchmark over seeds (``make bench``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix, log_loss

from mnistlib.config import ROOT, Profile
from mnistlib.errors import MnistlibError
from mnistlib.inputs import CLASSES, check_images, check_labels, check_model, check_outputs
from mnistlib.preprocess import run_data
from mnistlib.saving import load_card, load_model, saved_model_path


@dataclass
class Evaluation:
    """The result of :func:`evaluate`.

    ``probabilities`` ``(N, 10)``, ``predictions`` ``(N,)``, ``labels`` ``(N,)``;
    ``confusion`` is the 10x10 matrix (rows = true digit, columns = predicted);
    ``report`` the scikit-learn classification report as a dict and ``report_text``
    as text; ``misclassified`` the indices where prediction != label.
    """

    loss: float
    accuracy: float
    probabilities: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    confusion: np.ndarray
    report: dict
    report_text: str
    misclassified: np.ndarray

    @property
    def errors(self) -> int:
        """Number of misclassified images."""
        return int(len(self.misclassified))

    def per_class(self):
        """A ``pandas.DataFrame``, one row per digit: precision, recall, f1-score, support."""
        rows = {d: self.report[str(d)] for d in CLASSES}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "digit"
        return table


def evaluate(model, x, y, batch_size: int = 1000) -> Evaluation:
    """Score ``model`` on images ``x`` (model inputs, :mod:`mnistlib.inputs`) with integer labels ``y`` (notebook 08).

    The loss is the mean cross-entropy of the predicted probabilities (normalised
    to sum to 1 per image, as Keras does), computed with scikit-learn's ``log_loss``.
    """
    check_model(model)
    x = check_images(x)
    y = check_labels(y, len(x))
    probs = check_outputs(model.predict(x, batch_size=batch_size, verbose=0), len(x)).astype(np.float64)
    normed = np.clip(probs, 1e-7, None)
    normed = normed / normed.sum(axis=1, keepdims=True)
    predictions = probs.argmax(axis=1)
    classes = list(CLASSES)
    names = [str(d) for d in classes]
    return Evaluation(
        loss=float(log_loss(y, normed, labels=classes)),
        accuracy=float(np.mean(predictions == y)),
        probabilities=probs.astype(np.float32),
        predictions=predictions,
        labels=y,
        confusion=confusion_matrix(y, predictions, labels=classes),
        report=classification_report(y, predictions, labels=classes, target_names=names, output_dict=True,
                                     zero_division=0),
        report_text=classification_report(y, predictions, labels=classes, target_names=names, digits=4,
                                          zero_division=0),
        misclassified=np.flatnonzero(predictions != y),
    )


def most_confused_pairs(cm, n: int = 5):
    """The ``n`` largest off-diagonal cells of confusion matrix ``cm`` as a ``pandas.DataFrame``.

    Columns ``true``, ``predicted``, ``count``; sorted by count (descending), then by
    true and predicted digit; pairs with a zero count are left out (notebook 08).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise MnistlibError(f"a confusion matrix is square, not {cm.shape}")
    rows = [(t, p, int(cm[t, p])) for t in range(cm.shape[0]) for p in range(cm.shape[1])
            if t != p and cm[t, p] > 0]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return pd.DataFrame(rows[: max(0, int(n))], columns=["true", "predicted", "count"])


def evaluate_model_file(path: str | os.PathLike, prof: Profile | None = None) -> Evaluation:
    """Load the model saved at ``path`` and score it on this run's test images (``mnistlib evaluate``).

    The test images are the profile's (all 10,000 in the full profile), the same whatever seed the
    model was trained with."""
    model = load_model(path)
    return evaluate(model, *run_data(prof).test)


def model_card(name: str, prof: Profile | None = None) -> dict:
    """The JSON card (recipe, seed, test accuracy, calibration...) of the saved model ``name`` that
    ``training.load_or_train`` loads: the profile's models folder first, then ``models/`` (notebook 08)."""
    path = saved_model_path(name, prof)
    if path is not None:
        return load_card(path)
    raise MnistlibError(f"no saved {name!r} model: train it first (mnistlib train --model {name})")


def benchmark_results(path: str | os.PathLike | None = None) -> tuple[dict, str]:
    """``benchmarks/results.json`` (written by ``benchmarks/bench_models.py``: every recipe over seeds, its
    ``summary`` one row per recipe) and one line saying which recipes its newest run measured, on which machine and
    day, and which come from earlier runs (notebooks 07 and 08)."""
    path = Path(path) if path is not None else ROOT / "benchmarks" / "results.json"
    try:
        bench = json.loads(path.read_text())
        summary, runs, date = bench["summary"], bench["results"], bench["date"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MnistlibError(f"cannot read the benchmark results {path.name} ({type(exc).__name__}): "
                            "run benchmarks/bench_models.py (make bench)") from None
    newest = {r["recipe"] for r in runs if r.get("date") == date}
    names = [s["recipe"] for s in summary]
    line = f"{', '.join(n for n in names if n in newest)}: measured {date[:10]} on a {bench['machine']}"
    older = [n for n in names if n not in newest]
    if older:
        line += f"; {', '.join(older)} in earlier runs (benchmarks/README.md says where)"
    return bench, line


__all__ = ["Evaluation", "benchmark_results", "evaluate", "evaluate_model_file", "model_card",
           "most_confused_pairs"]
