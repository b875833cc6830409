"""Interactive controls (ipywidgets) for the training and evaluation notebooks (07_train, 08_evaluate).

* :class:`ExperimentPanel` (notebook 07_train): pick a recipe, turn epochs, learning rate, batch
  size, augmentation strength and training-set size, press **Run** and watch the learning curve
  redraw after every epoch; every finished run becomes a row of a comparison table and a line of
  ``experiments.jsonl`` (:func:`experiments_path`), so runs survive a kernel restart.
  Validation is always the same stratified part of the *training* images; the test set is never used.
* :class:`MistakesExplorer` (notebook 08_evaluate): a confidence threshold over the mistakes gallery.

Both work without a browser: their Python methods (``panel.run(...)``, ``explorer.set_threshold(...)``)
do what the controls do and return, so *Run All* and nbval never wait for a human. Figures are drawn
into PNG bytes shown by ``ipywidgets.Image`` widgets (no pyplot figure is left open, nothing is
fetched from a CDN).
"""

from __future__ import annotations

import io
import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnistlib import config
from mnistlib.augment import DEFAULTS as AUGMENT_DEFAULTS
from mnistlib.errors import MnistlibError
from mnistlib.inputs import check_labels, check_outputs
from mnistlib.plots._style import STYLE, color
from mnistlib.preprocess import SUBSET_SEED, prepare_images, stratified_subset

#: Where :class:`ExperimentPanel` keeps its runs, inside the project folder: one file per profile.
EXPERIMENTS_FILE = "experiments.jsonl"

#: The settings a run takes, in the order the table shows them.
SETTINGS = ("recipe", "epochs", "learning_rate", "batch_size", "augment", "train_size")

#: The first run's settings: a small, fast model on 2,000 digits for 2 epochs (a few seconds on a CPU).
DEFAULT_RUN = {"recipe": "cnn_fast", "epochs": 2, "train_size": 2000, "augment": 0.0}

BATCH_SIZES = (16, 32, 64, 128, 256, 512)
TABLE_ROWS = 10  # runs shown in the widget's table (the newest); :attr:`ExperimentPanel.runs` has all
#: Short headers of the widget's table (the columns of :attr:`ExperimentPanel.runs` it shows).
TABLE_HEADERS = {"learning_rate": "learning rate", "batch_size": "batch", "augment": "augment ×",
                 "train_size": "images", "epochs_run": "epochs run", "val_accuracy": "val accuracy",
                 "val_loss": "val loss"}
_TABLE_CSS = ("<style>table.mnistlib-runs {border-collapse: collapse; font-size: 12px}"
              " table.mnistlib-runs th, table.mnistlib-runs td {padding: 2px 7px; text-align: right}"
              " table.mnistlib-runs tbody tr:nth-child(odd) {background: #f3f3f3}"
              " table.mnistlib-runs tbody tr:last-child {font-weight: bold}</style>")
MAX_EPOCHS = 50
MAX_AUGMENT = 3.0


def experiments_path(prof: config.Profile | None = None) -> Path:
    """``<project>/build/<profile>/experiments.jsonl``: the run log of :class:`ExperimentPanel`.

    ``build/quick`` is the quick profile's output folder; the full profile's runs go to
    ``build/full`` (``build/`` is not committed: a learner's experiments are their own). The
    project folder is read when called (``MNISTLIB_HOME`` if set, :func:`mnistlib.config.project_root`)."""
    prof = prof or config.profile()
    return config.project_root() / "build" / prof.name / EXPERIMENTS_FILE


def archive_log(prof: config.Profile | None = None) -> Path | None:
    """Move the run log aside to ``experiments-<UTC time>.jsonl`` beside it, so the panel starts a fresh table;
    returns the new path (``None`` when there is no log). ``make run`` calls it before executing the notebooks,
    so that their committed outputs do not depend on earlier runs; nothing is deleted."""
    log = experiments_path(prof)
    if not log.is_file():
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = log.with_name(f"{log.stem}-{stamp}{log.suffix}")
    n = 1
    while target.exists():
        target, n = log.with_name(f"{log.stem}-{stamp}-{n}{log.suffix}"), n + 1
    log.rename(target)
    return target


