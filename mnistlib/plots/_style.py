"""The one place that sets the course's figure style, picks a headless backend, and saves PNGs.

Every plotting function in :mod:`mnistlib.plots` is wrapped in :func:`styled`, which applies
``STYLE["rc"]`` through :func:`matplotlib.rc_context` only while the figure is drawn: nothing
leaks into the learner's own plots. :func:`save_fig` (all notebooks) writes ``figures/NN_name.png``.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import matplotlib as mpl
import numpy as np

from mnistlib.config import profile
from mnistlib.errors import MnistlibError
from mnistlib.inputs import NUM_CLASSES, check_labels, gray_image, gray_images


def _in_ipython() -> bool:
    """True inside IPython/Jupyter (whose inline backend must be left alone)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        return ipython.get_ipython() is not None
    except Exception:  # pragma: no cover - a broken IPython install
        return False


def _headless() -> bool:
    """No display to draw on: not in Jupyter, no MPLBACKEND chosen, and no X11/Wayland display."""
    if os.environ.get("MPLBACKEND") or _in_ipython():
        return False
    if sys.platform in ("darwin", "win32"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


if _headless():
    mpl.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)

#: The course style: rc settings applied while drawing, colour maps, colours, sizes and the PNG dpi.
STYLE: dict = {
    "rc": {
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "figure.titlesize": 13,
        "figure.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "grid.alpha": 0.3,
        "image.interpolation": "nearest",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
    },
    "digit_cmap": "gray",  # MNIST as it is stored: white ink (255) on black (0)
    "map_cmap": "viridis",  # feature maps (activations)
    "filter_cmap": "RdBu_r",  # conv kernels: red positive, blue negative
    "heatmap_cmap": "Blues",  # confusion matrices
    "palette": "tab10",  # one colour per model / per data set
    "correct": "#0072B2",  # Okabe-Ito blue  (colour-blind safe pair)
    "wrong": "#D55E00",  # Okabe-Ito vermillion
    "highlight": "#D55E00",
    "muted": "#A0A0A0",
    "tile": 1.15,  # inches per digit tile in grids
    "sizes": {"single": (6.5, 4.2), "wide": (11.0, 4.2), "square": (7.0, 6.0)},
    "dpi": 150,
}

#: ``NN_name``: the number of the notebook that makes the figure, then letters, digits, ``_`` or ``-``.
_NAME = re.compile(r"^(0[1-9]|[1-9][0-9])_[A-Za-z0-9][A-Za-z0-9_-]*$")


def styled(func):
    """Run a figure function inside the course style (``STYLE["rc"]``), restoring rcParams afterwards."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE["rc"]):
            return func(*args, **kwargs)

    return wrapper


def color(i: int):
    """The ``i``-th colour of the course palette."""
    return mpl.colormaps[STYLE["palette"]](i % 10)


def _figure(size="single", **kwargs):
    """A new pyplot figure (so notebooks show it inline) with constrained layout; ``size`` a key of
    ``STYLE["sizes"]`` or ``(width, height)`` in inches."""
    figsize = STYLE["sizes"][size] if isinstance(size, str) else tuple(size)
    return plt.figure(figsize=figsize, layout="constrained", **kwargs)


def _target(ax, size="single"):
    """``(figure, axes)``: the caller's axes and its figure, or a new figure with one axes."""
    if ax is None:
        fig = _figure(size)
        return fig, fig.add_subplot()
    return ax.get_figure(root=True), ax


def _tiles(n: int, cols: int | None = None, *, extra_height: float = 0.35, width: float | None = None):
    """A figure with ``n`` digit tiles in a grid (unused cells removed) -> ``(fig, list_of_axes)``."""
    cols = max(1, min(n, cols or math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    tile = STYLE["tile"] if width is None else width
    fig = _figure((cols * tile, rows * (tile + extra_height) + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, list(axes[:n])


def value_range(arr: np.ndarray) -> tuple[float, float]:
    """Fixed display limits for an image: 0..255 for uint8, 0..1 for [0, 1] floats, else min..max."""
    if arr.dtype == np.uint8:
        return 0.0, 255.0
    if arr.dtype == bool:
        return 0.0, 1.0
    if np.issubdtype(arr.dtype, np.integer):
        return 0.0, float(max(np.iinfo(arr.dtype).max if arr.dtype.itemsize <= 2 else arr.max(), 1))
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def show_digit(ax, image, title=None, *, color=None, cmap=None, vmin=None, vmax=None, **title_kw):
    """Draw one gray image (``(H, W)`` or ``(H, W, 1)``) on ``ax`` without ticks; a coloured frame when
    ``color`` is given."""
    image = gray_image(image)
    lo, hi = value_range(image)
    im = ax.imshow(image, cmap=cmap or STYLE["digit_cmap"], vmin=lo if vmin is None else vmin,
                   vmax=hi if vmax is None else vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(color is not None)
        if color is not None:
            spine.set_color(color)
            spine.set_linewidth(2.5)
    if title is not None:
        ax.set_title(title, **({"color": color} if color is not None else {}), **title_kw)
    return im


def as_digits(images, name: str = "images") -> np.ndarray:
    """A batch of gray images as ``(N, H, W)``; accepts ``(N, H, W)`` and ``(N, H, W, 1)``
    (:func:`mnistlib.inputs.gray_images`)."""
    return gray_images(images, name=name)


def as_labels(values, n: int, name: str = "labels") -> np.ndarray:
    """Digit labels ``(n,)`` (:func:`mnistlib.inputs.check_labels`); one-hot or probability rows
    ``(n, 10)`` become their argmax."""
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == NUM_CLASSES:
        arr = arr.argmax(axis=1)
    return check_labels(arr, n, name=name)


def as_count(n, available: int, name: str = "n") -> int:
    """``n`` clipped to what is available; at least 1."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise MnistlibError(f"{name} must be a positive whole number, not {n!r}")
    return int(min(n, available))


@styled
def save_fig(fig, name: str, *, folder=None, dpi: int | None = None) -> Path:
    """Write ``folder/name.png`` (tight bounding box, ``STYLE["dpi"]`` unless ``dpi``) atomically; all notebooks.

    ``folder`` defaults to the run profile's figures folder: ``figures/`` in the full profile,
    ``build/quick/figures/`` in the quick one (so CI never overwrites the committed figures).

    ``name`` starts with the number of the notebook that makes the figure, e.g. ``"02_sample_grid"``;
    anything else raises :class:`MnistlibError` before anything is written. Returns the path.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise MnistlibError(
            f"figure name {name!r} must start with its notebook's number, like '02_sample_grid' "
            "(letters, digits, '_' or '-', no extension)"
        )
    if not hasattr(fig, "savefig"):
        raise MnistlibError(f"save_fig needs a matplotlib Figure, not {type(fig).__name__}")
    dpi = STYLE["dpi"] if dpi is None else dpi
    if not isinstance(dpi, (int, float)) or isinstance(dpi, bool) or dpi <= 0:
        raise MnistlibError(f"dpi must be a positive number, not {dpi!r}")
    if folder is None:
        folder = profile().figures_dir
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    handle, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".png.tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.1,
                        metadata={"Software": None})
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
