"""Turn any picture of one digit into an MNIST-style 28x28 image (notebook 07_predict).

MNIST digits are light ink on black, fitted into a 20x20 box (aspect ratio kept) and
placed in 28x28 so that their centre of mass sits at the centre. A photo is dark ink
on light, unevenly lit, noisy paper, anywhere and at any size; feeding it to a model
after "grayscale, resize to 28x28, /255" is no better than guessing. :func:`to_mnist`
does the steps MNIST's authors did, and keeps every intermediate image so notebook 07
can show them:

1. :func:`load_image`: any image PIL reads (EXIF orientation applied; transparency
   composited on white; palette, CMYK, 16-bit, grayscale modes), refused above
   :data:`MAX_PIXELS`, huge images reduced to at most :data:`WORK_SIZE` px early;
2. polarity: the background is what touches the border; invert when it is light;
3. even out lighting (subtract a robust large-window background estimate) and noise
   (a small Gaussian blur);
4. threshold with Otsu (scikit-image); blank images (no ink contrast) stop here;
5. keep every ink component above a size cut-off (broken 4, 5 and 7 strokes survive,
   specks do not);
6. crop to the ink at full resolution;
7. pen width: MNIST strokes are 2 to 3 px wide in the 20-px box; a bold marker, or a small
   low-resolution scan blown up, gives strokes twice that, so strokes wider than
   :data:`MAX_STROKE` are thinned (eroded, skeleton kept) to :data:`STROKE`;
8. fit the longest side to 20 px with area averaging, place in 28x28 with the centre of
   mass at (14, 14) without clipping.

Pure NumPy / PIL / SciPy / scikit-image: importing this module never imports TensorFlow.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label
from skimage.morphology import remove_small_objects, skeletonize

from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SIZE

#: Largest image accepted, in pixels (40 megapixels, e.g. 8000x5000). Larger files are refused
#: before they are decoded (decompression bombs). PIL's own limit is set to the same value.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

#: Images are reduced so their longest side is at most this many pixels before the heavy steps
#: (bounded memory: at most a few float32 planes of WORK_SIZE**2 pixels).
WORK_SIZE = 1600

#: MNIST geometry: the digit's longest side is fitted to BOX px inside a SIZE x SIZE image
#: (SIZE is the input contract's :data:`mnistlib.inputs.IMAGE_SIZE`).
BOX = 20
SIZE = IMAGE_SIZE

#: Crops smaller than this (longest side, px) are upsampled before thresholding, so the
#: binary shape has smooth edges instead of blocky pixels.
MIN_CROP = 64

#: A component is ink when its area is at least this fraction of the largest one's.
COMPONENT_FRACTION = 0.04

#: Stroke width (px, measured at the 20-px box by :func:`stroke_width`) above which strokes are
#: thinned, and the width they are thinned to. Measured: MNIST test digits, median 2.3 px, 90 %
#: under 3.4 px; photos of them through this pipeline, median 2.9 px; small 8x8 scans blown up
#: (scikit-learn's digits), median 4.4 px.
MAX_STROKE = 3.5
STROKE = 3.0

#: An image whose strongest ink is fainter than this (on a 0..1 scale, after lighting is
#: evened out) is blank.
MIN_CONTRAST = 0.08

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")


class ImageError(MnistlibError):
    """An image that cannot be used: not an image, empty, truncated, too large."""


@dataclass
class Prepared:
    """The result of :func:`to_mnist`.

    ``image`` is the MNIST-style ``float32 (28, 28)`` in [0, 1] (all zeros when ``blank``);
    ``steps`` maps step names to the intermediate images in order (notebook 07 plots them).
    """

    image: np.ndarray
    blank: bool
    steps: dict[str, np.ndarray] = field(default_factory=dict)
    inverted: bool = False
    threshold: float | None = None


# --------------------------------------------------------------------------- loading


def _open(src) -> Image.Image:
    if isinstance(src, Image.Image):
        return src
    if isinstance(src, np.ndarray):
        return _from_array(src)
    name = "image"
    try:
        if isinstance(src, (bytes, bytearray, memoryview)):
            data = bytes(src)
            if not data:
                raise ImageError("empty image data")
            fp = io.BytesIO(data)
        else:
            path = Path(os.fspath(src))
            name = str(path)
            if not path.is_file():
                raise ImageError(f"{name}: no such file")
            if path.stat().st_size == 0:
                raise ImageError(f"{name}: empty file")
            fp = path
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large (over {MAX_PIXELS:,} pixels)") from exc
    except Image.DecompressionBombWarning as exc:
        raise ImageError(f"{name}: too large (over {MAX_PIXELS:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image PIL can read") from exc
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc})") from exc
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or a.size == 0:
        raise ImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        top = 1.0 if a.max(initial=0.0) <= 1.0 else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[a.ndim if a.ndim == 2 else a.shape[-1]]
    return Image.fromarray(a, mode)


def load_image(src) -> Image.Image:
    """Read ``src`` (path, bytes, PIL image or array) as an 8-bit grayscale PIL image.

    EXIF orientation is applied, transparency is composited on white (on black when the
    ink itself is white, e.g. white strokes on a transparent layer), palette, CMYK, 16-bit
    and 1-bit images are converted. Raises :class:`ImageError` (a ``MnistlibError``) for
    files that are not images, empty, truncated or over :data:`MAX_PIXELS`. Used by notebook 07.
    """
    image = _open(src)
    name = getattr(image, "filename", "") or "image"
    w, h = image.size
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: too large ({w}x{h} = {w * h:,} pixels; the limit is {MAX_PIXELS:,})")
    if w == 0 or h == 0:
        raise ImageError(f"{name}: empty image")
    try:
        # Bounded memory: JPEG can decode at 1/2, 1/4, 1/8 scale directly.
        if image.format == "JPEG" and max(w, h) > 2 * WORK_SIZE:
            image.draft("RGB" if image.mode != "L" else "L", (WORK_SIZE, WORK_SIZE))
        image = ImageOps.exif_transpose(image)
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large (over {MAX_PIXELS:,} pixels)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: truncated or corrupt image ({' '.join(str(exc).split())})") from exc
    factor = math.ceil(max(image.size) / WORK_SIZE)
    if factor > 1:
        image = image.reduce(factor) if image.mode not in ("P", "1") else image.convert("RGBA").reduce(factor)
    return _to_gray(image)


def _to_gray(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA")
    elif mode in ("PA", "La"):
        image = image.convert("LA")
    elif mode in ("RGBa",):
        image = image.convert("RGBA")
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        top = 65535.0 if mode.startswith("I;16") or hi > 255 else 255.0
        if mode == "F" and hi <= 1.0 and lo >= 0.0:
            top = 1.0
        return Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        gray = np.asarray(image.convert("L"), dtype=np.float32)
        on_white = gray * alpha + 255.0 * (1.0 - alpha)
        if np.ptp(on_white) < 0.05 * 255 and np.ptp(alpha) > 0.2:  # white ink on a transparent layer
            on_white = gray * alpha
        return Image.fromarray(np.clip(on_white + 0.5, 0, 255).astype(np.uint8), "L")
    if mode == "L":
        return image
    return image.convert("L")  # RGB, CMYK, YCbCr, 1, LAB, HSV


# --------------------------------------------------------------------------- geometry


def fit_and_center(ink: np.ndarray, box: int = BOX, size: int = SIZE) -> np.ndarray:
    """Crop ``ink`` (light on dark, any size) to its non-zero pixels, fit the longest side to
    ``box`` px keeping the aspect ratio (area averaging when shrinking), and place it in
    ``size x size`` with its centre of mass at the centre, shifted back just enough that no ink
    is clipped. Returns ``float32 (size, size)`` in [0, 1]; all zeros if there is no ink.

    The last step of :func:`to_mnist`; also used to make augmented training digits look like
    prepared photos (the robust model of notebook 05).
    """
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    out = np.zeros((size, size), np.float32)
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        return out
    crop = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    method = Image.BOX if scale <= 1 else Image.BILINEAR
    fitted = np.asarray(Image.fromarray(crop, "F").resize((nw, nh), method), dtype=np.float32)
    fitted = np.clip(fitted, 0.0, 1.0)
    if fitted.sum() <= 0:
        return out
    cy, cx = ndimage.center_of_mass(fitted)
    centre = size / 2.0  # MNIST's convention: the centre of mass at pixel (14, 14)
    top = int(np.clip(round(centre - cy), 0, size - nh))  # clamped: no ink is clipped
    left = int(np.clip(round(centre - cx), 0, size - nw))
    out[top: top + nh, left: left + nw] = fitted
    return out


def _ink_extent(binary: np.ndarray) -> int:
    rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def _strokes(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Skeleton, distance to the background, and :func:`stroke_width` of a boolean digit."""
    skeleton = skeletonize(ink)
    dist = ndimage.distance_transform_edt(ink)
    width = float(2.0 * np.median(dist[skeleton]) * BOX / _ink_extent(ink)) if skeleton.any() else 0.0
    return skeleton, dist, width


