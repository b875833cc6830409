"""mnistlib.imageprep: a PIL image goes through the same loading as a file (limits, EXIF, size reduction);
the lines of ruled and squared paper and margin lines are taken out, digits' own strokes are not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mnistlib.imageprep import (MAX_PIXELS, WORK_SIZE, ImageError, find_paper_lines, ink_mask, remove_paper_lines,
                                 to_mnist)
from mnistlib.predict import predict_images


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


# --------------------------------------------------------------------------- paper lines (issue 14)

BLUE, RED, INK = (120, 165, 225), (215, 70, 80), (30, 30, 60)


def notebook_photo(digit, paper="ruled", *, margin=False, scale=6, canvas=(260, 320), at=(40, 120), first=30,
                   spacing=None, seed=0):
    """An MNIST digit written in dark ink on school paper and photographed (RGB): light blue lines 2 px
    thin, ``spacing`` px apart (ruled: horizontal only; squared: a grid), optionally a red margin line
    3 px thin at x = 40; a lighting gradient and noise. Returns the picture, the mask of the lines (where
    no ink covers them) and that of the digit's ink."""
    rng = np.random.default_rng(seed)
    h, w = canvas
    spacing = spacing or (48 if paper == "ruled" else 32)
    yy, xx = np.mgrid[0:h, 0:w]
    lines = np.zeros((h, w), bool)
    if paper != "plain":
        lines |= (yy - first) % spacing < 2
        if paper == "squared":
            lines |= (xx - first) % spacing < 2
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = (242, 240, 232)
    rgb[lines] = BLUE
    if margin:
        rgb[:, 40:43] = RED
        lines[:, 40:43] = True
    ink = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.BICUBIC), np.float32) / 255
    n = ink.shape[0]
    cover = np.zeros((h + 2 * n, w + 2 * n), np.float32)  # the frame may stick out of the picture
    cover[n + at[0]: 2 * n + at[0], n + at[1]: 2 * n + at[1]] = ink
    cover = cover[n: n + h, n: n + w]
    rgb = rgb * (1 - cover[..., None]) + np.array(INK, np.float32) * cover[..., None]
    rgb *= (0.85 + 0.15 * xx / w - 0.08 * yy / h)[..., None]  # a lighting gradient
    rgb += rng.normal(0, 4, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), lines & (cover < 0.05), cover > 0.05


def ink_astray(a, b) -> float:
    """The fraction of the ink of the prepared image ``a`` farther than 2 px from any ink of ``b``."""
    return float(np.mean(~ndimage.binary_dilation(b > 0.5, iterations=2)[a > 0.5]))


@pytest.fixture(scope="module")
def test_digits(mnist):
    """The first six MNIST test digits (7, 2, 1, 0, 4, 1) and their labels."""
    return mnist.x_test[:6], mnist.y_test[:6]


@pytest.mark.parametrize("paper, margin", [("ruled", True), ("squared", False)])
def test_digits_on_notebook_paper_are_read_and_the_lines_are_gone(test_digits, paper, margin):
    images, labels = test_digits
    photos, lines, digits = zip(*(notebook_photo(d, paper, margin=margin, scale=5, at=(20 + 10 * i, 30 + 27 * i),
                                                 seed=i) for i, d in enumerate(images)))
    assert [r.digit for r in predict_images(photos)] == labels.tolist()
    strays_without = []
    for i, (photo, on_lines, digit) in enumerate(zip(photos, lines, digits)):
        prepared, without = to_mnist(photo), to_mnist(photo, paper_lines=False)
        assert "paper lines removed" in prepared.steps and "paper lines removed" not in without.steps
        # the lines are no ink any more: below the threshold wherever they were drawn
        near_digit = ndimage.binary_dilation(digit, iterations=4)
        assert np.mean(prepared.steps["paper lines removed"][on_lines & ~near_digit] > prepared.threshold) < 0.001
        # the ink kept is the digit's: nothing outside it (without the step, bits of lines)
        assert not (prepared.steps["ink components"] > 0)[~near_digit].any()
        strays_without.append(int((without.steps["ink components"] > 0)[~near_digit].sum()))
        # the 28x28 image is the digit on plain paper: no ink more than 2 px from that one's
        plain = to_mnist(notebook_photo(images[i], "plain", scale=5, at=(20 + 10 * i, 30 + 27 * i), seed=i)[0])
        assert ink_astray(prepared.image, plain.image) < 0.03
    assert sum(strays_without) > 1000  # the test can fail: without the step, lines are ink


