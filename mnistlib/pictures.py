"""Digits as the pictures people make of them: scans, photos, 280x280 canvas drawings and pen drawings.

Deterministic given a NumPy ``Generator``. The "is this a digit?" detector trains on training digits
shown all these ways (:func:`mnistlib.rejection.detector_data`, notebook 09_predict); the benchmarks
build their evaluation sets from MNIST **test** digits with the same makers (``benchmarks/realistic.py``,
``bench_reject.py``, ``paper.py``, ``number_rows.py``), so no picture is shared. :func:`show` draws one
digit one of the :data:`WAYS` (or :data:`MORE_WAYS`); :func:`render_photo` one of the :data:`PHOTO_KINDS` as an
encoded file, :func:`render_lowres` an 8x8 digit as a small scan.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from mnistlib.imageprep import ink_box

#: Photo kinds of :func:`render_photo`.
PHOTO_KINDS = ("photo_jpeg", "scan_png", "transparent_png", "chalk_jpeg", "small_offcentre", "large_tinted")
#: The ways :func:`show` draws a digit.
WAYS = ("rendered", "photo", "canvas", "drawn")
#: More ways :func:`show` knows, outside :data:`WAYS` (which the detector's validation and evaluation sets use):
#: ``"lowres"``, a small low-resolution scan of the digit made into an 8x8 digit (:func:`lowres_scan`).
MORE_WAYS = ("lowres",)


def encode(image: Image.Image, fmt: str, rng) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=int(rng.integers(45, 92)))
    else:
        image.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def digit_alpha(digit: np.ndarray, height: int, rng) -> np.ndarray:
    """The 28x28 digit upsampled (bicubic) to ``height`` px, as ink coverage in [0, 1]."""
    im = Image.fromarray(digit, "L").resize((height, height), Image.BICUBIC)
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * height / 56))
    return np.clip(np.asarray(im, dtype=np.float32) / 255.0, 0, 1)


def lighting(h: int, w: int, rng, strength: float) -> np.ndarray:
    """A smooth lighting field in [1 - strength, 1]: a linear gradient plus a soft spot/vignette."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    g = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    g = (g - g.min()) / max(1e-6, np.ptp(g))
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    spot = np.exp(-(((yy - cy) / h) ** 2 + ((xx - cx) / w) ** 2) / rng.uniform(0.1, 0.5))
    field = 0.6 * g + 0.4 * spot
    field = (field - field.min()) / max(1e-6, np.ptp(field))
    return 1.0 - strength * field


def place(canvas_hw, size, rng, margin_frac=0.05):
    h, w = canvas_hw
    m = int(margin_frac * min(h, w))
    top = int(rng.integers(m, max(m + 1, h - size - m + 1)))
    left = int(rng.integers(m, max(m + 1, w - size - m + 1)))
    return min(top, max(0, h - size)), min(left, max(0, w - size))


def ink_on_paper(coverage: np.ndarray, scan: bool, rng) -> np.ndarray:
    """RGB float (H, W, 3): dark ink of ``coverage`` (0..1) on a flat gray scan (``scan``) or on tinted,
    unevenly lit paper, with noise (photos here; whole-number rows in ``benchmarks/number_rows.py``)."""
    H, W = coverage.shape
    if scan:
        paper = np.full(3, rng.uniform(215, 250), np.float32)
        strength = rng.uniform(0.0, 0.15)
    else:
        paper = np.array([rng.uniform(190, 250), rng.uniform(180, 245), rng.uniform(150, 235)], np.float32)
        strength = rng.uniform(0.15, 0.5)
    ink = np.array(rng.choice([[20, 20, 25], [25, 35, 110], [60, 60, 60], [15, 30, 70]]), np.float32)
    light = lighting(H, W, rng, strength)[..., None]
    cov = coverage[..., None]
    rgb = (paper[None, None] * (1 - cov) + ink[None, None] * cov) * light
    rgb += rng.normal(0, rng.uniform(1, 9), size=rgb.shape)
    return rgb


