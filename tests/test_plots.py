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


def test_ink_frequency_shows_the_share_of_images_with_ink(slice_):
    from mnistlib.plots.visualize import ink_frequency

    x, _ = slice_
    fig = _check(ink_frequency(x), 2)  # the map + its colour bar
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, np.mean(x > 0, axis=0))
    never = int(np.sum(~(x > 0).any(axis=0)))
    assert f"{never} positions are 0 in all {len(x):,} images" in fig.axes[0].get_xlabel()
    with pytest.raises(MnistlibError, match="empty"):
        ink_frequency(np.zeros((0, 28, 28), np.uint8))


# --- 03_preprocess -----------------------------------------------------------------------------

def test_preprocess_figures(slice_):
    x, _ = slice_
    _check(plots.before_after_scaling(x[0]), 4)  # 2 images + 2 colour bars

    fig = _check(plots.augmentation_preview(x, lambda batch: 1.0 - batch, 2, n=3), 9)
    shown = fig.axes[1].images[0].get_array()  # first row, first variant: the inverted digit
    np.testing.assert_allclose(shown, 1.0 - x[0] / 255.0, atol=1e-6)

    fig = _check(plots.augmentation_preview(x, augmentation(seed=1), 3, n=2), 8)
    assert fig._suptitle.get_text() == "Data augmentation: each pass draws new random changes"
    assert [ax.get_title() for ax in fig.axes[1:3]] == ["random 1", "random 2"]


def test_augmentation_preview_can_say_what_its_columns_are(slice_):
    x, _ = slice_
    fig = plots.augmentation_preview(x, lambda batch: batch[:, ::-1], 2, n=1, title="Made once",
                                     column_titles=["seed 1", "seed 2"])
    assert fig._suptitle.get_text() == "Made once"
    assert [ax.get_title() for ax in fig.axes] == ["original", "seed 1", "seed 2"]
    with pytest.raises(MnistlibError, match="one title per variant"):
        plots.augmentation_preview(x, lambda batch: batch, 2, n=1, column_titles=["only one"])


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
    fig = _check(plots.recipe_comparison(recipes), 2)
    assert [t.get_text().split()[0] for t in fig.axes[0].get_yticklabels()] == ["logreg", "dense", "cnn"]
    fig = _check(plots.recipe_comparison(recipes.assign(accuracy_sd=[0.002, 0.001, 0.0005])), 2)
    bars = [c for c in fig.axes[0].containers if hasattr(c, "has_xerr") and c.has_xerr]
    assert len(bars) == 1 and len(bars[0].lines[2][0].get_segments()) == 3  # one spread bar per recipe


def test_learning_rate_schedules_draw_the_rates_they_are_given():
    from mnistlib.optim import OneCycle

    schedule = OneCycle(0.003, total_steps=50)
    rates = [float(schedule(s)) for s in range(50)]
    fig = _check(plots.learning_rate_schedules({"one-cycle": rates, "constant": [0.001] * 50}), 1)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), rates)
    assert max(rates) == pytest.approx(0.003, rel=1e-5) and rates[-1] < 1e-5  # warm up, then anneal to ~0
    with pytest.raises(MnistlibError):
        plots.learning_rate_schedules({"broken": [0.1, float("nan")]})


# --- 08_evaluate -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def realistic(mnist):
    """A real (weak) classifier's output on the 10,000 real test digits: nearest class mean of 3,000
    training digits, softmax of minus the squared distances -> (labels, probabilities (10000, 10))."""
    from scipy.special import softmax

    x = mnist.x_train[:3000].reshape(3000, -1) / 255.0
    means = np.stack([x[mnist.y_train[:3000] == d].mean(axis=0) for d in range(10)])
    test = mnist.x_test.reshape(len(mnist.x_test), -1) / 255.0
    squared = (test ** 2).sum(axis=1, keepdims=True) - 2 * test @ means.T + (means ** 2).sum(axis=1)
    return mnist.y_test, softmax(-squared / 4.0, axis=1)


def _cell_texts(ax) -> dict[tuple[int, int], str]:
    """The heatmap's annotations by (row, column) cell."""
    return {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}


