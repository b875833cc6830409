"""Draw a digit and see the model's answer live (notebook 09_predict, "Draw a digit yourself").

:class:`DrawPad` is a JupyterLab widget (anywidget; its JavaScript ``static/drawpad.js`` ships in the
package, so it works offline with no build step): a canvas you draw on with mouse, pen or touch, with
undo, clear and a pen-width slider. When a stroke ends the browser sends the strokes (points in canvas
pixels) to Python, which renders them as dark ink on white paper (:func:`render_strokes`), runs
:func:`mnistlib.predict.predict_image` (the MNIST-style pipeline of :mod:`mnistlib.imageprep`, the
light runtime, the answer rule of :mod:`mnistlib.rejection`) and sets the answer traitlets the
browser draws: the 28x28 image the model sees, the ten probability bars and the answer ("7",
"not sure", "not a digit", "draw a digit").

The same code path works without a browser, for tests and nbval::

    pad = DrawPad(initial="7")          # a built-in drawing of a 7 (see SAMPLE_STROKES)
    pad.set_strokes([[(60, 60), (210, 60), (120, 230)]])
    pad.set_image(mnist.x_test[0])      # any picture predict_image takes
    pad.answer, pad.prediction          # "7", the full Prediction
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import time
from pathlib import Path

import anywidget
import numpy as np
import traitlets
from PIL import Image, ImageDraw

from mnistlib.errors import MnistlibError
from mnistlib.imageprep import load_image

#: Canvas size in (CSS) pixels and the default pen width: a digit drawn across most of the canvas
#: then has strokes about as thick, relative to its size, as MNIST's.
CANVAS_SIZE = 280
PEN_WIDTH = 18
MIN_PEN, MAX_PEN = 4, 48
#: Ink and paper grey levels of the rendered drawing (dark ink on white paper, like a scan).
INK, PAPER = 20, 255
#: Most points accepted in one drawing (a long scribble is a few thousand).
MAX_POINTS = 50_000

#: Drawings in canvas pixels (280 x 280) for the default pad and for tests: a 7 (one stroke with a
#: corner, as most people write it) and a 1.
SAMPLE_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "7": [[(72, 62), (140, 60), (206, 60), (184, 112), (160, 166), (138, 220), (130, 240)]],
    "1": [[(148, 44), (144, 110), (140, 176), (136, 240)]],
}


def _arc(cx: float, cy: float, r: float, start: float = 0.0, end: float = 2 * math.pi, n: int = 40):
    """Points of a circle (or an arc from ``start`` to ``end`` radians) in canvas pixels."""
    return [(cx + r * math.cos(start + (end - start) * k / n), cy + r * math.sin(start + (end - start) * k / n))
            for k in range(n + 1)]


#: Drawings that are not digits (tests: the pad says "not a digit" or "not sure" for them).
NON_DIGIT_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "star": [[(140, 40), (140, 240)], [(40, 140), (240, 140)], [(60, 60), (220, 220)], [(220, 60), (60, 220)]],
    "zigzag": [[(40 + 25 * i, 160 if i % 2 else 40) for i in range(9)]],
    "box": [[(60, 60), (220, 60), (220, 220), (60, 220), (60, 60)]],
    "letter A": [[(80, 230), (140, 50), (200, 230)], [(105, 160), (175, 160)]],
    "smiley": [_arc(140, 140, 90), _arc(110, 115, 6), _arc(170, 115, 6), _arc(140, 140, 50, 0.2 * math.pi, 0.8 * math.pi)],
}

ANSWER_TEXT = {"unsure": "not sure", "not a digit": "not a digit"}
BLANK_TEXT = "draw a digit"


def check_strokes(strokes, size: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE)) -> list[list[tuple[float, float]]]:
    """``strokes`` as a list of strokes, each a list of ``(x, y)`` float points; a one-line
    :class:`MnistlibError` when it is anything else (a point must be two finite numbers, and may lie
    a little outside the canvas, as a pen leaving it does)."""
    if isinstance(strokes, (str, bytes)) or not hasattr(strokes, "__iter__"):
        raise MnistlibError(f"strokes must be a list of strokes, each a list of (x, y) points, not {type(strokes).__name__}")
    out, total = [], 0
    w, h = size
    for i, stroke in enumerate(strokes):
        if isinstance(stroke, (str, bytes)) or not hasattr(stroke, "__iter__"):
            raise MnistlibError(f"stroke {i} must be a list of (x, y) points, not {type(stroke).__name__}")
        points = []
        for point in stroke:
            try:
                x, y = (float(v) for v in point)
            except (TypeError, ValueError):
                raise MnistlibError(f"stroke {i}: a point must be two numbers (x, y), not {point!r}") from None
            if not (math.isfinite(x) and math.isfinite(y)) or not (-w <= x <= 2 * w and -h <= y <= 2 * h):
                raise MnistlibError(f"stroke {i}: point {point!r} is not on the {w}x{h} canvas")
            points.append((x, y))
        total += len(points)
        if total > MAX_POINTS:
            raise MnistlibError(f"a drawing may have at most {MAX_POINTS:,} points")
        if points:
            out.append(points)
    return out


def render_strokes(strokes, pen_width: float = PEN_WIDTH, size: tuple[int, int] = (CANVAS_SIZE, CANVAS_SIZE)) -> Image.Image:
    """The drawing as the browser shows it: an 8-bit grayscale PIL image of ``size``, dark ink
    (:data:`INK`) on white paper, round pen of ``pen_width`` px. The picture :class:`DrawPad` predicts."""
    image = Image.new("L", size, PAPER)
    draw = ImageDraw.Draw(image)
    r = pen_width / 2
    for stroke in check_strokes(strokes, size):
        if len(stroke) > 1:
            draw.line(stroke, fill=INK, width=max(1, round(pen_width)), joint="curve")
        for x, y in stroke:  # round caps and joins
            draw.ellipse((x - r, y - r, x + r, y + r), fill=INK)
    return image


def decode_data_url(data) -> bytes:
    """The bytes of an image given as a ``data:image/...;base64,`` URL (what ``canvas.toDataURL()``
    returns) or as bytes; a one-line :class:`MnistlibError` otherwise."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, str) or not data.startswith("data:image/") or ";base64," not in data:
        raise MnistlibError("expected an image as a data:image/...;base64, URL or as bytes")
    try:
        return base64.b64decode(data.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise MnistlibError("the image data URL is not valid base64") from None


def _png_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class DrawPad(anywidget.AnyWidget):
    """A canvas to draw a digit on, with the model's live answer (notebook 09_predict).

    ``initial``: a drawing to start with (strokes, or a key of :data:`SAMPLE_STROKES` such as ``"7"``);
    ``model`` and ``min_confidence`` are passed to :func:`mnistlib.predict.predict_image` (default:
    the committed ``models/cnn.keras``, answered by its LiteRT export, and the detector card's rule).
    """

    _esm = Path(__file__).parent / "static" / "drawpad.js"
    _css = Path(__file__).parent / "static" / "drawpad.css"

    # the drawing (browser <-> Python)
    width = traitlets.Int(CANVAS_SIZE).tag(sync=True)
    height = traitlets.Int(CANVAS_SIZE).tag(sync=True)
    pen_width = traitlets.Float(PEN_WIDTH).tag(sync=True)
    strokes = traitlets.List().tag(sync=True)
    background = traitlets.Unicode("").tag(sync=True)  # a picture given by set_image, as a PNG data URL
    seq = traitlets.Int(0).tag(sync=True)  # bumped by every change of the drawing; Python answers each
    # the answer (Python -> browser)
    answered_seq = traitlets.Int(-1).tag(sync=True)
    answer = traitlets.Unicode(BLANK_TEXT).tag(sync=True)
    digit = traitlets.Int(None, allow_none=True).tag(sync=True)
    reason = traitlets.Unicode("blank").tag(sync=True)
    confidence = traitlets.Float(None, allow_none=True).tag(sync=True)
    probabilities = traitlets.List().tag(sync=True)
    preview = traitlets.List().tag(sync=True)  # the 28x28 image the model sees, 784 grey levels 0-255, row by row
    ink = traitlets.Int(0).tag(sync=True)  # preview pixels with ink
    error = traitlets.Unicode("").tag(sync=True)
    compute_ms = traitlets.Float(0.0).tag(sync=True)

    def __init__(self, initial=None, *, model=None, min_confidence: float | None = None,
                 pen_width: float = PEN_WIDTH, size: int = CANVAS_SIZE, **kwargs):
        if not (isinstance(size, int) and 56 <= size <= 1024):
            raise MnistlibError(f"size must be a whole number of pixels from 56 to 1024, not {size!r}")
        super().__init__(width=size, height=size, **kwargs)
        self._model, self._min_confidence = model, min_confidence
        self._image = None
        self.prediction = None
        self.set_pen_width(pen_width)
        if isinstance(initial, str):
            if initial not in SAMPLE_STROKES:
                raise MnistlibError(f"initial drawing {initial!r} is not one of {sorted(SAMPLE_STROKES)}")
            initial = SAMPLE_STROKES[initial]
        self.set_strokes(initial or [])

    def __repr__(self) -> str:  # the text/plain output where widgets are not shown
        return f"DrawPad(answer={self.answer!r}, strokes={len(self.strokes)})"

    # ------------------------------------------------------------------ Python API

    def set_strokes(self, strokes) -> str:
        """Replace the drawing by ``strokes`` (``[[(x, y), ...], ...]`` in canvas pixels), answer it,
        and return the answer text."""
        strokes = check_strokes(strokes, (self.width, self.height))
        with self.hold_trait_notifications():
            self._image = None
            self.background = ""
            self.strokes = [[[x, y] for x, y in s] for s in strokes]
            self.seq += 1
        return self.answer

    def add_stroke(self, stroke) -> str:
        """Add one stroke, as the browser does when the pen is lifted; returns the answer text."""
        return self.set_strokes([*self.strokes, stroke])

    def undo(self) -> str:
        """Remove the last stroke; returns the answer text."""
        return self.set_strokes(self.strokes[:-1])

    def clear(self) -> str:
        """Empty the pad; the answer becomes "draw a digit"."""
        return self.set_strokes([])

    def set_pen_width(self, width: float) -> None:
        """Pen width in canvas pixels (:data:`MIN_PEN` to :data:`MAX_PEN`) for the whole drawing."""
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not MIN_PEN <= width <= MAX_PEN:
            raise MnistlibError(f"pen width must be a number from {MIN_PEN} to {MAX_PEN} px, not {width!r}")
        self.pen_width = float(width)
        if self.seq:
            self.seq += 1

    def set_image(self, picture) -> str:
        """Answer a picture instead of a drawing: anything :func:`mnistlib.predict.predict_image` takes
        (array, PIL image, path, PNG bytes). It is shown on the canvas; drawing on it starts a new drawing."""
        shown = load_image(picture)  # a bad picture is a one-line MnistlibError here
        scale = min(self.width / shown.width, self.height / shown.height)
        shown = shown.resize((max(1, round(shown.width * scale)), max(1, round(shown.height * scale))),
                             Image.NEAREST if scale >= 2 else Image.LANCZOS)
        with self.hold_trait_notifications():
            self._image = picture
            self.strokes = []
            self.background = _png_url(shown)
            self.seq += 1
        return self.answer

    def set_png(self, data) -> str:
        """Answer a canvas snapshot: a PNG ``data:`` URL (``canvas.toDataURL()``) or PNG bytes. Any
        colours :func:`mnistlib.imageprep.load_image` reads: dark ink on white, or white ink on a
        transparent or black canvas."""
        return self.set_image(decode_data_url(data))

    def picture(self) -> Image.Image | None:
        """What is predicted: the rendered drawing, or the picture given to :meth:`set_image`."""
        if self.background and self._image is not None:
            return load_image(self._image)
        return render_strokes(self.strokes, self.pen_width, (self.width, self.height))

    # ------------------------------------------------------------------ answering

    @traitlets.observe("seq")
    def _on_seq(self, change) -> None:
        self._answer()

    @traitlets.observe("background")
    def _on_background(self, change) -> None:
        if not change["new"]:
            self._image = None

    def _answer(self) -> None:
        from mnistlib.predict import predict_image  # loads the model on first use, not on import

        start = time.perf_counter()
        seq = self.seq
        state = {"error": "", "digit": None, "confidence": None, "probabilities": [], "ink": 0}
        try:
            source = self._image if (self.background and self._image is not None) else self.picture()
            pred = predict_image(source, self._model, self._min_confidence)
        except Exception as exc:  # shown in the pad: a message from the page has no caller to raise to
            self.prediction = None
            message = str(exc) if isinstance(exc, MnistlibError) else f"{type(exc).__name__}: {exc}"
            state.update(answer="error", reason="error", error=" ".join(message.split()), preview=[0] * 784)
        else:
            self.prediction = pred
            image = np.clip(np.rint(pred.prepared.image * 255), 0, 255).astype(int)
            state["preview"] = image.ravel().tolist()
            state["ink"] = int(np.count_nonzero(image))
            if pred.blank:
                state.update(answer=BLANK_TEXT, reason="blank")
            else:
                state.update(answer=str(pred.digit) if pred.digit is not None else ANSWER_TEXT.get(pred.reason, pred.reason),
                             reason=pred.reason or "", digit=pred.digit, confidence=pred.confidence,
                             probabilities=[round(float(p), 5) for p in pred.probabilities])
        state["compute_ms"] = round((time.perf_counter() - start) * 1000, 1)
        with self.hold_sync():
            for name, value in state.items():
                setattr(self, name, value)
            self.answered_seq = seq  # last: the browser redraws the answer when it changes