def augment_settings(recipe, strength: float) -> dict | None:
    """The augmentation of ``recipe`` scaled by ``strength``: ``0`` = no augmentation layers, ``1`` = the
    recipe's own strengths (:data:`mnistlib.augment.DEFAULTS` for a recipe without augmentation), ``2`` = twice as strong."""
    if strength == 0:
        return None
    base = {**AUGMENT_DEFAULTS, **(recipe.augment or {})}
    return {k: float(v) * float(strength) for k, v in base.items()}


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.1, metadata={"Software": None})
    return buffer.getvalue()


def _curve_png(history: Mapping[str, list], epochs: int, title: str, previous: Mapping | None = None) -> bytes:
    """Loss and accuracy per epoch (training solid, validation dashed) as PNG bytes, with the previous
    run's validation curve in grey (``previous``: its row). Drawn on a ``matplotlib.figure.Figure`` (not
    pyplot) because it is drawn from the training thread."""
    import matplotlib as mpl

    with mpl.rc_context(STYLE["rc"]):
        fig = Figure(figsize=(9.0, 3.3), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, metric, label in zip(axes, ("loss", "accuracy"), ("Loss (lower is better)",
                                                                 "Accuracy (higher is better)")):
            for key, style, name in ((metric, "-", "training"), (f"val_{metric}", "--", "validation")):
                values = history.get(key, [])
                if values:
                    ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=4,
                            color=color(0 if style == "-" else 1), linewidth=1.8, label=name)
            old = (previous or {}).get("history", {}).get(f"val_{metric}", [])
            if old:
                ax.plot(np.arange(1, len(old) + 1), old, ":", marker="o", markersize=3, color=STYLE["muted"],
                        linewidth=1.5, zorder=1, label=f"run {previous['run']} validation ({previous['recipe']})")
            last = max(epochs, len(old), 1)
            ax.set_xlim(0.7, last + 0.3)
            ax.set_xticks(range(1, last + 1, max(1, math.ceil(last / 10))))
            ax.set_title(label)
            ax.set_xlabel("epoch")
            ax.grid(True)
            if ax.lines:
                ax.legend(loc="best", frameon=False)
        fig.suptitle(title)
        return _png(fig)


def _message_png(text: str, size=(6.0, 1.4)) -> bytes:
    import matplotlib as mpl

    with mpl.rc_context(STYLE["rc"]):
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12)
        return _png(fig)


def _img_tag(png: bytes) -> str:
    import base64

    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}"/>' if png else ""


def _bundle(widget, text: str, html: str) -> dict:
    """``widget``'s mime bundle (JupyterLab draws the live widget) with a readable ``text/plain`` and a static
    ``text/html`` snapshot (what a notebook viewer without a kernel, e.g. nbconvert's HTML, shows)."""
    bundle = dict(widget._repr_mimebundle_() or {})
    bundle.update({"text/plain": text, "text/html": html})
    return bundle


