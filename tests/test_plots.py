"""mnistlib.plots: every figure drawn headless on real MNIST slices, with what can be checked checked."""

from __future__ import annotations

import re

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image
from sklearn.metrics import confusion_matrix, precision_score, recall_score

import mnistlib.plots as plots
from mnistlib.augment import augmentation
from mnistlib.config import keras, new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.inputs import InputError

import matplotlib.pyplot as plt  # noqa: E402  (after mnistlib.plots picked the backend)


@pytest.fixture(autouse=True)
def _clean_plotting(monkeypatch):
    """No plt.show(), no rcParams leak, no figure left open."""
    def _no_show(*args, **kwargs):
        raise AssertionError("a plotting function called plt.show()")

    monkeypatch.setattr(plt, "show", _no_show)
    before = dict(mpl.rcParams)
    yield
    after = dict(mpl.rcParams)
    plt.close("all")
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"rcParams changed: {changed}"


@pytest.fixture(scope="module")
def slice_(mnist):
    """200 real test digits and their labels."""
    return mnist.x_test[:200], mnist.y_test[:200]


def _shift_every_7th(y: np.ndarray) -> np.ndarray:
    """A simple "classifier": the true label, except every 7th one is shifted by one class."""
    y_pred = y.astype(int).copy()
    y_pred[::7] = (y_pred[::7] + 1) % 10
    return y_pred


def _image_axes(fig):
    """Axes that show an image, excluding colour bars."""
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def _check(fig, n_axes: int | None = None):
    assert isinstance(fig, Figure)
    if n_axes is not None:
        assert len(fig.axes) == n_axes, [ax.get_label() for ax in fig.axes]
    return fig


# --- 02_visualize ------------------------------------------------------------------------------

def test_data_figures(mnist, slice_):
    x, y = slice_
    _check(plots.sample_grid(x, y, n=10), 10)
    _check(plots.class_examples(x, y, per_class=3), 30)
    _check(plots.class_distribution(mnist.y_train, mnist.y_test), 2)
    _check(plots.pixel_histogram(x), 1)
    _check(plots.mean_images(x, y), 11)  # 10 digits + shared colour bar


def test_sample_grid_titles_are_the_labels(slice_):
    x, y = slice_
    fig = plots.sample_grid(x, y, n=7)
    assert [ax.get_title() for ax in fig.axes] == [f"label {v}" for v in y[:7]]


def test_figures_hold_to_the_input_contract(mnist, slice_):
    x, y = slice_
    wrong = y.astype(int)
    wrong[0] = 10  # not a digit
    with pytest.raises(InputError, match=r"0\.\.9"):
        plots.sample_grid(x, wrong)
    with pytest.raises(InputError, match=r"0\.\.9"):
        plots.class_distribution(wrong, mnist.y_test)  # not silently left out of the counts
    with pytest.raises(InputError, match="one-hot"):
        plots.sample_grid(x[:3], np.eye(3)[[0, 1, 2]])  # 3 columns: not 10 class scores
    with pytest.raises(MnistlibError, match=r"\(28, 28\)"):
        plots.before_after_scaling(np.zeros((32, 32), np.uint8))
    with pytest.raises(InputError, match="gray"):
        plots.sample_grid(np.zeros((3, 28, 28, 3), np.uint8), y[:3])
    _check(plots.sample_grid(x[:4, :, :, np.newaxis], np.eye(10)[y[:4]]), 4)  # channel axis, one-hot: fine


# --- 03_preprocess -----------------------------------------------------------------------------

def test_preprocess_figures(slice_):
    x, _ = slice_
    _check(plots.before_after_scaling(x[0]), 4)  # 2 images + 2 colour bars

    fig = _check(plots.augmentation_preview(x, lambda batch: 1.0 - batch, 2, n=3), 9)
    shown = fig.axes[1].images[0].get_array()  # first row, first variant: the inverted digit
    np.testing.assert_allclose(shown, 1.0 - x[0] / 255.0, atol=1e-6)

    _check(plots.augmentation_preview(x, augmentation(seed=1), 3, n=2), 8)


# --- 07_train ----------------------------------------------------------------------------------

