"""Digits shown as scans, photos and canvas drawings (mnistlib.pictures), prepared back into MNIST form."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlib import pictures
from mnistlib.imageprep import to_mnist


@pytest.mark.parametrize("way", pictures.WAYS + pictures.MORE_WAYS)
def test_every_way_is_seeded_and_prepares_back_to_the_digit(way, mnist):
    digit = mnist.x_test[0]  # a 7
    a = pictures.show(digit, way, np.random.default_rng(4))
    b = pictures.show(digit, way, np.random.default_rng(4))
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.size[0] >= 28 and a.size[1] >= 28
    prepared = to_mnist(a, keep_steps=False)
    assert not prepared.blank
    # the prepared picture is the same digit: closer to the original than to any other test digit's class mean
    means = np.stack([mnist.x_test[mnist.y_test == k].mean(0) / 255 for k in range(10)])
    assert np.argmin(((means - prepared.image) ** 2).sum((1, 2))) == mnist.y_test[0]


def test_photo_kinds_encode_as_files(mnist):
    rng = np.random.default_rng(5)
    for kind in pictures.PHOTO_KINDS:
        data, suffix = pictures.render_photo(mnist.x_test[1], kind, rng)
        assert data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb") and suffix in (".png", ".jpg")


def test_unknown_way_is_one_clear_error(mnist):
    with pytest.raises(ValueError, match="unknown way 'fax'; known: rendered, photo, canvas, drawn, lowres"):
        pictures.show(mnist.x_test[0], "fax", np.random.default_rng(0))


def test_an_mnist_digit_becomes_an_8x8_digit_like_scikit_learns(mnist):
    from sklearn.datasets import load_digits

    ours = np.stack([pictures.optdigits_8x8(image) for image in mnist.x_train[:200]])
    assert ours.shape == (200, 8, 8) and ours.min() == 0 and ours.max() == 16  # ink pixels of a 4x4 block
    for a in (ours, load_digits().images):  # the ink box spans 8 rows (or columns), as in scikit-learn's digits
        spans = [max(np.ptp(np.flatnonzero(d.any(axis=1))), np.ptp(np.flatnonzero(d.any(axis=0)))) + 1 for d in a]
        assert np.median(spans) == 8
    # a scan of it is small: 24 to 48 px of digit with a margin
    scan = pictures.lowres_scan(mnist.x_train[0], np.random.default_rng(1))
    assert 24 + 2 * 3 <= scan.size[0] <= 48 + 2 * 4 * 6 and scan.size[0] == scan.size[1]
