"""Read a whole number: a row of handwritten digits such as "2026" (notebook 09_predict).

A model trained on MNIST sees one digit at a time; :func:`read_number` cuts a row into digits and
asks the model about each of them, in one call:

1. the picture goes through the front half of :func:`mnistlib.imageprep.to_mnist`
   (:func:`~mnistlib.imageprep.ink_mask`: load, polarity, even lighting, Otsu threshold), so it
   takes the same inputs and treats photos, scans and canvases alike;
2. connected components (scikit-image ``label``/``regionprops``); the typical digit height ``H``
   is the median height of the tall ones; specks (shorter than :data:`MIN_PIECE` ``H`` or smaller
   than :data:`SPECK_AREA` ``H²``) are dropped;
3. touching digits: a component wider than :data:`SPLIT_WIDTH` ``H`` may hold several digits. It
   is over-cut: at the minima of its column projection (ink per column) near the places that the
   expected digit count (its width over :data:`DIGIT_WIDTH` ``H``, one less, one more) puts them,
   and every :data:`DENSE_STEP` ``H``; each cut follows the cheapest top-to-bottom path near its
   column (scikit-image ``MCP``: ink is dear), so overlapping digits part along the line that
   crosses the least ink, and it records how many strokes it crosses;
4. the pieces, left to right, are grouped back into digits. A group may be: parts of a cut
   component that are next to each other; separate components overlapping strongly in x (a
   broken stroke: the two strokes of a 4, 5 or 7, :data:`MERGE_OVERLAP`); a piece too low to be a
   digit with its close neighbour (a 5's flag, :data:`SHORT_GAP`); never wider than
   :data:`MAX_WIDTH` ``H``. Every candidate digit is prepared like a single digit
   (:func:`~mnistlib.imageprep.crop_to_mnist`, the back half of ``to_mnist``), all are classified in
   one model call (:func:`mnistlib.predict.classify`), and dynamic programming picks the grouping
   with the largest total of the digits' log-confidences, minus shape penalties (a digit lower than
   :data:`MIN_HEIGHT` ``H`` or wider than :data:`WIDE` ``H``) and :data:`CUT_PENALTY` per stroke
   crossed by the cuts it keeps;
5. the answer, a :class:`NumberReading`: the digits left to right, their confidences, boxes and
   prepared 28x28 images.

``mnistlib predict --number`` is the command line for it. Thresholds were tuned on rows of MNIST test
digits 0..4,999 (``benchmarks/number_rows.py``, ``split="tune"``) and are reported on rows of test
digits 5,000..9,999 (``benchmarks/bench_numbers.py``).

Importing this module never imports TensorFlow; reading a number loads the model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.graph import MCP
from skimage.measure import label, regionprops
from skimage.morphology import skeletonize

from mnistlib.imageprep import crop_to_mnist, ink_box, ink_mask
from mnistlib.predict import classify

#: The typical digit height ``H`` is this percentile of the heights of the components at least half
#: as tall as the tallest (a digit broken in two is lower than a whole one).
HEIGHT_PERCENTILE = 50
#: Pieces whose longest side is under this fraction of the digit height ``H`` are specks, as are
#: pieces of fewer than ``SPECK_AREA * H**2`` pixels.
MIN_PIECE = 0.2
SPECK_AREA = 0.01
#: A component wider than ``SPLIT_WIDTH * H`` is taken for touching digits and cut.
SPLIT_WIDTH = 0.6
#: Cuts are tried every ``DENSE_STEP * H`` besides the projection minima; positions closer than
#: ``CUT_SPACING * H`` are one. A cut path pays ``INK_COST`` per ink pixel it crosses (paper: 1) and
#: ``DRIFT_COST`` times its squared distance from its column (in quarters of ``H``); every stroke a
#: kept cut crosses costs ``CUT_PENALTY`` (in log-confidence).
CUT_SPACING = 0.06
DENSE_STEP = 0.12
INK_COST = 8.0
DRIFT_COST = 2.0
CUT_PENALTY = 0.25
#: The typical width of one digit, as a fraction of its height (for the expected count of a wide component).
DIGIT_WIDTH = 0.6
#: Two separate components may be one digit (a broken stroke) when their x-ranges overlap by at
#: least this fraction of the narrower one's width.
MERGE_OVERLAP = 0.3
#: A piece lower than ``MIN_HEIGHT * H`` (a 5's flag, a 7's bar) may join a neighbour less than
#: ``SHORT_GAP * H`` away even without overlapping it.
SHORT_GAP = 0.1
#: At most this many pieces make one digit, and a digit is at most ``MAX_WIDTH * H`` wide.
MAX_GROUP = 16
MAX_WIDTH = 1.3
#: Added to the log-confidence of every digit when groupings compete: above 0 favours more digits.
DIGIT_BONUS = 0.0
#: Shape priors of one digit (MNIST digits are fitted to a 20-px box: 99 % are at least 14 px high, and
#: none is wider than high by more than a stroke): a candidate lower than ``MIN_HEIGHT * H`` loses
#: ``SHORT_PENALTY``; one wider than ``WIDE * H`` loses ``WIDE_PENALTY`` per 0.1 ``H`` beyond.
MIN_HEIGHT = 0.65
SHORT_PENALTY = 4.0
WIDE = 1.05
WIDE_PENALTY = 0.3
#: Margin (px) kept around a digit's box when it is cropped from the picture.
_MARGIN = 3


@dataclass
class NumberReading:
    """What :func:`read_number` read.

    ``text`` is the number (``""`` when the picture is ``blank``), ``digits`` its digits left to
    right with their ``confidences`` (the model's probability of each), ``boxes`` the
    ``(x0, y0, x1, y1)`` of each digit's ink (``x1``/``y1`` exclusive, in the pixels of the picture
    as loaded by :func:`mnistlib.imageprep.load_image`: the original pixels, unless the picture was
    larger than ``WORK_SIZE`` and reduced; ``size`` is its ``(width, height)``), and ``prepared`` the
    ``float32 (28, 28)`` images the model saw.
    """

    text: str
    digits: list[int]
    confidences: list[float]
    boxes: list[tuple[int, int, int, int]]
    prepared: list[np.ndarray] = field(repr=False)
    blank: bool = False
    source: str = ""
    size: tuple[int, int] = (0, 0)

    @property
    def confidence(self) -> float | None:
        """The lowest digit confidence (how sure the model is of the whole number); ``None`` when blank."""
        return min(self.confidences) if self.confidences else None

    def as_dict(self) -> dict:
        """A JSON-ready dict: ``path``, ``number``, ``blank``, ``confidence`` (the lowest) and
        ``digits``, a list of ``{"digit", "confidence", "box"}`` left to right."""
        return {
            "path": self.source,
            "number": self.text,
            "blank": self.blank,
            "confidence": None if self.confidence is None else round(float(self.confidence), 6),
            "digits": [{"digit": int(d), "confidence": round(float(c), 6), "box": [int(v) for v in b]}
                       for d, c, b in zip(self.digits, self.confidences, self.boxes)],
        }


@dataclass
class _Piece:
    """Ink of one component, or of one part of a cut component: a box and its mask."""

    y0: int
    x0: int
    y1: int
    x1: int
    mask: np.ndarray  # bool (y1 - y0, x1 - x0)
    component: int
    part: int = 0  # which part of its component, left to right, when the component was cut
    cut_cost: float = 0.0  # strokes crossed by the cut on its left (0 for a whole component)

    @property
    def centre(self) -> float:
        """The mean x of the ink (orders the parts of a cut component like the cuts, even when one
        reaches far over its neighbour, e.g. the flag of a 5)."""
        return self.x0 + float(np.mean(np.nonzero(self.mask)[1]))


def _name(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    return getattr(src, "filename", "") or type(src).__name__


def _trimmed(mask: np.ndarray, y0: int, x0: int, component: int, part: int = 0,
             cut_cost: float = 0.0) -> _Piece | None:
    found = ink_box(mask)
    if found is None:
        return None
    rows, cols = found
    return _Piece(y0 + rows.start, x0 + cols.start, y0 + rows.stop, x0 + cols.stop, mask[found], component, part,
                  cut_cost)


def _cut_positions(mask: np.ndarray, height: float) -> list[int]:
    """Where to try cutting a component wider than ``SPLIT_WIDTH * height``: for each plausible digit
    count ``k`` (its width over ``DIGIT_WIDTH * height``, one less and one more), the column-projection
    minimum near each of the ``k - 1`` evenly spaced places, and every ``DENSE_STEP * height``; close
    positions are merged."""
    w = mask.shape[1]
    if w <= SPLIT_WIDTH * height:
        return []
    projection = ndimage.uniform_filter1d(mask.sum(axis=0).astype(np.float64), size=max(1, round(0.05 * height)))
    edge = max(1, round(0.15 * height))  # no digit is narrower than this
    expected = max(2, round(w / (DIGIT_WIDTH * height)))
    found: list[int] = []
    for k in range(max(2, expected - 1), expected + 2):
        for i in range(1, k):
            ideal = i * w / k
            lo, hi = max(edge, round(ideal - 0.35 * w / k)), min(w - edge, round(ideal + 0.35 * w / k))
            if hi > lo:
                columns = np.arange(lo, hi)
                found.append(int(columns[np.argmin(projection[lo:hi] + 1e-3 * np.abs(columns - ideal))]))
    if DENSE_STEP > 0:
        found.extend(int(c) for c in np.arange(edge, w - edge, DENSE_STEP * height))
    merged: list[int] = []
    for c in sorted(found):
        if not merged or c - merged[-1] > CUT_SPACING * height:
            merged.append(c)
    return merged


def _cut_path(mask: np.ndarray, column: int, height: float) -> tuple[np.ndarray, float]:
    """The cheapest top-to-bottom path through ``mask`` near ``column`` (scikit-image ``MCP``: ink
    costs ``INK_COST`` per pixel, paper 1), so touching or overlapping digits are parted along the
    line that crosses the least ink. Returns, per row, the first column right of the cut, and the
    number of ink pixels the path crosses."""
    h, w = mask.shape
    lo, hi = max(0, column - round(0.25 * height)), min(w, column + round(0.25 * height) + 1)
    drift = (np.arange(lo, hi) - column) / (0.25 * height)  # stay near the chosen column
    cost = np.where(mask[:, lo:hi], INK_COST, 1.0) + DRIFT_COST * drift[np.newaxis, :] ** 2
    mcp = MCP(cost, fully_connected=True)
    ends = [(h - 1, c) for c in range(hi - lo)]
    cumulative, _ = mcp.find_costs([(0, c) for c in range(hi - lo)], ends)
    path = np.array(mcp.traceback(ends[int(np.argmin(cumulative[h - 1]))]))
    first_right = np.full(h, hi - lo, dtype=np.int64)
    np.minimum.at(first_right, path[:, 0], path[:, 1])
    return first_right + lo, float(mask[:, lo:hi][path[:, 0], path[:, 1]].sum())


def _pieces(binary: np.ndarray) -> tuple[list[_Piece], float]:
    """Components above the speck size, wide ones cut along cheap paths near projection minima;
    sorted left to right. Returns the pieces and the typical digit height ``H`` in pixels."""
    labels = label(binary, connectivity=2)
    props = regionprops(labels)
    if not props:
        return [], 0.0
    heights = np.array([p.bbox[2] - p.bbox[0] for p in props], dtype=np.float64)
    height = float(np.percentile(heights[heights >= 0.5 * heights.max()], HEIGHT_PERCENTILE))
    pieces: list[_Piece] = []
    for p in props:
        y0, x0, y1, x1 = p.bbox
        if max(y1 - y0, x1 - x0) < MIN_PIECE * height or p.area < SPECK_AREA * height ** 2:
            continue
        mask = p.image  # the component alone inside its box (a neighbour's ink is excluded)
        columns = np.arange(mask.shape[1])[np.newaxis, :]
        left_edge, cost = np.zeros(mask.shape[0], np.int64), 0.0
        stroke = 0.0
        parts = []
        for c in _cut_positions(mask, height):
            right_edge, crossed = _cut_path(mask, c, height)
            if not stroke:
                skeleton = skeletonize(mask)
                stroke = max(1.0, 2.0 * float(np.median(ndimage.distance_transform_edt(mask)[skeleton])))
            parts.append((mask & (columns >= left_edge[:, None]) & (columns < right_edge[:, None]), cost))
            left_edge, cost = np.maximum(left_edge, right_edge), crossed / stroke
        parts.append((mask & (columns >= left_edge[:, None]), cost))
        kept: list[tuple[np.ndarray, float]] = []
        for part, cut_cost in parts:  # a sliver between two cuts joins its neighbour
            if kept and (part.sum() < SPECK_AREA * height ** 2 or kept[-1][0].sum() < SPECK_AREA * height ** 2):
                kept[-1] = (kept[-1][0] | part, kept[-1][1])
            else:
                kept.append((part, cut_cost))
        for k, (part, cut_cost) in enumerate(kept):
            piece = _trimmed(part, y0, x0, p.label, k, cut_cost)
            if piece is not None:
                pieces.append(piece)
    pieces.sort(key=lambda q: q.centre)
    return pieces, height


def _can_group(pieces: list[_Piece], height: float) -> bool:
    """Whether ``pieces`` may be one digit: not wider than ``MAX_WIDTH * height``; the parts of a cut
    component it holds are consecutive ones; and separate components overlap each other in x by at
    least ``MERGE_OVERLAP`` of the narrower one's width (the strokes of one digit, not neighbours),
    or one of them is too low to be a digit and they are less than ``SHORT_GAP * height`` apart."""
    if len(pieces) == 1:
        return True
    if max(q.x1 for q in pieces) - min(q.x0 for q in pieces) > MAX_WIDTH * height:
        return False
    parts: dict[int, list[_Piece]] = {}
    for q in pieces:
        parts.setdefault(q.component, []).append(q)
    spans = []
    for same in parts.values():
        numbers = sorted(q.part for q in same)
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            return False
        short = max(q.y1 for q in same) - min(q.y0 for q in same) < MIN_HEIGHT * height
        spans.append((min(q.x0 for q in same), max(q.x1 for q in same), short))
    spans.sort()
    for (a0, a1, a_short), (b0, b1, b_short) in zip(spans[:-1], spans[1:]):
        overlap = min(a1, b1) - b0
        if overlap < MERGE_OVERLAP * min(a1 - a0, b1 - b0) and not (
                (a_short or b_short) and overlap > -SHORT_GAP * height):
            return False
    return True


def _group_mask(pieces: list[_Piece], shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The union of ``pieces`` as a mask over its box grown by ``_MARGIN`` px (clipped to ``shape``)."""
    y0, x0 = max(0, min(q.y0 for q in pieces) - _MARGIN), max(0, min(q.x0 for q in pieces) - _MARGIN)
    y1 = min(shape[0], max(q.y1 for q in pieces) + _MARGIN)
    x1 = min(shape[1], max(q.x1 for q in pieces) + _MARGIN)
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for q in pieces:
        mask[q.y0 - y0: q.y1 - y0, q.x0 - x0: q.x1 - x0] |= q.mask
    return (y0, x0, y1, x1), mask