def stroke_width(binary: np.ndarray) -> float:
    """Typical stroke width of a binary digit in pixels, as if the ink's longest side were 20 px:
    twice the median distance from the skeleton to the background (0.0 without ink)."""
    return _strokes(np.asarray(binary) > 0.5)[2]


def thin_strokes(binary: np.ndarray, width: float = STROKE, max_width: float = MAX_STROKE) -> np.ndarray:
    """``binary`` (0/1, any size) with strokes wider than ``max_width`` eroded to about ``width``
    (px at the 20-px box, see :func:`stroke_width`); the skeleton is kept, so no stroke vanishes.
    Narrower strokes: ``binary`` itself, unchanged. Large images are measured and thinned on a
    copy whose longest side is 8 x 20 px (plenty for a 20-px result, and fast)."""
    image = np.asarray(binary, dtype=np.float32)
    scale = 8 * BOX / max(image.shape)
    if scale < 1:
        image = _resize_f(image, (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))),
                          Image.BOX)
    ink = image > 0.5
    skeleton, dist, current = _strokes(ink)
    if current <= max_width:
        return binary
    radius = (current - width) / 2.0 * _ink_extent(ink) / BOX  # in the image's own pixels
    return ((dist > radius) | skeleton).astype(np.float32)


# --------------------------------------------------------------------------- the pipeline


