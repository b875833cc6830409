"""Digits on notebook paper, generated deterministically, to evaluate the paper-line step (issue 14).

MNIST **test** digits written with a pen, a pencil or a marker on school paper and photographed:

* ``plain``: plain paper, the control (same pens, lighting, noise and JPEG as the others);
* ``ruled``: light blue lines 6-12 mm apart;
* ``ruled_margin``: the same with a red margin line (sometimes crossing the digit);
* ``squared``: a 5-mm light blue or grey grid;
* ``grey_ruled``: grey (pencil-like) lines on a photo that is sometimes saved in grayscale;
* ``rotated``: ruled or squared paper turned by 2-8 degrees (the digit is not).

The scale is physical: the digit's ink is 5-9 mm tall, lines are 0.1-0.3 mm thin (the margin
0.25-0.5 mm), so lines are thinner than pen strokes and span the picture. Lighting gradients,
noise and JPEG come from :mod:`realistic` (issue 5's photo maker). Everything depends only on
the seed; ``--write FOLDER`` writes the set as files, ``--sheet PNG`` a contact sheet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic import Sample  # noqa: E402

from mnistlib.pictures import digit_alpha, encode, lighting, place  # noqa: E402  (issue 5's photo maker)

#: The seed the paper-line step was tuned with; :mod:`bench_paper` reports on :data:`REPORT_SEED`.
TUNE_SEED = 1414
REPORT_SEED = 2026
KINDS = ("plain", "ruled", "ruled_margin", "squared", "grey_ruled", "rotated")
PENS = ("pen", "pencil", "marker")


def _line_cover(h: int, w: int, angle_deg: float, spacing: float, width: float, phase: float,
                vertical: bool = False) -> np.ndarray:
    """Coverage in [0, 1] of parallel lines ``spacing`` px apart, ``width`` px thick (anti-aliased),
    turned by ``angle_deg``; horizontal lines, or vertical ones when ``vertical``."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.deg2rad(angle_deg)
    across = (yy * np.cos(a) - xx * np.sin(a)) if not vertical else (xx * np.cos(a) + yy * np.sin(a))
    d = np.abs((across - phase + spacing / 2) % spacing - spacing / 2)  # distance to the nearest line
    return np.clip(width / 2 + 0.5 - d, 0.0, 1.0)


def _one_line(h: int, w: int, angle_deg: float, at: float, width: float) -> np.ndarray:
    """Coverage of one vertical line at x = ``at`` turned by ``angle_deg`` (a margin line)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.deg2rad(angle_deg)
    d = np.abs((xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a) - (at - w / 2))
    return np.clip(width / 2 + 0.5 - d, 0.0, 1.0)


def _pen(alpha: np.ndarray, pen: str, px_per_mm: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Ink coverage and RGB colour of ``pen`` for the digit's coverage ``alpha``."""
    if pen == "pencil":  # grey, finer, grainy
        thin = np.clip((alpha - rng.uniform(0.25, 0.45)) / 0.5, 0.0, 1.0)
        grain = rng.uniform(0.55, 1.0, size=alpha.shape).astype(np.float32)
        cov = thin * grain * rng.uniform(0.65, 0.9)
        g = rng.uniform(60, 100)
        return ndimage.gaussian_filter(cov, 0.6), np.array([g, g, g + rng.uniform(0, 10)], np.float32)
    if pen == "marker":  # bold
        grow = max(1, round(rng.uniform(0.25, 0.5) * px_per_mm))
        cov = ndimage.grey_dilation(alpha, size=(grow, grow)) * rng.uniform(0.85, 0.97)
        colour = rng.choice([[20, 20, 25], [20, 30, 120], [15, 60, 30], [40, 40, 45]])
        return cov, np.array(colour, np.float32)
    cov = alpha * rng.uniform(0.7, 0.95)  # ballpoint / fountain pen
    return cov, np.array(rng.choice([[20, 20, 25], [25, 35, 110], [15, 30, 70], [35, 35, 40]]), np.float32)


