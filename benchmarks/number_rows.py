"""Rows of 2 to 5 handwritten digits, generated deterministically, to evaluate ``mnistlib predict --number``.

Issue 14, item 3 ("whole numbers"). Every row is made of MNIST **test** digits (never training
digits), each cropped to its ink columns, scaled to the picture's size and laid side by side with
varied gaps: about a third of the rows have at least one pair of neighbours touching or
overlapping by 0 to 3 px of the picture (``overlap="mnist"``: 0 to 3 MNIST px, scaled with the
digits, a much harder stress set where strokes cross), the other gaps are 1 to 9 MNIST px;
each digit is jittered up or down by up to 2 MNIST px. The row is rendered as one of :data:`KINDS`:

* ``photo_jpeg``: dark ink on tinted, unevenly lit, noisy paper, sometimes blurred, JPEG, the
  28-px MNIST frame 42 to 320 px high (the photo recipe and sizes of ``realistic.py``, whose
  lighting and encoding functions are imported, not copied);
* ``scan_png``: a flat gray scan, slight lighting, PNG;
* ``canvas_dark`` / ``canvas_light``: a 280x80 web drawing canvas, each digit redrawn with a round
  brush of constant width along its skeleton, white on black or black on white, PNG.

Two disjoint pools of test digits: ``split="tune"`` draws from test images 0..4,999 and is the
only set thresholds were tuned on; ``split="report"`` draws from 5,000..9,999 (with another seed)
and is the one ``bench_numbers.py`` reports. ``python benchmarks/number_rows.py --write DIR`` writes
a set as files named ``<kind>_<index>_<number>.<ext>``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from mnistlib.pictures import encode, ink_on_paper  # noqa: E402  (the photo recipe of the single-digit set)

KINDS = ("photo_jpeg", "scan_png", "canvas_dark", "canvas_light")
LENGTHS = (2, 3, 4, 5)
#: Seeds and test-image pools of the two sets: thresholds are tuned on one, results reported on the other.
SPLITS = {"tune": (1401, slice(0, 5000)), "report": (2914, slice(5000, 10000))}
CANVAS = (80, 280)  # height, width of the web-canvas kind


@dataclass
class Row:
    name: str  # file name: kind, index, number, suffix
    data: bytes  # the encoded file
    number: str  # the digits, left to right
    kind: str
    touching: bool  # at least one pair of neighbours touching or overlapping (gap of 0 px or less)


def _crop_columns(digit: np.ndarray) -> np.ndarray:
    cols = np.flatnonzero(digit.max(axis=0) > 20)
    return digit[:, cols[0]: cols[-1] + 1]


def compose(digits: list[np.ndarray], gaps: list[int], jitter: list[int], scale: float = 1.0,
            pad: int = 3) -> np.ndarray:
    """MNIST digits (uint8 28x28, light on black) side by side at ``scale`` times their size: each
    cropped to its ink columns and resized, ``gaps[i]`` px (of the result) between digit i and i+1
    (negative: overlapping), shifted ``jitter[i]`` px down. The ink is combined with a maximum, so
    overlapping strokes merge. Returns float32 ink coverage in [0, 1]."""
    crops = []
    for d in digits:
        c = _crop_columns(d) / 255.0
        h, w = max(1, round(c.shape[0] * scale)), max(1, round(c.shape[1] * scale))
        crops.append(_resize(c, h, w) if (h, w) != c.shape else c.astype(np.float32))
    lift = max(0, -min(jitter))
    height = max(c.shape[0] for c in crops) + lift + max(0, max(jitter)) + 2 * pad
    width = sum(c.shape[1] for c in crops) + sum(gaps) + 2 * pad
    out = np.zeros((height, width), np.float32)
    x = pad
    for i, c in enumerate(crops):
        y = pad + lift + jitter[i]
        window = out[y: y + c.shape[0], x: x + c.shape[1]]
        np.maximum(window, c, out=window)
        x += c.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return out


def _ink_box(a: np.ndarray, level: float) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero((a > level).any(axis=1)), np.flatnonzero((a > level).any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    im = Image.fromarray(np.ascontiguousarray(a, np.float32), "F").resize((w, h), Image.BICUBIC)
    return np.clip(np.asarray(im, np.float32), 0, 1)


def _brush(ink: np.ndarray, width: float) -> np.ndarray:
    """``ink`` redrawn along its skeleton with a round, antialiased brush of ``width`` px: how a
    digit drawn with a mouse or finger on a canvas looks."""
    skeleton = skeletonize(ink > 0.45)
    dist = ndimage.distance_transform_edt(~skeleton)
    return np.clip(width / 2 + 0.5 - dist, 0, 1).astype(np.float32)


def random_layout(n: int, rng) -> tuple[list[int], list[int | None], list[int]]:
    """Spacing of a row of ``n`` digits: ``gaps`` in MNIST px (1..9, scaled with the digits), and for
    about a third of the rows at least one pair of neighbours ``touch``-ing instead: their gap
    is -3..0 px (0: the ink boxes touch; below: they overlap); ``jitter``: -2..2 MNIST px up or down."""
    gaps = [int(g) for g in rng.integers(1, 10, size=n - 1)]
    touch: list[int | None] = [None] * (n - 1)
    if rng.random() < 0.35:
        for i in rng.choice(n - 1, size=int(rng.integers(1, n)), replace=False):
            touch[i] = int(rng.integers(-3, 1))
    jitter = [int(j) for j in rng.integers(-2, 3, size=n)]
    return gaps, touch, jitter


def render_row(digits: list[np.ndarray], layout, kind: str, rng, overlap: str = "image") -> tuple[bytes, str]:
    """A row of MNIST digits (uint8 28x28, light on black) with ``layout`` (:func:`random_layout`)
    rendered as ``kind``; returns (bytes, suffix). Touching gaps are in pixels of the picture
    (``overlap="image"``) or in MNIST pixels, scaled with the digits (``"mnist"``: 3 px is then 15 %
    of a digit's height, so overlapping strokes cross)."""
    gaps, touch, jitter = layout

    def row(scale: float) -> np.ndarray:
        spaced = [round(g * scale) if t is None else (round(t * scale) if overlap == "mnist" else t)
                  for g, t in zip(gaps, touch)]
        return compose(digits, spaced, [round(j * scale) for j in jitter], scale, pad=max(3, round(3 * scale)))

    if kind in ("canvas_dark", "canvas_light"):
        natural = row(1.0)
        ys, xs = _ink_box(natural, 0.08)
        H, W = CANVAS
        scale = min(rng.uniform(0.55, 0.85) * H / (ys.stop - ys.start), 0.92 * W / (xs.stop - xs.start))
        big = row(scale)
        ys, xs = _ink_box(big, 0.08)
        drawn = _brush(big[ys, xs], width=rng.uniform(4.0, 9.0))
        canvas = np.zeros((H, W), np.float32)
        top = int(rng.integers(2, max(3, H - drawn.shape[0] - 1)))
        left = int(rng.integers(2, max(3, W - drawn.shape[1] - 1)))
        dh, dw = min(drawn.shape[0], H - top), min(drawn.shape[1], W - left)
        canvas[top: top + dh, left: left + dw] = drawn[:dh, :dw]
        gray = canvas if kind == "canvas_dark" else 1.0 - canvas
        return encode(Image.fromarray(np.clip(gray * 255 + 0.5, 0, 255).astype(np.uint8), "L"), "PNG", rng), ".png"

    # photo / scan: the 28-px MNIST frame is 42..320 px high (realistic.py's photo sizes),
    # on a page with margins around the row.
    frame = int(rng.integers(42, 321))
    scale = frame / 28
    cov = row(scale)
    if rng.random() < 0.5:
        cov = ndimage.gaussian_filter(cov, rng.uniform(0.3, 1.2) * scale / 2)
    h, w = cov.shape
    my, mx = int(h * rng.uniform(0.1, 0.8)), int(h * rng.uniform(0.1, 0.8))
    H, W = h + my + int(h * rng.uniform(0.1, 0.8)), w + mx + int(h * rng.uniform(0.1, 0.8))
    coverage = np.zeros((H, W), np.float32)
    coverage[my: my + h, mx: mx + w] = cov * rng.uniform(0.65, 0.95)
    rgb = ink_on_paper(coverage, kind == "scan_png", rng)
    img = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    if kind == "scan_png":
        return encode(img.convert("L"), "PNG", rng), ".png"
    return encode(img, "JPEG", rng), ".jpg"


def number_set(x_test: np.ndarray, y_test: np.ndarray, n: int = 800, split: str = "report",
               overlap: str = "image") -> list[Row]:
    """``n`` rows of MNIST test digits from the ``split`` pool (see :data:`SPLITS`), cycling
    through lengths 2..5 and :data:`KINDS` (every length meets every kind); ``overlap``: see
    :func:`render_row`."""
    seed, pool = SPLITS[split]
    rng = np.random.default_rng(seed)
    idx_pool = np.arange(len(x_test))[pool]
    out = []
    for i in range(n):
        length = LENGTHS[i % len(LENGTHS)]
        kind = KINDS[(i // len(LENGTHS)) % len(KINDS)]
        idx = rng.choice(idx_pool, size=length, replace=False)
        layout = random_layout(length, rng)
        data, suffix = render_row([x_test[j] for j in idx], layout, kind, rng, overlap)
        number = "".join(str(int(y_test[j])) for j in idx)
        touching = any(t is not None for t in layout[1])
        out.append(Row(f"{kind}_{i:04d}_{number}{suffix}", data, number, kind, touching))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", type=Path, required=True, help="write the rows (as files) into this folder")
    p.add_argument("--split", choices=sorted(SPLITS), default="report")
    p.add_argument("-n", type=int, default=800)
    p.add_argument("--overlap", choices=("image", "mnist"), default="image",
                   help="touching gaps in pixels of the picture (default) or in MNIST pixels (harder)")
    args = p.parse_args()
    from mnistlib.data import load_mnist

    d = load_mnist()
    args.write.mkdir(parents=True, exist_ok=True)
    for row in number_set(d.x_test, d.y_test, args.n, args.split, args.overlap):
        (args.write / row.name).write_bytes(row.data)


if __name__ == "__main__":
    main()
