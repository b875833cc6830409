"""Ask a trained model about your own digit pictures (notebook 09_predict).

:func:`predict_image` takes a path, bytes, PIL image or array; :func:`predict_images` does many
files in batches (one model call per batch) and returns per-file errors instead of raising, so
``mnistlib predict`` can report a bad file and go on. Pictures are prepared by
:func:`mnistlib.imageprep.to_mnist`; a blank picture (no ink) is reported as blank, not guessed.
Inputs and outputs are checked against the input contract (:mod:`mnistlib.inputs`).

The default model is ``models/cnn.keras`` in the project folder (:func:`mnistlib.config.project_root`),
loaded once per process: the folder named by ``MNISTLIB_HOME`` when it is set, else the source
checkout this package runs from (the committed model), else the current folder. A package installed
with ``pip install .`` has no checkout, so there: pass ``--model PATH`` (``model=`` in Python), set
``MNISTLIB_HOME`` to a checkout that has ``models/``, or train one with ``mnistlib train --model cnn``
(it saves ``models/cnn.keras`` in the project folder). A missing default model is one clear error
saying where it looked.

A model path ``X.keras`` is answered by its LiteRT export ``X.tflite`` when one sits beside it
(written by :func:`mnistlib.saving.save_model` and ``mnistlib export``; not older than ``X.keras``):
that runs on the light runtime (:mod:`mnistlib.runtime`) and never imports TensorFlow. Without an
export, or for a Keras model object, Keras runs it. Importing this module never imports TensorFlow;
loading a ``.keras`` model does.

Answers are not always digits. The probabilities are calibrated with the temperature in the model's
card (``X.json``, ``calibration.temperature``; 1 when the card has none, :mod:`mnistlib.calibration`),
and :func:`mnistlib.rejection.decide` turns them into an answer: ``reason="not a digit"`` when the
"not a digit" detector (``models/nondigit.tflite`` in the project folder, run by the light runtime;
skipped when it is missing) says so, ``"unsure"`` when the calibrated confidence is below
``min_confidence`` (default: the detector card's, :data:`mnistlib.rejection.MIN_CONFIDENCE`), and
``digit`` set otherwise.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import weakref
from collections.abc import Iterable, Iterator
from itertools import islice, repeat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlib import config
from mnistlib.calibration import apply_temperature, card_temperature
from mnistlib.errors import MnistlibError
from mnistlib.imageprep import Prepared, to_mnist
from mnistlib.inputs import check_images, check_model, check_outputs
from mnistlib.rejection import DETECTOR_NAME, MIN_CONFIDENCE, NONDIGIT_THRESHOLD, Rule, decide
from mnistlib.runtime import EXPORT_SUFFIX, LightModel, exported_path, light_model_path

#: Images sent to the model per call by :func:`predict_images`.
BATCH_SIZE = 256
#: From this many pictures on, :func:`predict_images` prepares them in one process per CPU, handing
#: each worker PARALLEL_CHUNK at a time.
PARALLEL_FROM = 32
PARALLEL_CHUNK = 8

_MODELS: dict[str, object] = {}  # resolved model path -> model loaded from it
_DETECTORS: dict[str, tuple] = {}  # detector path -> (detector or None, card)
_TEMPERATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> temperature of its card


@dataclass
class Prediction:
    """One picture's answer: ``digit`` is ``None`` when the picture is ``blank``, could not be read
    (``error`` then holds a one-line message naming the file), or is answered with a ``reason``
    (``"not a digit"`` or ``"unsure"``, see :func:`mnistlib.rejection.decide`). ``confidence`` and
    ``probabilities`` are calibrated; ``nondigit`` is the detector's probability of "not a digit"."""

    source: str
    digit: int | None
    confidence: float | None
    probabilities: np.ndarray | None  # float32 (NUM_CLASSES,), None when blank or on error
    prepared: Prepared | None = None
    error: str | None = None
    reason: str | None = None
    nondigit: float | None = None

    @property
    def blank(self) -> bool:
        return self.prepared is not None and self.prepared.blank

    def as_dict(self) -> dict:
        """A JSON-ready dict: source (as ``path``), digit, reason, confidence, probabilities, blank, error."""
        out = {
            "path": self.source,
            "digit": self.digit,
            "reason": "blank" if self.blank else self.reason,
            "confidence": None if self.confidence is None else round(float(self.confidence), 6),
            "probabilities": None if self.probabilities is None else [round(float(p), 6) for p in self.probabilities],
            "blank": self.blank,
        }
        if self.error:
            out["error"] = self.error
        return out


def default_model_path() -> Path:
    """``cnn.keras`` in :data:`mnistlib.config.MODELS_DIR`: ``models/`` of the project folder."""
    return Path(config.MODELS_DIR) / "cnn.keras"