def render_photo(digit: np.ndarray, kind: str, rng) -> tuple[bytes, str]:
    """One MNIST-style digit (uint8 28x28, light on black) rendered as ``kind``; returns (bytes, suffix)."""
    if kind == "transparent_png":
        size = int(rng.integers(64, 300))
        a = digit_alpha(digit, size, rng)
        H, W = size + int(rng.integers(0, size)), size + int(rng.integers(0, size))
        alpha = np.zeros((H, W), np.float32)
        t, l = place((H, W), size, rng, 0.0)
        alpha[t:t + size, l:l + size] = a
        colour = rng.integers(0, 90, size=3)
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        return encode(Image.fromarray(rgba, "RGBA"), "PNG", rng), ".png"

    if kind == "small_offcentre":
        H, W = int(rng.integers(200, 420)), int(rng.integers(200, 420))
        size = int(rng.integers(36, 64))  # the 28-px MNIST frame; the ink is ~70 % of it
    elif kind == "large_tinted":
        H, W = int(rng.integers(160, 360)), int(rng.integers(160, 360))
        size = int(min(H, W) * rng.uniform(0.85, 1.15))
    else:
        H, W = int(rng.integers(120, 400)), int(rng.integers(120, 400))
        size = int(min(H, W) * rng.uniform(0.35, 0.8))
    size = min(size, H, W) if kind != "large_tinted" else size
    a_full = digit_alpha(digit, size, rng)
    alpha = np.zeros((H, W), np.float32)
    if size > min(H, W):  # large: the 28-px frame's empty margin is cropped by the canvas
        off = (size - min(H, W)) // 2
        a_full = a_full[off: off + H, off: off + W]
        t = (H - a_full.shape[0]) // 2
        l = (W - a_full.shape[1]) // 2
        alpha[t:t + a_full.shape[0], l:l + a_full.shape[1]] = a_full
    else:
        t, l = place((H, W), size, rng)
        alpha[t:t + size, l:l + size] = a_full
    coverage = alpha * rng.uniform(0.65, 0.95)

    if kind == "chalk_jpeg":
        board = np.array([rng.uniform(20, 60), rng.uniform(40, 80), rng.uniform(30, 60)], np.float32)
        ink = np.array([235, 235, 225], np.float32) * rng.uniform(0.8, 1.0)
        light = lighting(H, W, rng, rng.uniform(0.0, 0.4))[..., None]
        base = board[None, None] * light
        streak = rng.uniform(0.6, 1.0, size=(H, W)).astype(np.float32)  # chalk is grainy
        cov = (coverage * streak)[..., None]
        rgb = base * (1 - cov) + ink[None, None] * cov
        rgb += rng.normal(0, rng.uniform(2, 8), size=rgb.shape)
        fmt = "JPEG"
    else:
        rgb = ink_on_paper(coverage, kind == "scan_png", rng)
        fmt = "PNG" if kind == "scan_png" else "JPEG"
    img = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    if kind == "scan_png":
        img = img.convert("L")
    return encode(img, fmt, rng), ".png" if fmt == "PNG" else ".jpg"


def rendered(digit: np.ndarray, rng, size: int = 112) -> Image.Image:
    """One MNIST digit (uint8 28x28, light on black) as a picture: dark ink on light paper, random
    pen width (thin to bold), blur and noise; what a scan, a canvas or a photo crop looks like."""
    img = Image.fromarray(255 - digit).resize((size, size), Image.BILINEAR)
    pen = int(rng.integers(-1, 3))
    if pen > 0:
        img = img.filter(ImageFilter.MinFilter(2 * pen + 1))  # bolder dark ink
    elif pen < 0:
        img = img.filter(ImageFilter.MaxFilter(3))  # finer ink
    a = np.asarray(img, dtype=np.float32) / 255.0
    paper, ink = rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.35)
    a = ink + (paper - ink) * a + rng.normal(0, rng.uniform(0, 0.05), a.shape)
    img = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))


def canvas(digit: np.ndarray, rng) -> Image.Image:
    """A 280x280 web-canvas drawing: white thick stroke on black, like a drawing pad exports."""
    img = Image.fromarray(digit).resize((280, 280), Image.BILINEAR)
    img = img.filter(ImageFilter.MaxFilter(int(rng.choice([3, 5, 7]))))
    return img.point(lambda v: 255 if v > 100 else 0)