def _shape_penalty(boxes: np.ndarray, height: float) -> np.ndarray:
    """How unlike one digit each candidate box ``(x0, y0, x1, y1)`` is (0: a plausible digit)."""
    w = (boxes[:, 2] - boxes[:, 0]) / height
    h = (boxes[:, 3] - boxes[:, 1]) / height
    return SHORT_PENALTY * (h < MIN_HEIGHT) + WIDE_PENALTY * np.clip(w - WIDE, 0, None) / 0.1


def _candidates(ink, pieces: list[_Piece], height: float):
    """Every group of consecutive pieces that may be one digit, prepared like a single digit:
    ``{(i, j): k}`` (pieces ``i..j-1`` are candidate ``k``), the 28x28 images and the boxes."""
    groups: dict[tuple[int, int], int] = {}
    images, boxes = [], []
    for i in range(len(pieces)):
        for j in range(i + 1, min(len(pieces), i + MAX_GROUP) + 1):
            if not _can_group(pieces[i:j], height):
                continue
            (wy0, wx0, wy1, wx1), mask = _group_mask(pieces[i:j], ink.flat.shape)
            image = crop_to_mnist(ink.flat[wy0:wy1, wx0:wx1], mask, ink.threshold)
            if j - i > 1 and image.max() <= 0:
                continue
            groups[(i, j)] = len(images)
            images.append(image)
            boxes.append((min(q.x0 for q in pieces[i:j]), min(q.y0 for q in pieces[i:j]),
                          max(q.x1 for q in pieces[i:j]), max(q.y1 for q in pieces[i:j])))
    return groups, images, boxes


