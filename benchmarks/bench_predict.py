"""Prediction on realistic pictures (issue 5): accuracy on the two generated sets, and speed.

* accuracy of the shipped ``models/cnn.keras`` through ``mnistlib.imageprep`` on
  ``photos`` (MNIST test digits rendered as photos/scans/transparent PNGs/chalk, target ≥ 98 %)
  and ``lowres`` (scikit-learn's 8x8 digits by 43 other writers as small scans, target ≥ 94 %),
  per kind, and the tutorial pipeline ("grayscale, resize to 28x28, /255") for contrast;
* ``mnistlib predict one.png`` cold start (a fresh process; target ≤ 6 s) and 1,000 files
  (target ≤ 15 s).

Run: `make bench` or `MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_predict.py`; prints one JSON object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import realistic  # noqa: E402

from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.imageprep import naive_mnist  # noqa: E402
from mnistlib.predict import get_model, predict_images  # noqa: E402


def accuracy(samples, model) -> dict:
    results = predict_images([s.data for s in samples], model)
    naive = np.stack([naive_mnist(s.data) for s in samples])[..., np.newaxis]
    naive_pred = model.predict(naive, batch_size=500, verbose=0).argmax(axis=1)
    per_kind = defaultdict(list)
    for s, r in zip(samples, results):
        per_kind[s.kind].append(r.digit == s.label)
    return {
        "n": len(samples),
        "accuracy": round(float(np.mean([r.digit == s.label for s, r in zip(samples, results)])), 4),
        "naive_accuracy": round(float(np.mean(naive_pred == np.array([s.label for s in samples]))), 4),
        "per_kind": {k: round(float(np.mean(v)), 4) for k, v in per_kind.items()},
    }


def cli_seconds(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mnistlib", "predict", *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"mnistlib predict failed: {proc.stderr.strip()}")
    return round(elapsed, 2)


def main() -> None:
    data = load_mnist()
    model = get_model()
    photos = realistic.photo_set(data.x_test, data.y_test)
    lowres = realistic.lowres_set()
    out = {"benchmark": "predict", "model": "models/cnn.keras",
           "photos": accuracy(photos, model), "lowres": accuracy(lowres, model)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for s in (photos * 2)[:1000]:
            (folder / f"{len(list(folder.iterdir())):04d}_{s.name}").write_bytes(s.data)
        one = next(folder.iterdir())
        out["cold_start_one_file_s"] = min(cli_seconds([str(one)]) for _ in range(3))
        out["thousand_files_s"] = cli_seconds([str(folder)])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
