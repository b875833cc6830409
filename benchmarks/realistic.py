"""Realistic digit pictures, generated deterministically, to evaluate ``mnistlib predict``.

Two evaluation sets (issue 5), never used for training:

* ``photos``: MNIST **test** digits rendered as photographed / scanned pictures: dark ink
  on lit, tinted, noisy paper with lighting gradients, off-centre, small and large in a
  bigger canvas, JPEG-compressed; transparent PNGs (ink in the alpha channel); light
  chalk on a dark board; flat grayscale scans.
* ``lowres``: scikit-learn's bundled ``load_digits`` (8x8 digits by 43 other writers,
  available offline) rendered as small low-resolution scans (upsampled, dark on light
  paper, noise).

``python benchmarks/realistic.py --samples notebooks/images`` writes the handful of sample
pictures notebook 09 uses. Everything depends only on the seed.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 2024
KINDS = ("photo_jpeg", "scan_png", "transparent_png", "chalk_jpeg", "small_offcentre", "large_tinted")


@dataclass
class Sample:
    name: str  # file name (kind + index + label), with the right suffix
    data: bytes  # the encoded file
    label: int
    kind: str


def _encode(image: Image.Image, fmt: str, rng) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=int(rng.integers(45, 92)))
    else:
        image.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _digit_alpha(digit: np.ndarray, height: int, rng) -> np.ndarray:
    """The 28x28 digit upsampled (bicubic) to ``height`` px, as ink coverage in [0, 1]."""
    im = Image.fromarray(digit, "L").resize((height, height), Image.BICUBIC)
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * height / 56))
    return np.clip(np.asarray(im, dtype=np.float32) / 255.0, 0, 1)


def _lighting(h: int, w: int, rng, strength: float) -> np.ndarray:
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


def _place(canvas_hw, size, rng, margin_frac=0.05):
    h, w = canvas_hw
    m = int(margin_frac * min(h, w))
    top = int(rng.integers(m, max(m + 1, h - size - m + 1)))
    left = int(rng.integers(m, max(m + 1, w - size - m + 1)))
    return min(top, max(0, h - size)), min(left, max(0, w - size))


def ink_on_paper(coverage: np.ndarray, scan: bool, rng) -> np.ndarray:
    """RGB float (H, W, 3): dark ink of ``coverage`` (0..1) on a flat gray scan (``scan``) or on tinted,
    unevenly lit paper, with noise. Also used by ``number_rows.py``."""
    H, W = coverage.shape
    if scan:
        paper = np.full(3, rng.uniform(215, 250), np.float32)
        strength = rng.uniform(0.0, 0.15)
    else:
        paper = np.array([rng.uniform(190, 250), rng.uniform(180, 245), rng.uniform(150, 235)], np.float32)
        strength = rng.uniform(0.15, 0.5)
    ink = np.array(rng.choice([[20, 20, 25], [25, 35, 110], [60, 60, 60], [15, 30, 70]]), np.float32)
    light = _lighting(H, W, rng, strength)[..., None]
    cov = coverage[..., None]
    rgb = (paper[None, None] * (1 - cov) + ink[None, None] * cov) * light
    rgb += rng.normal(0, rng.uniform(1, 9), size=rgb.shape)
    return rgb


def render_photo(digit: np.ndarray, kind: str, rng) -> tuple[bytes, str]:
    """One MNIST-style digit (uint8 28x28, light on black) rendered as ``kind``; returns (bytes, suffix)."""
    if kind == "transparent_png":
        size = int(rng.integers(64, 300))
        a = _digit_alpha(digit, size, rng)
        H, W = size + int(rng.integers(0, size)), size + int(rng.integers(0, size))
        alpha = np.zeros((H, W), np.float32)
        t, l = _place((H, W), size, rng, 0.0)
        alpha[t:t + size, l:l + size] = a
        colour = rng.integers(0, 90, size=3)
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        return _encode(Image.fromarray(rgba, "RGBA"), "PNG", rng), ".png"

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
    a_full = _digit_alpha(digit, size, rng)
    alpha = np.zeros((H, W), np.float32)
    if size > min(H, W):  # large: the 28-px frame's empty margin is cropped by the canvas
        off = (size - min(H, W)) // 2
        a_full = a_full[off: off + H, off: off + W]
        t = (H - a_full.shape[0]) // 2
        l = (W - a_full.shape[1]) // 2
        alpha[t:t + a_full.shape[0], l:l + a_full.shape[1]] = a_full
    else:
        t, l = _place((H, W), size, rng)
        alpha[t:t + size, l:l + size] = a_full
    coverage = alpha * rng.uniform(0.65, 0.95)

    if kind == "chalk_jpeg":
        board = np.array([rng.uniform(20, 60), rng.uniform(40, 80), rng.uniform(30, 60)], np.float32)
        ink = np.array([235, 235, 225], np.float32) * rng.uniform(0.8, 1.0)
        light = _lighting(H, W, rng, rng.uniform(0.0, 0.4))[..., None]
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
    return _encode(img, fmt, rng), ".png" if fmt == "PNG" else ".jpg"


def render_lowres(digit8: np.ndarray, rng) -> tuple[bytes, str]:
    """One scikit-learn 8x8 digit (0..16, light on dark) as a small scan: upsampled, dark on paper, noise."""
    px = int(rng.integers(3, 7))  # 8x8 -> 24..48 px of digit
    im = Image.fromarray((digit8 / 16.0 * 255).astype(np.uint8), "L")
    up = np.asarray(im.resize((8 * px, 8 * px), Image.BICUBIC), dtype=np.float32) / 255.0
    pad = int(rng.integers(px, 4 * px))
    cov = np.pad(np.clip(up, 0, 1), pad) * rng.uniform(0.7, 0.95)
    paper = rng.uniform(200, 250)
    ink = rng.uniform(10, 60)
    light = _lighting(*cov.shape, rng, rng.uniform(0.0, 0.25))
    gray = (paper * (1 - cov) + ink * cov) * light + rng.normal(0, rng.uniform(1, 8), size=cov.shape)
    img = Image.fromarray(np.clip(gray + 0.5, 0, 255).astype(np.uint8), "L")
    fmt = "JPEG" if rng.random() < 0.5 else "PNG"
    return _encode(img, fmt, rng), ".jpg" if fmt == "JPEG" else ".png"


def photo_set(x_test: np.ndarray, y_test: np.ndarray, n: int = 1200, seed: int = SEED) -> list[Sample]:
    """``n`` MNIST test digits (a seeded sample), cycling through :data:`KINDS`."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x_test), size=n, replace=False)
    out = []
    for i, j in enumerate(idx):
        kind = KINDS[i % len(KINDS)]
        data, suffix = render_photo(x_test[j], kind, rng)
        out.append(Sample(f"{kind}_{i:04d}_test{j}_label{int(y_test[j])}{suffix}", data, int(y_test[j]), kind))
    return out


