"""Turn any picture of one digit into an MNIST-style 28x28 image (notebook 09_predict).

MNIST digits are light ink on black, fitted into a 20x20 box (aspect ratio kept) and
placed in 28x28 so that their centre of mass sits at the centre. A photo is dark ink
on light, unevenly lit, noisy paper, anywhere and at any size; feeding it to a model
after "grayscale, resize to 28x28, /255" is no better than guessing. :func:`to_mnist`
does the steps MNIST's authors did, and keeps every intermediate image so notebook 09
can show them:

1. :func:`load_image`: any image PIL reads (EXIF orientation applied; transparency
   composited on white; palette, CMYK, 16-bit, grayscale modes), refused above
   :data:`MAX_PIXELS`, huge images reduced to at most :data:`WORK_SIZE` px early;
2. polarity: the background is what touches the border; invert when it is light;
3. even out lighting (subtract a robust large-window background estimate) and noise
   (a small Gaussian blur); then take out the lines of ruled or squared paper and margin
   lines (thin, straight, edge to edge: :func:`remove_paper_lines`; ``paper_lines=False``
   skips it);
4. threshold with Otsu (scikit-image); blank images (no ink contrast) stop here;
5. keep every ink component above a size cut-off (broken 4, 5 and 7 strokes survive,
   specks do not);
6. crop to the ink at full resolution;
7. pen width: MNIST strokes are 2 to 3 px wide in the 20-px box; a bold marker, or a small
   low-resolution scan blown up, gives strokes twice that, so strokes wider than
   :data:`MAX_STROKE` are thinned (eroded, skeleton kept) to :data:`STROKE`;
8. fit the longest side to 20 px with area averaging, place in 28x28 with the centre of
   mass at (14, 14) without clipping.

Steps 1 to 4 are :func:`ink_mask` and steps 6 to 8 :func:`crop_to_mnist`, shared with
:func:`mnistlib.reading.read_number` (a row of digits, each prepared like one digit).

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
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label
from skimage.morphology import skeletonize
from skimage.transform import hough_line

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
    ``steps`` maps step names to the intermediate images in order (notebook 09 plots them).
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
    files that are not images, empty, truncated or over :data:`MAX_PIXELS`. Used by notebook 09.
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


def ink_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The rows and columns of the smallest box holding every ``True`` pixel of ``mask`` (``scipy.ndimage.find_objects``),
    or ``None`` when there is none. Crops a digit to its ink here, in :mod:`mnistlib.pens`, :mod:`mnistlib.pictures` and
    :mod:`mnistlib.reading` (notebook 09's pipeline)."""
    boxes = ndimage.find_objects(np.asarray(mask, dtype=np.int8))
    return boxes[0] if boxes else None


def fit_and_center(ink: np.ndarray, box: int = BOX, size: int = SIZE) -> np.ndarray:
    """Crop ``ink`` (light on dark, any size) to its non-zero pixels, fit the longest side to
    ``box`` px keeping the aspect ratio (area averaging when shrinking), and place it in
    ``size x size`` with its centre of mass at the centre, shifted back just enough that no ink
    is clipped. Returns ``float32 (size, size)`` in [0, 1]; all zeros if there is no ink.

    The last step of :func:`to_mnist`; also used to make augmented training digits look like
    prepared photos (the robust model of notebook 07).
    """
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    out = np.zeros((size, size), np.float32)
    found = ink_box(ink > 0)
    if found is None:
        return out
    crop = ink[found]
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
    rows, cols = ink_box(binary)
    return max(rows.stop - rows.start, cols.stop - cols.start)


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


# --------------------------------------------------------------------------- paper lines


#: Paper lines are found (Hough transform) on a copy of the picture at most LINE_FIND px on a side,
#: measured along their length on one at most LINE_WORK px, and removed at full resolution. The
#: copies are reduced by block maximum, so that a line 1 px thin keeps its contrast.
LINE_FIND = 160
LINE_WORK = 320