def test_training_figures():
    histories = {
        "dense": {"loss": [0.5, 0.3, 0.2], "accuracy": [0.85, 0.9, 0.93],
                  "val_loss": [0.4, 0.3, 0.28], "val_accuracy": [0.88, 0.91, 0.92]},
        "cnn": {"loss": [0.4, 0.2], "accuracy": [0.88, 0.95], "val_loss": [0.3, 0.2], "val_accuracy": [0.9, 0.94]},
    }
    fig = _check(plots.learning_curves(histories), 2)
    assert len(fig.axes[0].lines) == 4  # 2 models x (training, validation)

    cv = pd.DataFrame({"model": ["dense"] * 3 + ["cnn"] * 3, "fold": [0, 1, 2] * 2,
                       "accuracy": [0.97, 0.975, 0.972, 0.99, 0.988, 0.991]})
    _check(plots.cv_boxplot(cv), 1)

    recipes = pd.DataFrame({"model": ["logreg", "dense", "cnn"], "accuracy": [0.92, 0.98, 0.99],
                            "train_seconds": [5.0, 30.0, 300.0], "params": [7850, 100_000, 300_000]})
    _check(plots.recipe_comparison(recipes), 1)
    fig = _check(plots.recipe_comparison(recipes.assign(accuracy_sd=[0.002, 0.001, 0.0005])), 1)
    bars = [c for c in fig.axes[0].containers if hasattr(c, "has_yerr") and c.has_yerr]
    assert len(bars) == 3  # one spread-over-seeds bar per recipe


# --- 08_evaluate -------------------------------------------------------------------------------

def test_confusion_heatmap_annotations_equal_sklearn(slice_):
    _, y = slice_
    y_pred = _shift_every_7th(y)
    expected = confusion_matrix(y, y_pred, labels=list(range(10)))

    fig = _check(plots.confusion_heatmap(y, y_pred), 2)  # heatmap + colour bar
    texts = [int(t.get_text()) for t in fig.axes[0].texts]
    assert texts == expected.ravel().tolist()

    fig = _check(plots.confusion_heatmap(y, y_pred, normalize="true"), 2)
    shares = np.array([float(t.get_text()) for t in fig.axes[0].texts])
    rows = expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(shares, (expected / np.maximum(rows, 1)).ravel(), atol=0.005 + 1e-9)


def test_precision_recall_bars_heights_equal_sklearn(slice_):
    _, y = slice_
    y_pred = _shift_every_7th(y)
    y_pred[y_pred == 3] = 5  # no digit is predicted as 3: its precision is 0 (zero_division), its recall 0
    labels = list(range(10))
    expected_precision = precision_score(y, y_pred, labels=labels, average=None, zero_division=0)
    expected_recall = recall_score(y, y_pred, labels=labels, average=None, zero_division=0)
    assert len(set(np.round(expected_precision, 6))) > 3 and len(set(np.round(expected_recall, 6))) > 3

    fig = _check(plots.precision_recall_bars(y, y_pred), 1)
    ax = fig.axes[0]
    bars = {c.get_label(): c for c in ax.containers}
    assert set(bars) == {"precision", "recall"}
    for name, expected in (("precision", expected_precision), ("recall", expected_recall)):
        rects = sorted(bars[name].patches, key=lambda r: r.get_x())
        centres = [r.get_x() + r.get_width() / 2 for r in rects]
        np.testing.assert_allclose(np.round(centres), labels)  # one bar per digit, in order
        np.testing.assert_allclose([r.get_height() for r in rects], expected, rtol=1e-12)
    accuracy_line = next(line for line in ax.lines if line.get_label().startswith("accuracy"))
    assert accuracy_line.get_ydata()[0] == pytest.approx(np.mean(y == y_pred))


def test_misclassified_gallery_shows_only_errors(slice_):
    x, y = slice_
    y_pred = _shift_every_7th(y)
    confidence = np.linspace(0.5, 0.99, len(y))
    errors = int(np.sum(y != y_pred))
    fig = _check(plots.misclassified_gallery(x, y, y_pred, confidence, n=16))
    shown = _image_axes(fig)
    assert 0 < len(shown) <= errors
    assert len(shown) == min(16, errors)
    for ax in shown:
        match = re.match(r"true (\d) / pred (\d)", ax.get_title())
        assert match, ax.get_title()
        t, p = int(match[1]), int(match[2])
        assert t != p
        image = ax.images[0].get_array()
        candidates = [i for i in np.flatnonzero(y != y_pred) if np.array_equal(x[i], image)]
        assert candidates, "a shown digit is not one of the misclassified images"
        assert any(y[i] == t and y_pred[i] == p for i in candidates)


def test_prediction_grid_colours_correct_and_wrong_differently(slice_):
    x, y = slice_
    y_pred = _shift_every_7th(y)
    fig = _check(plots.prediction_grid(x, y, y_pred, n=15), 15)
    right = {to_hex(ax.title.get_color()) for ax, t, p in zip(fig.axes, y, y_pred) if t == p}
    wrong = {to_hex(ax.title.get_color()) for ax, t, p in zip(fig.axes, y, y_pred) if t != p}
    assert len(right) == 1 and len(wrong) == 1 and right != wrong


# --- inside the CNN ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_cnn():
    k = keras()
    new_model_session(1)
    inputs = k.Input((28, 28, 1))
    h = k.layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    h = k.layers.MaxPooling2D()(h)
    h = k.layers.Conv2D(6, 3, activation="relu", name="conv_b")(h)
    h = k.layers.Flatten()(h)
    outputs = k.layers.Dense(10, activation="softmax")(h)
    return k.Model(inputs, outputs)