class _StopOnFlag:
    """Keras callback (built lazily: importing this module must not import TensorFlow) that sets
    ``model.stop_training = True`` after the batches under way (at most
    :data:`mnistlib.optim.STEPS_PER_EXECUTION`) once ``flag`` (a ``threading.Event``) is set."""

    def __new__(cls, flag: threading.Event):
        keras = config.keras()

        class StopOnFlag(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.stopped = False

            def on_train_batch_end(self, batch, logs=None):
                if flag.is_set():
                    self.model.stop_training = True
                    self.stopped = True

        return StopOnFlag()


def _on_epoch_callback(on_epoch_end):
    keras = config.keras()

    class LiveCurve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch_end(epoch + 1, dict(logs or {}))

    return LiveCurve()


class ExperimentPanel:
    """Experiment controls for notebook 07_train: one recipe, a few knobs, Run / Stop, a live learning
    curve and a table of every run.

    ``recipes``: names (or :class:`~mnistlib.recipes.Recipe` objects) offered in the dropdown (default:
    every recipe of :data:`mnistlib.recipes.RECIPES`). ``data``: the training images, as a
    :class:`~mnistlib.preprocess.RunData` (default: :func:`mnistlib.preprocess.run_data`), an object with
    ``x_train``/``y_train`` or a tuple ``(x, y)``; only training images are used. A fixed stratified
    ``val_size`` of them (default: one sixth, at most 5,000) is the validation set of every run; the
    training subset of each run (``train_size``) is a stratified sample of the rest. ``path``: the run
    log (default :func:`experiments_path`); its runs are loaded into the table on construction.
    ``autorun=True`` runs :data:`DEFAULT_RUN` at once, so *Run All* shows a curve and a row.

    Python API (what the buttons call): :meth:`run` trains synchronously and returns the new row;
    :meth:`start` trains in a background thread (the **Run** button: the kernel stays free, so a
    **Stop** click is processed while Keras trains); :meth:`stop` asks the running training to stop
    after the batches under way (at most :data:`~mnistlib.optim.STEPS_PER_EXECUTION`; a Keras callback sets
    ``model.stop_training``; Keras then finishes that epoch's validation, and the row says ``stopped``);
    :meth:`wait` joins the thread; :attr:`runs` is the table; :meth:`clear` empties it and the run log. Bad
    settings raise :class:`~mnistlib.errors.MnistlibError` before anything trains or is written.
    """

    def __init__(self, recipes: Iterable | None = None, data=None, *, path=None, seed: int = config.DEFAULT_SEED,
                 val_size: int | None = None, autorun: bool = False):
        from mnistlib.recipes import RECIPES, get_recipe  # imports Keras: only when a panel is made

        self._recipes = {r.name: r for r in (get_recipe(r) for r in (recipes if recipes is not None else RECIPES))}
        if not self._recipes:
            raise MnistlibError("ExperimentPanel needs at least one recipe")
        self.seed = int(seed)
        self.path = Path(path) if path is not None else experiments_path()
        self._x, self._y = self._training_images(data)
        n_val = int(val_size) if val_size is not None else min(5000, len(self._y) // 6)
        val = stratified_subset(self._y, n_val, SUBSET_SEED)
        if len(val) >= len(self._y):
            raise MnistlibError(f"val_size {n_val} leaves no training images out of {len(self._y):,}")
        rest = np.setdiff1d(np.arange(len(self._y)), val)
        self._val, self._rest = val, rest
        self.max_train_size = len(rest)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rows: list[dict] = []
        self.history: dict[str, list[float]] = {}
        self.error: str | None = None
        self.bad_log_lines = 0
        self._build_widgets()
        self._load()
        self._show_table()
        if autorun:
            self.run(**DEFAULT_RUN if DEFAULT_RUN["recipe"] in self._recipes else {})

    # ----------------------------------------------------------------- data and widgets
    @staticmethod
    def _training_images(data):
        if data is None:
            from mnistlib.preprocess import run_data

            data = run_data()
        if isinstance(data, tuple) and len(data) == 2:
            x, y = data
        elif hasattr(data, "x_train") and hasattr(data, "y_train"):
            x, y = data.x_train, data.y_train
        else:
            raise MnistlibError("data must be run data (mnistlib.preprocess.run_data()) or a tuple (x_train, y_train)")
        x = prepare_images(x) if np.asarray(x).dtype == np.uint8 else np.asarray(x, dtype=np.float32)
        x = x if x.ndim == 4 else x[..., np.newaxis]
        y = check_labels(y, len(x), name="training labels")
        if len(y) < 200:
            raise MnistlibError(f"ExperimentPanel needs at least 200 training images, not {len(y)}")
        return x, y

    def _build_widgets(self) -> None:
        style = {"description_width": "150px"}
        wide = widgets.Layout(width="460px")
        names = list(self._recipes)
        first = DEFAULT_RUN["recipe"] if DEFAULT_RUN["recipe"] in names else names[0]
        low = min(1000, self.max_train_size)
        self.w_recipe = widgets.Dropdown(options=names, value=first, description="recipe", style=style, layout=wide)
        self.w_epochs = widgets.IntSlider(value=2, min=1, max=20, description="epochs", style=style, layout=wide)
        self.w_lr = widgets.FloatLogSlider(value=1e-3, base=10, min=-4, max=-1, step=0.1, readout_format=".1e",
                                           description="learning rate", style=style, layout=wide)
        self.w_batch = widgets.SelectionSlider(options=list(BATCH_SIZES), value=128, description="batch size",
                                               style=style, layout=wide)
        self.w_augment = widgets.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.25, readout_format=".2f",
                                             description="augmentation ×", style=style, layout=wide)
        self.w_train_size = widgets.IntSlider(value=min(DEFAULT_RUN["train_size"], self.max_train_size), min=low,
                                              max=min(20_000, self.max_train_size), step=min(500, low),
                                              description="training images", style=style, layout=wide)
        self.w_run = widgets.Button(description="Run", button_style="success", icon="play")
        self.w_stop = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.w_clear = widgets.Button(description="Clear table", icon="trash")
        self.status = "ready"
        self.w_status = widgets.HTML(value=self._status_text(self.status))
        self.w_curve = widgets.Image(format="png", value=_message_png("The learning curve appears here during a run."),
                                     layout=widgets.Layout(max_width="900px"))
        self.w_table = widgets.HTML()
        self.w_recipe.observe(self._recipe_changed, names="value")
        self._recipe_changed({"new": first})
        self.w_run.on_click(lambda _: self._clicked_run())
        self.w_stop.on_click(lambda _: self.stop())
        self.w_clear.on_click(lambda _: self.clear())
        controls = widgets.VBox([self.w_recipe, self.w_epochs, self.w_lr, self.w_batch, self.w_augment,
                                 self.w_train_size])
        note = widgets.HTML(f"<small>validation: the same {len(self._val):,} training images for every run "
                            f"(never the test set); {self.max_train_size:,} others to train on</small>")
        self.widget = widgets.VBox([
            controls, note, widgets.HBox([self.w_run, self.w_stop, self.w_clear]), self.w_status, self.w_curve,
            widgets.HTML("<b>Runs</b> (newest last)"), self.w_table,
        ])
        self.widget.add_class("mnistlib-experiment-panel")

    def recipe_defaults(self, name: str) -> dict:
        """The settings a recipe starts from: its learning rate, batch size (the nearest offered) and
        augmentation (1 = its own, 0 = none), and at most 3 of its epochs (runs here are short)."""
        rec = self._recipes[name]
        return {"recipe": name, "epochs": min(rec.epochs, 3), "learning_rate": rec.learning_rate,
                "batch_size": min(BATCH_SIZES, key=lambda b: abs(b - rec.batch_size)),
                "augment": 1.0 if rec.augment is not None else 0.0}

    def _recipe_changed(self, change) -> None:
        """A new recipe chosen: put its own settings in the controls (the training-set size stays)."""
        d = self.recipe_defaults(change["new"])
        self.w_lr.value, self.w_batch.value = d["learning_rate"], d["batch_size"]
        self.w_augment.value, self.w_epochs.value = d["augment"], d["epochs"]

    @staticmethod
    def _status_text(text: str, error: bool = False) -> str:
        from html import escape

        colour = STYLE["wrong"] if error else "inherit"
        return f'<span class="mnistlib-status" style="color:{colour}">{escape(text)}</span>'

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status = text
        self.w_status.value = self._status_text(text, error)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget, plus a static snapshot (status, curve, table) for viewers without a kernel."""
        text = f"ExperimentPanel: {len(self._rows)} run(s) in {self.path.name}; {self.status}"
        html = (f"<div>{self.w_status.value}</div>{_img_tag(self.w_curve.value)}{self.w_table.value}")
        return _bundle(self.widget, text, html)

    # ----------------------------------------------------------------- settings
    @property
    def settings(self) -> dict:
        """The settings the controls show now."""
        return {"recipe": self.w_recipe.value, "epochs": int(self.w_epochs.value),
                "learning_rate": float(f"{self.w_lr.value:.2g}"),  # as the readout shows it: the slider snaps
                "batch_size": int(self.w_batch.value),                 # 5e-3 to 10**-2.3 = 5.012e-3
                "augment": float(self.w_augment.value), "train_size": int(self.w_train_size.value)}

    def check_settings(self, **changes) -> dict:
        """The controls' settings with ``changes`` applied, checked; raises MnistlibError naming the bad one.
        A ``recipe`` other than the one shown starts from :meth:`recipe_defaults` (as choosing it in the dropdown does)."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise MnistlibError(f"unknown setting(s) {', '.join(unknown)}; the settings are: {', '.join(SETTINGS)}")
        if "recipe" in changes and changes["recipe"] not in self._recipes:
            raise MnistlibError(f"unknown recipe {changes['recipe']!r}; choose one of: {', '.join(self._recipes)}")
        s = self.settings
        if changes.get("recipe", s["recipe"]) != s["recipe"]:
            s.update(self.recipe_defaults(changes["recipe"]))
        s.update(changes)

        def whole(name, low, high):
            v = s[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= v <= high:
                raise MnistlibError(f"{name} must be a whole number from {low:,} to {high:,}, not {v!r}")
            s[name] = int(v)

        whole("epochs", 1, MAX_EPOCHS)
        whole("batch_size", 1, 4096)
        whole("train_size", 10, self.max_train_size)
        for name, low, high in (("learning_rate", 0.0, 1.0), ("augment", 0.0, MAX_AUGMENT)):
            v = s[name]
            ok = isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or not (low < v <= high if name == "learning_rate" else low <= v <= high):
                rule = "greater than 0 and at most 1" if name == "learning_rate" else f"from 0 to {MAX_AUGMENT:g}"
                raise MnistlibError(f"{name} must be a number {rule}, not {v!r}")
            s[name] = float(v)
        return s

    def _show_settings(self, s: dict) -> None:
        """Put ``s`` in the controls (recipe first: choosing it resets the others to its defaults)."""
        self.w_recipe.value = s["recipe"]
        self.w_epochs.max = max(self.w_epochs.max, s["epochs"])
        self.w_epochs.value = s["epochs"]
        self.w_lr.value = s["learning_rate"]
        if s["batch_size"] in BATCH_SIZES:
            self.w_batch.value = s["batch_size"]
        self.w_augment.max = max(self.w_augment.max, s["augment"])
        self.w_augment.value = s["augment"]
        self.w_train_size.min = min(self.w_train_size.min, s["train_size"])
        self.w_train_size.value = s["train_size"]

    # ----------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        """True while a run trains in the background thread."""
        return self._thread is not None and self._thread.is_alive()

    def run(self, **settings) -> dict:
        """Train one run now (synchronously) with the controls' settings changed by ``settings``
        (``recipe``, ``epochs``, ``learning_rate``, ``batch_size``, ``augment``, ``train_size``);
        returns the new row of :attr:`runs` (also appended to the run log)."""
        s = self.check_settings(**settings)
        if not self._lock.acquire(blocking=False):
            raise MnistlibError("a run is already going: wait for it or press Stop")
        try:
            self._show_settings(s)
            return self._train(s)
        finally:
            self._lock.release()

    def start(self, **settings) -> threading.Thread:
        """Start :meth:`run` in a background thread (the Run button) and return the thread; its error,
        if any, goes to the status line and :attr:`error`."""
        s = self.check_settings(**settings)
        if not self._lock.acquire(blocking=False):
            raise MnistlibError("a run is already going: wait for it or press Stop")
        self._show_settings(s)

        def work():
            try:
                self._train(s)
            except Exception as exc:  # noqa: BLE001 - shown to the learner, not lost in a thread
                self.error = _one_line(exc)
                self._set_status(f"run failed: {self.error}", error=True)
            finally:
                self._lock.release()
                self.w_run.disabled, self.w_stop.disabled = False, True

        self._thread = threading.Thread(target=work, name="mnistlib-experiment", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background run (if any) to finish."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        """Ask the current run to stop after the batches under way (the Stop button)."""
        self._stop.set()
        if self._lock.locked():
            self._set_status("stopping after the batches under way ...")

    def _clicked_run(self) -> None:
        try:
            self.start()
        except MnistlibError as exc:
            self._set_status(str(exc), error=True)

    def _train(self, s: dict) -> dict:
        from mnistlib.recipes import get_recipe
        from mnistlib.training import train_recipe

        self._stop.clear()
        self.error = None
        self.w_run.disabled, self.w_stop.disabled = True, False
        rec = self._recipes[s["recipe"]]
        rec = get_recipe(rec).replace(learning_rate=s["learning_rate"], augment=augment_settings(rec, s["augment"]))
        rest = self._rest
        index = rest[stratified_subset(self._y[rest], s["train_size"], SUBSET_SEED)]
        number = (max((r["run"] for r in self._rows), default=0)) + 1
        title = f"run {number}: {rec.name}, {s['train_size']:,} images, lr {s['learning_rate']:.1e}"
        self.history = {}
        started = time.perf_counter()

        def on_epoch(epoch, logs):
            for key, value in logs.items():
                self.history.setdefault(key, []).append(float(value))
            self.w_curve.value = _curve_png(self.history, s["epochs"], title, previous)
            self._set_status(f"run {number}: epoch {epoch}/{s['epochs']}, validation accuracy "
                             f"{logs.get('val_accuracy', float('nan')):.2%}, {time.perf_counter() - started:.1f} s")

        self._set_status(f"run {number}: training {rec.name} on {len(index):,} images ...")
        previous = self._rows[-1] if self._rows else None
        self.w_curve.value = _curve_png({}, s["epochs"], title, previous)
        stopper = _StopOnFlag(self._stop)
        try:
            config.new_model_session(self.seed)
            result = train_recipe(rec, self._x[index], self._y[index], epochs=s["epochs"],
                                  batch_size=s["batch_size"], seed=self.seed,
                                  validation_data=(self._x[self._val], self._y[self._val]),
                                  callbacks=[stopper, _on_epoch_callback(on_epoch)], verbose=0)
        finally:
            self.w_run.disabled, self.w_stop.disabled = False, True
        row = {"run": number, **s, "epochs_run": len(result.epoch_seconds),
               "val_accuracy": round(result.history["val_accuracy"][-1], 5),
               "val_loss": round(result.history["val_loss"][-1], 5),
               "seconds": round(result.seconds, 2), "stopped": bool(stopper.stopped), "seed": self.seed,
               "val_images": len(self._val), "profile": config.profile().name,
               "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "history": {k: [round(v, 5) for v in vals] for k, vals in result.history.items()}}
        self._append(row)
        self._rows.append(row)
        self._show_table()
        self._set_status(f"run {number} {'stopped after' if row['stopped'] else 'finished:'} "
                         f"{row['epochs_run']} epoch(s), validation accuracy {row['val_accuracy']:.2%}, "
                         f"{row['seconds']:.1f} s of training")
        return {k: v for k, v in row.items() if k != "history"}

    # ----------------------------------------------------------------- the table and its file
    def _append(self, row: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")

    def _load(self) -> None:
        self._rows, self.bad_log_lines = [], 0
        if not self.path.is_file():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("run"), int):
                    raise ValueError
            except ValueError:
                self.bad_log_lines += 1  # a half-written line (a killed kernel): skip it
                continue
            self._rows.append(row)

    @property
    def runs(self) -> pd.DataFrame:
        """One row per finished run (oldest first): settings, epochs run, validation accuracy and loss, seconds."""
        columns = ["run", *SETTINGS, "epochs_run", "val_accuracy", "val_loss", "seconds", "stopped"]
        return pd.DataFrame([{c: r.get(c) for c in columns} for r in self._rows], columns=columns)

    def _show_table(self) -> None:
        table = self.runs
        if table.empty:
            self.w_table.value = "<i>no runs yet: press Run</i>"
            return
        hidden = max(0, len(table) - TABLE_ROWS)
        table = table.tail(TABLE_ROWS)
        shown = table.assign(
            learning_rate=table["learning_rate"].map("{:.1e}".format),
            val_accuracy=table["val_accuracy"].map("{:.2%}".format),
            val_loss=table["val_loss"].map("{:.4f}".format),
            seconds=table["seconds"].map("{:.1f}".format),
            stopped=table["stopped"].map({True: "yes", False: ""}),
        ).rename(columns=TABLE_HEADERS)
        note = f"<div><small>the last {TABLE_ROWS} of {hidden + TABLE_ROWS} runs (panel.runs has all)</small></div>"
        self.w_table.value = (_TABLE_CSS + shown.to_html(index=False, classes="mnistlib-runs", border=0)
                              + (note if hidden else ""))

    def clear(self) -> None:
        """Forget every run: empty the table and delete the run log."""
        if self._lock.locked():
            raise MnistlibError("cannot clear the table while a run is going")
        self.path.unlink(missing_ok=True)
        self._rows = []
        self._show_table()
        self._set_status("table cleared")


class MistakesExplorer:
    """A confidence threshold over the mistakes gallery (notebook 08_evaluate).

    The slider sets ``t``; the gallery (:func:`mnistlib.plots.misclassified_gallery`) shows only the
    mistakes made with confidence ``>= t``, most confident first, and a line counts them: "N mistakes
    with confidence >= t out of M". Why ``>=``: the confident mistakes are the dangerous ones (the model
    is sure and wrong; nothing downstream would doubt it). Moving ``t`` up shows how fast they thin out,
    and the same line says how many of all answers are that confident and how accurate those are: the
    trade-off of answering only when sure and passing the rest to a person.

    ``images``: the digits (for display), ``labels``: true labels, ``probs``: the model's ``(N, 10)``
    probabilities. :meth:`set_threshold` does what the slider does; :attr:`count`, :attr:`total_mistakes`,
    :attr:`answered` and :attr:`summary` are the state shown.
    """

    def __init__(self, images, labels, probs, *, threshold: float = 0.9, n: int = 24):
        images = np.asarray(images)
        self.labels = check_labels(labels, len(images), name="labels")
        probs = check_outputs(probs, len(images), what="probs")
        self.images = images
        self.predictions = probs.argmax(axis=1)
        self.confidence = probs.max(axis=1).astype(float)
        self.n = int(n)
        self.total_mistakes = int(np.sum(self.predictions != self.labels))
        self.slider = widgets.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.01, readout_format=".2f",
                                          description="confidence ≥", continuous_update=False,
                                          style={"description_width": "110px"}, layout=widgets.Layout(width="480px"))
        self.w_summary = widgets.HTML()
        self.w_gallery = widgets.Image(format="png")
        self.widget = widgets.VBox([self.slider, self.w_summary, self.w_gallery])
        self.widget.add_class("mnistlib-mistakes-explorer")
        self.slider.observe(lambda change: self._redraw(change["new"]), names="value")
        self.set_threshold(threshold)

    def set_threshold(self, t: float) -> int:
        """Show the mistakes with confidence ``>= t`` (0 <= t <= 1); returns their number."""
        if isinstance(t, bool) or not isinstance(t, (int, float, np.number)) or not 0.0 <= t <= 1.0:
            raise MnistlibError(f"the confidence threshold must be a number from 0 to 1, not {t!r}")
        t = float(t)
        if t != self.slider.value:
            self.slider.max = max(self.slider.max, t)
            self.slider.value = t  # the observer redraws
        else:
            self._redraw(t)
        return self.count

    def _redraw(self, t: float) -> None:
        import matplotlib.pyplot as plt

        from mnistlib.plots import misclassified_gallery

        self.threshold = float(t)
        sure = self.confidence >= self.threshold
        wrong = sure & (self.predictions != self.labels)
        self.count = int(np.sum(wrong))
        self.answered = int(np.sum(sure))
        accuracy = 1.0 - self.count / self.answered if self.answered else float("nan")
        self.summary = (f"{self.count:,} mistakes with confidence ≥ {self.threshold:.2f} out of "
                        f"{self.total_mistakes:,}; {self.answered:,} of {len(self.labels):,} answers are that sure"
                        + (f", and {accuracy:.2%} of them are right" if self.answered else ""))
        self.w_summary.value = f'<span class="mnistlib-summary">{self.summary}</span>'
        if self.count == 0:
            self.w_gallery.value = _message_png(f"no mistakes with confidence ≥ {self.threshold:.2f}")
            return
        index = np.flatnonzero(sure)
        fig = misclassified_gallery(self.images[index], self.labels[index], self.predictions[index],
                                    self.confidence[index], n=self.n)
        try:
            self.w_gallery.value = _png(fig)
        finally:
            plt.close(fig)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget, plus a static snapshot (summary line and gallery) for viewers without a kernel."""
        return _bundle(self.widget, self.summary, f"<div>{self.summary}</div>{_img_tag(self.w_gallery.value)}")


__all__ = ["DEFAULT_RUN", "EXPERIMENTS_FILE", "ExperimentPanel", "MistakesExplorer", "augment_settings",
           "experiments_path"]
