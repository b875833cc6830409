"""`mnistlib predict`: good files still predicted next to every kind of bad file; usage errors exit 2;
the default model of an installed (not editable) package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def test_good_and_bad_files_together(mnist, tmp_path, paper_photo, run_cli):
    for i in range(3):
        paper_photo(mnist.x_test[i], seed=i).save(tmp_path / f"good_{i}.jpg")
    Image.new("L", (120, 90), 250).save(tmp_path / "blank.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is not an image\n")
    full = (tmp_path / "good_0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(full[: len(full) // 3])
    Image.new("L", (8000, 6000), 255).save(tmp_path / "huge.png")  # 48 megapixels: over the limit
    proc = run_cli("predict", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 4
    for name, reason in (("empty.png", "empty"), ("notes.png", "not an image"), ("truncated.jpg", "truncated"),
                         ("huge.png", "too large")):
        line = next(line for line in errors if name in line)
        assert reason in line, line
    rows = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [r[0].rsplit("/", 1)[-1] for r in rows] == ["blank.png", "good_0.jpg", "good_1.jpg", "good_2.jpg"]
    assert rows[0][1:] == ["blank", "-"]
    assert [int(r[1]) for r in rows[1:]] == mnist.y_test[:3].tolist()
    assert all(0.5 < float(r[2]) <= 1.0 for r in rows[1:])


def test_json_lines(mnist, tmp_path, paper_photo, run_cli):
    path = tmp_path / "seven.png"
    paper_photo(mnist.x_test[0]).save(path)
    proc = run_cli("predict", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.strip().splitlines()
    result = json.loads(line)
    assert result["path"] == str(path) and result["digit"] == int(mnist.y_test[0]) and result["blank"] is False
    probabilities = np.array(result["probabilities"])
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-3
    assert result["confidence"] == max(result["probabilities"])


def test_usage_errors(mnist, tmp_path, paper_photo, run_cli, assert_one_line_error):
    (tmp_path / "empty_folder").mkdir()
    paper_photo(mnist.x_test[1]).save(tmp_path / "x.png")
    assert_one_line_error(run_cli("predict", "--model", str(tmp_path / "nope.keras"), str(tmp_path / "x.png")),
                          2, "nope.keras")
    assert_one_line_error(run_cli("predict", str(tmp_path / "empty_folder")), 2, "no images")
    assert_one_line_error(run_cli("predict"), 2, "required")
    (tmp_path / "corrupt.keras").write_bytes(b"not a model")
    assert_one_line_error(run_cli("predict", "--model", str(tmp_path / "corrupt.keras"), str(tmp_path / "x.png")),
                          2, "corrupt.keras")


def _pip_install_elsewhere(tmp_path: Path) -> Path:
    """``pip install --no-deps --target`` of a copy of the distributable files: a package that is not the checkout.

    The copy keeps the build's scratch files out of the work tree. Without build isolation when this
    environment's setuptools can build pyproject.toml (``make install`` sees to it), else with it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mnistlib", source / "mnistlib", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    isolation = [] if int(version("setuptools").split(".")[0]) < 77 else ["--no-build-isolation"]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *isolation, "--target", str(target),
         str(source)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert (target / "mnistlib" / "predict.py").is_file() and not (target / "pyproject.toml").exists()
    return target