def test_confusion_heatmap_annotations_equal_sklearn(slice_):
    _, y = slice_
    y_pred = _shift_every_7th(y)
    expected = confusion_matrix(y, y_pred, labels=list(range(10)))

    fig = _check(plots.confusion_heatmap(y, y_pred), 2)  # heatmap + colour bar
    texts = [int(t.get_text()) for t in fig.axes[0].texts]
    assert texts == expected.ravel().tolist()

    fig = _check(plots.confusion_heatmap(y, y_pred, normalize="true"), 2)
    cells = _cell_texts(fig.axes[0])
    percent = 100 * expected / np.maximum(expected.sum(axis=1, keepdims=True), 1)
    shown = {(i, j) for i in range(10) for j in range(10) if i == j or expected[i, j] > 0}
    assert set(cells) == shown  # the diagonal and every cell with a mistake; cells without one are blank
    for (i, j), text in cells.items():
        assert re.fullmatch(r"\d+\.\d", text), text  # percent with one decimal
        assert float(text) == pytest.approx(percent[i, j], abs=0.05 + 1e-9)


@pytest.mark.parametrize("every", [1, 40], ids=["weak model", "99.5 % model"])
def test_confusion_heatmap_normalized_shows_the_error_rates(realistic, every):
    """The off-diagonal error rates can be read, also for a 99.5 % model on 10,000 digits (where a share
    printed with two decimals reads 0.00): its mistakes are every 40th of the weak model's."""
    y, probabilities = realistic
    y_pred = probabilities.argmax(axis=1)
    corrected = np.setdiff1d(np.flatnonzero(y_pred != y), np.flatnonzero(y_pred != y)[::every])
    y_pred[corrected] = y[corrected]  # keep every `every`-th mistake
    cm = confusion_matrix(y, y_pred, labels=list(range(10)))
    assert 0 < np.sum(y != y_pred) < len(y) / 2
    fig = _check(plots.confusion_heatmap(y, y_pred, normalize="true"), 2)
    ax = fig.axes[0]
    cells = _cell_texts(ax)
    off = {cell: float(text) for cell, text in cells.items() if cell[0] != cell[1]}
    assert off and any(v > 0 for v in off.values()), "every off-diagonal annotation reads 0"
    assert all(v > 0 for v in off.values())  # only cells with mistakes are annotated
    assert len(off) == int(np.sum((cm > 0) & ~np.eye(10, dtype=bool)))
    # the colour scale spans the error rates, not the diagonal's ~100 %
    rates = 100 * cm / cm.sum(axis=1, keepdims=True)
    top = float(np.max(np.where(np.eye(10, dtype=bool), 0, rates)))
    assert ax.collections[0].norm.vmax == pytest.approx(top)
    assert top < min(rates[i, i] for i in range(10))


def test_reliability_diagram_points_equal_sklearn_calibration_curve(realistic):
    from sklearn.calibration import calibration_curve

    from mnistlib.calibration import apply_temperature, expected_calibration_error, reliability
    from mnistlib.plots.calibration import reliability_diagram

    y, probabilities = realistic
    curves = {"raw": probabilities, "T = 2": apply_temperature(probabilities, 2.0)}
    fig = _check(reliability_diagram(y, curves), 2)  # reliability + counts
    ax = fig.axes[0]
    diagonal = next(line for line in ax.lines if line.get_label() == "perfect calibration")
    np.testing.assert_allclose(diagonal.get_xydata(), [[0, 0], [1, 1]])
    dots = [c for c in ax.collections if c.get_label() and not c.get_label().startswith("_")]
    assert len(dots) == 2
    for dot, (label, probs) in zip(dots, curves.items()):
        conf, correct = probs.max(axis=1), probs.argmax(axis=1) == y
        accuracy, mean_conf = calibration_curve(correct, conf, n_bins=15)
        np.testing.assert_allclose(dot.get_offsets(), np.column_stack([mean_conf, accuracy]), rtol=1e-6)
        own_conf, own_accuracy, _ = reliability(probs, y)  # the ECE's bins are the same bins
        np.testing.assert_allclose(dot.get_offsets(), np.column_stack([own_conf, own_accuracy]), rtol=1e-5)
        assert dot.get_label() == f"{label}: ECE {expected_calibration_error(probs, y):.2%}"
    assert len({d.get_label() for d in dots}) == 2  # the two curves differ

    fig = _check(reliability_diagram(y, {"a": curves, "b": {"raw": probabilities}}), 4)  # one column per panel
    with pytest.raises(MnistlibError):
        reliability_diagram(y, {"a": curves, "b": probabilities})


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
