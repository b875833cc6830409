"""Calibration (issue 14, item 2): ECE and NLL before/after temperature scaling, per recipe.

Trains each named recipe (default ``cnn_fast dense``; one to two minutes each on two cores) on the
training images minus the held-out calibration split (``calibration.calibration_split``, seeded by
``preprocess.SUBSET_SEED``), fits the temperature on the 5,000 held-out images and reports ECE/NLL
there and, once, on the test set. Prints one JSON line per recipe.
Run: ``MNIST_DATA_DIR=... nice -n 19 .venv/bin/python benchmarks/bench_calibration.py [RECIPE ...]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnistlib import calibration as cal  # noqa: E402
from mnistlib.config import new_model_session  # noqa: E402
from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.preprocess import SUBSET_SEED, prepare_images  # noqa: E402
from mnistlib.training import train_recipe  # noqa: E402


def main(recipes: list[str]) -> None:
    d = load_mnist()
    train, held = cal.calibration_split(d.y_train, SUBSET_SEED)
    x_held, x_test = prepare_images(d.x_train[held]), prepare_images(d.x_test)
    for name in recipes:
        new_model_session(42)
        r = train_recipe(name, prepare_images(d.x_train[train]), d.y_train[train], seed=42, verbose=0)
        p_held = np.asarray(r.model.predict(x_held, verbose=0, batch_size=1024))
        p_test = np.asarray(r.model.predict(x_test, verbose=0, batch_size=1024))
        c = cal.calibrate(p_held, d.y_train[held])
        test = {"ece_before": cal.expected_calibration_error(p_test, d.y_test),
                "ece_after": cal.expected_calibration_error(cal.apply_temperature(p_test, c.temperature), d.y_test),
                "nll_before": cal.nll(p_test, d.y_test), "nll_after": cal.nll(p_test, d.y_test, c.temperature),
                "accuracy": float((p_test.argmax(1) == d.y_test).mean())}
        print(json.dumps({name: {"held_out": c.as_dict(), "test": test, "seconds": r.total_seconds}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["cnn_fast", "dense"])
