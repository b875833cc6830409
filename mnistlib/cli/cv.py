"""``mnistlib cv --model NAME [--folds K] [--epochs N] [--seed S] [--json]``: k-fold cross-validation accuracy."""

from __future__ import annotations

import json

from mnistlib.cli.train import add_recipe_argument, positive_int


def register(sub):
    p = sub.add_parser("cv", help="k-fold cross-validation of a model recipe on the training set")
    add_recipe_argument(p)
    p.add_argument("--folds", type=positive_int, default=None, help="k (default: 5, or 3 in the quick profile)")
    p.add_argument("--epochs", type=positive_int, help="epochs per fold (default: the recipe's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from mnistlib.training import run_cross_validation  # imports TensorFlow: only for this subcommand

    table, summary = run_cross_validation(args.model, folds=args.folds, epochs=args.epochs, seed=args.seed,
                                          progress=not args.json)
    if args.json:
        print(json.dumps({"model": args.model, "seed": args.seed, **summary, "per_fold": table.to_dict("records")}))
        return 0
    for row in table.itertuples():
        print(f"fold {row.fold}: accuracy {row.accuracy:.4f}  loss {row.loss:.4f}  ({row.seconds:.1f} s)")
    print(f"{args.model}: {summary['folds']}-fold accuracy {summary['accuracy_mean']:.4f} ± {summary['accuracy_sd']:.4f}")
    return 0
