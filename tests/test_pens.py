"""mnistlib.pens: the pen variants of the ``cnn`` recipe (seeded, refitted, made in worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from mnistlib import pens
from mnistlib.imageprep import fit_and_center
from mnistlib.inputs import InputError
from mnistlib.pens import pen_variants


def test_pen_variants_are_seeded_refitted_digits_with_other_pens(mnist):
    x = mnist.x_train[:60]
    a = pen_variants(x, copies=2, seed=3)
    assert a.shape == (120, 28, 28, 1) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, pen_variants(x, copies=2, seed=3, processes=1))  # seeded, any process count
    assert not np.array_equal(a, pen_variants(x, copies=2, seed=4))
    assert not np.array_equal(a[:60], a[60:])  # the two copies differ
    for v in a[..., 0]:  # refitted like a prepared photo: longest side 20 px, centre of mass near (14, 14)
        rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)
        assert np.allclose(ndimage.center_of_mass(v), 14, atol=1.5)
    # the pen changes: relative to the same digit refitted, some variants carry much more ink, some less
    ratio = a[..., 0].sum(axis=(1, 2)) / np.tile([fit_and_center(d / 255.0).sum() for d in x], 2)
    assert ratio.max() > 1.5 and ratio.min() < 0.9


def test_pen_variants_refuse_other_shapes_with_the_library_error():
    with pytest.raises(InputError, match="28, 28"):
        pen_variants(np.zeros((2, 32, 32), np.float32))


def test_pen_variants_do_not_depend_on_how_the_jobs_are_cut_or_run(mnist, monkeypatch):
    x = mnist.x_train[:60]
    monkeypatch.setattr(pens, "CHUNK", 25)  # jobs of 25, 25 and 10 digits per copy
    a = pen_variants(x, copies=2, seed=3, processes=2)
    np.testing.assert_array_equal(a, pen_variants(x, copies=2, seed=3, processes=1))
    # each job has its own random stream: the last job's variants are those of digits 50-59 alone at start 50
    tail = pens._chunk(x[50:] / np.float32(255.0), 3, 1, 50)
    np.testing.assert_array_equal(a[110:, ..., 0], tail)


def test_a_script_without_a_main_guard_can_make_pen_variants_in_processes(tmp_path, mnist_dir):
    # multiprocessing's "spawn" would run this script again in each worker and fail; joblib's workers do not
    script = tmp_path / "make_pens.py"
    script.write_text(
        "import numpy as np\n"
        "from mnistlib.data import load_mnist\n"
        "from mnistlib.pens import pen_variants\n"
        "print('script body', flush=True)\n"
        "x = load_mnist().x_train[:40]\n"
        "a = pen_variants(x, copies=2, seed=5, processes=2)\n"
        "print('same as in one process:', np.array_equal(a, pen_variants(x, copies=2, seed=5, processes=1)))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["script body", "same as in one process: True"]