def lowres_set(n: int | None = None, seed: int = SEED) -> list[Sample]:
    """scikit-learn's 1,797 8x8 digits (or a seeded sample of ``n``) as small scans."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed + 1)
    idx = np.arange(len(digits.target)) if n is None else rng.choice(len(digits.target), n, replace=False)
    out = []
    for i, j in enumerate(idx):
        data, suffix = render_lowres(digits.images[j], rng)
        out.append(Sample(f"lowres_{i:04d}_label{int(digits.target[j])}{suffix}", data, int(digits.target[j]), "lowres"))
    return out


def write_samples(folder: Path, seed: int = SEED) -> list[Path]:
    """The sample pictures of notebook 09 (from MNIST test digits), each well under 100 kB."""
    from mnistlib.data import load_mnist

    d = load_mnist()
    rng = np.random.default_rng(seed + 7)
    folder.mkdir(parents=True, exist_ok=True)
    first = {int(k): int(np.flatnonzero(d.y_test == k)[0]) for k in range(10)}
    plan = [("photo_jpeg", 3, "photo_3.jpg"), ("transparent_png", 2, "transparent_2.png"),
            ("chalk_jpeg", 7, "chalk_7.jpg"), ("small_offcentre", 6, "small_offcentre_6.jpg"),
            ("large_tinted", 0, "large_tinted_0.jpg"), ("scan_png", 9, "scan_9.png")]
    written = []
    for kind, label, name in plan:
        data, _ = render_photo(d.x_test[first[label]], kind, rng)
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    # broken strokes: a 4, 5 and 7 whose pen lifted (a gap cut through each stroke)
    for label in (4, 5, 7):
        j = next(int(i) for i in np.flatnonzero(d.y_test == label) if _has_gap_cut(d.x_test[i]) is not None)
        data, _ = render_photo(_has_gap_cut(d.x_test[j]), "photo_jpeg", rng)
        path = folder / f"broken_{label}.jpg"
        path.write_bytes(data)
        written.append(path)
    return written


def _has_gap_cut(digit: np.ndarray) -> np.ndarray | None:
    """The digit with a 2-px gap across its widest-ink row band, if that splits it into pieces."""
    from scipy import ndimage

    rows = np.flatnonzero((digit > 64).any(axis=1))
    for r in range(rows[0] + 4, rows[-1] - 3):
        cut = digit.copy()
        cut[r: r + 2] = 0
        n = ndimage.label(cut > 64, structure=np.ones((3, 3)))[1]
        if n >= 2:
            return cut
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=Path, help="write notebook 09's sample pictures into this folder")
    p.add_argument("--write", type=Path, help="write the photos set (as files) into this folder")
    p.add_argument("-n", type=int, default=1200)
    args = p.parse_args()
    if args.samples:
        for path in write_samples(args.samples):
            print(f"{path}\t{path.stat().st_size} bytes")
    if args.write:
        from mnistlib.data import load_mnist

        d = load_mnist()
        args.write.mkdir(parents=True, exist_ok=True)
        for s in photo_set(d.x_test, d.y_test, args.n):
            (args.write / s.name).write_bytes(s.data)


if __name__ == "__main__":
    main()