def _choose(pieces: list[_Piece], groups: dict, probs: np.ndarray, boxes: list, height: float) -> list[int]:
    """The grouping of the pieces into digits (a path through them, by dynamic programming) with the
    largest total of log-confidence + ``DIGIT_BONUS`` - shape penalty per digit, minus
    ``CUT_PENALTY`` per stroke crossed by the cuts it uses. Returns the candidates, left to right."""
    score = np.log(np.clip(probs.max(axis=1), 1e-12, 1.0)) + DIGIT_BONUS - _shape_penalty(np.array(boxes), height)
    n = len(pieces)
    best = np.full(n + 1, -math.inf)
    best[0] = 0.0
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - MAX_GROUP), j):
            g = groups.get((i, j))
            if g is None:
                continue
            total = best[i] + score[g] - CUT_PENALTY * pieces[i].cut_cost  # a digit starting at a cut uses it
            if total > best[j]:
                best[j], back[j] = total, i
    chosen, j = [], n
    while j > 0:
        chosen.append(groups[(back[j], j)])
        j = back[j]
    return chosen[::-1]


def read_number(src, model=None) -> NumberReading:
    """Read the row of handwritten digits in ``src`` (anything :func:`mnistlib.imageprep.load_image`
    takes: path, bytes, PIL image, array) as a number. ``model``: a Keras model, a path, or ``None``
    for the default (as in :func:`mnistlib.predict.get_model`). A picture without ink gives
    ``text == ""`` and ``blank=True``. Raises :class:`mnistlib.errors.MnistlibError` when the
    picture cannot be read. Used by notebook 09 and ``mnistlib predict --number``."""
    source = _name(src)
    ink = ink_mask(src, keep_steps=False)
    size = (int(ink.flat.shape[1]), int(ink.flat.shape[0]))
    blank = NumberReading("", [], [], [], [], True, source, size)
    if ink.blank:
        return blank
    pieces, height = _pieces(ink.binary)
    if not pieces:
        return blank
    groups, images, boxes = _candidates(ink, pieces, height)
    probs = classify(np.stack(images), model)  # every candidate digit in one model call
    chosen = _choose(pieces, groups, probs, boxes, height)
    digits = [int(np.argmax(probs[g])) for g in chosen]
    return NumberReading(
        text="".join(str(d) for d in digits),
        digits=digits,
        confidences=[float(probs[g].max()) for g in chosen],
        boxes=[boxes[g] for g in chosen],
        prepared=[images[g] for g in chosen],
        blank=False,
        source=source,
        size=size,
    )
