"""mnistlib.forms: flagged copies of training 1s, and the recipe setting that adds them."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlib.errors import MnistlibError
from mnistlib.forms import add_flag, flagged_ones
from mnistlib.imageprep import fit_and_center
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import get_recipe


def stroke(top: tuple[int, int], bottom: tuple[int, int]) -> np.ndarray:
    """A 1 as one straight stroke, 2 px wide, from ``top`` to ``bottom`` (row, column), fitted like a digit."""
    image = np.zeros((28, 28), np.float32)
    for t in np.linspace(0, 1, 100):
        r, c = np.round(np.add(top, t * np.subtract(bottom, top))).astype(int)
        image[r, c:c + 2] = 1.0
    return fit_and_center(image)


def test_a_flag_goes_down_and_left_from_the_top_of_an_upright_stem():
    one = stroke((4, 13), (23, 13))
    flagged = add_flag(one, np.random.default_rng(0))
    assert flagged.shape == (28, 28) and flagged.max() <= 1.0
    ink = flagged > 0.3
    rows, cols = np.nonzero(ink)
    left_of_stem = ink[:, : cols.max() - 2]  # columns left of the 2-px stem
    r, _ = np.nonzero(left_of_stem)
    assert len(r) > 3, "no flag drawn"
    height = rows.max() - rows.min()
    assert r.max() < rows.min() + 0.5 * height  # the flag stays in the upper half
    assert not ink[rows.max() - 2:, : cols.max() - 2].any()  # the foot has nothing on its left


def test_a_stem_leaning_too_far_gets_no_flag_that_could_make_it_a_7():
    leaning = stroke((4, 20), (23, 6))  # about 35 degrees from the vertical, top to the right
    assert add_flag(leaning, np.random.default_rng(0)) is None


def test_flagged_ones_are_seeded_copies_of_the_ones_only(mnist):
    x, y = prepare_images(mnist.x_train[:3000]), mnist.y_train[:3000]
    ones = int((y == 1).sum())
    copies, labels = flagged_ones(x, y, 0.5, seed=7)
    again, _ = flagged_ones(x, y, 0.5, seed=7)
    other, _ = flagged_ones(x, y, 0.5, seed=8)
    assert copies.shape[1:] == (28, 28, 1) and copies.dtype == np.float32
    assert (labels == 1).all() and 0.35 * ones < len(copies) <= round(0.5 * ones)  # few 1s lean too far
    assert np.array_equal(copies, again) and not np.array_equal(copies, other)
    none, no_labels = flagged_ones(x, y, 0.0, seed=7)
    assert none.shape == (0, 28, 28, 1) and len(no_labels) == 0


@pytest.mark.parametrize("share", [-0.1, 1.5, "half", True])
def test_a_recipe_refuses_a_share_of_flagged_ones_outside_0_to_1(share):
    with pytest.raises(MnistlibError, match="flagged_ones must be a share of the 1s in \\[0, 1\\]"):
        get_recipe("cnn").replace(flagged_ones=share)