def render_paper(digit: np.ndarray, kind: str, pen: str, rng) -> tuple[bytes, str]:
    """One MNIST digit (uint8 28x28, light on black) written with ``pen`` on ``kind`` paper and
    photographed; returns (encoded bytes, suffix)."""
    H, W = int(rng.integers(160, 420)), int(rng.integers(160, 420))
    size = int(min(H, W) * rng.uniform(0.4, 0.8))  # the 28-px MNIST frame; the ink is ~20/28 of it
    px_per_mm = 20 / 28 * size / rng.uniform(5.0, 9.0)  # the ink is 5-9 mm tall
    alpha = np.zeros((H, W), np.float32)
    t, l = place((H, W), size, rng)
    alpha[t:t + size, l:l + size] = digit_alpha(digit, size, rng)
    cov, ink = _pen(alpha, pen, px_per_mm, rng)

    paper = np.array([rng.uniform(225, 252), rng.uniform(222, 250), rng.uniform(205, 245)], np.float32)
    rgb = np.broadcast_to(paper, (H, W, 3)).copy()
    angle = rng.uniform(-0.7, 0.7)
    lined = kind
    if kind == "rotated":
        angle = rng.choice([-1, 1]) * rng.uniform(2.0, 8.0)
        lined = rng.choice(["ruled", "squared", "ruled_margin"])
    blue = np.array([rng.uniform(120, 190), rng.uniform(160, 215), rng.uniform(215, 250)], np.float32)
    if lined in ("ruled", "ruled_margin", "grey_ruled", "squared"):
        grey = lined == "grey_ruled" or (lined == "squared" and rng.random() < 0.35)
        colour = np.full(3, rng.uniform(130, 195), np.float32) if grey else blue
        spacing = (rng.uniform(4.5, 5.5) if lined == "squared" else rng.uniform(6.0, 12.0)) * px_per_mm
        width = max(0.8, rng.uniform(0.1, 0.3) * px_per_mm)
        lines = _line_cover(H, W, angle, spacing, width, rng.uniform(0, spacing))
        if lined == "squared":
            lines = np.maximum(lines, _line_cover(H, W, angle, spacing, width, rng.uniform(0, spacing), vertical=True))
        lines = lines * rng.uniform(0.6, 1.0)
        rgb = rgb * (1 - lines[..., None]) + colour * lines[..., None]
    if lined == "ruled_margin":
        red = np.array([rng.uniform(200, 245), rng.uniform(60, 130), rng.uniform(70, 140)], np.float32)
        at = rng.uniform(0.08, 0.92) * W
        margin = _one_line(H, W, angle, at, max(1.0, rng.uniform(0.25, 0.5) * px_per_mm)) * rng.uniform(0.75, 1.0)
        rgb = rgb * (1 - margin[..., None]) + red * margin[..., None]

    rgb = rgb * (1 - cov[..., None]) + ink * cov[..., None]
    rgb = rgb * lighting(H, W, rng, rng.uniform(0.1, 0.45))[..., None]
    rgb += rng.normal(0, rng.uniform(1, 7), size=rgb.shape)
    img = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    if kind == "grey_ruled" and rng.random() < 0.5:
        img = img.convert("L")
    return encode(img, "JPEG", rng), ".jpg"


def paper_set(x_test: np.ndarray, y_test: np.ndarray, n_per_kind: int = 200, seed: int = REPORT_SEED,
              kinds=KINDS) -> list[Sample]:
    """``n_per_kind`` pictures of each kind: the same seeded sample of MNIST test digits on every kind
    (so ``plain`` is the exact control), pens cycling through :data:`PENS`."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x_test), size=n_per_kind, replace=False)
    out = []
    for kind in kinds:
        for i, j in enumerate(idx):
            pen = PENS[i % len(PENS)]
            data, suffix = render_paper(x_test[j], kind, pen, rng)
            out.append(Sample(f"{kind}_{pen}_{i:04d}_test{j}_label{int(y_test[j])}{suffix}", data, int(y_test[j]),
                              kind))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", type=Path, help="write the set (as files) into this folder")
    p.add_argument("--sheet", type=Path, help="write a contact sheet (PNG): a few pictures of every kind")
    p.add_argument("-n", type=int, default=200, help="pictures per kind")
    p.add_argument("--seed", type=int, default=REPORT_SEED)
    args = p.parse_args()
    from mnistlib.data import load_mnist

    d = load_mnist()
    samples = paper_set(d.x_test, d.y_test, args.n if not args.sheet else 6, args.seed)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for s in samples:
            (args.write / s.name).write_bytes(s.data)
    if args.sheet:
        import io

        tiles = [Image.open(io.BytesIO(s.data)).convert("RGB").resize((200, 200)) for s in samples]
        cols = 6
        sheet = Image.new("RGB", (200 * cols, 200 * (len(tiles) // cols)), "white")
        for k, tile in enumerate(tiles):
            sheet.paste(tile, (200 * (k % cols), 200 * (k // cols)))
        sheet.save(args.sheet)


if __name__ == "__main__":
    ROOT = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(ROOT))
    main()
