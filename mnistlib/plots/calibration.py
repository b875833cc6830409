"""Figures of calibrated confidence (notebook 08_evaluate): the reliability diagram before and after
temperature scaling, and what the softmax says about pictures that are not digits.

Not re-exported by :mod:`mnistlib.plots`: import from here (``from mnistlib.plots.calibration import ...``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.calibration import calibration_curve

from mnistlib.calibration import ECE_BINS, expected_calibration_error
from mnistlib.errors import MnistlibError
from mnistlib.inputs import check_outputs
from mnistlib.plots._style import STYLE, _figure, as_digits, as_labels, color, show_digit, styled


def top_label(probabilities, y_true) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct): the predicted class's probability and whether the prediction is right
    (0/1), for each row of ``probabilities`` (N, 10) (08_evaluate: what a reliability diagram bins)."""
    probs = check_outputs(np.asarray(probabilities), len(np.asarray(probabilities)), what="probabilities")
    y = as_labels(y_true, len(probs), "y_true")
    return probs.max(axis=1).astype(np.float64), (probs.argmax(axis=1) == y).astype(np.int64)


def _panels(probabilities) -> dict[str, dict[str, np.ndarray]]:
    if not isinstance(probabilities, Mapping) or not probabilities:
        raise MnistlibError("probabilities must be a non-empty dict {label: (N, 10) array} or {panel: {label: array}}")
    if all(isinstance(v, Mapping) for v in probabilities.values()):
        panels = {str(k): dict(v) for k, v in probabilities.items()}
    elif any(isinstance(v, Mapping) for v in probabilities.values()):
        raise MnistlibError("probabilities mixes arrays and dicts: give {label: array} or {panel: {label: array}}")
    else:
        panels = {"": dict(probabilities)}
    if any(not curves for curves in panels.values()):
        raise MnistlibError("every panel of the reliability diagram needs at least one set of probabilities")
    return panels


@styled
def reliability_diagram(y_true, probabilities, *, bins: int = ECE_BINS):
    """Reliability diagram (08_evaluate): for equal-width confidence bins, the accuracy of the answers in
    the bin against their mean confidence (:func:`sklearn.calibration.calibration_curve` on the top label),
    with the diagonal of perfect calibration; below, how many answers fall in each bin (log scale).

    A dot's area grows with the number of answers in its bin (bins with a handful of answers jump around).
    ``probabilities``: ``{label: (N, 10) probabilities}`` (one panel, e.g. before/after temperature
    scaling) or ``{panel title: {label: probabilities}}`` (one column per model). Each label gets the
    expected calibration error (:func:`mnistlib.calibration.expected_calibration_error`, same bins)."""
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
        raise MnistlibError(f"bins must be a whole number of at least 2, not {bins!r}")
    panels = _panels(probabilities)
    fig = _figure((0.6 + 5.0 * len(panels), 6.4))
    axes = fig.subplots(2, len(panels), squeeze=False, height_ratios=[3, 1], sharex=True)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for col, (title, curves) in enumerate(panels.items()):
        top, bottom = axes[0, col], axes[1, col]
        top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="perfect calibration")
        for k, (label, probs) in enumerate(curves.items()):
            conf, correct = top_label(probs, y_true)
            accuracy, mean_conf = calibration_curve(correct, conf, n_bins=bins, strategy="uniform", pos_label=1)
            counts = np.bincount(np.searchsorted(edges[1:-1], conf), minlength=bins)  # sklearn's binning
            counts = counts[counts > 0]
            ece = expected_calibration_error(np.asarray(probs), np.asarray(y_true), bins)
            top.plot(mean_conf, accuracy, color=color(k), linewidth=1, alpha=0.6)
            top.scatter(mean_conf, accuracy, s=12 + 110 * np.sqrt(counts / counts.max()), color=color(k),
                        edgecolor="white", linewidth=0.5, zorder=3, label=f"{label}: ECE {ece:.2%}")
            bottom.hist(conf, bins=edges, histtype="step", linewidth=1.5, color=color(k), label=label)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1.02)
        top.grid(True)
        top.set_ylabel("accuracy of the answers in the bin")
        top.legend(loc="lower right", fontsize=8, title="dot area ~ answers in the bin", title_fontsize=8)
        top.set_title(f"{title}\nabove the diagonal: under-confident, below: over-confident" if title
                      else "above the diagonal: under-confident, below: over-confident", fontsize=10)
        bottom.set_yscale("log")
        bottom.set_xlabel(f"confidence (probability of the predicted digit), {bins} bins")
        bottom.set_ylabel("answers")
        bottom.grid(True, axis="y")
    fig.suptitle("Reliability diagram: is a 90 % answer right 90 % of the time?")
    return fig


@styled
def nondigit_confidence(pictures, probabilities, digit_probabilities, *, show=None, labels=None):
    """What the softmax says about pictures that are not digits (08_evaluate). Top: the pictures at indices
    ``show`` (default: the 10 answered most confidently) of ``pictures`` (28×28 model inputs), titled with
    ``labels[i]`` (e.g. the kind of picture) when given, the digit the model answers and its confidence;
    bottom: histograms of the confidence on all the pictures and on real digits (``digit_probabilities``),
    in % of each set, with their medians."""
    imgs = as_digits(pictures)
    probs = check_outputs(np.asarray(probabilities), len(imgs), what="probabilities")
    digits = check_outputs(np.asarray(digit_probabilities), None, what="digit_probabilities")
    if len(imgs) == 0 or len(digits) == 0:
        raise MnistlibError("nondigit_confidence needs at least one picture and one digit")
    if labels is not None and len(labels) != len(imgs):
        raise MnistlibError(f"labels has {len(labels)} entries but there are {len(imgs)} pictures")
    answer, conf = probs.argmax(axis=1), probs.max(axis=1)
    show = np.argsort(-conf, kind="stable")[:10] if show is None else np.asarray(show, dtype=int).ravel()
    if len(show) == 0 or show.min() < -len(imgs) or show.max() >= len(imgs):
        raise MnistlibError(f"show must hold indices of the {len(imgs)} pictures")
    n = len(show)
    fig = _figure((max(7.5, 1.15 * n), 5.8))
    grid = fig.add_gridspec(2, n, height_ratios=[1.15, 2.2])
    for col, i in enumerate(show):
        head = f"{labels[i]}\n" if labels is not None else ""
        show_digit(fig.add_subplot(grid[0, col]), imgs[i], f"{head}says {answer[i]}, {conf[i]:.0%}", fontsize=8,
                   color=STYLE["wrong"])
    ax = fig.add_subplot(grid[1, :])
    edges = np.linspace(0.0, 1.0, 21)
    for k, (name, c) in enumerate(((f"{len(digits):,} test digits", digits.max(axis=1)),
                                   (f"{len(imgs):,} pictures that are not digits", conf))):
        ax.hist(c, bins=edges, weights=np.full(len(c), 100.0 / len(c)), histtype="stepfilled", alpha=0.45,
                color=color(k), label=name)
        ax.axvline(float(np.median(c)), color=color(k), linestyle="--", linewidth=1.2,
                   label=f"median {np.median(c):.0%}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("calibrated confidence of the answered digit")
    ax.set_ylabel("% of the set")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, axis="y")
    fig.suptitle("A softmax must pick a digit: its confidence on pictures that are not digits")
    return fig


__all__ = ["nondigit_confidence", "reliability_diagram", "top_label"]
