"""How long `load_mnist()` takes to read and verify all 70,000 images from the gzipped files (issue: < 1.5 s).

Run: `make bench` or `MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_load.py [--repeat N]`.
Prints one JSON line: best and median wall time over the repeats, with and without checksum verification.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from mnistlib.data import load_mnist


def timed(repeat: int, **kwargs) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        load_mnist(**kwargs)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    verified = timed(args.repeat)
    unverified = timed(args.repeat, verify=False)
    print(json.dumps({
        "benchmark": "load_mnist",
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "verified_best_s": round(min(verified), 3),
        "verified_median_s": round(statistics.median(verified), 3),
        "unverified_best_s": round(min(unverified), 3),
        "unverified_median_s": round(statistics.median(unverified), 3),
    }))


if __name__ == "__main__":
    main()
