"""mnistlib.imageprep: a PIL image goes through the same loading as a file (limits, EXIF, size reduction)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mnistlib.imageprep import MAX_PIXELS, WORK_SIZE, ImageError, to_mnist


def test_a_gray_pil_image_over_the_pixel_limit_is_refused():
    side = 8000
    huge = Image.new("L", (side, MAX_PIXELS // side + 1), 255)  # mode "L", just over MAX_PIXELS
    with pytest.raises(ImageError, match="too large"):
        to_mnist(huge)


def test_a_gray_pil_image_gets_its_exif_orientation_applied(mnist, tmp_path, paper_photo):
    photo = paper_photo(mnist.x_test[3])  # mode "L"
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn me 90 degrees clockwise", as a phone writes it
    path = tmp_path / "rotated.jpg"
    photo.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    with Image.open(path) as opened:
        assert opened.mode == "L" and opened.getexif().get(0x0112) == 6
        from_pil = to_mnist(opened)
    from_path = to_mnist(path)
    np.testing.assert_array_equal(from_pil.image, from_path.image)
    assert from_pil.steps["grayscale"].shape == (photo.height, photo.width)  # upright again
    upright = to_mnist(photo).image
    assert np.corrcoef(from_pil.image.ravel(), upright.ravel())[0, 1] > 0.9


def test_a_large_gray_pil_image_is_reduced_before_the_heavy_steps(mnist, paper_photo):
    big = paper_photo(mnist.x_test[0]).resize((4000, 3200), Image.BILINEAR)  # mode "L", 12.8 megapixels
    result = to_mnist(big)
    assert max(result.steps["grayscale"].shape) <= WORK_SIZE
    assert not result.blank
    small = to_mnist(paper_photo(mnist.x_test[0])).image
    assert np.corrcoef(result.image.ravel(), small.ravel())[0, 1] > 0.9
