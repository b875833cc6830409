"""``mnistlib predict [--model PATH] [--json] PATH...``: the digit in each image file (notebook 07).

PATH may be files or folders (every image inside, sorted). One line per image,
``path<TAB>digit<TAB>confidence`` (``blank`` when there is no ink), or with ``--json`` one
object per line. A file that cannot be read gets one line on stderr naming it, the others are
still predicted, and the exit code is 1; usage errors (no such model, a folder without
images) exit 2. The default model is ``models/cnn.keras`` in the project folder (``MNISTLIB_HOME``,
else the source checkout, else the current folder: see :mod:`mnistlib.predict`). TensorFlow is
imported only after the first images are prepared.
"""

from __future__ import annotations

import json
import sys

from mnistlib.imageprep import find_images
from mnistlib.predict import check_model_path, iter_predictions


def register(sub):
    p = sub.add_parser("predict", help="predict the digit in image files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders of images")
    p.add_argument("--model", metavar="PATH",
                   help="a .keras model (default: models/cnn.keras in $MNISTLIB_HOME, else in the source checkout, "
                        "else in the current folder)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    return p


def run(args) -> int:
    model = str(check_model_path(args.model))
    files = find_images(args.paths)
    failed = 0
    for result in iter_predictions(files, model):
        if result.error:
            failed += 1
            print(f"mnistlib predict: {result.error}", file=sys.stderr, flush=True)
        elif args.json:
            print(json.dumps(result.as_dict()), flush=True)
        elif result.blank:
            print(f"{result.source}\tblank\t-", flush=True)
        else:
            print(f"{result.source}\t{result.digit}\t{result.confidence:.4f}", flush=True)
    return 1 if failed else 0
