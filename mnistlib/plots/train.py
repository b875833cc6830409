"""Figures of training (notebook 07_train): learning curves, cross-validation fold accuracies and a
comparison of the recipes (accuracy vs training time vs size)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mnistlib.errors import MnistlibError
from mnistlib.plots._style import _figure, _target, color, styled

_TITLES = {"loss": "Training loss (lower is better)", "accuracy": "Accuracy (higher is better)",
           "cross_entropy": "Cross-entropy, no label smoothing (lower is better)"}


def _history(name, h) -> dict[str, np.ndarray]:
    if hasattr(h, "history") and isinstance(h.history, Mapping):  # a keras.callbacks.History
        h = h.history
    if not isinstance(h, Mapping):
        raise MnistlibError(f"history {name!r} must be a dict of metric lists or a Keras History, not {type(h).__name__}")
    return {str(k): np.asarray(v, dtype=float).ravel() for k, v in h.items()}


def _histories(histories) -> dict[str, dict[str, np.ndarray]]:
    """name -> {metric: values}; a single history (dict of lists or History) becomes ``{"model": ...}``."""
    if hasattr(histories, "history") or (
        isinstance(histories, Mapping) and histories
        and all(not isinstance(v, Mapping) and not hasattr(v, "history") for v in histories.values())
    ):
        histories = {"model": histories}
    if not isinstance(histories, Mapping) or not histories:
        raise MnistlibError("learning_curves needs a dict: model name -> Keras History (or its .history dict)")
    return {str(name): _history(name, h) for name, h in histories.items()}


@styled
def learning_curves(histories, *, metrics=("loss", "accuracy"), val_label: str = "validation"):
    """Loss and accuracy per epoch, training (solid) vs validation (dashed), for one or several models on
    shared axes (07_train). ``histories``: name -> Keras History or its ``.history`` dict; ``val_label``
    names the dashed ``val_*`` curves (e.g. ``"test"`` for per-epoch test scores)."""
    hs = _histories(histories)
    metrics = [m for m in metrics if any(m in h for h in hs.values())]
    if not metrics:
        raise MnistlibError("the histories hold none of the metrics 'loss' and 'accuracy'")
    fig = _figure((5.2 * len(metrics) + 1.8, 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        for i, (name, h) in enumerate(hs.items()):
            for key, style in ((metric, "-"), (f"val_{metric}", "--")):
                if key in h and h[key].size:
                    epochs = np.arange(1, h[key].size + 1)
                    ax.plot(epochs, h[key], style, color=color(i), marker="o" if epochs.size <= 30 else None,
                            markersize=3.5, linewidth=1.8, label=f"{name} {val_label if style == '--' else 'training'}")
        ax.set_title(_TITLES.get(metric, metric))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True)
    handles = [Line2D([], [], color=color(i), linewidth=3, label=name) for i, name in enumerate(hs)]
    handles += [Line2D([], [], color="black", linestyle="-", label="training"),
                Line2D([], [], color="black", linestyle="--", label=val_label)]
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    fig.suptitle("Learning curves")
    return fig


def _frame(df, needed: tuple[str, ...], what: str):
    if not hasattr(df, "columns"):
        raise MnistlibError(f"{what} needs a pandas DataFrame with columns {', '.join(needed)}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise MnistlibError(f"{what}: the DataFrame lacks column(s) {', '.join(missing)}")
    if len(df) == 0:
        raise MnistlibError(f"{what}: the DataFrame is empty")
    return df


@styled
def cv_boxplot(df, ax=None):
    """Fold accuracies per model from k-fold cross-validation: a box per model and one dot per fold
    (07_train). ``df``: tidy DataFrame with columns model, fold, accuracy."""
    df = _frame(df, ("model", "fold", "accuracy"), "cv_boxplot")
    order = list(dict.fromkeys(df["model"].astype(str)))
    data = df.assign(model=df["model"].astype(str))
    fig, ax = _target(ax, (max(5.0, 1.6 * len(order) + 2), 4.5))
    sns.boxplot(data=data, x="model", y="accuracy", order=order, ax=ax, color="0.92", width=0.5,
                showfliers=False, linecolor="0.35")
    sns.stripplot(data=data, x="model", y="accuracy", order=order, ax=ax, color=color(0), size=7,
                  jitter=0.12, alpha=0.85, edgecolor="white", linewidth=0.8)
    stats = data.groupby("model", sort=False)["accuracy"].agg(["mean", "std"])
    ax.set_xticks(range(len(order)), [
        f"{m}\n{stats.loc[m, 'mean']:.4f}" + ("" if np.isnan(stats.loc[m, "std"]) else f" ± {stats.loc[m, 'std']:.4f}")
        for m in order
    ])
    ax.set_xlabel("")
    ax.set_ylabel("validation accuracy per fold")
    ax.grid(True, axis="y")
    ax.set_title(f"{df['fold'].nunique()}-fold cross-validation (mean ± std under each model)")
    return fig


def _human(n: float) -> str:
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


@styled
def recipe_comparison(df):
    """The recipes side by side, one row each, best accuracy on top (07_train): test accuracy (left, with the
    spread over seeds as an error bar when ``accuracy_sd`` is given) and training time (right, log scale);
    each row is labelled with the recipe and its parameters, so no label can overlap another.
    ``df``: columns model, accuracy, train_seconds, params, and optionally accuracy_sd."""
    df = _frame(df, ("model", "accuracy", "train_seconds", "params"), "recipe_comparison")
    seconds = df["train_seconds"].to_numpy(float)
    if np.any(seconds <= 0) or np.any(df["params"].to_numpy(float) < 0):
        raise MnistlibError("recipe_comparison: train_seconds must be > 0 and params >= 0")
    df = df.sort_values("accuracy").reset_index(drop=True)
    rows = np.arange(len(df))
    labels = [f"{m}  ({_human(p)} params)" for m, p in zip(df["model"].astype(str), df["params"])]
    fig = _figure((9.5, 0.42 * len(df) + 1.6))
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    acc = 100 * df["accuracy"].to_numpy(float)
    sd = 100 * df["accuracy_sd"].to_numpy(float) if "accuracy_sd" in df else None
    left.errorbar(acc, rows, xerr=sd, fmt="o", color=color(0), ecolor="black", capsize=3, markersize=7)
    for y, a in zip(rows, acc):
        left.annotate(f"{a:.2f}", (a, y), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=8)
    left.set_yticks(rows, labels)
    left.set_xlabel("test accuracy (%)" + (", mean ± sd over seeds" if sd is not None else ""))
    left.grid(True, axis="x")
    left.margins(x=0.12, y=0.08)
    secs = df["train_seconds"].to_numpy(float)
    right.barh(rows, secs, color=color(1), alpha=0.8, height=0.55)
    for y, v in zip(rows, secs):
        right.annotate(f"{v:.0f} s", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    right.set_xscale("log")
    right.set_xlim(1, secs.max() * 4)
    right.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    right.set_xlabel("training time (seconds, log scale)")
    right.grid(True, axis="x")
    fig.suptitle("Recipes: accuracy and training time")
    return fig


@styled
def learning_rate_schedules(rates, ax=None):
    """Learning rate per training step, one line per schedule (07_train). ``rates``: name -> the rate at
    each step (a sequence of floats), e.g. ``[float(schedule(s)) for s in range(steps)]``."""
    if not isinstance(rates, Mapping) or not rates:
        raise MnistlibError("learning_rate_schedules needs a dict: schedule name -> learning rate per step")
    fig, ax = _target(ax, "single")
    for i, (name, values) in enumerate(rates.items()):
        values = np.asarray(values, dtype=float).ravel()
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise MnistlibError(f"schedule {name!r}: the rates must be finite, non-negative numbers")
        ax.plot(np.arange(values.size), values, color=color(i), linewidth=2, label=str(name))
    ax.set_xlabel("training step (one batch)")
    ax.set_ylabel("learning rate")
    ax.grid(True)
    ax.legend(frameon=False)
    ax.set_title("Learning-rate schedules")
    return fig
