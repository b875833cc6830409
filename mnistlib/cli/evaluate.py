"""``mnistlib evaluate MODEL_PATH [--json]``: test accuracy and per-class precision and recall."""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("evaluate", help="score a saved model on the test set")
    p.add_argument("model_path", metavar="MODEL_PATH", help="a .keras file saved by 'mnistlib train'")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from mnistlib.config import profile
    from mnistlib.data import load_mnist
    from mnistlib.evaluate import evaluate
    from mnistlib.models import load_model
    from mnistlib.preprocess import prepare_images, profile_subset

    model = load_model(args.model_path)
    data = profile_subset(load_mnist(), profile())
    result = evaluate(model, prepare_images(data.x_test), data.y_test)
    per_class = {str(d): {"precision": result.report[str(d)]["precision"], "recall": result.report[str(d)]["recall"],
                          "support": int(result.report[str(d)]["support"])} for d in range(10)}
    if args.json:
        print(json.dumps({"model_path": str(args.model_path), "test_images": int(len(data.y_test)),
                          "test_accuracy": result.accuracy, "test_loss": result.loss, "errors": result.errors,
                          "per_class": per_class}))
        return 0
    print(f"{args.model_path}: test accuracy {result.accuracy:.4f} ({result.errors} errors in "
          f"{len(data.y_test):,} images), loss {result.loss:.4f}")
    print("digit  precision  recall  support")
    for d, row in per_class.items():
        print(f"{d:>5}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['support']:7d}")
    return 0
