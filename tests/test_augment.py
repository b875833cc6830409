"""mnistlib.augment: the augmentation layers (seeded, training only) and the pen variants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mnistlib.augment import RandomStrokeWidth, augmentation, keras, max_3x3, pen_variants
from mnistlib.imageprep import fit_and_center
from mnistlib.inputs import InputError
from mnistlib.preprocess import prepare_images


def arr(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_augmentation_is_seeded_training_only_and_keeps_the_digit(mnist):
    x = prepare_images(mnist.x_train[:32])
    a1 = arr(augmentation(seed=5)(x, training=True))
    a2 = arr(augmentation(seed=5)(x, training=True))
    assert a1.shape == x.shape and a1.dtype == np.float32
    np.testing.assert_array_equal(a1, a2)  # one seed, one result
    assert not np.allclose(a1, x)
    np.testing.assert_array_equal(arr(augmentation(seed=5)(x, training=False)), x)
    assert a1.min() >= -1e-6 and a1.max() <= 1 + 1e-6
    # Small jitter: the ink stays roughly where it was (the centre of mass moves by a few pixels at most).
    rows = np.arange(28)[None, :, None, None]
    centre = lambda im: (im * rows).sum(axis=(1, 2, 3)) / im.sum(axis=(1, 2, 3))  # noqa: E731
    assert np.abs(centre(a1) - centre(x)).max() < 5


def test_stroke_width_thickens_and_thins(mnist):
    x = prepare_images(mnist.x_train[:16])
    layer = RandomStrokeWidth(factor=1.0, seed=0)
    out = arr(layer(x, training=True))
    ink_in, ink_out = x.sum(axis=(1, 2, 3)), out.sum(axis=(1, 2, 3))
    assert (ink_out > ink_in * 1.05).any() and (ink_out < ink_in * 0.95).any()
    np.testing.assert_array_equal(arr(layer(x, training=False)), x)


def test_max_3x3_is_the_3x3_max_pool_and_the_grey_dilation(mnist):
    x = prepare_images(mnist.x_train[:64])
    x = np.concatenate([x, x - 0.5, -x], axis=-1)  # three channels, negative values too
    fast = arr(max_3x3(x))
    np.testing.assert_array_equal(fast, arr(keras.ops.max_pool(x, pool_size=3, strides=1, padding="same")))
    np.testing.assert_array_equal(fast, ndimage.grey_dilation(x, size=(1, 3, 3, 1), mode="nearest"))
    assert (fast >= x).all() and (fast > x).any()


def test_pen_variants_are_seeded_refitted_digits_with_other_pens(mnist):
    x = mnist.x_train[:60]
    a = pen_variants(x, copies=2, seed=3)
    assert a.shape == (120, 28, 28, 1) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, pen_variants(x, copies=2, seed=3, threads=1))  # seeded, any thread count
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