#: A paper line is at most this fraction of the picture's shorter side thick. A digit's strokes can be
#: as thick, but never reach across the picture.
LINE_WIDTH = 0.06

#: A candidate line needs Hough votes from at least this fraction of its length inside the picture
#: (the digit may hide part of it); it must then be ink along at least :data:`LINE_SUPPORT` of that
#: length, at both ends (it reaches the picture's edges), and be no thicker than :data:`LINE_WIDTH`.
LINE_VOTES = 0.5
LINE_SUPPORT = 0.9

#: Lines shorter than this fraction of the picture's side are not looked at; lines shorter than half
#: of it (the corner of a turned sheet) only when parallel to a long line found.
LINE_MIN_CHORD = 0.15

#: Inside a line's band, ink is lowered by this many times the line's own strength (so a darker digit
#: stroke running along the line keeps the rest), or set to what the band's two sides say when a stroke
#: crosses the line, whichever is more.
LINE_CAP = 1.3

#: Hough angles of the two families, 0.5 degree apart: near-horizontal lines (theta around 90 degrees)
#: and near-vertical ones (theta around 0), each turned by up to 10 degrees. The first number is the
#: image axis across the lines.
_LINE_FAMILIES = ((0, np.deg2rad(np.arange(80.0, 100.0 + 1e-9, 0.5))),
                  (1, np.deg2rad(np.arange(-10.0, 10.0 + 1e-9, 0.5))))
_PAIRS_OF_5 = np.triu_indices(5, 1)


@dataclass
class PaperLine:
    """One straight line of ruled or squared paper (or a margin) found by :func:`find_paper_lines`:
    the points ``x cos(theta) + y sin(theta) = rho`` (px of the image given to it), ``half`` the
    half-width of its band (px), ``level`` its strength on that (even-lighting) image; ``axis`` 0 for
    a near-horizontal line, 1 for a near-vertical one."""

    axis: int
    rho: float
    theta: float
    half: float
    level: float


