"""``mnistlib data [--data-dir D] [--json]``: find, verify and summarise the dataset."""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("data", help="find and verify MNIST, print a summary")
    p.add_argument("--data-dir", help="folder holding the four IDX files (default: MNIST_DATA_DIR, then the cache)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    return p


def run(args) -> int:
    from mnistlib.data import load_mnist, summary

    info = summary(load_mnist(args.data_dir, download=not args.no_download), verified=True)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"MNIST from {info['source']} (checksums OK)")
    for split in ("train", "test"):
        s = info[split]
        counts = "  ".join(f"{d}:{n}" for d, n in s["per_class"].items())
        print(f"  {split:5s} {s['images']:6,d} images of {'x'.join(map(str, s['shape']))}   per class  {counts}")
    return 0
