"""The light runtime of ``mnistlib predict`` (issue 14 item 4): cold start, 1,000 files, peak memory.

Every timing is a fresh process (``python -m mnistlib predict ...``, as a user runs it), the rounds of
the different commands interleaved so that a change of machine load hits them alike; compare the
ratios within one run. Measures:

* ``mnistlib predict one.png`` cold, on the shipped ``models/cnn.keras`` with its ``models/cnn.tflite``
  (the light runtime), best of ``--repeat`` (5);
* against ``python -c "import tensorflow"`` and the same command on a copy of ``cnn.keras`` without its
  export (Keras, the former path), and ``python -c pass`` / ``import mnistlib.predict`` (what the light
  path cannot avoid: Python, NumPy, SciPy, scikit-image, PIL);
* ``mnistlib predict FOLDER`` on 1,000 photos made by ``realistic.py`` (MNIST test digits as photos and
  scans), best of 2, with its accuracy;
* peak resident memory of each command (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a lean launcher
  process, whose own ~10 MB it includes);
* what the cold start imports (``-X importtime``: top-level imports by cumulative time, packages by own time),
  and how the time of many files splits between preparing the pictures and the model (in this process).

Targets: cold ≤ 1.0 s and ≤ 0.25 × ``import tensorflow``; 1,000 files ≤ 8 s; peak memory ≤ 400 MB.

Run: ``MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_runtime.py``; prints one JSON object.
Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import realistic  # noqa: E402

PHOTO = ROOT / "notebooks" / "images" / "photo_3.jpg"
ENV = {**{k: v for k, v in os.environ.items() if k != "MNISTLIB_HOME"}, "TF_CPP_MIN_LOG_LEVEL": "3",
       "BENCH_RUNTIME_CHILD": "1"}


#: A lean launcher: times one command and reads its peak memory with getrusage(RUSAGE_CHILDREN) (this
#: script's own memory, e.g. the MNIST arrays, would otherwise be counted in a child's ru_maxrss).
LAUNCHER = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
            "rc = subprocess.call(sys.argv[2:]); s = time.perf_counter() - t; json.dump({'seconds': s, 'rc': rc, "
            "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, open(sys.argv[1], 'w'))")


def run(args: list[str]) -> tuple[float, float, str, str]:
    """Run ``python ARGS`` in a fresh process from the checkout: (seconds, peak RSS in MB, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        report, out, err = (Path(tmp) / name for name in ("report.json", "out", "err"))
        with open(out, "w") as stdout, open(err, "w") as stderr:
            subprocess.run([sys.executable, "-c", LAUNCHER, str(report), sys.executable, *args], stdout=stdout,
                           stderr=stderr, cwd=ROOT, env=ENV, check=False)
        measured = json.loads(report.read_text())
        stdout, stderr = out.read_text(), err.read_text()
    if measured["rc"] != 0:
        raise SystemExit(f"python {' '.join(args)} failed ({measured['rc']}): {stderr.strip()[-500:]}")
    return measured["seconds"], measured["maxrss_kb"] / 1024, stdout, stderr


def best(times: list[float]) -> float:
    return round(min(times), 3)


def import_breakdown(top: int = 8) -> dict:
    """What a cold ``mnistlib predict one.png`` imports (one run of ``-X importtime``): the top-level imports
    by cumulative time, and the import time of each package (self times summed by top-level name)."""
    _, _, _, stderr = run(["-X", "importtime", "-m", "mnistlib", "predict", str(PHOTO)])
    first, packages = [], {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        package = name.strip().split(".")[0]
        packages[package] = packages.get(package, 0) + int(own) / 1000
        if not name.startswith("  "):  # imported by the program itself, not by another module
            first.append({"module": name.strip(), "ms": round(int(cumulative) / 1000, 1)})
    total = sum(packages.values())
    first.sort(key=lambda r: -r["ms"])
    by_package = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    return {"total_ms": round(total, 1), "top_level": first[:top],
            "by_package": [{"package": k, "ms": round(v, 1), "share": round(v / total, 3)} for k, v in by_package]}


def in_process_split(paths: list[Path]) -> dict:
    """Where the time of many files goes, in this (warm) process: preparing the pictures vs the model."""
    import numpy as np

    from mnistlib.imageprep import to_mnist
    from mnistlib.runtime import LightModel

    start = time.perf_counter()
    prepared = [to_mnist(p) for p in paths]
    prepare = time.perf_counter() - start
    images = np.stack([p.image for p in prepared if not p.blank])
    model = LightModel(ROOT / "models" / "cnn.tflite")
    model.predict(images[:8])
    start = time.perf_counter()
    model.predict(images)
    predict = time.perf_counter() - start
    return {"prepare_seconds": round(prepare, 2), "prepare_ms_per_file": round(1000 * prepare / len(paths), 2),
            "light_model_seconds": round(predict, 3)}


def main() -> None:
    if os.environ.get("BENCH_RUNTIME_CHILD"):
        raise SystemExit("bench_runtime.py must not run inside itself")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per cold-start command (best of)")
    parser.add_argument("--files", type=int, default=1000, help="photos for the many-files timing")
    args = parser.parse_args()

    from mnistlib.data import load_mnist
    from mnistlib.runtime import light_model_path

    default = ROOT / "models" / "cnn.keras"
    if light_model_path(default) is None:
        raise SystemExit(f"{default} has no up-to-date export: run `mnistlib export {default}` first")
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        tmp = Path(tmp)
        lone = tmp / "cnn.keras"  # the same model and card without its export: the Keras path
        shutil.copy(default, lone)
        shutil.copy(default.with_suffix(".json"), lone.with_suffix(".json"))
        data = load_mnist()
        folder = tmp / "photos"
        folder.mkdir()
        samples = realistic.photo_set(data.x_test, data.y_test, n=args.files)
        labels = {}
        for s in samples:
            (folder / s.name).write_bytes(s.data)
            labels[str(folder / s.name)] = s.label

        commands = {
            "python -c pass": ["-c", "pass"],
            "import mnistlib.predict": ["-c", "import mnistlib.predict"],
            "mnistlib predict one.png (light)": ["-m", "mnistlib", "predict", str(PHOTO)],
            "import tensorflow": ["-c", "import tensorflow"],
            "mnistlib predict one.png (Keras, no export)": ["-m", "mnistlib", "predict", "--model", str(lone),
                                                            str(PHOTO)],
        }
        times = {name: [] for name in commands}
        rss = {name: [] for name in commands}
        answers = {}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                seconds, peak, stdout, _ = run(argv)
                times[name].append(seconds)
                rss[name].append(peak)
                answers[name] = stdout.strip()
        many_times, many_rss = [], []
        for _ in range(2):
            seconds, peak, stdout, _ = run(["-m", "mnistlib", "predict", str(folder)])
            many_times.append(seconds)
            many_rss.append(peak)
        rows = [line.split("\t") for line in stdout.strip().splitlines()]
        # an answer may be "blank", "not a digit" or "unsure" instead of a digit: not correct
        correct = sum(1 for path, digit, _ in rows if digit.isdigit() and int(digit) == labels[path])
        answered = sum(1 for _, digit, _ in rows if digit.isdigit())
        breakdown = import_breakdown()
        split = in_process_split(sorted(folder.iterdir()))

    cold = best(times["mnistlib predict one.png (light)"])
    tf_import = best(times["import tensorflow"])
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}, "
                   f"python {platform.python_version()}",
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "repeat": args.repeat,
        "best_seconds": {name: best(t) for name, t in times.items()},
        "all_seconds": {name: [round(x, 3) for x in t] for name, t in times.items()},
        "cold_predict_over_import_tensorflow": round(cold / tf_import, 3),
        "cold_predict_light_over_keras": round(cold / best(times["mnistlib predict one.png (Keras, no export)"]), 3),
        "same_answer_light_and_keras": (answers["mnistlib predict one.png (light)"].split("\t")[1]
                                        == answers["mnistlib predict one.png (Keras, no export)"].split("\t")[1]),
        "files": {"n": len(rows), "best_seconds": best(many_times), "all_seconds": [round(x, 2) for x in many_times],
                  "accuracy": round(correct / len(rows), 4), "answered_with_a_digit": round(answered / len(rows), 4),
                  "peak_rss_mb": round(max(many_rss), 1),
                  "in_process": split},
        "peak_rss_mb": {name: round(max(r), 1) for name, r in rss.items()},
        "cold_imports_ms": breakdown,
        "targets": {
            "cold ≤ 1.0 s": cold <= 1.0,
            "cold ≤ 0.25 × import tensorflow": cold <= 0.25 * tf_import,
            "1,000 files ≤ 8 s": best(many_times) <= 8.0 if len(rows) == 1000 else None,
            "peak memory ≤ 400 MB": max(max(rss["mnistlib predict one.png (light)"]), max(many_rss)) <= 400,
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
