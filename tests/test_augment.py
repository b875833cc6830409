"""mnistlib.augment: the augmentation layers (seeded, training only)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mnistlib.augment import RandomStrokeWidth, augmentation, keras, max_3x3
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