def _line_track(rho: float, theta: float, axis: int, shape: tuple[int, int],
                margin: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A line as (along, across): every pixel index along it (x for a near-horizontal line, y for a
    near-vertical one) where it is inside the image (or up to ``margin`` px outside), and its position
    across."""
    n_along, n_across = (shape[1], shape[0]) if axis == 0 else shape
    c, s = (math.cos(theta), math.sin(theta)) if axis == 0 else (math.sin(theta), math.cos(theta))
    along = np.arange(n_along)
    across = (rho - along * c) / s
    inside = (across >= -margin) & (across <= n_across - 1 + margin)
    return along[inside], across[inside]


def _run_around(mask: np.ndarray, k: int) -> tuple[int, int]:
    """First and last index of the run of True in the 1-D ``mask`` that holds index ``k``."""
    off = np.flatnonzero(~mask[:k + 1])
    lo = off[-1] + 1 if off.size else 0
    off = np.flatnonzero(~mask[k:])
    hi = k + off[0] - 1 if off.size else mask.size - 1
    return int(lo), int(hi)


def _chords(rhos: np.ndarray, thetas: np.ndarray, axis: int, shape: tuple[int, int]) -> np.ndarray:
    """Length inside the picture (px along the line) of every Hough line (``rhos[:, None]``, ``thetas``)."""
    extent, n_across = (shape[1], shape[0]) if axis == 0 else shape
    c, s = (np.cos(thetas), np.sin(thetas)) if axis == 0 else (np.sin(thetas), np.cos(thetas))
    first = rhos[:, None] / s  # across, at the first and the last pixel along
    last = (rhos[:, None] - (extent - 1) * c) / s
    lo, hi = np.minimum(first, last), np.maximum(first, last)
    part = np.clip(np.minimum(hi, n_across - 1) - np.maximum(lo, 0), 0, None) / np.maximum(hi - lo, 1e-6)
    return np.where(hi - lo < 1e-6, ((lo >= 0) & (lo <= n_across - 1)) * float(extent), part * extent)


def find_paper_lines(flat: np.ndarray) -> list[PaperLine]:
    """The lines of ruled or squared paper and margin lines in ``flat`` (light ink on dark, lighting
    evened out: the ``"even lighting"`` step of :func:`to_mnist`), in its pixels.

    A paper line is thin (at most :data:`LINE_WIDTH` of the picture), straight, near-horizontal or
    near-vertical (within 10 degrees) and runs from edge to edge of the photo; a digit's strokes, a
    1, 4 or 7 too, are shorter than the picture and usually thicker. For each of the two families,
    on a copy at most :data:`LINE_FIND` px: keep what is brighter than both sides a stroke width away
    (thin across the family's direction); Hough transform (:func:`skimage.transform.hough_line`) over
    the family's angles; the sheet's angle (where the votes are most concentrated) and, within a
    degree and a half of it, every local maximum with enough votes for its length. Then each candidate
    is measured along its length on a copy at most :data:`LINE_WORK` px (its position in each fifth
    of it straightens it; the median profile across it gives its thickness and strength; it must be
    ink along 90 % of its length and at both ends). Colour is not needed: grey (pencil-like) lines are
    found the same way as blue or red ones.
    """
    h, w = flat.shape
    if min(h, w) < 48:
        return []
    f = max(1, round(max(h, w) / LINE_WORK))
    small = _block_max(flat, f)  # lines are measured here
    g = max(1, round(max(small.shape) / LINE_FIND))
    tiny = _block_max(small, g)  # ... and found here
    widest = max(2.5, LINE_WIDTH * min(small.shape))
    widest_tiny = max(2.5, LINE_WIDTH * min(tiny.shape))
    near = int(widest_tiny) + 3
    peak = float(tiny.max())
    if peak <= 0:
        return []
    # Otsu's threshold of the ink (from a 256-bin histogram; np.histogram is slow): lines fainter than a
    # fifth of it never become ink
    counts = np.bincount(np.minimum(tiny * (255.0 / peak), 255).astype(np.uint8).ravel(), minlength=256)
    weak = 0.2 * peak * max(float(threshold_otsu(hist=counts)) / 255.0, 0.25)
    found: list[PaperLine] = []
    for axis, thetas in _LINE_FAMILIES:
        extent = tiny.shape[1 - axis]
        # thin across the family's direction: brighter than both sides, a stroke width away
        r = int(widest_tiny) + 2
        side1, side2 = np.roll(tiny, r, axis), np.roll(tiny, -r, axis)
        thin = np.where(tiny > np.maximum(side1, side2), tiny - 0.5 * (side1 + side2), 0.0)
        # the top of every thin streak (a thick line's whole top), and a pixel either side
        top = _running_max(thin, int(widest_tiny / 2), axis)
        ridge = thin > np.maximum(weak, 0.7 * top)
        if np.count_nonzero(ridge) < LINE_VOTES * 0.5 * extent:  # too few for even one long line
            continue
        ridge |= np.roll(ridge, 1, axis) | np.roll(ridge, -1, axis)
        votes, thetas, rhos = hough_line(ridge, thetas)
        if votes.max() < LINE_VOTES * 0.5 * extent:  # not even one long line
            continue
        # the sheet's angle: where the votes are most concentrated; a family's lines are parallel,
        # give or take a photo's perspective
        j0 = int(np.argmax(np.einsum("ij,ij->j", votes, votes, dtype=np.float64)))
        keep = slice(max(0, j0 - 3), j0 + 4)
        votes, thetas = votes[:, keep], thetas[keep]
        chord = _chords(rhos, thetas, axis, tiny.shape)
        ratio = np.where(chord >= LINE_MIN_CHORD * extent, votes / np.maximum(chord, 1.0), 0.0)
        j = ratio.argmax(axis=1)
        best = ratio[np.arange(rhos.size), j]
        local = (best >= LINE_VOTES) & (best >= ndimage.maximum_filter1d(best, 2 * near + 1, mode="constant"))
        local[1:] &= ~(local[:-1] & (best[1:] == best[:-1]))  # equal neighbours: the first
        qs = np.flatnonzero(local)
        long_ = chord[qs, j[qs]] >= 0.5 * extent
        qs = qs[np.lexsort((-votes[qs, j[qs]], ~long_))]  # long lines first, most votes first
        pad = int(widest) + 3 + g + 3  # profiles across a line reach past the picture's edge: paper there
        padded = np.zeros((small.shape[0] + 2 * pad, small.shape[1]) if axis == 0
                          else (small.shape[0], small.shape[1] + 2 * pad), small.dtype)
        padded[(slice(pad, -pad), slice(None)) if axis == 0 else (slice(None), slice(pad, -pad))] = small
        for q in qs:
            # a line a few px thick gets (nearly) all its votes over a small diamond of (rho, theta)
            # cells: the middle of the diamond is the line
            q0 = max(0, q - near)
            ties = np.nonzero(votes[q0: q + near + 1] >= 0.97 * votes[q, j[q]])
            rho, theta = float(rhos[q0 + ties[0]].mean()), float(thetas[ties[1]].mean())
            if chord[q, j[q]] < 0.5 * extent and not any(
                    line.axis == axis and abs(line.theta - theta) < np.deg2rad(0.75) for line in found):
                continue  # a short line only parallel to a long one
            rho = _finer(rho, theta, g)
            line = _measure_line(padded, pad, small.shape, rho, theta, axis, weak, widest, g + 1, found)
            if line is not None:
                found.append(line)
    for line in found:  # back to full resolution
        line.rho = _finer(line.rho, line.theta, f)
        line.half = (line.half + 1) * f
    return found + _complete_lattice(found, 0, flat.shape) + _complete_lattice(found, 1, flat.shape)


def _complete_lattice(found: list[PaperLine], axis: int, shape: tuple[int, int]) -> list[PaperLine]:
    """The lines of the sheet that ``found`` (lines of one family, evenly spaced) implies but misses:
    one hidden along a digit's stroke between two found lines, and those at the picture's edges (only
    partly inside, or cut by a corner of a turned sheet), which cannot be found, only inferred."""
    family = [line for line in found if line.axis == axis]
    if len(family) < 2:
        return []
    thetas = np.array([line.theta for line in family])
    if np.ptp(thetas) > np.deg2rad(1.5):
        return []
    theta = float(np.median(thetas))
    n_along, n_across = (shape[1], shape[0]) if axis == 0 else shape
    c, s = (math.cos(theta), math.sin(theta)) if axis == 0 else (math.sin(theta), math.cos(theta))
    middle = (n_along - 1) / 2
    at = np.sort([(line.rho - middle * c) / s for line in family])  # across, half-way along
    gaps = np.diff(at)
    spacing = float(gaps.min())
    steps = np.rint(gaps / spacing)
    if spacing < 8 or np.any(np.abs(gaps / steps - spacing) > 0.1 * spacing):
        return []  # not a regular ruling (e.g. a margin line and one ruled line)
    spacing = float(gaps.sum() / steps.sum())
    half = max(line.half for line in family)
    level = float(np.median([line.level for line in family]))
    reach = abs(c / s) * n_along / 2 + half  # how far across a line moves along the picture, plus its band
    new = [a + k * spacing for a, m in zip(at[:-1], steps) for k in range(1, int(m))]
    for k in range(1, 1 + math.ceil(reach / spacing) + 1):
        new += [at[0] - k * spacing, at[-1] + k * spacing]
    out = []
    for a in new:
        rho = a * s + middle * c
        if _line_track(rho, theta, axis, shape, margin=half)[0].size:
            out.append(PaperLine(axis, rho, theta, half, level))
    return out


def _running_max(a: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """The maximum of ``a`` (2-D) over ``radius`` elements either side along ``axis``: 2 * radius
    shifted maxima, several times faster than :func:`scipy.ndimage.maximum_filter1d` on these small
    float32 images."""
    out = a.copy()
    n = a.shape[axis]
    for d in range(1, min(radius, n - 1) + 1):
        lo, hi = [slice(None)] * a.ndim, [slice(None)] * a.ndim
        lo[axis], hi[axis] = slice(0, n - d), slice(d, n)
        np.maximum(out[tuple(hi)], a[tuple(lo)], out=out[tuple(hi)])
        np.maximum(out[tuple(lo)], a[tuple(hi)], out=out[tuple(lo)])
    return out


def _block_max(a: np.ndarray, f: int) -> np.ndarray:
    """``a`` reduced f times by the maximum of each f x f block (a line 1 px thin keeps its contrast)."""
    if f == 1:
        return a
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    out = a[0:h:f, 0:w:f].copy()
    for i in range(f):
        for j in range(f):
            np.maximum(out, a[i:h:f, j:w:f], out=out)
    return out


def _finer(rho: float, theta: float, f: int) -> float:
    """A line's rho in the image that :func:`_block_max` reduced f times, in the image itself
    (block k holds pixels k*f .. k*f + f - 1)."""
    return rho * f + (f - 1) / 2 * (math.cos(theta) + math.sin(theta))


def _measure_line(padded: np.ndarray, pad: int, shape: tuple[int, int], rho: float, theta: float, axis: int,
                  weak: float, widest: float, slack: int, found: list[PaperLine]) -> PaperLine | None:
    """The candidate line measured along its length, or ``None`` when it is not a paper line (too
    thick, too faint, not ink along most of its length or at its ends) or is one already ``found``.
    ``padded``: the image, ``pad`` px of paper added either side across the lines; ``slack``: how far
    (px) the candidate may be off, when it was found on a coarser copy."""
    along, across = _line_track(rho, theta, axis, shape)
    if along.size < 2:
        return None
    for line in found:  # the same line again, at a neighbouring angle
        if line.axis == axis:
            c, s = math.cos(line.theta), math.sin(line.theta)
            c, s = (c, s) if axis == 0 else (s, c)
            ends = along[[0, -1]]
            if np.all(np.abs((line.rho - ends * c) / s - across[[0, -1]]) <= line.half + 2):
                return None
    v = int(widest / 2) + 4 + slack  # the profile across: the widest line, paper either side
    offsets = np.arange(pad - v, pad + v + 1)
    step_across, step_along = (padded.shape[1], 1) if axis == 0 else (1, padded.shape[1])
    pixels = padded.reshape(-1)
    samples = pixels[(np.rint(across).astype(np.intp)[:, None] + offsets) * step_across + (along * step_along)[:, None]]
    if slack > 2 and along.size >= 40:
        # found on a coarser copy (slack = its reduction + 1): straighten the track by where the line
        # is in each fifth of it
        n = along.size // 5
        profiles = samples[: 5 * n].reshape(5, n, -1).sum(axis=1)
        shift = np.argmax(profiles[:, v - slack - 1: v + slack + 2], axis=1) - slack - 1
        at = along[n // 2: 5 * n: n][:5].astype(np.float64)
        i, j = _PAIRS_OF_5  # Theil-Sen: the digit may hide the line in a fifth or two
        slope = float(np.median((shift[j] - shift[i]) / (at[j] - at[i])))
        offset = float(np.median(shift - slope * at))
        if np.count_nonzero(np.abs(shift - offset - slope * at) <= 1.5) >= 3:
            # the track across = rho / s - (c / s) along, moved by offset + slope * along
            c, s = math.cos(theta), math.sin(theta)
            c, s = (c, s) if axis == 0 else (s, c)
            a, b = rho / s + offset, slope - c / s
            theta = math.atan2(1.0, -b) if axis == 0 else math.atan(-b)
            rho = a * (math.sin(theta) if axis == 0 else math.cos(theta))
            along, across = _line_track(rho, theta, axis, shape)
            if along.size < 2:
                return None
            samples = pixels[(np.rint(across).astype(np.intp)[:, None] + offsets) * step_across
                             + (along * step_along)[:, None]]
    m = samples.shape[0] // 2
    profile = np.sort(samples, axis=0)[m]  # the median profile across the line
    k = int(np.argmax(profile[v - 2: v + 3])) + v - 2
    base = float(min(np.partition(profile, v)[v], max(profile[0], profile[-1])))
    height = float(profile[k]) - base
    if height <= 0.5 * weak:
        return None
    lo, hi = _run_around(profile > base + height / 2, k)
    if hi - lo + 1 > widest or lo == 0 or hi == 2 * v:
        return None
    strength = samples[:, lo:hi + 1].max(axis=1) - base
    # ink along the line where its middle is inside the picture (a line at the edge is half outside);
    # a third of its typical strength is enough (uneven lighting fades one end)
    present = (strength > height / 3)[(across > -0.5) & (across < shape[axis] - 0.5)]
    end = max(1, present.size // 20)  # and at both ends: it runs from edge to edge
    if (present.size < 2 or np.count_nonzero(present) < LINE_SUPPORT * present.size
            or np.count_nonzero(present[:end]) < end / 2 or np.count_nonzero(present[-end:]) < end / 2):
        return None
    band_lo, band_hi = _run_around(profile > base + 0.15 * height, k)
    p30 = int(0.3 * (strength.size - 1))
    s = math.sin(theta) if axis == 0 else math.cos(theta)
    return PaperLine(axis, rho + (k - v) * s, theta, max(k - band_lo, band_hi - k),
                     float(np.partition(strength, p30)[p30]))


def remove_paper_lines(flat: np.ndarray, lines: list[PaperLine] | None = None) -> tuple[np.ndarray, list[PaperLine]]:
    """``flat`` (see :func:`find_paper_lines`) without the paper lines, and the lines removed.

    Inside each line's band a pixel becomes the larger of: the value the band's two sides give it
    (linear across the band: a stroke crossing the line is mended) and its own value lowered by
    :data:`LINE_CAP` times the line's strength (a darker stroke along the line keeps the rest).
    Without lines, ``flat`` itself is returned (the same array)."""
    if lines is None:
        lines = find_paper_lines(flat)
    if not lines:
        return flat, lines
    out = flat.copy()  # C-contiguous: pixels are addressed by their index in out.ravel()
    pixels = out.reshape(-1)
    for line in lines:
        half = int(math.ceil(line.half)) + 1
        along, across = _line_track(line.rho, line.theta, line.axis, flat.shape, margin=half + 1)
        if along.size == 0:
            continue
        n_across = flat.shape[line.axis]
        idx = np.rint(across).astype(np.intp)[:, None] + np.arange(-half - 1, half + 2)
        inside = (idx >= 0) & (idx < n_across)
        step_across, step_along = (flat.shape[1], 1) if line.axis == 0 else (1, flat.shape[1])
        where = np.clip(idx, 0, n_across - 1) * step_across + (along * step_along)[:, None]
        values = pixels[where]
        values[~inside] = 0.0  # paper beyond the picture's edge
        weight = np.arange(1, idx.shape[1] - 1, dtype=np.float32) / (idx.shape[1] - 1)
        mended = values[:, :1] + weight * (values[:, -1:] - values[:, :1])
        new = np.maximum(mended, values[:, 1:-1] - LINE_CAP * line.level)
        ok = inside[:, 1:-1]
        pixels[where[:, 1:-1][ok]] = new[ok]
    return out, lines


# --------------------------------------------------------------------------- the pipeline


def _border(a: np.ndarray) -> np.ndarray:
    k = max(1, round(0.03 * min(a.shape)))
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])


def _resize_f(a: np.ndarray, shape: tuple[int, int], method) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), "F").resize(
        (shape[1], shape[0]), method), dtype=np.float32)


def _percentile_filter(a: np.ndarray, percentile: float, size: int) -> np.ndarray:
    """``scipy.ndimage.percentile_filter(a, percentile, size=size, mode="reflect")`` for the small
    images of :func:`_background`, twice as fast: every window at once and one ``np.partition``."""
    before = size // 2
    padded = np.pad(a, ((before, size - 1 - before),) * 2, mode="symmetric")  # scipy's "reflect"
    windows = sliding_window_view(padded, (size, size)).reshape(*a.shape, size * size)
    rank = int(size * size * percentile / 100)
    return np.partition(windows, rank, axis=-1)[..., rank]


def _otsu(a: np.ndarray) -> float:
    """``skimage.filters.threshold_otsu(a)`` (256 bins from ``a``'s minimum to its maximum), with the
    histogram counted by ``np.bincount`` (``np.histogram`` is several times slower)."""
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return lo
    index = np.minimum(((a.astype(np.float64) - lo) * (256.0 / (hi - lo))).astype(np.intp), 255)
    edges = np.linspace(lo, hi, 257)
    return float(threshold_otsu(hist=(np.bincount(index.ravel(), minlength=256), (edges[:-1] + edges[1:]) / 2)))


def _background(ink: np.ndarray) -> np.ndarray:
    """A smooth estimate of the background under light ink: a low-percentile filter over a
    window of half the image on a small copy (tolerates ink covering up to 3/4 of a window)."""
    h, w = ink.shape
    s = 32 / max(h, w)
    small_shape = (max(1, round(h * min(1.0, s))), max(1, round(w * min(1.0, s))))
    small = _resize_f(ink, small_shape, Image.BOX) if small_shape != ink.shape else ink
    size = max(3, min(small_shape) // 2)
    bg = _percentile_filter(small, 25, size)
    bg = ndimage.uniform_filter(bg, size=max(1, size // 2), mode="nearest")
    return _resize_f(bg, (h, w), Image.BILINEAR) if small_shape != ink.shape else bg



@dataclass
class InkMask:
    """The front half of :func:`to_mnist` (steps 1 to 4), shared with :func:`mnistlib.reading.read_number`.

    ``flat`` is the picture as light ink on dark with the lighting evened out (``float32``, the
    working size); ``binary`` the thresholded ink (``bool``, same shape), ``None`` when the
    picture is ``blank``; ``threshold`` the cut on ``flat`` (``None`` when blank).
    """

    flat: np.ndarray
    binary: np.ndarray | None
    threshold: float | None
    inverted: bool
    steps: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return self.binary is None


def ink_mask(image, *, keep_steps: bool = True, paper_lines: bool = True) -> InkMask:
    """Steps 1 to 4 of :func:`to_mnist` on anything :func:`load_image` takes: load, polarity,
    even lighting and noise, threshold. A picture without ink contrast is ``blank``.
    ``paper_lines=False`` leaves ruled/squared-paper lines in (:func:`remove_paper_lines`)."""
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

    # 3b. lines of ruled or squared paper, margin lines (recorded only when there were some).
    if paper_lines:
        flat, lines = remove_paper_lines(flat)
        if keep_steps and lines:
            steps["paper lines removed"] = flat

    peak = float(flat.max())
    if peak < MIN_CONTRAST:
        return InkMask(flat, None, None, inverted, steps)

    # 4. threshold.
    t = _otsu(flat)
    t = max(t, 0.25 * peak, 0.5 * MIN_CONTRAST)
    binary = flat > t
    if keep_steps:
        steps["threshold (Otsu)"] = binary.astype(np.float32)
    return InkMask(flat, binary, t, inverted, steps)


def crop_to_mnist(flat: np.ndarray, kept: np.ndarray, threshold: float,
                  steps: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Steps 6 to 8 of :func:`to_mnist`: the digit whose ink is ``kept`` (``bool``, the shape of
    ``flat``) cropped at full resolution (upsampled first when tiny, re-thresholded at
    ``threshold`` inside ``kept``), pen width evened out, fitted and centred. Returns the
    ``float32 (28, 28)`` image; ``steps``, when given, receives the intermediate images.
    Shared with :func:`mnistlib.reading.read_number` (one digit of a row at a time)."""
    rows, cols = ink_box(kept)
    r0, r1 = max(0, rows.start - 2), min(kept.shape[0], rows.stop + 2)
    c0, c1 = max(0, cols.start - 2), min(kept.shape[1], cols.stop + 2)
    crop_flat, crop_kept = flat[r0:r1, c0:c1], kept[r0:r1, c0:c1]
    factor = math.ceil(MIN_CROP / max(crop_flat.shape))
    if factor > 1:
        shape = (crop_flat.shape[0] * factor, crop_flat.shape[1] * factor)
        up = _resize_f(crop_flat, shape, Image.BICUBIC)
        region = _resize_f(ndimage.binary_dilation(crop_kept).astype(np.float32), shape, Image.NEAREST) > 0
        crop = ((up > threshold) & region).astype(np.float32)
    else:
        crop = crop_kept.astype(np.float32)
    if steps is not None:
        steps["crop"] = crop
    thinned = thin_strokes(crop)
    if steps is not None and thinned is not crop:
        steps["thinner strokes"] = thinned
    return fit_and_center(thinned)


def to_mnist(image, *, keep_steps: bool = True, paper_lines: bool = True) -> Prepared:
    """Prepare one digit picture (anything :func:`load_image` takes) the way MNIST was made.

    Returns a :class:`Prepared`: the ``float32 (28, 28)`` image in [0, 1], whether the picture is
    ``blank`` (no ink: not guessed), and the named intermediate images (``keep_steps``). Used by
    :func:`mnistlib.predict.predict_image` and notebook 09. Every input, a PIL image too, goes
    through :func:`load_image` (pixel limit, EXIF orientation, reduction to :data:`WORK_SIZE`).
    Steps 1-4 are :func:`ink_mask`, steps 6-8 :func:`crop_to_mnist`. ``paper_lines=False`` skips
    the removal of ruled/squared-paper lines (:func:`remove_paper_lines`; for comparisons).
    """
    mask = ink_mask(image, keep_steps=keep_steps, paper_lines=paper_lines)
    steps = mask.steps
    blank = Prepared(np.zeros((SIZE, SIZE), np.float32), True, steps, mask.inverted, None)
    if mask.blank:
        return blank
    binary, t = mask.binary, mask.threshold

    # 5. components above a size cut-off.
    labels = label(binary, connectivity=2)
    areas = np.bincount(labels.ravel())[1:]
    if areas.size == 0:
        return blank
    cut = max(COMPONENT_FRACTION * areas.max(), 2e-5 * binary.size, 3)
    kept = np.concatenate([[False], areas >= cut])[labels]
    if not kept.any():
        return blank
    if keep_steps:
        steps["ink components"] = kept.astype(np.float32)

    # 6. crop at full resolution (upsampled first when tiny); 7. pen width; 8. fit, centre.
    final = crop_to_mnist(mask.flat, kept, t, steps if keep_steps else None)
    if final.max() <= 0:
        return blank
    if keep_steps:
        steps["MNIST 28x28"] = final
    return Prepared(final, False, steps, mask.inverted, t)


def naive_mnist(image) -> np.ndarray:
    """The tutorial pipeline, for contrast: grayscale, resize to 28x28, /255 (no inversion,
    no centring). Notebook 09 shows why it fails on photos."""
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
