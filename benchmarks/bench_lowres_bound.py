"""How well can 8x8 digits be read at all? A network trained on 8x8 digits only (issue 14, the ``lowres`` set).

``bench_predict.py``'s ``lowres`` set is scikit-learn's 8x8 digits (UCI optdigits) shown as small scans, and the
course's ``cnn`` answers about 91 % of them right (arg-max about 94-95 %). This script asks how much of that gap is
the resolution itself, without touching that set: it makes every MNIST training digit into an 8x8 digit the way
optdigits were made (:func:`mnistlib.pictures.optdigits_8x8`), trains a small network on the 8x8 digits of the
55,000 images ``mnistlib train`` trains on, and scores the 5,000 held out by ``calibration.calibration_split``, made
the same way. No picture, no preparation, no other writers: the same writers' digits, the same 8x8 form in training
and testing. The test set and the ``lowres`` set are never loaded.

Run: ``MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_lowres_bound.py [--seeds 42,1,2] [--epochs 15]``.
Prints one JSON line per seed, then the summary (mean ± sd).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnistlib import calibration, config  # noqa: E402  (before TensorFlow: it sets TensorFlow up)
from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.pictures import optdigits_8x8  # noqa: E402
from mnistlib.preprocess import SUBSET_SEED  # noqa: E402

#: The 8x8 network: two 3x3 convolutions at full 8x8 resolution, a pooling, a third convolution, a dense layer.
NETWORK = {"convs": (64, 64, 128), "dense_units": 256, "dropout": 0.3, "learning_rate": 1e-3, "batch_size": 128}


def digits_8x8(images: np.ndarray) -> np.ndarray:
    """MNIST images (uint8 N x 28 x 28) as optdigits-style 8x8 digits, scaled to [0, 1], shape (N, 8, 8, 1)."""
    return (np.stack([optdigits_8x8(image) for image in images]) / 16.0).astype(np.float32)[..., None]


def network():
    keras = config.keras()
    layers = keras.layers
    first, second, third = NETWORK["convs"]
    inputs = keras.Input((8, 8, 1))
    x = layers.Conv2D(first, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(second, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(third, 3, padding="same", activation="relu")(x)
    x = layers.Dense(NETWORK["dense_units"], activation="relu")(layers.Flatten()(x))
    x = layers.Dropout(NETWORK["dropout"])(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(NETWORK["learning_rate"]), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,1,2", help="comma-separated seeds (default 42,1,2)")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    data = load_mnist()
    fit, held = calibration.calibration_split(data.y_train, SUBSET_SEED)
    start = time.perf_counter()
    x = digits_8x8(data.x_train)
    made = time.perf_counter() - start
    accuracies = []
    for seed in seeds:
        config.new_model_session(seed)
        model = network()
        start = time.perf_counter()
        model.fit(x[fit], data.y_train[fit], epochs=args.epochs, batch_size=NETWORK["batch_size"], verbose=0)
        seconds = time.perf_counter() - start
        accuracy = float(accuracy_score(data.y_train[held], model.predict(x[held], verbose=0).argmax(axis=1)))
        accuracies.append(accuracy)
        print(json.dumps({"seed": seed, "held_out_accuracy": round(accuracy, 4), "train_seconds": round(seconds, 1)}),
              flush=True)
    print(json.dumps({"benchmark": "lowres_bound", "network": NETWORK, "epochs": args.epochs, "seeds": seeds,
                      "n_train": int(len(fit)), "n_held_out": int(len(held)), "seconds_to_make_8x8": round(made, 1),
                      "held_out_accuracy_mean": round(float(np.mean(accuracies)), 4),
                      "held_out_accuracy_sd": round(float(np.std(accuracies, ddof=1)), 4) if len(seeds) > 1 else None}))


if __name__ == "__main__":
    main()