def test_conv_filters_shows_the_first_layers_kernels(tiny_cnn):
    fig = _check(plots.conv_filters(tiny_cnn))
    shown = [ax for ax in _image_axes(fig) if ax.get_visible() and ax.axison]
    assert len(shown) == 4
    kernel = tiny_cnn.get_layer("conv_a").get_weights()[0]  # (3, 3, 1, 4)
    for i, ax in enumerate(shown):
        np.testing.assert_allclose(ax.images[0].get_array(), kernel[:, :, 0, i], rtol=1e-6)


def test_feature_maps_of_both_conv_layers(tiny_cnn, slice_):
    x, _ = slice_
    fig = _check(plots.feature_maps(tiny_cnn, x[0]), 1 + 4 + 6)
    sizes = sorted(ax.images[0].get_array().shape for ax in fig.axes)
    assert sizes.count((26, 26)) == 4  # conv_a: 28 - 2
    assert sizes.count((11, 11)) == 6  # conv_b: 13 - 2
    labels = " ".join(ax.get_ylabel() for ax in fig.axes)
    assert "conv_a" in labels and "conv_b" in labels


# --- 09_predict --------------------------------------------------------------------------------

def test_probability_bars_heights_and_highlight(slice_):
    x, _ = slice_
    p = np.random.default_rng(1).dirichlet(np.ones(10))
    fig = _check(plots.probability_bars(x[0], p), 2)
    bars = fig.axes[1].patches
    np.testing.assert_allclose([b.get_height() for b in bars], p)
    colours = [to_hex(b.get_facecolor()) for b in bars]
    best = int(np.argmax(p))
    assert all(c != colours[best] for i, c in enumerate(colours) if i != best)
    assert len(set(colours) - {colours[best]}) == 1


def test_pipeline_steps(slice_):
    x, _ = slice_
    rgb = np.stack([x[0]] * 3, axis=-1)
    steps = {"photo": rgb, "gray": x[0], "scaled": x[0] / 255.0}
    fig = _check(plots.pipeline_steps(steps), 3)
    assert [ax.get_title() for ax in fig.axes] == list(steps)



def test_number_reading_boxes_each_digit_and_shows_what_the_model_saw(slice_):
    from matplotlib.patches import Rectangle

    from mnistlib.reading import NumberReading

    x, y = slice_
    picture = np.concatenate([x[0], x[1], x[2]], axis=1)  # three test digits side by side, 28x84
    boxes = [(28 * i + 4, 4, 28 * i + 24, 24) for i in range(3)]
    reading = NumberReading(text="".join(str(int(d)) for d in y[:3]), digits=[int(d) for d in y[:3]],
                            confidences=[0.99, 0.5, 0.875], boxes=boxes,
                            prepared=[x[i] / 255.0 for i in range(3)], size=(84, 28))
    fig = _check(plots.number_reading(picture, reading), 4)  # the picture, then one tile per digit
    top = fig.axes[0]
    assert top.get_title() == f"read: {reading.text}"
    frames = [p for p in top.patches if isinstance(p, Rectangle)]
    assert [(round(f.get_x() + 0.5), round(f.get_y() + 0.5), f.get_width(), f.get_height()) for f in frames] == \
        [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
    assert [ax.get_title() for ax in fig.axes[1:]] == [f"{int(y[0])}: 99.0%", f"{int(y[1])}: 50.0%",
                                                       f"{int(y[2])}: 87.5%"]
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), x[1] / 255.0)

# --- save_fig ----------------------------------------------------------------------------------

def test_save_fig_writes_png_of_the_right_size(tmp_path, slice_):
    x, y = slice_
    fig = plots.sample_grid(x, y, n=25)
    dpi = 50
    path = plots.save_fig(fig, "02_x", folder=tmp_path, dpi=dpi)
    assert path == tmp_path / "02_x.png"
    assert [p.name for p in tmp_path.iterdir()] == ["02_x.png"]  # no temporary file left behind
    with Image.open(path) as png:
        assert png.format == "PNG"
        width, height = png.size
    full_w, full_h = fig.get_size_inches() * dpi
    pad = 2 * 0.1 * dpi + 1  # the tight bounding box crops to the content, then adds pad_inches=0.1 per side
    assert full_w / 2 < width <= full_w + pad
    assert full_h / 2 < height <= full_h + pad


@pytest.mark.parametrize("name", ["sample", "2_x", "../02_x", "02_x.png", ""])
def test_save_fig_rejects_bad_names_and_writes_nothing(tmp_path, slice_, name):
    x, y = slice_
    fig = plots.sample_grid(x, y, n=2)
    folder = tmp_path / "figs"
    with pytest.raises(MnistlibError):
        plots.save_fig(fig, name, folder=folder)
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []
