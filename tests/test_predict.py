"""mnistlib.imageprep and mnistlib.predict on pictures made from real MNIST test digits."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mnistlib import config
from mnistlib.config import keras
from mnistlib.errors import MnistlibError
from mnistlib.imageprep import MAX_STROKE, STROKE, ImageError, load_image, stroke_width, thin_strokes, to_mnist
from mnistlib.inputs import INPUT_SHAPE, InputError
from mnistlib.predict import check_model_path, predict_image, predict_images


def corr(a, b) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_test[:10], mnist.y_test[:10]


def test_polarity_dark_on_light_equals_light_on_dark(digits, paper_photo):
    digit = digits[0][0]
    dark = to_mnist(paper_photo(digit, dark_ink=True))
    light = to_mnist(paper_photo(digit, dark_ink=False))
    assert dark.inverted and not light.inverted
    reference = digit / 255.0  # MNIST itself: light ink on black, fitted and centred
    assert corr(dark.image, reference) > 0.8 and corr(light.image, reference) > 0.8
    assert corr(dark.image, light.image) > 0.8
    assert dark.image.dtype == np.float32 and dark.image.shape == (28, 28)
    assert dark.image.min() >= 0 and dark.image.max() <= 1 and dark.image.max() > 0.9


@pytest.mark.parametrize("at", [(10, 10), (60, 120), (80, 140)])
def test_centre_of_mass_lands_in_the_middle(digits, at, paper_photo):
    for digit in digits[0][:4]:
        image = to_mnist(paper_photo(digit, scale=4, at=at)).image
        cy, cx = ndimage.center_of_mass(image)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
        rows, cols = np.nonzero(image > 0.1)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21  # fitted to the 20 px box


def test_aspect_ratio_is_kept():
    page = np.full((400, 400), 235, np.uint8)
    page[100:300, 190:210] = 20  # a tall thin stroke: a "1"
    image = to_mnist(Image.fromarray(page)).image
    rows, cols = np.nonzero(image > 0.3)
    assert 19 <= rows.max() - rows.min() + 1 <= 21
    assert cols.max() - cols.min() + 1 <= 4


def test_transparency_is_composited_on_white(digits):
    digit = digits[0][1]
    big = np.asarray(Image.fromarray(digit).resize((140, 140), Image.BICUBIC))
    rgba = np.zeros((200, 200, 4), np.uint8)  # transparent black everywhere
    rgba[30:170, 30:170, 3] = big  # opaque black ink
    result = to_mnist(Image.fromarray(rgba, "RGBA"))
    plain = to_mnist(Image.fromarray(255 - np.pad(big, 30)))  # the same drawing, black on white
    assert not result.blank and corr(result.image, plain.image) > 0.95


@pytest.mark.parametrize("mode", ["P", "CMYK", "I;16", "LA", "1", "RGB"])
def test_image_modes(digits, mode, paper_photo):
    photo = paper_photo(digits[0][2])
    reference = to_mnist(photo).image
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(photo, np.uint16) * 257)
        assert converted.mode.startswith("I;16")
    elif mode == "1":
        converted = photo.point(lambda v: 255 if v > 128 else 0).convert("1")
    else:
        converted = photo.convert(mode)
    buffer = io.BytesIO()
    converted.save(buffer, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
    result = to_mnist(buffer.getvalue())
    assert not result.blank and corr(result.image, reference) > 0.85


def test_exif_orientation_is_applied(digits, tmp_path, paper_photo):
    photo = paper_photo(digits[0][3])
    stored = photo.transpose(Image.Transpose.ROTATE_90)  # what a phone writes; the tag says how to turn it
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    stored.convert("RGB").save(path, exif=exif, quality=95)
    assert load_image(path).size == photo.size
    assert corr(to_mnist(path).image, to_mnist(photo).image) > 0.9


def test_blank_images_are_reported_not_guessed():
    rng = np.random.default_rng(1)
    paper = np.clip(220 + rng.normal(0, 4, (240, 320)), 0, 255).astype(np.uint8)
    for image in (np.full((100, 100), 255, np.uint8), paper):
        assert to_mnist(image).blank
        result = predict_image(image)
        assert result.blank and result.digit is None and result.probabilities is None


def test_unreadable_inputs_raise_a_clear_error(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="empty.png: empty"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(ImageError, match="text.png: not an image"):
        load_image(tmp_path / "text.png")


def test_photos_of_known_test_digits_are_predicted_correctly(digits, tmp_path, paper_photo):
    images, labels = digits
    paths = []
    for i, digit in enumerate(images):
        path = tmp_path / f"digit_{i}.jpg"
        paper_photo(digit, at=(20 + 7 * i, 30 + 11 * i), seed=i).save(path, quality=85)
        paths.append(path)
    results = predict_images(paths)
    predicted = [r.digit for r in results]
    assert predicted == labels.tolist()
    assert all(r.confidence > 0.5 and abs(r.probabilities.sum() - 1) < 1e-4 for r in results)
    single = predict_image(paths[0])
    assert single.digit == labels[0] and single.prepared.steps  # the notebook's step-by-step images


def test_stroke_width_is_measured_at_the_20_pixel_box():
    bar = np.zeros((60, 60), np.float32)
    bar[5:55, 26:34] = 1  # an 8-px-wide stroke, 50 px long: 3.2 px at the 20-px box
    assert stroke_width(bar) == pytest.approx(8 * 20 / 50, abs=0.5)
    assert stroke_width(np.kron(bar, np.ones((3, 3)))) == pytest.approx(stroke_width(bar), abs=0.2)  # any scale
    assert stroke_width(np.zeros((20, 20))) == 0.0


def test_bold_strokes_are_thinned_and_none_vanishes(digits):
    for digit in digits[0]:
        big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.BILINEAR)) > 127
        assert stroke_width(big) < MAX_STROKE
        assert thin_strokes(big) is big  # an MNIST pen: unchanged
        bold = ndimage.binary_dilation(big, iterations=8)  # a marker
        assert stroke_width(bold) > MAX_STROKE + 0.5
        thinned = thin_strokes(bold)
        assert STROKE - 0.5 < stroke_width(thinned) < min(stroke_width(bold) - 0.5, MAX_STROKE + 1)
        eight = np.ones((3, 3))  # 8-connected, like a skeleton
        assert ndimage.label(thinned, eight)[1] == ndimage.label(bold, eight)[1]  # no stroke erased
        assert not (thinned.astype(bool) & ~bold).any()  # only ever removes ink


def test_marker_and_low_resolution_scans_of_known_digits(digits, paper_photo):
    """Bold-marker photos and 10x10 scans blown up: the pipeline thins them and the model reads them."""
    images, labels = digits
    pictures = []
    for i, digit in enumerate(images):
        bold = ndimage.grey_dilation(digit, size=(3, 3))  # a felt-tip marker
        pictures.append(paper_photo(bold, seed=i))
        tiny = Image.fromarray(255 - np.asarray(Image.fromarray(bold).resize((10, 10), Image.BOX)))
        pictures.append(tiny.resize((50, 50), Image.BICUBIC))
    results = predict_images(pictures)
    truth = np.repeat(labels, 2)
    read = [int(np.argmax(r.probabilities)) for r in results]  # what the model reads, before the answer rule
    assert sum(p == y for p, y in zip(read, truth)) >= 18, read
    # the answer rule may turn a blurred 10x10 scan away ("not a digit"/"unsure": benchmarks/README.md,
    # lowres), but it must not turn a misreading into a confident wrong digit
    answered = [r.digit for r in results]
    assert sum(a is not None and a != y for a, y in zip(answered, truth)) <= 20 - 18, answered
    assert sum(a == y for a, y in zip(answered, truth)) >= 16, answered
    assert "thinner strokes" in to_mnist(pictures[1]).steps


def test_a_missing_default_model_is_one_line_saying_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "MODELS_DIR", tmp_path / "models")
    monkeypatch.delenv("MNISTLIB_HOME", raising=False)
    with pytest.raises(MnistlibError) as err:
        check_model_path(None)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "models" / "cnn.keras") in message
    for advice in ("--model PATH", "MNISTLIB_HOME", "mnistlib train --model cnn"):
        assert advice in message, message


def test_model_outputs_are_checked_against_the_contract(digits, paper_photo):
    """A model that outputs NaN (diverged training) is an error, not a confident "0"; one of the wrong
    width is refused before it runs."""
    k = keras()
    inputs = k.Input(INPUT_SHAPE)
    scores = k.layers.Dense(10, activation="softmax")(k.layers.Flatten()(inputs))
    diverged = k.Model(inputs, scores)
    diverged.set_weights([np.full(w.shape, np.nan, np.float32) for w in diverged.get_weights()])
    photo = paper_photo(digits[0][0])
    with pytest.raises(InputError, match="NaN"):
        predict_image(photo, diverged)
    five = k.Model(inputs, k.layers.Dense(5)(k.layers.Flatten()(inputs)))
    with pytest.raises(InputError, match="outputs 5 values per image"):
        predict_images([photo], five)


def test_a_model_with_its_export_runs_on_the_light_runtime_and_falls_back_to_keras_without(
        digits, tmp_path, paper_photo):
    """models/cnn.keras is answered by models/cnn.tflite (a LightModel, cached once per process, also when
    asked for by the .tflite path); a copy of the .keras without its export is run by Keras, with the
    same answers. A Keras model object passed in is used as it is."""
    from mnistlib.predict import get_model
    from mnistlib.runtime import LightModel

    light = get_model()
    assert isinstance(light, LightModel) and light.path == config.MODELS_DIR / "cnn.tflite"
    assert get_model(config.MODELS_DIR / "cnn.keras") is light
    assert get_model(str(config.MODELS_DIR / "cnn.tflite")) is light
    lone = tmp_path / "lone.keras"
    shutil.copy(config.MODELS_DIR / "cnn.keras", lone)
    shutil.copy(config.MODELS_DIR / "cnn.json", lone.with_suffix(".json"))  # the same card: the same temperature
    heavy = get_model(lone)
    assert not isinstance(heavy, LightModel) and isinstance(heavy, keras().Model)
    photos = [paper_photo(digit, seed=i) for i, digit in enumerate(digits[0])]
    by_light = predict_images(photos)
    by_keras = predict_images(photos, lone)
    by_object = predict_images(photos, heavy)  # a model object loaded from a path keeps its card's temperature
    assert [r.digit for r in by_light] == [r.digit for r in by_keras] == [r.digit for r in by_object]
    assert [r.digit for r in by_light] == digits[1].tolist()
    np.testing.assert_allclose(np.stack([r.probabilities for r in by_light]),
                               np.stack([r.probabilities for r in by_keras]), atol=1e-5)


def _noise_and_line(folder):
    """Two pictures that are not digits: random noise, and one horizontal line on paper (issue 14's examples)."""
    rng = np.random.default_rng(0)
    noise = folder / "noise.png"
    Image.fromarray(rng.integers(0, 256, (160, 160), dtype=np.uint8)).save(noise)
    line = np.full((160, 240), 235, np.uint8)
    line[78:84, 30:210] = 30
    line_path = folder / "line.png"
    Image.fromarray(line).save(line_path)
    return noise, line_path


def test_noise_and_a_line_are_answered_not_a_digit_and_real_digits_still_are(digits, tmp_path, paper_photo):
    noise, line = _noise_and_line(tmp_path)
    images, labels = digits
    paths = [noise, line]
    for i, digit in enumerate(images[:5]):
        paths.append(tmp_path / f"digit_{i}.jpg")
        paper_photo(digit, seed=i).save(paths[-1])
    results = predict_images(paths)
    for r in results[:2]:
        assert r.digit is None and r.reason == "not a digit" and r.nondigit >= 0.5, r
        assert r.as_dict()["reason"] == "not a digit" and r.as_dict()["digit"] is None
    assert [r.digit for r in results[2:]] == labels[:5].tolist()
    assert all(r.reason is None and r.nondigit < 0.5 for r in results[2:])


def test_min_confidence_turns_a_less_sure_answer_into_unsure(digits, tmp_path, paper_photo):
    images, _ = digits
    for i, digit in enumerate(images):
        path = tmp_path / f"d{i}.jpg"
        paper_photo(digit, seed=i).save(path)
        sure = predict_image(path, min_confidence=0.0)
        if sure.confidence < 0.9999:
            break
    assert sure.digit is not None and sure.reason is None
    unsure = predict_image(path, min_confidence=sure.confidence + 1e-5)
    assert unsure.digit is None and unsure.reason == "unsure" and unsure.confidence == pytest.approx(sure.confidence)
    with pytest.raises(MnistlibError, match="between 0 and 1"):
        predict_image(path, min_confidence=1.5)


def test_the_cards_temperature_calibrates_every_prediction(digits, tmp_path, paper_photo):
    """A model path is answered with its card's temperature; a model object with the one set for it, else T = 1."""
    import json

    from mnistlib.calibration import apply_temperature
    from mnistlib.predict import get_model, set_temperature, temperature_of

    bare, warm = tmp_path / "bare.keras", tmp_path / "warm.keras"
    for path in (bare, warm):
        shutil.copy(config.MODELS_DIR / "cnn.keras", path)
    card = json.loads((config.MODELS_DIR / "cnn.json").read_text())
    warm.with_suffix(".json").write_text(json.dumps({**card, "calibration": {**card.get("calibration", {}),
                                                                             "temperature": 3.0}}))
    photos = [paper_photo(digit, seed=i) for i, digit in enumerate(digits[0][:6])]
    raw = np.stack([r.probabilities for r in predict_images(photos, bare)])
    assert temperature_of(get_model(bare)) == 1.0 and temperature_of(get_model(warm)) == 3.0
    softened = np.stack([r.probabilities for r in predict_images(photos, warm)])
    np.testing.assert_allclose(softened, apply_temperature(raw, 3.0), atol=1e-5)
    assert (softened.max(axis=1) < raw.max(axis=1)).all() and (softened.argmax(1) == raw.argmax(1)).all()
    model = keras().models.load_model(bare)
    assert temperature_of(model) == 1.0
    set_temperature(model, 3.0)
    by_object = np.stack([r.probabilities for r in predict_images(photos, model)])
    np.testing.assert_allclose(by_object, softened, atol=1e-5)
    broken = tmp_path / "broken.keras"
    shutil.copy(bare, broken)
    broken.with_suffix(".json").write_text(json.dumps({"calibration": {"temperature": -2}}))
    with pytest.raises(MnistlibError, match="broken.json: calibration temperature must be a positive number"):
        get_model(broken)
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(MnistlibError, match="temperature must be a positive number"):
            set_temperature(model, bad)