def test_installed_package_without_checkout_says_how_to_get_a_model(mnist, tmp_path, paper_photo):
    """After a non-editable install the default model is not in site-packages: one clear line and exit 2;
    with MNISTLIB_HOME pointing at the checkout it predicts."""
    site = _pip_install_elsewhere(tmp_path)
    work = tmp_path / "work"  # an empty folder, as a user's current folder
    work.mkdir()
    photo = tmp_path / "seven.png"
    paper_photo(mnist.x_test[0]).save(photo)
    env = {k: v for k, v in os.environ.items() if k not in ("MNISTLIB_HOME", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)

    def predict(**extra):
        return subprocess.run([sys.executable, "-m", "mnistlib", "predict", str(photo)], capture_output=True,
                              text=True, cwd=work, env={**env, **extra}, timeout=300)

    proc = predict()
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = lines[0]
    assert line.startswith("mnistlib predict: error: no model at ")
    assert str(work.resolve() / "models" / "cnn.keras") in line  # it looked in the current folder, not site-packages
    for advice in ("--model PATH", "MNISTLIB_HOME", "mnistlib train --model cnn"):
        assert advice in line, line
    assert proc.stdout == ""

    proc = predict(MNISTLIB_HOME=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    path, digit, confidence = proc.stdout.strip().split("\t")
    assert path == str(photo) and int(digit) == int(mnist.y_test[0]) and float(confidence) > 0.5



def _predict_reporting_imports(*args: str) -> tuple[subprocess.CompletedProcess, list[str], list[str]]:
    """``mnistlib predict ARGS`` under ``python -X importtime``; returns the process, the modules importtime
    reported, and the TensorFlow/Keras modules loaded when the process ended (read from ``sys.modules`` at
    exit: mnistlib.config imports TensorFlow with stderr silenced, which hides it from importtime)."""
    code = ("import atexit, runpy, sys; "
            "atexit.register(lambda: print('HEAVY', *sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'keras'))[:3], flush=True)); "
            f"sys.argv = ['mnistlib', 'predict', *{list(args)!r}]; runpy.run_module('mnistlib', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={k: v for k, v in os.environ.items() if k != "MNISTLIB_HOME"})
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    heavy = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("HEAVY")]
    return proc, imported, heavy[0] if heavy else ["(no report)"]


def test_predict_with_the_committed_model_never_imports_tensorflow(tmp_path):
    """The default model has its LiteRT export beside it: a cold `mnistlib predict` answers without importing
    TensorFlow, and gives the digit Keras gives (a copy of the .keras without its export)."""
    photo = ROOT / "notebooks" / "images" / "photo_3.jpg"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mnistlib", "predict", str(photo)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "MNISTLIB_HOME"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert any(line.endswith("| ai_edge_litert.interpreter") for line in lines)  # importtime did report
    assert not [line for line in lines if "tensorflow" in line.lower()], "TensorFlow was imported"
    assert not [line for line in lines if not line.startswith("import time:")]  # nothing else on stderr
    path, digit, confidence = proc.stdout.strip().split("\t")
    assert path == str(photo) and digit == "3" and float(confidence) > 0.5

    light, imported, heavy = _predict_reporting_imports(str(photo))
    assert light.returncode == 0 and heavy == [], (light.stderr[-2000:], heavy)
    assert light.stdout.splitlines()[0] == proc.stdout.strip()

    lone = tmp_path / "cnn.keras"  # the same model (and card: the same temperature) without its export: Keras runs it
    shutil.copy(ROOT / "models" / "cnn.keras", lone)
    shutil.copy(ROOT / "models" / "cnn.json", lone.with_suffix(".json"))
    keras_run, imported, heavy = _predict_reporting_imports("--model", str(lone), str(photo))
    assert keras_run.returncode == 0, keras_run.stderr[-2000:]
    assert heavy and heavy[0].startswith(("keras", "tensorflow"))  # the check sees TensorFlow when it is there
    keras_path, keras_digit, keras_confidence = keras_run.stdout.splitlines()[0].split("\t")
    assert (keras_path, keras_digit) == (path, digit)
    assert abs(float(keras_confidence) - float(confidence)) <= 1e-4


def test_a_picture_that_is_not_a_digit_is_an_answer_not_an_error(mnist, tmp_path, paper_photo, run_cli,
                                                                 assert_one_line_error):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (150, 150), dtype=np.uint8)).save(tmp_path / "noise.png")
    paper_photo(mnist.x_test[0]).save(tmp_path / "seven.jpg")
    proc = run_cli("predict", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split("\t", 1) for line in proc.stdout.strip().splitlines())
    assert rows[str(tmp_path / "noise.png")].startswith("not a digit\t")
    assert rows[str(tmp_path / "seven.jpg")].startswith(f"{int(mnist.y_test[0])}\t")
    proc = run_cli("predict", "--json", "--min-confidence", "1", str(tmp_path / "seven.jpg"))
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    if result["confidence"] < 1.0:  # (a rounded-up 1.0 is never below the threshold; tests/test_predict.py is strict)
        assert result["digit"] is None and result["reason"] == "unsure", proc.stdout
    assert_one_line_error(run_cli("predict", "--min-confidence", "1.5", str(tmp_path)), 2, "between 0 and 1")


def test_many_pictures_are_prepared_in_parallel_with_the_same_answers(mnist, tmp_path, paper_photo, run_cli,
                                                                      assert_one_line_error):
    """From 32 pictures on, one process per CPU prepares them (the CLI never loads TensorFlow, so it may
    fork): the answers, their order and a bad file's error line are the same as with one process."""
    for i in range(40):
        paper_photo(mnist.x_test[i], seed=i).save(tmp_path / f"d{i:02d}.jpg")
    (tmp_path / "d20_bad.png").write_text("not an image\n")
    one = run_cli("predict", "--json", "--jobs", "1", str(tmp_path))
    two = run_cli("predict", "--json", "--jobs", "2", str(tmp_path))
    assert one.returncode == two.returncode == 1 and one.stdout == two.stdout and one.stderr == two.stderr
    assert len(one.stdout.splitlines()) == 40 and "d20_bad.png" in one.stderr
    probe = subprocess.run([sys.executable, "-c", "import os; from mnistlib.predict import _workers; "
                            "print(_workers(None, 100), _workers(None, 31), _workers(8, 3), len(os.sched_getaffinity(0)))"],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    auto, few, capped, cpus = map(int, probe.stdout.split())
    assert (auto, few, capped) == (cpus, 1, 3)
    assert_one_line_error(run_cli("predict", "--jobs", "0", str(tmp_path)), 2, "positive integer")
