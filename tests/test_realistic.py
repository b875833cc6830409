"""benchmarks/realistic.py: the lowres tuning set (held-out training digits as 8x8 scans, thin and bold)."""

from __future__ import annotations

import io
import sys

import numpy as np
from conftest import ROOT
from PIL import Image

sys.path.insert(0, str(ROOT / "benchmarks"))
import realistic  # noqa: E402


def test_the_lowres_tuning_set_is_seeded_and_its_bold_strokes_carry_more_ink(mnist):
    x, y = mnist.x_train[:50], mnist.y_train[:50]
    sets = realistic.mnist_lowres_sets(x, y)
    thin, bold = sets["thin"], sets["bold"]
    assert [s.label for s in thin] == list(y) and thin[0].kind == "mnist_lowres" and bold[0].kind == "mnist_lowres_bold"
    assert [s.data for s in thin] == [s.data for s in realistic.mnist_lowres_set(x, y)]
    ink = [np.mean(255 - np.asarray(Image.open(io.BytesIO(s.data)).convert("L"), np.float32)) for s in (thin + bold)]
    assert np.mean(ink[50:]) > np.mean(ink[:50])  # the same scans (same draws), with bolder strokes
