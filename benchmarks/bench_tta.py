"""Test-time augmentation by one-pixel shifts (issue 11, item 3): chosen on held-out training images first.

For each model file (``mnistlib train --model cnn --seed S --out FILE``: trained on the training images
minus the 5,000 of ``calibration.calibration_split``, seeded by ``preprocess.SUBSET_SEED``), the
accuracy on those 5,000 held-out images of: the model alone, the mean of its probabilities over the
image and its four shifts by one pixel (up, down, left, right), and over the image and its eight
shifts (the 3x3 neighbourhood; shifted in zeros, never wrapped: ``mnistlib.tta``). A model that already
averages over shifts (``Recipe.shifts``) is measured through the network inside it. The setting with the best mean over
the models is chosen there (the fewer shifts on a tie); ``--test`` then scores the model alone and
the chosen setting once on the 10,000 test images. Prints one JSON line per model, then the summary.
Run: ``MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_tta.py [--test] FILE [FILE ...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnistlib import calibration  # noqa: E402
from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.preprocess import SUBSET_SEED, prepare_images  # noqa: E402
from mnistlib.saving import load_model  # noqa: E402
from mnistlib.tta import SHIFTS, base_network, shift_accuracies  # noqa: E402

SETTINGS = {(f"{n} shifts" if n else "none"): n for n in SHIFTS}


def accuracies(model, x: np.ndarray, y: np.ndarray, settings) -> dict:
    scores = shift_accuracies(model, x, y, [SETTINGS[name] for name in settings])
    return {name: scores[SETTINGS[name]] for name in settings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--test", action="store_true", help="score the chosen setting once on the test set")
    args = parser.parse_args()
    d = load_mnist()
    _, held = calibration.calibration_split(d.y_train, SUBSET_SEED)
    x_held, y_held = prepare_images(d.x_train[held]), d.y_train[held]
    models = {path: base_network(load_model(path)) for path in args.models}  # the network, without its own shifts
    val = {}
    for path, model in models.items():
        val[path] = accuracies(model, x_held, y_held, SETTINGS)
        print(json.dumps({"model": path.name, "validation": val[path]}), flush=True)
    summary = {name: (float(np.mean([v[name] for v in val.values()])), float(np.std([v[name] for v in val.values()],
                                                                                      ddof=1 if len(val) > 1 else 0)))
               for name in SETTINGS}
    chosen = max(SETTINGS, key=lambda name: (round(summary[name][0], 6), -SETTINGS[name]))
    print(json.dumps({"validation_mean_sd": summary, "chosen": chosen}), flush=True)
    if args.test:
        x_test = prepare_images(d.x_test)
        tests = {path.name: accuracies(model, x_test, d.y_test, ["none", chosen]) for path, model in models.items()}
        means = {name: float(np.mean([t[name] for t in tests.values()])) for name in ("none", chosen)}
        print(json.dumps({"test": tests, "test_mean": means}), flush=True)


if __name__ == "__main__":
    main()
