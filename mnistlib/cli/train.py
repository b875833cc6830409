"""``mnistlib train --model NAME [--epochs N] [--batch-size B] [--seed S] [--out PATH] [--devices N] [--no-calibration] [--json]``.

Trains a recipe on 55,000 of the 60,000 training images (the stratified subset and capped
epochs when ``MNISTLIB_QUICK=1``), fits the confidence temperature on the 5,000 held out (all 60,000
are trained on with ``--no-calibration``, and the card has no temperature), scores the 10,000 test
images after every epoch (for learning curves only) and saves ``models/NAME.keras`` plus its JSON card. The output
location is checked before training starts. With ``--json``: one object per epoch
``{"epoch", "train_seconds", "test_accuracy"}``, then a summary object with ``model_path``.
"""

from __future__ import annotations

import argparse
import json

from mnistlib.config import DEFAULT_SEED


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return value


def add_recipe_argument(parser) -> None:
    """``--model NAME`` (a recipe of :data:`mnistlib.recipes.RECIPES`) and ``--seed``, shared by train and cv."""
    parser.add_argument("--model", required=True, metavar="NAME", help="recipe name (see mnistlib.recipes.RECIPES)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")


def register(sub):
    p = sub.add_parser("train", help="train a model recipe and save it under models/")
    add_recipe_argument(p)
    p.add_argument("--epochs", type=positive_int, help="epochs (default: the recipe's)")
    p.add_argument("--batch-size", type=positive_int, help="batch size (default: the recipe's)")
    p.add_argument("--out", metavar="PATH",
                   help="where to save the .keras file (default: models/NAME.keras, build/quick/models/ when quick)")
    p.add_argument("--devices", type=positive_int, default=1,
                   help="train data-parallel on N devices: the first N GPUs, else the CPU split in N (default: 1)")
    p.add_argument("--no-calibration", action="store_true",
                   help="train on every training image; no temperature is fitted (default: hold out 1/12 to fit it)")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch, then a summary")
    return p


def run(args) -> int:
    from mnistlib.saving import load_card  # these import TensorFlow: only for this subcommand
    from mnistlib.training import train_and_save

    def report(epoch, seconds, accuracy):
        if args.json:
            print(json.dumps({"epoch": epoch, "train_seconds": round(seconds, 3), "test_accuracy": accuracy}),
                  flush=True)
        else:
            print(f"epoch {epoch:3d}  {seconds:8.1f} s  test accuracy {accuracy:.4f}", flush=True)

    result, path = train_and_save(args.model, args.out, epochs=args.epochs, batch_size=args.batch_size,
                                  seed=args.seed, on_epoch=report, devices=args.devices,
                                  calibrate_confidence=not args.no_calibration)
    accuracy = result.test_accuracy[-1]
    if args.json:
        print(json.dumps({"model_path": str(path), "recipe": result.recipe, "test_accuracy": accuracy,
                          "epochs": result.epochs, "train_seconds": round(result.seconds, 3), "seed": args.seed,
                          "params": int(result.model.count_params()), "devices": args.devices,
                          "compute_policy": load_card(path).get("compute_policy"),
                          "temperature": result.calibration and round(result.calibration.temperature, 4)}),
              flush=True)
    else:
        calibrated = f", temperature {result.calibration.temperature:.3f}" if result.calibration else ""
        print(f"saved {path} (test accuracy {accuracy:.4f}, {result.seconds:.1f} s of training{calibrated})")
    return 0
