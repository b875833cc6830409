"""The draw-a-digit pad (mnistlib.drawpad) without a browser: the Python API and the messages the
browser sends (``Widget.set_state``, what a comm message from the page calls)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnistlib.drawpad import (BLANK_TEXT, CANVAS_SIZE, INK, NON_DIGIT_STROKES, PAPER, SAMPLE_STROKES, DrawPad,
                              render_strokes)
from mnistlib.errors import MnistlibError
from mnistlib.predict import predict_image


def _as_browser(pad: DrawPad, **state) -> None:
    """Apply a state update the way a message from the page does (all traits, then the observers)."""
    pad.set_state({**state, "seq": pad.seq + 1})


def test_strokes_of_a_seven_and_a_one_are_answered_with_those_digits():
    pad = DrawPad()
    assert pad.set_strokes(SAMPLE_STROKES["7"]) == "7"
    assert (pad.digit, pad.reason) == (7, "")
    assert pad.answered_seq == pad.seq
    assert pad.set_strokes(SAMPLE_STROKES["1"]) == "1"
    assert len(pad.probabilities) == 10 and abs(sum(pad.probabilities) - 1) < 1e-3
    assert int(np.argmax(pad.probabilities)) == 1 == pad.prediction.digit
    assert len(pad.preview) == 784 and pad.ink == sum(v > 0 for v in pad.preview) > 20


def test_the_default_drawing_is_answered_when_the_pad_is_made():
    pad = DrawPad(initial="7")
    assert pad.answer == "7" and pad.ink > 0 and pad.answered_seq == pad.seq


def test_the_pad_answers_what_predict_image_answers_for_the_rendered_drawing():
    pad = DrawPad(initial="7")
    direct = predict_image(render_strokes(SAMPLE_STROKES["7"]))
    assert pad.prediction.digit == direct.digit
    np.testing.assert_allclose(pad.prediction.probabilities, direct.probabilities, atol=1e-6)
    preview = np.asarray(pad.preview).reshape(28, 28)
    np.testing.assert_array_equal(preview, np.rint(direct.prepared.image * 255).astype(int))


def test_rendered_strokes_are_dark_ink_on_white_paper():
    image = np.asarray(render_strokes(SAMPLE_STROKES["1"], pen_width=10))
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE)
    assert image[0, 0] == PAPER and image.min() == INK
    assert 0.01 < np.mean(image == INK) < 0.1  # a thin line, not a filled canvas


def test_strokes_sent_by_the_browser_are_answered(mnist):
    pad = DrawPad()
    _as_browser(pad, strokes=[[list(p) for p in SAMPLE_STROKES["7"][0]]], pen_width=22.0)
    assert pad.answer == "7" and pad.answered_seq == pad.seq
    # drawing over a picture given by set_image starts a new drawing: the browser drops the picture
    assert pad.set_image(mnist.x_test[1]) == str(mnist.y_test[1])
    assert pad.background.startswith("data:image/png;base64,") and pad.strokes == []
    _as_browser(pad, background="", strokes=[[list(p) for p in SAMPLE_STROKES["1"][0]]])
    assert pad.answer == "1"


@pytest.mark.parametrize("pen", [8, 40])
def test_thin_and_thick_pens_and_an_off_centre_drawing_give_the_same_digit(pen):
    small_in_a_corner = [[(x * 0.35 + 170, y * 0.35 + 10) for x, y in SAMPLE_STROKES["7"][0]]]
    pad = DrawPad(pen_width=pen)
    assert pad.set_strokes(small_in_a_corner) == "7"
    rows, cols = np.nonzero(np.asarray(pad.preview).reshape(28, 28))
    assert 10 <= rows.mean() <= 18 and 10 <= cols.mean() <= 18  # centred again by the pipeline


def test_mnist_test_digits_set_as_images_get_their_labels(mnist):
    pad = DrawPad()
    assert pad.set_image(mnist.x_test[0]) == str(mnist.y_test[0])
    answers = [pad.set_image(mnist.x_test[i]) for i in range(1, 41)]
    correct = np.mean([a == str(y) for a, y in zip(answers, mnist.y_test[1:41])])
    assert correct >= 0.95, answers


@pytest.mark.parametrize("name", sorted(NON_DIGIT_STROKES))
def test_drawings_that_are_not_digits_are_not_answered_with_a_digit(name):
    pad = DrawPad()
    answer = pad.set_strokes(NON_DIGIT_STROKES[name])
    assert answer in {"not a digit", "not sure"} and pad.digit is None
    assert pad.reason in {"not a digit", "unsure"} and len(pad.probabilities) == 10


def test_a_blank_pad_has_no_answer():
    pad = DrawPad()
    assert pad.answer == BLANK_TEXT and pad.reason == "blank"
    assert pad.digit is None and pad.probabilities == [] and pad.ink == 0 and pad.prediction.blank
    pad.set_strokes(SAMPLE_STROKES["7"])
    assert pad.undo() == BLANK_TEXT
    pad.set_strokes(SAMPLE_STROKES["1"])
    assert pad.clear() == BLANK_TEXT and pad.strokes == []


def _canvas_png(ink, paper) -> str:
    """A canvas snapshot as ``canvas.toDataURL()`` gives it: RGBA, ``ink`` strokes on ``paper``."""
    image = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), paper)
    ImageDraw.Draw(image).line(SAMPLE_STROKES["7"][0], fill=ink, width=18, joint="curve")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("ink, paper", [((255, 255, 255, 255), (0, 0, 0, 0)),  # white ink on transparent
                                        ((255, 255, 255, 255), (0, 0, 0, 255)),  # white ink on black
                                        ((0, 0, 0, 255), (255, 255, 255, 255)),  # dark ink on white
                                        ((0, 0, 0, 255), (0, 0, 0, 0))])  # dark ink on transparent
def test_canvas_pngs_in_any_colours_are_read_as_the_drawn_digit(ink, paper):
    pad = DrawPad()
    assert pad.set_png(_canvas_png(ink, paper)) == "7"
    reference = DrawPad(initial="7")
    # the same shape whatever the colours: the preview has ink where the stroke drawing has it
    a = np.asarray(pad.preview).reshape(28, 28) > 64
    b = np.asarray(reference.preview).reshape(28, 28) > 64
    assert (a & b).sum() / max(1, (a | b).sum()) > 0.5


@pytest.mark.parametrize("call, match", [
    (lambda p: p.set_strokes("a 7"), "strokes must be a list"),
    (lambda p: p.set_strokes([[(1, 2, 3)]]), "a point must be two numbers"),
    (lambda p: p.set_strokes([[(float("nan"), 2)]]), "not on the"),
    (lambda p: p.set_strokes([5]), "stroke 0 must be a list"),
    (lambda p: p.set_png("not a data url"), "data:image"),
    (lambda p: p.set_png("data:image/png;base64,@@@"), "not valid base64"),
    (lambda p: p.set_png(b"not a png"), "not an image"),
    (lambda p: p.set_image(np.zeros((3, 4, 5))), "image array"),
    (lambda p: p.set_pen_width(1000), "pen width"),
    (lambda p: DrawPad(initial="x"), "initial drawing"),
])
def test_bad_input_is_a_one_line_error(call, match):
    pad = DrawPad()
    with pytest.raises(MnistlibError, match=match) as err:
        call(pad)
    assert "\n" not in str(err.value)
    assert pad.answer == BLANK_TEXT  # the pad is unchanged


def test_bad_strokes_from_the_browser_show_an_error_instead_of_raising():
    pad = DrawPad()
    _as_browser(pad, strokes=[[["x", 1]]])
    assert pad.answer == "error" and "point must be two numbers" in pad.error and pad.answered_seq == pad.seq
