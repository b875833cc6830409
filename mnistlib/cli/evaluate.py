"""``mnistlib evaluate MODEL_PATH [--json]``: test accuracy and per-class precision and recall."""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("evaluate", help="score a saved model on the test set")
    p.add_argument("model_path", metavar="MODEL_PATH", help="a .keras file saved by 'mnistlib train'")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from mnistlib.evaluation import evaluate_model_file  # imports TensorFlow: only for this subcommand

    result = evaluate_model_file(args.model_path)
    per_class = {str(d): {"precision": row["precision"], "recall": row["recall"], "support": int(row["support"])}
                 for d, row in result.per_class().iterrows()}
    if args.json:
        print(json.dumps({"model_path": str(args.model_path), "test_images": len(result.labels),
                          "test_accuracy": result.accuracy, "test_loss": result.loss, "errors": result.errors,
                          "per_class": per_class}))
        return 0
    print(f"{args.model_path}: test accuracy {result.accuracy:.4f} ({result.errors} errors in "
          f"{len(result.labels):,} images), loss {result.loss:.4f}")
    print("digit  precision  recall  support")
    for d, row in per_class.items():
        print(f"{d:>5}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['support']:7d}")
    return 0
