"""Digits on notebook paper (issue 14, "lines and margins"): accuracy before and after the paper-line step.

Generates the ``paper`` set with ``paper.py`` (MNIST **test** digits written with a pen, pencil or
marker on plain, ruled, ruled-with-margin, squared, grey-ruled and turned paper, photographed) and
classifies it with the shipped ``models/cnn.keras`` through ``mnistlib.imageprep.to_mnist``, once
without the step (``paper_lines=False``: the pipeline as it was) and once with it, per kind and per
pen; also the time ``to_mnist`` takes per picture with and without the step, and the step alone.

The step was tuned on the set made with ``paper.TUNE_SEED``; report on a fresh set (the default,
``paper.REPORT_SEED``). Run: ``MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_paper.py``;
prints one JSON object. ``--seed`` and ``-n`` (pictures per kind) change the set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import paper  # noqa: E402

from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.imageprep import ink_mask, remove_paper_lines, to_mnist  # noqa: E402
from mnistlib.predict import get_model, predict_images  # noqa: E402


def _pen(sample) -> str:
    return next(p for p in paper.PENS if f"_{p}_" in sample.name)


def accuracy(samples, model, paper_lines: bool) -> dict:
    prepared = [to_mnist(s.data, keep_steps=False, paper_lines=paper_lines) for s in samples]
    images = np.stack([p.image for p in prepared])[..., np.newaxis]
    predicted = model.predict(images, batch_size=500, verbose=0).argmax(axis=1)
    right = [(not p.blank) and int(d) == s.label for s, p, d in zip(samples, prepared, predicted)]
    per_kind, per_pen = defaultdict(list), defaultdict(list)
    for s, ok in zip(samples, right):
        per_kind[s.kind].append(ok)
        if s.kind != "plain":
            per_pen[_pen(s)].append(ok)
    lined = [ok for s, ok in zip(samples, right) if s.kind != "plain"]
    return {
        "accuracy": round(float(np.mean(right)), 4),
        "notebook_paper": round(float(np.mean(lined)), 4),
        "per_kind": {k: round(float(np.mean(v)), 4) for k, v in per_kind.items()},
        "per_pen_on_notebook_paper": {k: round(float(np.mean(v)), 4) for k, v in per_pen.items()},
    }


def answered(samples, model) -> dict:
    """What ``mnistlib predict`` answers (calibrated, with "not a digit"/"unsure"): the share answered
    with the right digit, on notebook paper and per kind."""
    results = predict_images([s.data for s in samples], model)
    right = np.array([r.digit == s.label for s, r in zip(samples, results)])
    kinds = np.array([s.kind for s in samples])
    return {"right": round(float(right.mean()), 4),
            "notebook_paper": round(float(right[kinds != "plain"].mean()), 4),
            "rejected": round(float(np.mean([r.digit is None for r in results])), 4),
            "per_kind": {k: round(float(right[kinds == k].mean()), 4) for k in dict.fromkeys(kinds)}}


def timing(samples, repeats: int = 5) -> dict:
    """CPU milliseconds per picture (best of ``repeats``, the three runs interleaved so that a busy
    machine slows them alike): ``to_mnist`` without and with the step, and the step alone (on the
    ``even lighting`` image), over plain paper and over notebook paper."""
    out = {}
    for name, group in (("plain", [s for s in samples if s.kind == "plain"]),
                        ("notebook_paper", [s for s in samples if s.kind != "plain"])):
        flats = [ink_mask(s.data, keep_steps=False, paper_lines=False).flat for s in group]
        runs = {"to_mnist_without_step_ms": lambda: [to_mnist(s.data, keep_steps=False, paper_lines=False)
                                                     for s in group],
                "to_mnist_with_step_ms": lambda: [to_mnist(s.data, keep_steps=False) for s in group],
                "step_alone_ms": lambda: [remove_paper_lines(f) for f in flats]}
        best = {label: float("inf") for label in runs}
        for run in runs.values():  # warm-up
            run()
        for _ in range(repeats):
            for label, run in runs.items():
                start = time.process_time()
                run()
                best[label] = min(best[label], (time.process_time() - start) / len(group) * 1000)
        out[name] = {label: round(t, 2) for label, t in best.items()}
        out[name]["lines_found_in"] = round(float(np.mean([bool(remove_paper_lines(f)[1]) for f in flats])), 4)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=paper.REPORT_SEED)
    p.add_argument("-n", type=int, default=200, help="pictures per kind (the same digits on every kind)")
    p.add_argument("--no-timing", action="store_true")
    args = p.parse_args()
    data = load_mnist()
    model = get_model()
    samples = paper.paper_set(data.x_test, data.y_test, args.n, args.seed)
    out = {"benchmark": "paper", "model": "models/cnn.keras", "seed": args.seed,
           "tuned_on_seed": paper.TUNE_SEED, "images": len(samples), "per_kind": args.n,
           "before": accuracy(samples, model, paper_lines=False),
           "after": accuracy(samples, model, paper_lines=True),
           "answered": answered(samples, model)}
    if not args.no_timing:
        out["cpu_ms_per_picture"] = timing(samples[:: max(1, len(samples) // 240)])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
