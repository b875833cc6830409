"""Whole numbers (issue 14, item 3): how often ``mnistlib.reading.read_number`` reads a row exactly right.

Rows of 2 to 5 MNIST **test** digits made by ``number_rows.py`` (photos, scans and 280x80 web
canvases; about a third with touching or overlapping digits; ``--overlap mnist``: the harder
stress set) are read with the shipped
``models/cnn.keras``. Reported: the share of rows read exactly right overall, by length, by kind
and for rows with/without touching digits, the share of rows with the right number of digits, and
the time per row. Target: >= 90 % of the rows exactly right.

The thresholds of ``mnistlib.reading`` were tuned on ``--split tune`` (test digits 0..4,999, seed
1401) only; the default ``--split report`` (test digits 5,000..9,999, seed 2914) is a fresh set,
never looked at while tuning, and the one to quote.

Run: `MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_numbers.py [--split report] [-n 800]`; prints
one JSON object (``--errors`` also lists the rows read wrong).
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

import number_rows  # noqa: E402

from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.predict import get_model  # noqa: E402
from mnistlib.reading import read_number  # noqa: E402


def evaluate(rows, model) -> dict:
    """Read every row; the shares of exact readings overall and per group, and the mistakes."""
    groups = defaultdict(list)
    right_count, errors = [], []
    start = time.perf_counter()
    for row in rows:
        got = read_number(row.data, model)
        ok = got.text == row.number
        for key in ("all", f"length {len(row.number)}", f"kind {row.kind}",
                    "touching" if row.touching else "apart"):
            groups[key].append(ok)
        right_count.append(len(got.digits) == len(row.number))
        if not ok:
            errors.append({"name": row.name, "read": got.text,
                           "confidences": [round(c, 3) for c in got.confidences]})
    seconds = time.perf_counter() - start
    return {
        "n": len(rows),
        "exact": round(float(np.mean(groups["all"])), 4),
        "right_digit_count": round(float(np.mean(right_count)), 4),
        "by_group": {k: {"n": len(v), "exact": round(float(np.mean(v)), 4)}
                     for k, v in sorted(groups.items()) if k != "all"},
        "ms_per_row": round(1000 * seconds / max(1, len(rows)), 1),
        "errors": errors,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=sorted(number_rows.SPLITS), default="report",
                   help="report: the fresh set to quote (default); tune: the set the thresholds were tuned on")
    p.add_argument("-n", type=int, default=800, help="rows (default 800: 50 per length and kind)")
    p.add_argument("--overlap", choices=("image", "mnist"), default="image",
                   help="touching gaps of 0-3 px of the picture (default) or of MNIST px (the harder stress set)")
    p.add_argument("--errors", action="store_true", help="also list the rows read wrong")
    args = p.parse_args()
    data = load_mnist()
    model = get_model()
    rows = number_rows.number_set(data.x_test, data.y_test, args.n, args.split, args.overlap)
    result = evaluate(rows, model)
    if not args.errors:
        result.pop("errors")
    seed, pool = number_rows.SPLITS[args.split]
    print(json.dumps({"benchmark": "numbers", "model": "models/cnn.keras", "runs_on": type(model).__name__,
                      "split": args.split, "seed": seed, "test_digits": f"{pool.start}..{pool.stop - 1}",
                      "overlap": args.overlap, **result}))


if __name__ == "__main__":
    main()
