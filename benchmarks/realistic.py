"""Realistic digit pictures, generated deterministically, to evaluate ``mnistlib predict``.

Two evaluation sets (issue 5), never used for training, and one tuning set:

* ``photos``: MNIST **test** digits rendered as photographed / scanned pictures: dark ink
  on lit, tinted, noisy paper with lighting gradients, off-centre, small and large in a
  bigger canvas, JPEG-compressed; transparent PNGs (ink in the alpha channel); light
  chalk on a dark board; flat grayscale scans.
* ``lowres``: scikit-learn's bundled ``load_digits`` (8x8 digits by 43 other writers,
  available offline) rendered as small low-resolution scans (upsampled, dark on light
  paper, noise).

* ``mnist_lowres``: held-out MNIST **training** digits made into 8x8 digits the way scikit-learn's were,
  rendered like ``lowres``: what ``bench_tta.py --lowres`` chooses on (the ``lowres`` report set is
  scored once per final model).

``python benchmarks/realistic.py --samples notebooks/images`` writes the handful of sample
pictures notebook 09 uses. Everything depends only on the seed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mnistlib.pictures import (PHOTO_KINDS, optdigits_8x8, render_lowres,  # noqa: E402  (the picture makers)
                               render_photo)

SEED = 2024
KINDS = PHOTO_KINDS  # the photo kinds of mnistlib.pictures.render_photo


@dataclass
class Sample:
    name: str  # file name (kind + index + label), with the right suffix
    data: bytes  # the encoded file
    label: int
    kind: str


def mnist_lowres_set(x: np.ndarray, y: np.ndarray, seed: int = SEED, bold: bool = False) -> list[Sample]:
    """MNIST digits (give the held-out **training** images: a tuning set, never the report set) as
    ``lowres`` scans: :func:`optdigits_8x8`, then :func:`render_lowres`. ``bold``: each digit's strokes first
    thickened by a 2x2 maximum (8x8 ink 5.8 on average, against 4.2 without and 4.9 in scikit-learn's digits)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed + 2)
    if bold:
        x = np.stack([ndimage.grey_dilation(image, footprint=np.ones((2, 2), bool)) for image in x])
    kind = "mnist_lowres_bold" if bold else "mnist_lowres"
    return [Sample(f"{kind}_{i:04d}_label{int(label)}{suffix}", data, int(label), kind)
            for i, (image, label) in enumerate(zip(x, y))
            for data, suffix in [render_lowres(optdigits_8x8(image), rng)]]


def mnist_lowres_sets(x: np.ndarray, y: np.ndarray, seed: int = SEED) -> dict[str, list[Sample]]:
    """Both versions of :func:`mnist_lowres_set`, ``{"thin": ..., "bold": ...}``: the ``lowres`` tuning sets of
    ``bench_tta.py --lowres`` and ``bench_detector.py``."""
    return {kind: mnist_lowres_set(x, y, seed, bold=kind == "bold") for kind in ("thin", "bold")}


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