def _where_models_are() -> str:
    """How the project folder holding the default model was chosen, for the missing-model message."""
    if os.environ.get(config.HOME_ENV, "").strip():
        return f"the project folder is {config.HOME_ENV}"
    if config.source_checkout() is not None and Path(config.ROOT) == config.source_checkout():
        return "the project folder is the source checkout"
    return (f"the project folder is the current folder, as {config.HOME_ENV} is not set and mnistlib is "
            "installed without its source checkout")


def check_model_path(path: str | os.PathLike | None) -> Path:
    """The model file to use (``path`` or the default); a clear one-line :class:`MnistlibError` if it is missing."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise MnistlibError(f"no model file at {p}")
        return p
    p = default_model_path()
    if not p.is_file():
        raise MnistlibError(
            f"no model at {p} (the default model; {_where_models_are()}). Fix: pass --model PATH, "
            f"set {config.HOME_ENV} to a checkout of mnistlib that has models/, "
            "or train one with `mnistlib train --model cnn`"
        )
    return p


def get_model(model=None):
    """A model to predict with: ``model`` itself if it is a model object (Keras), else loaded (once per
    process) from the path ``model`` or from :func:`default_model_path`. For ``X.keras`` with an
    up-to-date export ``X.tflite`` beside it, and for a ``.tflite`` path, that is a
    :class:`mnistlib.runtime.LightModel` (no TensorFlow); for a ``.keras`` without one, the Keras model.
    Its declared output is checked (:func:`~mnistlib.inputs.check_model`)."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return check_model(model)
    path = check_model_path(model)
    light = light_model_path(path)
    key = str((light or path).resolve())
    if key not in _MODELS:
        try:
            temperature = card_temperature(_card(path.with_suffix(".json")))
        except ValueError as exc:
            raise MnistlibError(f"{path.with_suffix('.json')}: {exc}") from None
        _MODELS[key] = check_model(_load(light or path), what=f"the model in {light or path}")
        set_temperature(_MODELS[key], temperature)
    return _MODELS[key]


def set_temperature(model, temperature: float) -> None:
    """Make predictions with the model object ``model`` use ``temperature`` (:mod:`mnistlib.calibration`).
    Models loaded here from a path get their card's; ``training.load_or_train`` sets it for the Keras
    models of notebooks 08 and 09; any other model object is used with T = 1."""
    if not (isinstance(temperature, (int, float)) and np.isfinite(temperature) and temperature > 0):
        raise MnistlibError(f"temperature must be a positive number, not {temperature!r}")
    _TEMPERATURES[model] = float(temperature)


def temperature_of(model) -> float:
    """The temperature predictions with ``model`` use: the one set by :func:`set_temperature`, else 1."""
    return _TEMPERATURES.get(model, 1.0)


def _card(path: Path) -> dict | None:
    """A JSON model card, or ``None`` when there is none (read without TensorFlow)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def get_detector():
    """``(detector, card)`` of the "not a digit" detector (:mod:`mnistlib.rejection`), run by the light
    runtime from ``nondigit.tflite`` in :data:`mnistlib.config.MODELS_DIR`; ``(None, {})`` when it is missing."""
    light = exported_path(Path(config.MODELS_DIR) / DETECTOR_NAME)
    key = str(light)
    if key not in _DETECTORS:
        detector = LightModel(light, outputs=1) if light.is_file() else None
        _DETECTORS[key] = (detector, _card(light.with_suffix(".json")) or {})
    return _DETECTORS[key]


def answer_rule(min_confidence: float | None = None) -> Rule:
    """The :class:`~mnistlib.rejection.Rule` to answer with: the detector card's thresholds, or
    ``min_confidence`` when given (``--min-confidence``); a value outside [0, 1] is a one-line error."""
    card = get_detector()[1]
    try:
        return Rule(nondigit_threshold=float(card.get("threshold", NONDIGIT_THRESHOLD)),
                    min_confidence=float(card.get("min_confidence", MIN_CONFIDENCE)
                                         if min_confidence is None else min_confidence))
    except (TypeError, ValueError) as exc:
        raise MnistlibError(str(exc)) from None


def _load(path: Path):
    if path.suffix == EXPORT_SUFFIX:
        return LightModel(path)
    # Deliberately lazy: mnistlib.saving imports TensorFlow, and importing this module must not
    # (tests/test_imports.py).
    from mnistlib.saving import load_model

    return load_model(path)


def _name(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    return getattr(src, "filename", "") or type(src).__name__


def _predict_batch(model, images: np.ndarray) -> np.ndarray:
    batch = check_images(images, name="prepared pictures")
    probs = check_outputs(model.predict_on_batch(batch), len(batch))
    temperature = temperature_of(model)
    return probs if temperature == 1.0 else apply_temperature(probs, temperature).astype(np.float32)


def _nondigit(images: np.ndarray) -> np.ndarray | None:
    """The detector's probability of "not a digit" per prepared image, or ``None`` without a detector."""
    detector = get_detector()[0]
    return None if detector is None else detector.predict(check_images(images)).reshape(-1)


