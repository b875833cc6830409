"""The light paths stay light: importing the data, image and prediction modules, and `mnistlib data`,
never import TensorFlow (only building, training or loading a model does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHT = ("mnistlib", "mnistlib.data", "mnistlib.imageprep", "mnistlib.inputs", "mnistlib.preprocess",
         "mnistlib.predict", "mnistlib.runtime", "mnistlib.cli", "mnistlib.cli.export", "mnistlib.pictures",
         "mnistlib.nondigits", "mnistlib.rejection", "mnistlib.pens", "mnistlib.forms")


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_importing_the_light_modules_does_not_import_tensorflow():
    code = (f"import {', '.join(LIGHT)}; import sys; "
            "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules); print(heavy)")
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"importing {', '.join(LIGHT)} imported {proc.stdout.strip()}"


def test_predict_imports_tensorflow_only_to_load_a_model_without_its_export(tmp_path):
    """The default model (models/cnn.keras with models/cnn.tflite beside it) runs on the light runtime;
    a .keras without an export is loaded by Keras, which imports TensorFlow."""
    lone = tmp_path / "lone.keras"
    shutil.copy(ROOT / "models" / "cnn.keras", lone)
    proc = _python("-c", "import sys, mnistlib.predict as p; "
                         "m = p.get_model(); print(type(m).__name__, 'tensorflow' in sys.modules); "
                         f"m = p.get_model({str(lone)!r}); print(type(m).__name__, 'tensorflow' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    light, keras = proc.stdout.strip().splitlines()
    assert light == "LightModel False"
    assert keras.split() == ["Functional", "True"]  # a Keras model; and the check can see TensorFlow


def test_runtime_imports_tensorflow_only_to_export(tmp_path):
    """mnistlib.runtime predicts without TensorFlow; export_model imports it, when called."""
    source = tmp_path / "m.keras"
    shutil.copy(ROOT / "models" / "dense.keras", source)
    proc = _python("-c", "import sys, numpy as np, mnistlib.runtime as rt; "
                         "rt.LightModel('models/dense.tflite').predict(np.zeros((2, 28, 28, 1), np.float32)); "
                         "print('tensorflow' in sys.modules); "
                         f"rt.export_model({str(source)!r}); print('tensorflow' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
    assert (tmp_path / "m.tflite").is_file()


def test_mnistlib_data_json_does_not_import_tensorflow(mnist_dir):
    # sys.modules, not -X importtime: config.tf() silences stderr while TensorFlow imports, which
    # would hide importtime's lines (the test above shows this check sees TensorFlow when it is there)
    code = ("import sys; from mnistlib.cli import main; "
            f"status = main(['data', '--json', '--data-dir', {str(mnist_dir)!r}]); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)); sys.exit(status)")
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr
    summary, heavy = proc.stdout.strip().splitlines()
    assert json.loads(summary)["train"]["images"] == 60000  # the command really ran
    assert heavy == "[]", heavy


def test_mnistlib_turns_on_tensorflows_onednn_kernels_unless_told_not_to():
    """TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI, bfloat16 or AMX; mnistlib
    turns them on everywhere (1.5-2 x faster CNN training on an AVX2-only CPU), and an explicit 0 is respected."""
    code = ("import mnistlib.config as c; c.tf(); "
            "from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())")
    for setting, expected in ((None, "True"), ("0", "False")):
        proc = _python_onednn_unset(code, **({"TF_ENABLE_ONEDNN_OPTS": setting} if setting else {}))
        assert proc.stdout.strip() == expected, (setting, proc.stdout)


def test_importing_tensorflow_before_mnistlib_is_warned_about_where_it_changes_the_numbers():
    """mnistlib turns TensorFlow's oneDNN kernels on before TensorFlow is imported (mnistlib.config). Imported after
    it, it cannot: where TensorFlow then left them off (this AMD EPYC) training is slower and gives other numbers,
    and mnistlib says so in one line; imported first, or with the variable set, it says nothing."""
    late = _python_onednn_unset("import tensorflow; from tensorflow.python.util import _pywrap_util_port as port; "
                                "print(port.IsMklEnabled()); import mnistlib")
    warning = "TensorFlow was imported before mnistlib"
    assert (warning in late.stderr) == (late.stdout.strip() == "False"), (late.stdout, late.stderr)
    assert warning not in _python_onednn_unset("import mnistlib; import tensorflow").stderr
    assert warning not in _python_onednn_unset("import tensorflow; import mnistlib", TF_ENABLE_ONEDNN_OPTS="1").stderr


def _python_onednn_unset(code: str, **extra: str) -> subprocess.CompletedProcess:
    """``python -c code`` with TF_ENABLE_ONEDNN_OPTS unset (or set as ``extra`` says); it must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "3", **extra})
    assert proc.returncode == 0, proc.stderr
    return proc