def test_a_page_of_notebook_paper_without_a_digit_is_blank():
    blank = np.zeros((28, 28), np.uint8)
    for paper, margin in (("ruled", True), ("squared", False)):
        photo, _, _ = notebook_photo(blank, paper, margin=margin)
        assert to_mnist(photo).blank
        assert not to_mnist(photo, paper_lines=False).blank  # the lines alone looked like a digit


@pytest.mark.parametrize("label", [1, 7, 4])
def test_straight_strokes_of_a_1_a_7_and_a_4_are_not_paper_lines(mnist, paper_photo, label):
    """Real MNIST digits upscaled and drawn dark on plain paper, at the usual size and filling the picture:
    no line is found and the prepared image is the same with and without the step."""
    for j in np.flatnonzero(mnist.y_test == label)[:3]:
        digit = mnist.x_test[j]
        filling = notebook_photo(digit, "plain", scale=13, canvas=(260, 300), at=(-52, -32))[0]  # ink ~95 % high
        for photo in (paper_photo(digit), filling):
            flat = ink_mask(photo, paper_lines=False).flat
            assert find_paper_lines(flat) == []
            with_step, without = to_mnist(photo), to_mnist(photo, paper_lines=False)
            assert "paper lines removed" not in with_step.steps
            np.testing.assert_array_equal(with_step.image, without.image)


@pytest.mark.parametrize("label, at", [(7, (8, 60)), (1, (20, 44)), (4, (-30, 90))])
def test_a_digit_stroke_lying_on_a_paper_line_is_kept(mnist, label, at):
    """A 7 whose bar lies along a ruled line, a 1 beside the margin, a 4 whose bar is on a line: the
    prepared digit is the one on plain paper (the line under the stroke is taken out, the stroke is not:
    no ink is lost or added, give or take 2 px)."""
    digit = mnist.x_test[int(np.flatnonzero(mnist.y_test == label)[0])]
    photo, _, _ = notebook_photo(digit, "ruled", margin=True, at=at, first=at[0] + 6 * 8)
    prepared = to_mnist(photo)
    assert "paper lines removed" in prepared.steps
    plain = to_mnist(notebook_photo(digit, "plain", at=at)[0]).image
    assert ink_astray(prepared.image, plain) < 0.03 and ink_astray(plain, prepared.image) < 0.03
    assert predict_images([photo])[0].digit == label


def test_a_plain_paper_photo_is_unchanged_by_the_step(mnist, paper_photo):
    for i in range(5):
        photo = paper_photo(mnist.x_test[i], seed=i)
        flat = ink_mask(photo, paper_lines=False).flat
        cleaned, lines = remove_paper_lines(flat)
        assert lines == [] and cleaned is flat  # nothing found, nothing touched
        prepared = to_mnist(photo)
        assert "paper lines removed" not in prepared.steps
        np.testing.assert_array_equal(prepared.image, to_mnist(photo, paper_lines=False).image)



@pytest.mark.parametrize("shape, size", [((32, 24), 12), ((32, 32), 16), ((9, 32), 4), ((7, 5), 3)])
def test_background_percentile_filter_is_scipys(shape, size):
    from scipy import ndimage

    from mnistlib.imageprep import _percentile_filter

    a = np.random.default_rng(size).random(shape).astype(np.float32)
    np.testing.assert_array_equal(_percentile_filter(a, 25, size),
                                  ndimage.percentile_filter(a, 25, size=size, mode="reflect"))


def test_otsu_threshold_is_scikit_images(mnist):
    from skimage.filters import threshold_otsu

    from mnistlib.imageprep import _otsu

    for i in range(20):
        a = mnist.x_test[i].astype(np.float32) / 255 * np.float32(0.3 + i / 40)
        assert _otsu(a) == pytest.approx(threshold_otsu(a), abs=float(a.max()) / 256)
    assert _otsu(np.full((4, 4), 0.5, np.float32)) == 0.5