def classify(images, model=None) -> np.ndarray:
    """Probabilities ``float32 (N, 10)`` for prepared MNIST-style images ``(N, 28, 28)``, in one model
    call; ``model`` as in :func:`get_model`. Used by :func:`mnistlib.reading.read_number` (all the
    digits of a row at once)."""
    return _predict_batch(get_model(model), images)


def _finish(source: str, prepared: Prepared, probs: np.ndarray | None, nondigit: float | None = None,
            rule: Rule | None = None) -> Prediction:
    if probs is None:
        return Prediction(source, None, None, None, prepared)
    digit, reason = decide(probs, nondigit, rule or answer_rule())
    return Prediction(source, digit, float(np.max(probs)), probs, prepared, reason=reason,
                      nondigit=None if nondigit is None else float(nondigit))


def predict_image(src, model=None, min_confidence: float | None = None) -> Prediction:
    """Prepare one picture and classify it. ``model``: a Keras model, a path, or ``None`` for the
    default; ``min_confidence``: see :func:`answer_rule`. Raises :class:`MnistlibError` when the
    picture cannot be read. Used by notebook 09."""
    rule = answer_rule(min_confidence)
    prepared = to_mnist(src)
    if prepared.blank:
        return _finish(_name(src), prepared, None)
    batch = prepared.image[np.newaxis]
    probs = _predict_batch(get_model(model), batch)[0]
    nondigit = _nondigit(batch)
    return _finish(_name(src), prepared, probs, None if nondigit is None else nondigit[0], rule)


def _prepare(src, keep_steps: bool = False) -> Prepared | str:
    """:func:`~mnistlib.imageprep.to_mnist`, or the one-line error message when ``src`` cannot be read."""
    try:
        return to_mnist(src, keep_steps=keep_steps)
    except MnistlibError as exc:
        return str(exc)
    except Exception as exc:  # an image library failure we did not foresee: still one line
        return f"{_name(src)}: cannot read ({' '.join(str(exc).split()) or type(exc).__name__})"


def _workers(wanted: int | None, pictures: int) -> int:
    """Processes to prepare ``pictures`` with: ``wanted``, or (``None``) one per CPU this process may use
    when there are at least :data:`PARALLEL_FROM` pictures. Always 1 once TensorFlow is loaded in this
    process (a forked copy of TensorFlow's threads is not safe) and on platforms without ``fork``."""
    if wanted is not None and (isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1):
        raise MnistlibError(f"workers must be a positive integer, not {wanted!r}")
    if "tensorflow" in sys.modules or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if wanted is None:
        wanted = len(os.sched_getaffinity(0)) if pictures >= PARALLEL_FROM else 1
    return max(1, min(wanted, pictures))


def iter_predictions(srcs: Iterable, model=None, batch_size: int = BATCH_SIZE,
                     keep_steps: bool = False, min_confidence: float | None = None,
                     workers: int | None = None) -> Iterator[Prediction]:
    """Like :func:`predict_images` but yields results batch by batch, in input order (the CLI
    streams them). The model is loaded only after the first batch of pictures is prepared."""
    srcs = list(srcs)
    if batch_size < 1:
        raise MnistlibError("batch_size must be at least 1")
    rule = answer_rule(min_confidence)
    workers = _workers(workers, len(srcs))
    pool = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        # every picture is handed to the pool at once, so the workers go on preparing while the model answers
        preparing = (map(_prepare, srcs, repeat(keep_steps)) if pool is None else
                     pool.map(_prepare, srcs, repeat(keep_steps), chunksize=PARALLEL_CHUNK))
        for start in range(0, len(srcs), batch_size):
            chunk = srcs[start: start + batch_size]
            prepared = list(islice(preparing, len(chunk)))
            inked = [i for i, p in enumerate(prepared) if isinstance(p, Prepared) and not p.blank]
            probs, nondigit = {}, {}
            if inked:
                batch = np.stack([prepared[i].image for i in inked])
                probs = dict(zip(inked, _predict_batch(get_model(model), batch)))
                scores = _nondigit(batch)
                nondigit = {} if scores is None else dict(zip(inked, scores))
            for i, (src, p) in enumerate(zip(chunk, prepared)):
                if isinstance(p, str):
                    message = p if _name(src) in p else f"{_name(src)}: {p}"
                    yield Prediction(_name(src), None, None, None, None, error=message)
                else:
                    yield _finish(_name(src), p, probs.get(i), nondigit.get(i), rule)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def predict_images(srcs: Iterable, model=None, batch_size: int = BATCH_SIZE,
                   keep_steps: bool = False, min_confidence: float | None = None,
                   workers: int | None = None) -> list[Prediction]:
    """Classify many pictures, ``batch_size`` per model call; ``workers`` processes prepare them (default:
    one per CPU from :data:`PARALLEL_FROM` pictures on, see :func:`_workers`). A picture that cannot be read
    gives a :class:`Prediction` with ``error`` set (nothing is raised for it). Used by notebook 09 and the CLI."""
    return list(iter_predictions(srcs, model, batch_size, keep_steps, min_confidence, workers))
