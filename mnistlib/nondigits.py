"""Programmatic pictures that are not digits, for the "is this a digit?" detector (notebook 09_predict).

:func:`render` draws one picture of a named kind (dark ink on light paper, PIL ``L``): letters and
symbols from the DejaVu fonts on this machine, scribbles, random strokes, hatching, grids,
textures, noise, a single (near-)horizontal line, blobs, geometric shapes and doodles (smileys,
hearts, spirals, suns, houses, waves, clouds). Two disjoint
generators make an honest evaluation possible: :data:`TRAIN_KINDS`/:data:`TRAIN_FONTS` feed
:func:`mnistlib.rejection.train_detector`; :data:`EVAL_KINDS`/:data:`EVAL_FONTS` (other font
families, and kinds never trained on: grids, textures, math symbols) feed ``benchmarks/bench_reject.py``.
Shapes that are digits (a ring is a 0, a vertical bar a 1, "/" a 1) are never drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Font families the detector trains on, and the ones only the evaluation sees.
TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansCondensed.ttf",
               "DejaVuSans-ExtraLight.ttf")
EVAL_FONTS = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf",
              "DejaVuSansMono-Bold.ttf")
MATH_FONT = "DejaVuMathTeXGyre.ttf"
#: Letters whose shapes are not read as a digit by people (O, l, I, S, Z, B, g, q, b, G... left out).
LETTERS = "ACEFHKLMNPRUVWXYacdefhkmnprtuvwxy"
SYMBOLS = "#@&%$?!+*=~^<>{}÷×§¶€£¥"
MATH_SYMBOLS = "∑∫∞≈≠√∂∇∏∀∃∈∩∪⊂⊕⊗αβγδλμπσΩΦΨ"

TRAIN_KINDS = ("letter", "symbol", "scribble", "strokes", "hatching", "noise", "line", "blob", "shape", "doodle")
#: Evaluation kinds (``benchmarks/bench_reject.py``, other seeds and fonts): the nine kinds trained on since
#: 2026-11-22 plus three never trained on. (The doodles added to training on 2026-12-02 are left out, so the
#: evaluation set is the one every earlier figure was measured on.)
EVAL_KINDS = ("letter", "symbol", "scribble", "strokes", "hatching", "noise", "line", "blob", "shape", "grid",
              "texture", "math")
UNSEEN_KINDS = ("grid", "texture", "math")


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _paper(size: int, rng) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    paper = int(rng.integers(200, 256))
    img = Image.new("L", (size, size), paper)
    return img, ImageDraw.Draw(img), int(rng.integers(0, max(1, paper - 120)))


def _text(chars: str, fonts, size: int, rng) -> Image.Image:
    img, draw, ink = _paper(size, rng)
    ch = chars[int(rng.integers(len(chars)))]
    font = _font(fonts[int(rng.integers(len(fonts)))], int(size * rng.uniform(0.45, 0.8)))
    draw.text((size / 2 + rng.uniform(-8, 8), size / 2 + rng.uniform(-8, 8)), ch, fill=ink, font=font, anchor="mm")
    return img.rotate(float(rng.uniform(-15, 15)), fillcolor=int(img.getpixel((0, 0))))


def _pts(rng, n, size, margin=0.15):
    return [tuple(p) for p in rng.uniform(size * margin, size * (1 - margin), size=(n, 2))]


def _scribble(size, rng):
    img, draw, ink = _paper(size, rng)
    n = int(rng.integers(8, 30))
    steps = np.cumsum(rng.normal(0, size * 0.12, size=(n, 2)), axis=0) + size / 2
    pts = [tuple(p) for p in np.clip(steps, size * 0.1, size * 0.9)]
    draw.line(pts, fill=ink, width=int(rng.integers(2, 9)), joint="curve")
    return img


def _strokes(size, rng):
    img, draw, ink = _paper(size, rng)
    for _ in range(int(rng.integers(3, 7))):
        draw.line(_pts(rng, 2, size), fill=ink, width=int(rng.integers(2, 9)))
    return img


def _hatching(size, rng, cross=False):
    img, draw, ink = _paper(size, rng)
    paper = int(img.getpixel((0, 0)))
    gap, width = int(rng.integers(6, 18)), int(rng.integers(1, 5))
    angles = [rng.uniform(0, np.pi)] + ([rng.uniform(0, np.pi)] if cross else [])
    lo, hi = size * rng.uniform(0.05, 0.3), size * rng.uniform(0.7, 0.95)
    for a in angles:
        d = np.array([np.cos(a), np.sin(a)])
        nrm = np.array([-d[1], d[0]])
        for off in np.arange(-size, size, gap):
            c = np.array([size / 2, size / 2]) + nrm * off
            draw.line([tuple(c - d * size), tuple(c + d * size)], fill=ink, width=width)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle([lo, lo, hi, hi], fill=255)
    return Image.composite(img, Image.new("L", (size, size), paper), mask)


def _grid(size, rng):
    img, draw, ink = _paper(size, rng)
    gap, width = int(rng.integers(8, 25)), int(rng.integers(1, 4))
    lo, hi = int(size * rng.uniform(0.05, 0.25)), int(size * rng.uniform(0.75, 0.95))
    for v in range(lo, hi + 1, gap):
        draw.line([(v, lo), (v, hi)], fill=ink, width=width)
        draw.line([(lo, v), (hi, v)], fill=ink, width=width)
    return img


def _noise(size, rng):
    a = rng.uniform(0, 255, size=(size, size))
    if rng.random() < 0.5:
        a = np.where(rng.random((size, size)) < rng.uniform(0.05, 0.5), rng.uniform(0, 100), 240)
    return Image.fromarray(a.astype(np.uint8))


def _texture(size, rng):
    a = rng.normal(size=(size // 4, size // 4))
    img = Image.fromarray(((a - a.min()) / np.ptp(a) * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(1, 4))))
    b = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:  # wood/fabric-like: thresholded bands
        b = np.where(b > np.percentile(b, rng.uniform(40, 70)), 235, 60)
    return Image.fromarray(b.astype(np.uint8))


def _line(size, rng):
    img, draw, ink = _paper(size, rng)
    y, a = size * rng.uniform(0.3, 0.7), np.deg2rad(rng.uniform(-20, 20))
    half = size * rng.uniform(0.2, 0.45)
    dx, dy = half * np.cos(a), half * np.sin(a)
    draw.line([(size / 2 - dx, y - dy), (size / 2 + dx, y + dy)], fill=ink, width=int(rng.integers(2, 14)))
    return img


def _blob(size, rng):
    img, draw, ink = _paper(size, rng)
    for _ in range(int(rng.integers(1, 4))):
        x, y = _pts(rng, 1, size, 0.3)[0]
        rx, ry = size * rng.uniform(0.08, 0.3), size * rng.uniform(0.08, 0.3)
        draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=ink)
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 2))))


def _shape(size, rng):
    img, draw, ink = _paper(size, rng)
    w = int(rng.integers(2, 10))
    c, r = size / 2, size * rng.uniform(0.2, 0.4)
    kind = int(rng.integers(5))
    fill = ink if rng.random() < 0.3 else None
    if kind == 0:  # rectangle / square
        draw.rectangle([c - r, c - r * rng.uniform(0.4, 1), c + r, c + r * rng.uniform(0.4, 1)], outline=ink, width=w,
                       fill=fill)
    elif kind == 1:  # triangle
        draw.polygon([(c, c - r), (c - r, c + r * 0.8), (c + r, c + r * 0.8)], outline=ink, width=w, fill=fill)
    elif kind == 2:  # star
        ang = np.arange(10) * np.pi / 5 + rng.uniform(0, np.pi)
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        corners = [(c + q * np.cos(t), c + q * np.sin(t)) for q, t in zip(rad, ang)]
        draw.polygon(corners, outline=ink, width=w, fill=fill)
    elif kind == 3:  # plus or cross
        a = rng.uniform(0, np.pi / 2)
        for t in (a, a + np.pi / 2):
            dx, dy = r * np.cos(t), r * np.sin(t)
            draw.line([(c - dx, c - dy), (c + dx, c + dy)], fill=ink, width=w)
    else:  # arrow
        draw.line([(c - r, c), (c + r, c)], fill=ink, width=w)
        draw.line([(c + r, c), (c + r * 0.5, c - r * 0.4)], fill=ink, width=w)
        draw.line([(c + r, c), (c + r * 0.5, c + r * 0.4)], fill=ink, width=w)
    return img.rotate(float(rng.uniform(-30, 30)), fillcolor=int(img.getpixel((0, 0))))


def _doodle(size, rng):
    """A hand-drawn doodle: smiley, heart, spiral, sun, house, wave or cloud (wobbly pen lines)."""
    img, draw, ink = _paper(size, rng)
    w, c, r = int(rng.integers(2, 9)), size / 2, size * rng.uniform(0.22, 0.38)
    t = np.linspace(0, 2 * np.pi, 60)
    kind = int(rng.integers(7))

    def curve(x, y, closed=False, wobble=0.012):  # a slow wobble, as a hand draws
        wobble = rng.normal(0, size * wobble, (6, 2))
        u = np.linspace(0, 5, len(x))
        pts = np.c_[x, y] + np.c_[np.interp(u, np.arange(6), wobble[:, 0]), np.interp(u, np.arange(6), wobble[:, 1])]
        pts = [tuple(p) for p in pts] + ([tuple(pts[0])] if closed else [])
        draw.line(pts, fill=ink, width=w, joint="curve")

    if kind == 0:  # smiley: face, eyes, mouth
        curve(c + r * np.cos(t), c + r * np.sin(t), closed=True)
        for ex in (-0.35, 0.35):
            e = r * 0.12
            draw.ellipse([c + ex * r - e, c - 0.3 * r - e, c + ex * r + e, c - 0.3 * r + e], fill=ink)
        m = np.linspace(0.15 * np.pi, 0.85 * np.pi, 20)
        curve(c + 0.55 * r * np.cos(m), c + 0.1 * r + 0.45 * r * np.sin(m))
    elif kind == 1:  # heart
        x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        curve(c + x * r / 17, c + y * r / 17, closed=True)
    elif kind == 2:  # spiral
        s = np.linspace(0, rng.uniform(4, 6) * np.pi, 120)
        curve(c + r * s / s[-1] * np.cos(s), c + r * s / s[-1] * np.sin(s), wobble=0.003)
    elif kind == 3:  # sun: a disc with rays
        draw.ellipse([c - r * 0.45, c - r * 0.45, c + r * 0.45, c + r * 0.45], outline=ink, width=w)
        for a in np.arange(int(rng.integers(6, 12))) * 2 * np.pi / 10:
            draw.line([(c + 0.6 * r * np.cos(a), c + 0.6 * r * np.sin(a)), (c + r * np.cos(a), c + r * np.sin(a))],
                      fill=ink, width=w)
    elif kind == 4:  # house: walls and a roof
        curve(np.array([c - r, c - r, c + r, c + r, c - r]),
              np.array([c - 0.2 * r, c + r, c + r, c - 0.2 * r, c - 0.2 * r]))
        curve(np.array([c - r * 1.1, c, c + r * 1.1]), np.array([c - 0.2 * r, c - r, c - 0.2 * r]))
    elif kind == 5:  # wave across the picture
        x = np.linspace(size * 0.1, size * 0.9, 80)
        curve(x, c + r * 0.4 * np.sin((x - x[0]) / size * rng.uniform(3, 5) * 2 * np.pi))
    else:  # cloud: overlapping arcs
        for k in range(int(rng.integers(3, 5))):
            cx, cy, q = c + rng.uniform(-0.6, 0.6) * r, c + rng.uniform(-0.3, 0.3) * r, r * rng.uniform(0.35, 0.55)
            draw.ellipse([cx - q, cy - q * 0.8, cx + q, cy + q * 0.8], outline=ink, width=w)
    return img


def render(kind: str, rng, fonts=TRAIN_FONTS, size: int = 128) -> Image.Image:
    """One non-digit picture of ``kind`` (a name in :data:`TRAIN_KINDS` or :data:`EVAL_KINDS`), grayscale ``size`` x ``size``."""
    if kind == "letter":
        return _text(LETTERS, fonts, size, rng)
    if kind == "symbol":
        return _text(SYMBOLS, fonts, size, rng)
    if kind == "math":
        return _text(MATH_SYMBOLS, (MATH_FONT,), size, rng)
    makers = {"scribble": _scribble, "strokes": _strokes, "noise": _noise, "texture": _texture, "line": _line,
              "blob": _blob, "shape": _shape, "grid": _grid, "doodle": _doodle,
              "hatching": lambda s, r: _hatching(s, r, cross=r.random() < 0.3)}
    if kind not in makers:
        raise ValueError(f"unknown non-digit kind {kind!r}; known: {', '.join(dict.fromkeys(TRAIN_KINDS + EVAL_KINDS))}")
    return makers[kind](size, rng)


def pictures(n: int, seed: int, kinds=TRAIN_KINDS, fonts=TRAIN_FONTS) -> list[tuple[str, Image.Image]]:
    """``n`` pictures cycling through ``kinds``: a list of (kind, image); same seed, same pictures."""
    rng = np.random.default_rng(seed)
    return [(kinds[i % len(kinds)], render(kinds[i % len(kinds)], rng, fonts)) for i in range(n)]