def _border(a: np.ndarray) -> np.ndarray:
    k = max(1, round(0.03 * min(a.shape)))
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])


def _resize_f(a: np.ndarray, shape: tuple[int, int], method) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), "F").resize(
        (shape[1], shape[0]), method), dtype=np.float32)


def _background(ink: np.ndarray) -> np.ndarray:
    """A smooth estimate of the background under light ink: a low-percentile filter over a
    window of half the image on a small copy (tolerates ink covering up to 3/4 of a window)."""
    h, w = ink.shape
    s = 32 / max(h, w)
    small_shape = (max(1, round(h * min(1.0, s))), max(1, round(w * min(1.0, s))))
    small = _resize_f(ink, small_shape, Image.BOX) if small_shape != ink.shape else ink
    size = max(3, min(small_shape) // 2)
    bg = ndimage.percentile_filter(small, 25, size=size, mode="reflect")
    bg = ndimage.uniform_filter(bg, size=max(1, size // 2), mode="nearest")
    return _resize_f(bg, (h, w), Image.BILINEAR) if small_shape != ink.shape else bg


def to_mnist(image, *, keep_steps: bool = True) -> Prepared:
    """Prepare one digit picture (anything :func:`load_image` takes) the way MNIST was made.

    Returns a :class:`Prepared`: the ``float32 (28, 28)`` image in [0, 1], whether the picture is
    ``blank`` (no ink: not guessed), and the named intermediate images (``keep_steps``). Used by
    :func:`mnistlib.predict.predict_image` and notebook 07. Every input, a PIL image too, goes
    through :func:`load_image` (pixel limit, EXIF orientation, reduction to :data:`WORK_SIZE`).
    """
    pil = load_image(image)
    gray = np.asarray(pil, dtype=np.float32) / 255.0  # 1 = white
    steps: dict[str, np.ndarray] = {}
    if keep_steps:
        steps["grayscale"] = gray

    # 2. polarity: the border is background; make ink light on dark like MNIST.
    smooth = ndimage.gaussian_filter(gray, 1.0)
    back = float(np.median(_border(smooth)))
    inverted = bool(back - smooth.min() > smooth.max() - back)  # dark ink is further from it than light
    ink = 1.0 - gray if inverted else gray.copy()
    if keep_steps:
        steps["light ink on dark"] = ink

    # 3. lighting and noise.
    flat = np.clip(ink - _background(ink), 0.0, None)
    flat = ndimage.gaussian_filter(flat, sigma=1.0 if min(flat.shape) >= 32 else 0.5)
    if keep_steps:
        steps["even lighting"] = flat

    blank = Prepared(np.zeros((SIZE, SIZE), np.float32), True, steps, inverted, None)
    peak = float(flat.max())
    if peak < MIN_CONTRAST:
        return blank

    # 4. threshold.
    t = float(threshold_otsu(flat))
    t = max(t, 0.25 * peak, 0.5 * MIN_CONTRAST)
    binary = flat > t
    if keep_steps:
        steps["threshold (Otsu)"] = binary.astype(np.float32)

    # 5. components above a size cut-off.
    labels = label(binary, connectivity=2)
    areas = np.bincount(labels.ravel())[1:]
    if areas.size == 0:
        return blank
    cut = max(COMPONENT_FRACTION * areas.max(), 2e-5 * binary.size, 3)
    kept = remove_small_objects(binary, max_size=int(math.ceil(cut)) - 1, connectivity=2)
    if not kept.any():
        return blank
    if keep_steps:
        steps["ink components"] = kept.astype(np.float32)

    # 6. crop at full resolution (upsampled first when tiny); 7. pen width; 8. fit, centre.
    rows = np.flatnonzero(kept.any(axis=1))
    cols = np.flatnonzero(kept.any(axis=0))
    r0, r1 = max(0, rows[0] - 2), min(kept.shape[0], rows[-1] + 3)
    c0, c1 = max(0, cols[0] - 2), min(kept.shape[1], cols[-1] + 3)
    crop_flat, crop_kept = flat[r0:r1, c0:c1], kept[r0:r1, c0:c1]
    factor = math.ceil(MIN_CROP / max(crop_flat.shape))
    if factor > 1:
        shape = (crop_flat.shape[0] * factor, crop_flat.shape[1] * factor)
        up = _resize_f(crop_flat, shape, Image.BICUBIC)
        region = _resize_f(ndimage.binary_dilation(crop_kept).astype(np.float32), shape, Image.NEAREST) > 0
        crop = ((up > t) & region).astype(np.float32)
    else:
        crop = crop_kept.astype(np.float32)
    if keep_steps:
        steps["crop"] = crop
    thinned = thin_strokes(crop)
    if keep_steps and thinned is not crop:
        steps["thinner strokes"] = thinned
    final = fit_and_center(thinned)
    if final.max() <= 0:
        return blank
    if keep_steps:
        steps["MNIST 28x28"] = final
    return Prepared(final, False, steps, inverted, t)


def naive_mnist(image) -> np.ndarray:
    """The tutorial pipeline, for contrast: grayscale, resize to 28x28, /255 (no inversion,
    no centring). Notebook 07 shows why it fails on photos."""
    pil = load_image(image)
    return np.asarray(pil.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32) / 255.0


def find_images(paths) -> list[Path]:
    """Expand files and folders (every image inside, sorted) into a list of files."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise MnistlibError(f"{p}: no images in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out
