"""benchmarks/realistic.py: MNIST digits made into 8x8 digits the way scikit-learn's were (the lowres tuning set)."""

from __future__ import annotations

import io
import sys

import numpy as np
from conftest import ROOT
from PIL import Image
from sklearn.datasets import load_digits

sys.path.insert(0, str(ROOT / "benchmarks"))
import realistic  # noqa: E402


def test_an_mnist_digit_becomes_an_8x8_digit_like_scikit_learns(mnist):
    sk = load_digits().images
    ours = np.stack([realistic.optdigits_8x8(image) for image in mnist.x_train[:200]])
    assert ours.shape == (200, 8, 8) and ours.min() == 0 and ours.max() == 16  # ink pixels of a 4x4 block
    for a in (ours, sk):  # the ink box spans the 8 rows (or columns) of the digit, like scikit-learn's
        spans = [max(np.ptp(np.flatnonzero(d.any(axis=1))), np.ptp(np.flatnonzero(d.any(axis=0)))) + 1 for d in a]
        assert np.median(spans) == 8
    bold = realistic.mnist_lowres_set(mnist.x_train[:50], mnist.y_train[:50], bold=True)
    thin = realistic.mnist_lowres_set(mnist.x_train[:50], mnist.y_train[:50])
    assert [s.label for s in thin] == list(mnist.y_train[:50]) and thin[0].kind == "mnist_lowres"
    assert [s.data for s in thin] == [s.data for s in realistic.mnist_lowres_set(mnist.x_train[:50], mnist.y_train[:50])]
    ink = [np.mean(255 - np.asarray(Image.open(io.BytesIO(s.data)).convert("L"), np.float32)) for s in (thin + bold)]
    assert np.mean(ink[50:]) > np.mean(ink[:50])  # the bold strokes carry more ink onto the paper
