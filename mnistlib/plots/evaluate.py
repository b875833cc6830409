"""Figures of the evaluation (notebook 08_evaluate): confusion matrices (scikit-learn + seaborn),
per-class precision/recall, a gallery of the misclassified digits and a prediction grid."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.patches  # noqa: F401  (mpl.patches)
import numpy as np
import seaborn as sns
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from mnistlib.errors import MnistlibError
from mnistlib.inputs import CLASSES, check_outputs
from mnistlib.plots._style import STYLE, _target, _tiles, as_count, as_digits, as_labels, color, show_digit, styled

LABELS = list(CLASSES)  # scikit-learn and seaborn want a list
_DIAGONAL, _DIAGONAL_TEXT = "#E6E6E6", "#505050"  # the row-normalized matrix's diagonal: off the colour scale


def _pair(y_true, y_pred):
    yt = as_labels(y_true, len(np.asarray(y_true)), "y_true")
    yp = as_labels(y_pred, len(yt), "y_pred")
    if len(yt) == 0:
        raise MnistlibError("y_true is empty")
    return yt, yp


@styled
def confusion_heatmap(y_true, y_pred, normalize=False, ax=None):
    """Confusion matrix from :func:`sklearn.metrics.confusion_matrix` as an annotated seaborn heatmap
    (08_evaluate): rows are true labels, columns predicted ones.

    ``normalize=False`` shows counts. ``normalize="true"`` shows *error rates*: each row divided by its
    total, in percent with one decimal, and the diagonal (each digit's recall) taken off the colour scale
    (drawn grey, annotated in grey) so that the colours show the mistakes; off-diagonal cells without a
    single mistake are left blank."""
    if normalize is True:
        normalize = "true"
    if normalize not in (False, None, "true"):
        raise MnistlibError(f"normalize must be False or 'true', not {normalize!r}")
    yt, yp = _pair(y_true, y_pred)
    fig, ax = _target(ax, "square")
    accuracy = float(np.mean(yt == yp))
    if normalize != "true":
        cm = confusion_matrix(yt, yp, labels=LABELS)
        sns.heatmap(cm, annot=True, fmt="d", cmap=STYLE["heatmap_cmap"], square=True,
                    xticklabels=LABELS, yticklabels=LABELS, linewidths=0.5, linecolor="white",
                    annot_kws={"size": 8}, cbar_kws={"label": "number of digits", "shrink": 0.8}, ax=ax)
        ax.set_title(f"Confusion matrix: {len(yt):,} digits, accuracy {accuracy:.2%}")
    else:
        counts = confusion_matrix(yt, yp, labels=LABELS)
        percent = 100 * confusion_matrix(yt, yp, labels=LABELS, normalize="true")
        diagonal = np.eye(len(LABELS), dtype=bool)
        errors = np.where(diagonal, 0.0, percent)
        labels = np.where(counts > 0, np.char.mod("%.1f", percent), "")
        sns.heatmap(percent, mask=diagonal | (counts == 0), annot=np.where(diagonal, "", labels), fmt="",
                    cmap=STYLE["heatmap_cmap"], square=True, xticklabels=LABELS, yticklabels=LABELS,
                    linewidths=0.5, linecolor="white", vmin=0, vmax=max(float(errors.max()), 0.1),
                    annot_kws={"size": 8},
                    cbar_kws={"label": "% of the true digit's images given this label", "shrink": 0.8}, ax=ax)
        ax.set_facecolor("white")  # blank cells: no mistake at all
        for i in range(len(LABELS)):  # the diagonal (recall), off the colour scale
            ax.add_patch(mpl.patches.Rectangle((i, i), 1, 1, facecolor=_DIAGONAL, edgecolor="white",
                                               linewidth=0.5))
            ax.text(i + 0.5, i + 0.5, labels[i, i] or "–", ha="center", va="center", size=7,
                    color=_DIAGONAL_TEXT, fontstyle="italic")
        ax.set_title(f"Error rates in % of each true digit ({len(yt):,} digits, {100 * (1 - accuracy):.2f} % wrong)"
                     "\ngrey diagonal: % correct (recall), not on the colour scale; blank: no mistake",
                     fontsize=10)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.tick_params(axis="y", rotation=0)
    return fig


@styled
def precision_recall_bars(y_true, y_pred, ax=None):
    """Precision and recall of each digit (:func:`sklearn.metrics.precision_recall_fscore_support`) as
    paired bars, with the overall accuracy as a dashed line (08_evaluate)."""
    yt, yp = _pair(y_true, y_pred)
    precision, recall, _, _ = precision_recall_fscore_support(yt, yp, labels=LABELS, zero_division=0)
    accuracy = float(np.mean(yt == yp))
    fig, ax = _target(ax, "single")
    x = np.arange(len(CLASSES))
    ax.bar(x - 0.2, precision, width=0.4, color=color(0), label="precision")
    ax.bar(x + 0.2, recall, width=0.4, color=color(1), label="recall")
    ax.axhline(accuracy, color="black", linestyle="--", linewidth=1, label=f"accuracy {accuracy:.2%}")
    low = float(min(precision.min(), recall.min()))
    bottom = 0.0 if low < 0.5 else max(0.0, np.floor((low - 0.01) * 50) / 50)
    ax.set_ylim(bottom, 1.0)
    ax.set_xticks(x, [str(c) for c in CLASSES])
    ax.set_xlabel("digit")
    ax.set_ylabel("score" + (f" (axis starts at {bottom:.2f})" if bottom else ""))
    ax.grid(True, axis="y")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    ax.set_title("Per-class precision and recall", pad=26)
    return fig


def _confidence(confidence, y_pred: np.ndarray) -> np.ndarray:
    conf = np.asarray(confidence, dtype=float)
    if conf.ndim == 2:  # class probabilities: the predicted class's one
        conf = check_outputs(conf, len(y_pred), what="confidence")[np.arange(len(y_pred)), y_pred]
    conf = conf.ravel()
    if len(conf) != len(y_pred):
        raise MnistlibError(f"confidence has {len(conf)} entries but there are {len(y_pred)} predictions")
    return conf


@styled
def misclassified_gallery(images, y_true, y_pred, confidence, n: int = 16, *, cols: int | None = None):
    """Only the misclassified digits, most confident mistakes first, titled "true / pred / confidence"
    (08_evaluate). ``confidence``: the predicted class's probability ``(N,)`` or all probabilities ``(N, 10)``."""
    imgs = as_digits(images)
    yt = as_labels(y_true, len(imgs), "y_true")
    yp = as_labels(y_pred, len(imgs), "y_pred")
    conf = _confidence(confidence, yp)
    n = as_count(n, len(imgs))
    wrong = np.flatnonzero(yt != yp)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:n]
    if len(wrong) == 0:
        fig, axes = _tiles(1, 1, width=4.0)
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, f"No misclassified digits:\nall {len(imgs):,} predictions are correct",
                     ha="center", va="center", fontsize=12)
        return fig
    fig, axes = _tiles(len(wrong), cols or min(len(wrong), 6), extra_height=0.5, width=1.45)
    for ax, i in zip(axes, wrong):
        show_digit(ax, imgs[i], f"true {yt[i]} / pred {yp[i]}\n{conf[i]:.1%} sure", color=STYLE["wrong"],
                   fontsize=9)
    total = int(np.sum(yt != yp))
    fig.suptitle(f"{len(wrong)} of the {total:,} misclassified digits ({total / len(imgs):.1%} of {len(imgs):,}),"
                 "\nmost confident mistakes first")
    return fig


@styled
def prediction_grid(images, y_true, y_pred, n: int = 25, *, cols: int | None = None):
    """The first ``n`` digits with their predictions: correct ones framed in blue (✓), wrong ones in
    orange (✗, with the true label) (08_evaluate)."""
    imgs = as_digits(images)
    yt = as_labels(y_true, len(imgs), "y_true")
    yp = as_labels(y_pred, len(imgs), "y_pred")
    n = as_count(n, len(imgs))
    fig, axes = _tiles(n, cols, extra_height=0.45)
    for ax, image, t, p in zip(axes, imgs, yt, yp):
        ok = t == p
        show_digit(ax, image, f"pred {p} ✓" if ok else f"pred {p} ✗\ntrue {t}",
                   color=STYLE["correct"] if ok else STYLE["wrong"], fontsize=9, fontweight="bold")
    right = int(np.sum(yt[:n] == yp[:n]))
    fig.suptitle(f"{right} of {n} correct (blue ✓), {n - right} wrong (orange ✗)")
    return fig
