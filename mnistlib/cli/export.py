"""``mnistlib export MODEL.keras [--out PATH] [--json]``: the model as a LiteRT file (notebook 09).

Writes ``MODEL.tflite`` beside ``MODEL.keras`` (or ``--out PATH``, a ``.tflite`` file), atomically and only
after checking that it reproduces the Keras model; prints its path. ``mnistlib predict`` then answers with
it without importing TensorFlow (:mod:`mnistlib.runtime`). ``mnistlib train`` exports by itself; this is
for a model saved otherwise, or to retry. A missing or corrupt model exits 2 with one line on stderr.
"""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("export", help="export a .keras model to LiteRT (.tflite) for fast predictions")
    p.add_argument("model_path", metavar="MODEL_PATH", help="a .keras file saved by 'mnistlib train'")
    p.add_argument("--out", metavar="PATH", help="where to write the .tflite file (default: beside MODEL_PATH)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from mnistlib.runtime import export_model  # imports TensorFlow when called: only for this subcommand

    out = export_model(args.model_path, args.out)
    if args.json:
        print(json.dumps({"model_path": str(args.model_path), "exported": str(out), "bytes": out.stat().st_size}))
    else:
        print(out)
    return 0
