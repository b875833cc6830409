"""benchmarks/bench_styles.py: the other writers' forms of 1, 4 and 7 are drawn as the script says."""

from __future__ import annotations

import io
import sys

import numpy as np
from conftest import ROOT
from PIL import Image

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_styles  # noqa: E402


def test_the_set_is_seeded_and_every_picture_is_a_canvas_with_ink():
    first, again, other = (bench_styles.style_set(3, seed) for seed in (5, 5, 6))
    assert [p for *_, p in first] == [p for *_, p in again]
    assert [p for *_, p in first] != [p for *_, p in other]
    assert [(s, d) for s, d, _ in first] == [(s, d) for s, (d, _) in bench_styles.STYLES.items() for _ in range(3)]
    for style, digit, png in first:
        image = np.asarray(Image.open(io.BytesIO(png)))
        assert image.shape == (bench_styles.SIZE, bench_styles.SIZE)
        paper = np.bincount(image.ravel()).argmax()
        ink = np.mean(image != paper)
        assert paper in (0, 255) and 0.005 < ink < 0.3, (style, ink)


def test_a_flag_runs_up_into_the_top_of_the_stem_from_the_left_and_a_base_sits_at_the_foot():
    rng = np.random.default_rng(0)
    for _ in range(20):
        flag, base = bench_styles.strokes("1 with a flag and a base", rng)
        (fx, fy), (tx, ty), (bx, by) = flag
        assert fx < tx - 0.1 and fy > ty + 0.05  # the flag starts below and left of the stem's top
        assert abs(tx - bx) < 0.1 and by > 0.9  # the stem goes straight down
        assert base[0][0] < 0.4 and base[1][0] > 0.6 and all(y > 0.9 for _, y in base)
    crossed = bench_styles.strokes("7 crossed", rng)
    assert len(crossed) == 2 and all(0.4 < y < 0.6 for _, y in crossed[1])
