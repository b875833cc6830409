"""``mnistlib predict [--model PATH] [--json] [--number] [--jobs N] PATH...``: the digit in each image file (notebook 09).

PATH may be files or folders (every image inside, sorted). One line per image,
``path<TAB>digit<TAB>confidence`` (``blank`` when there is no ink; ``not a digit`` or ``unsure`` in
place of the digit when the picture is not a digit or the calibrated confidence is below
``--min-confidence``: answers, exit code 0), or with ``--json`` one object per line (``digit`` null and
``reason`` set for those). A file that cannot be read gets one line on stderr naming it, the others are
still predicted, and the exit code is 1; usage errors (no such model, a folder without
images) exit 2. The default model is ``models/cnn.keras`` in the project folder (``MNISTLIB_HOME``,
else the source checkout, else the current folder: see :mod:`mnistlib.predict`). A model with its
LiteRT export beside it (``X.tflite``, see ``mnistlib export``) runs without TensorFlow; otherwise
TensorFlow is imported only after the first images are prepared. ``--number`` reads each image as a
row of digits (:func:`mnistlib.reading.read_number`): ``path<TAB>number<TAB>lowest confidence``.
From 32 images on, ``--jobs`` processes prepare the pictures (default: one per CPU; the model runs in one).
"""

from __future__ import annotations

import json
import sys

from mnistlib.cli.train import positive_int
from mnistlib.imageprep import find_images
from mnistlib.predict import answer_rule, check_model_path, iter_predictions


def register(sub):
    p = sub.add_parser("predict", help="predict the digit in image files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders of images")
    p.add_argument("--model", metavar="PATH",
                   help="a .keras model, run by its .tflite export when one is beside it, or a .tflite file "
                        "(default: models/cnn.keras in $MNISTLIB_HOME, else in the source checkout, "
                        "else in the current folder)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="answer 'unsure' when the calibrated confidence is below P, between 0 and 1 "
                        "(default: the one chosen on validation data, in models/nondigit.json)")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="processes that prepare the pictures (default: one per CPU from 32 pictures on)")
    p.add_argument("--number", action="store_true",
                   help="read each image as a row of digits (a whole number such as 2026): "
                        "path<TAB>number<TAB>lowest digit confidence")
    return p


def run(args) -> int:
    model = str(check_model_path(args.model))
    answer_rule(args.min_confidence)  # a bad --min-confidence is said before any picture is read
    files = find_images(args.paths)
    if args.number:
        return _run_numbers(files, model, args.json)
    failed = 0
    for result in iter_predictions(files, model, min_confidence=args.min_confidence, workers=args.jobs):
        if result.error:
            failed += 1
            _error(result.error, result.source)
        elif args.json:
            print(json.dumps(result.as_dict()), flush=True)
        elif result.blank:
            print(f"{result.source}\tblank\t-", flush=True)
        else:
            answer = result.digit if result.reason is None else result.reason
            print(f"{result.source}\t{answer}\t{result.confidence:.4f}", flush=True)
    return 1 if failed else 0


def _run_numbers(files, model: str, as_json: bool) -> int:
    """``--number``: one line per image, ``path<TAB>number<TAB>lowest confidence`` (``blank`` and ``-``
    without ink), or with ``--json`` ``{"path", "number", "digits": [{"digit", "confidence", "box"}...]}``
    (plus ``blank`` and ``confidence``, the lowest). Unreadable files: one stderr line each, exit 1."""
    from mnistlib.imageprep import ImageError
    from mnistlib.reading import read_number

    failed = 0
    for path in files:
        try:
            result = read_number(path, model)
        except ImageError as exc:  # this file only; a model error stops everything (exit 2)
            failed += 1
            _error(str(exc), path)
            continue
        if as_json:
            print(json.dumps(result.as_dict()), flush=True)
        elif result.blank:
            print(f"{result.source}\tblank\t-", flush=True)
        else:
            print(f"{result.source}\t{result.text}\t{result.confidence:.4f}", flush=True)
    return 1 if failed else 0


def _error(message: str, path) -> None:
    """One stderr line for a file that could not be read, naming it (the others are still predicted)."""
    message = " ".join(message.split())
    print(f"mnistlib predict: {message if str(path) in message else f'{path}: {message}'}", file=sys.stderr, flush=True)