def drawn(digit: np.ndarray, rng, size: int = 280) -> Image.Image:
    """The digit as drawn on a pad: its skeleton (scikit-image) redrawn with a square pen nib (PIL's
    ``MaxFilter``) from thin to bold, dark on light or light on dark (what :class:`mnistlib.drawpad.DrawPad` and
    drawing apps export)."""
    from skimage.morphology import skeletonize

    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.BILINEAR)) > 100
    pen = int(rng.integers(2, 13))  # pen radius in pixels: 4 to 25 px wide on 280
    ink = Image.fromarray((skeletonize(big) * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(2 * pen + 1))
    dark_on_light = rng.random() < 0.5
    return ink.point(lambda v: 0 if v else 255) if dark_on_light else ink


def photo(digit: np.ndarray, rng) -> Image.Image:
    """:func:`render_photo` of a random :data:`PHOTO_KINDS` kind, decoded."""
    data, _ = render_photo(digit, PHOTO_KINDS[int(rng.integers(len(PHOTO_KINDS)))], rng)
    return Image.open(io.BytesIO(data))


def render_lowres(digit8: np.ndarray, rng) -> tuple[bytes, str]:
    """An 8x8 digit (0..16, light on dark: scikit-learn's, or :func:`optdigits_8x8`'s) as a small scan: blown up
    (bicubic) to 24..48 px, dark ink on paper, uneven light, noise; an encoded JPEG or PNG and its suffix."""
    px = int(rng.integers(3, 7))  # 8x8 -> 24..48 px of digit
    im = Image.fromarray((digit8 / 16.0 * 255).astype(np.uint8), "L")
    up = np.asarray(im.resize((8 * px, 8 * px), Image.BICUBIC), dtype=np.float32) / 255.0
    pad = int(rng.integers(px, 4 * px))
    cov = np.pad(np.clip(up, 0, 1), pad) * rng.uniform(0.7, 0.95)
    paper = rng.uniform(200, 250)
    ink = rng.uniform(10, 60)
    light = lighting(*cov.shape, rng, rng.uniform(0.0, 0.25))
    gray = (paper * (1 - cov) + ink * cov) * light + rng.normal(0, rng.uniform(1, 8), size=cov.shape)
    img = Image.fromarray(np.clip(gray + 0.5, 0, 255).astype(np.uint8), "L")
    fmt = "JPEG" if rng.random() < 0.5 else "PNG"
    return encode(img, fmt, rng), ".jpg" if fmt == "JPEG" else ".png"


def optdigits_8x8(image: np.ndarray) -> np.ndarray:
    """An MNIST digit (uint8 28x28) made the way scikit-learn's 8x8 digits were (UCI optdigits): binarised,
    its ink box scaled to 32 px on the longest side in a 32x32 bitmap, then ink pixels counted in 4x4 blocks
    (0..16)."""
    ink = np.asarray(image) > 127
    crop = ink[ink_box(ink)]
    scale = 32 / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    bitmap = np.zeros((32, 32), bool)
    top, left = (32 - h) // 2, (32 - w) // 2
    scaled = Image.fromarray(crop.astype(np.uint8) * 255).resize((w, h), Image.BILINEAR)
    bitmap[top:top + h, left:left + w] = np.asarray(scaled) > 127
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.float64)


def lowres_scan(digit: np.ndarray, rng) -> Image.Image:
    """The digit as a small low-resolution scan: :func:`optdigits_8x8`, then :func:`render_lowres`, decoded."""
    data, _ = render_lowres(optdigits_8x8(digit), rng)
    return Image.open(io.BytesIO(data))


def show(digit: np.ndarray, way: str, rng) -> Image.Image:
    """One MNIST digit (uint8 28x28, light on black) as a picture, ``way`` one of :data:`WAYS` or :data:`MORE_WAYS`."""
    makers = {"rendered": rendered, "photo": photo, "canvas": canvas, "drawn": drawn, "lowres": lowres_scan}
    if way not in makers:
        raise ValueError(f"unknown way {way!r}; known: {', '.join(WAYS + MORE_WAYS)}")
    return makers[way](digit, rng)


__all__ = ["MORE_WAYS", "PHOTO_KINDS", "WAYS", "canvas", "digit_alpha", "drawn", "encode", "ink_on_paper", "lighting",
           "lowres_scan", "optdigits_8x8", "photo", "place", "render_lowres", "render_photo", "rendered", "show"]
