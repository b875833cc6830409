"""Train every recipe with `mnistlib train --json` and measure it (issue 3; `make bench`, not part of CI).

For each recipe, in one session and in this order: the Keras "simple MNIST convnet"
reference (`keras_example`) first, then the others. Measured per recipe:

* final test accuracy and training seconds (cumulative wall time of the epochs, evaluation excluded),
* time to 99.0 % test accuracy (`train_seconds` of the first epoch whose test accuracy >= 0.99),
  and its ratio to the reference's,
* batched inference: images/s classifying the 10,000 test images (batch 1000, best of 3, after a warm-up),
* peak memory (max RSS) of the training process,
* parameters.

Writes benchmarks/results.json and the Markdown table between the markers in benchmarks/README.md.
Run: `make bench` or `MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_models.py [--recipes a,b] [--ship]`
(`--ship` saves `cnn` and `dense` as the committed models/cnn.keras and models/dense.keras).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = ["keras_example", "cnn_fast", "dense", "cnn", "dense_128", "dense_50_sigmoid", "cnn_basic", "cnn_small",
         "cnn_dense64"]
SHIPPED = ("cnn", "dense")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def train(name: str, out: Path, seed: int) -> dict:
    """Run `mnistlib train --json` in a child process; return its epochs, summary and peak RSS."""
    env = {**os.environ, "MNISTLIB_QUICK": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "mnistlib", "train", "--model", name, "--json", "--seed", str(seed),
           "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(json.loads(line))
        print(f"  {name}: {line.strip()}", flush=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name}: training failed: {err.strip()}")
    return {"epochs": lines[:-1], "summary": lines[-1], "peak_rss_mb": usage.ru_maxrss / 1024,
            "wall_seconds": time.perf_counter() - start}


def inference_rate(path: Path) -> float:
    """Images per second classifying the 10,000 test images in batches of 1000 (best of 3)."""
    from mnistlib.data import load_mnist
    from mnistlib.preprocess import prepare_images
    from mnistlib.saving import load_model

    x = prepare_images(load_mnist().x_test)
    model = load_model(path)
    model.predict(x[:1000], batch_size=1000, verbose=0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        model.predict(x, batch_size=1000, verbose=0)
        best = min(best, time.perf_counter() - start)
    return len(x) / best


def row(name: str, run: dict, rate: float) -> dict:
    to99 = next((e["train_seconds"] for e in run["epochs"] if e["test_accuracy"] >= 0.99), None)
    epoch99 = next((e["epoch"] for e in run["epochs"] if e["test_accuracy"] >= 0.99), None)
    return {"recipe": name, "epochs": len(run["epochs"]), "test_accuracy": run["summary"]["test_accuracy"],
            "train_seconds": run["summary"]["train_seconds"], "seconds_to_99": to99, "epoch_to_99": epoch99,
            "inference_images_per_s": round(rate), "params": run["summary"]["params"],
            "peak_rss_mb": round(run["peak_rss_mb"]), "per_epoch": run["epochs"]}


def table(rows: list[dict]) -> str:
    ref = next((r["seconds_to_99"] for r in rows if r["recipe"] == "keras_example"), None)
    out = ["| recipe | epochs | test acc. | train s | s to 99.0 % (epoch) | × reference | inference img/s "
           "| params | peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        to99 = "—" if r["seconds_to_99"] is None else f"{r['seconds_to_99']:.1f} ({r['epoch_to_99']})"
        ratio = "—" if (r["seconds_to_99"] is None or not ref) else f"{r['seconds_to_99'] / ref:.3f}"
        out.append(f"| `{r['recipe']}` | {r['epochs']} | {100 * r['test_accuracy']:.2f} % | {r['train_seconds']:.1f} "
                   f"| {to99} | {ratio} | {r['inference_images_per_s']:,} | {r['params']:,} | {r['peak_rss_mb']:,} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default=",".join(ORDER), help="comma-separated recipes (reference first)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ship", action="store_true", help="save cnn and dense under models/ (the committed ones)")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the table in README.md")
    args = parser.parse_args()
    names = [n.strip() for n in args.recipes.split(",") if n.strip()]
    started = dt.datetime.now(dt.timezone.utc)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = ROOT / "models" / f"{name}.keras" if (args.ship and name in SHIPPED) else Path(tmp) / f"{name}.keras"
            print(f"== {name}", flush=True)
            run = train(name, out, args.seed)
            rows.append(row(name, run, inference_rate(out)))
    result = {
        "date": started.isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, {platform.system()}, "
                   f"python {platform.python_version()}",
        "load_average_at_start": round(load, 2),
        "seed": args.seed,
        "results": rows,
    }
    results_path = HERE / "results.json"
    if set(names) != set(ORDER) and results_path.exists():  # a partial run updates its own rows only
        old = json.loads(results_path.read_text())
        kept = [r for r in old.get("results", []) if r["recipe"] not in names]
        result["results"] = sorted(kept + rows, key=lambda r: ORDER.index(r["recipe"]) if r["recipe"] in ORDER else 99)
    results_path.write_text(json.dumps(result, indent=1) + "\n")
    text = table(result["results"])
    print(text)
    readme = HERE / "README.md"
    if not args.no_readme and readme.exists() and BEGIN in readme.read_text():
        before, rest = readme.read_text().split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        stamp = f"Measured {result['date']} on a {result['machine']} (1-min load average at start {load:.2f})."
        readme.write_text(f"{before}{BEGIN}\n{stamp}\n\n{text}\n{END}{after}")


if __name__ == "__main__":
    main()
