"""``mnistlib cv --model NAME --folds K [--epochs N] [--seed S] [--json]``: k-fold cross-validation accuracy."""

from __future__ import annotations

import json

from mnistlib.cli.train import positive_int


def register(sub):
    p = sub.add_parser("cv", help="k-fold cross-validation of a model recipe on the training set")
    p.add_argument("--model", required=True, metavar="NAME", help="recipe name (see mnistlib.models.RECIPES)")
    p.add_argument("--folds", type=positive_int, default=None, help="k (default: 5, or 3 in the quick profile)")
    p.add_argument("--epochs", type=positive_int, help="epochs per fold (default: the recipe's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 42)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from mnistlib.config import DEFAULT_SEED, profile
    from mnistlib.data import load_mnist
    from mnistlib.errors import MnistlibError
    from mnistlib.models import recipe
    from mnistlib.preprocess import prepare_images, profile_subset
    from mnistlib.train import cross_validate, cv_summary

    rec = recipe(args.model)
    prof = profile()
    folds = args.folds or prof.folds
    if folds < 2:
        raise MnistlibError(f"--folds must be at least 2, not {folds}")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    data = profile_subset(load_mnist(), prof, seed=seed)
    table = cross_validate(args.model, prepare_images(data.x_train), data.y_train, k=folds,
                           epochs=prof.epochs(args.epochs or rec.epochs), seed=seed, progress=not args.json)
    summary = cv_summary(table)
    if args.json:
        print(json.dumps({"model": args.model, "seed": seed, **summary, "per_fold": table.to_dict("records")}))
        return 0
    for row in table.itertuples():
        print(f"fold {row.fold}: accuracy {row.accuracy:.4f}  loss {row.loss:.4f}  ({row.seconds:.1f} s)")
    print(f"{args.model}: {folds}-fold accuracy {summary['accuracy_mean']:.4f} ± {summary['accuracy_sd']:.4f}")
    return 0
