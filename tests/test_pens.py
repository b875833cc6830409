"""mnistlib.pens: the pen variants of the ``cnn`` recipe (seeded, refitted, made in worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
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


def test_low_resolution_variants_lose_what_an_8x8_scan_cannot_hold(mnist):
    # two bars 2 px apart at the 84-px working scale: a digit of 6 to 10 px keeps no gap between them
    bars = np.zeros((84, 84), np.float32)
    bars[12:72, 30:40] = bars[12:72, 42:52] = 1.0
    for seed in range(5):
        low = pens._low_resolution(bars, np.random.default_rng(seed))
        assert ndimage.label(low > 0.5)[1] == 1
        assert set(np.unique(low)) == {0.0, 1.0} and max(low.shape) >= pens.MIN_CROP  # blown up, thresholded
    for v in pen_variants(mnist.x_train[:40], copies=1, seed=3, lowres=1.0)[..., 0]:  # refitted like a prepared photo
        rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)


@pytest.mark.parametrize("share", [-0.1, 1.5, "half", True])
def test_a_recipe_refuses_a_share_of_low_resolution_pens_outside_0_to_1(share):
    from mnistlib.errors import MnistlibError
    from mnistlib.recipes import get_recipe

    with pytest.raises(MnistlibError, match="lowres_pens must be a share of the pen variants in \\[0, 1\\]"):
        get_recipe("cnn").replace(lowres_pens=share)


@pytest.mark.parametrize("share", ["lowres", "elastic"])
def test_a_share_of_other_variants_is_seeded_and_leaves_the_rest_as_they_were_without_it(share, mnist):
    x = mnist.x_train[:40]
    plain = pen_variants(x, copies=1, seed=3)
    np.testing.assert_array_equal(plain, pen_variants(x, copies=1, seed=3, **{share: 0.0}))  # no draw without them
    other = pen_variants(x, copies=1, seed=3, **{share: 1.0})
    np.testing.assert_array_equal(other, pen_variants(x, copies=1, seed=3, processes=1, **{share: 1.0}))  # seeded
    assert not np.array_equal(plain, other)


def test_elastic_variants_bend_the_digit_without_losing_it(mnist):
    x = mnist.x_train[:40]
    digit = np.asarray(Image.fromarray(x[0] / np.float32(255.0), "F").resize((84, 84), Image.BILINEAR))
    moved = pens._elastic(digit, np.random.default_rng(0))
    assert moved.shape == digit.shape and not np.allclose(moved, digit)
    assert 0.7 < moved.sum() / digit.sum() < 1.3  # bent, not erased or smeared
    assert np.abs(moved - digit).sum() < digit.sum()  # a bend, not a new picture
