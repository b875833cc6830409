"""``mnistlib data [--data-dir D] [--json] [--no-download] [--no-verify]``: find, verify and summarise the dataset.

The text output shows the folder with :func:`mnistlib.data.display_path` (``$MNIST_DATA_DIR``,
``<cache>``, ...); ``--json`` gives the real path. "(checksums OK)" is printed only when the
checksums were checked.
"""

from __future__ import annotations

import json

from mnistlib.data import display_path, load_mnist, summary


def register(sub):
    p = sub.add_parser("data", help="find and verify MNIST, print a summary")
    p.add_argument("--data-dir", help="folder holding the four IDX files (default: MNIST_DATA_DIR, then the cache)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    p.add_argument("--no-verify", action="store_true", help="skip the SHA-256 checks (faster; not reported as OK)")
    return p


def run(args) -> int:
    info = summary(load_mnist(args.data_dir, verify=not args.no_verify, download=not args.no_download))
    if args.json:
        print(json.dumps(info))
        return 0
    checked = "checksums OK" if info["checksums_ok"] else "checksums not checked"
    print(f"MNIST from {display_path(info['source'])} ({checked})")
    for split in ("train", "test"):
        s = info[split]
        counts = "  ".join(f"{d}:{n}" for d, n in s["per_class"].items())
        print(f"  {split:5s} {s['images']:6,d} images of {'x'.join(map(str, s['shape']))}   per class  {counts}")
    return 0
