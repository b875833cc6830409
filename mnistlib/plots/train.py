"""Figures of training (notebook 09_train): learning curves, cross-validation fold accuracies and a
comparison of the recipes (accuracy vs training time vs size)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mnistlib.errors import MnistlibError
from mnistlib.plots._style import _figure, _target, color, styled

_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy (higher is better)"}


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
def recipe_comparison(df, ax=None):
    """Accuracy vs training seconds per recipe, marker area proportional to the parameter count, each
    point labelled (07_train). ``df``: columns model, accuracy, train_seconds, params, and optionally
    accuracy_sd (drawn as an error bar: the spread over seeds)."""
    df = _frame(df, ("model", "accuracy", "train_seconds", "params"), "recipe_comparison")
    seconds = df["train_seconds"].to_numpy(float)
    acc = df["accuracy"].to_numpy(float)
    params = df["params"].to_numpy(float)
    if np.any(seconds <= 0) or np.any(params < 0):
        raise MnistlibError("recipe_comparison: train_seconds must be > 0 and params >= 0")
    fig, ax = _target(ax, "single")
    sizes = 60 + 1400 * params / max(params.max(), 1)
    for i, (name, x, y, s, p) in enumerate(zip(df["model"].astype(str), seconds, acc, sizes, params)):
        ax.scatter([x], [y], s=s, color=color(i), alpha=0.75, edgecolor="black", linewidth=0.8, zorder=3)
        if "accuracy_sd" in df:
            ax.errorbar([x], [y], yerr=[float(df["accuracy_sd"].iloc[i])], color="black", capsize=3, zorder=4)
        ax.annotate(f"{name}\n{_human(p)} params", (x, y), xytext=(np.sqrt(s) / 2 + 4, 0),
                    textcoords="offset points", va="center", fontsize=9, fontweight="bold", color=color(i))
    if seconds.max() / seconds.min() > 20:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("training time (seconds, log scale)")
    else:
        ax.set_xlabel("training time (seconds)")
    ax.margins(x=0.3, y=0.25)
    ax.set_ylabel("accuracy")
    ax.grid(True)
    ax.set_title("Recipes: accuracy vs training time (marker area ~ parameters)")
    return fig
