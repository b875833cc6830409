"""Ask a trained model about your own digit pictures (notebook 07_predict).

:func:`predict_image` takes a path, bytes, PIL image or array; :func:`predict_images` does many
files in batches (one model call per batch) and returns per-file errors instead of raising, so
``mnistlib predict`` can report a bad file and go on. Pictures are prepared by
:func:`mnistlib.imageprep.to_mnist`; a blank picture (no ink) is reported as blank, not guessed.
The default model is the committed ``models/cnn.keras``, loaded once per process.
TensorFlow is imported only when a model is first needed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.imageprep import Prepared, to_mnist

#: Images sent to the model per call by :func:`predict_images`.
BATCH_SIZE = 256

_MODELS: dict[str, object] = {}


@dataclass
class Prediction:
    """One picture's answer: ``digit`` is ``None`` when the picture is ``blank`` or could not be read
    (``error`` then holds a one-line message naming the file)."""

    source: str
    digit: int | None
    confidence: float | None
    probabilities: np.ndarray | None  # float32 (10,), None when blank or on error
    prepared: Prepared | None = None
    error: str | None = None

    @property
    def blank(self) -> bool:
        return self.prepared is not None and self.prepared.blank

    def as_dict(self) -> dict:
        """A JSON-ready dict: source (as ``path``), digit, confidence, probabilities, blank, error."""
        out = {
            "path": self.source,
            "digit": self.digit,
            "confidence": None if self.confidence is None else round(float(self.confidence), 6),
            "probabilities": None if self.probabilities is None else [round(float(p), 6) for p in self.probabilities],
            "blank": self.blank,
        }
        if self.error:
            out["error"] = self.error
        return out


def default_model_path() -> Path:
    """``models/cnn.keras`` under :data:`mnistlib.config.MODELS_DIR` (the committed robust CNN)."""
    from mnistlib.config import MODELS_DIR

    return Path(MODELS_DIR) / "cnn.keras"


def check_model_path(path: str | os.PathLike | None) -> Path:
    """The model file to use (``path`` or the default); a clear :class:`MnistlibError` if it is missing."""
    p = Path(path) if path is not None else default_model_path()
    if not p.is_file():
        hint = "" if path is not None else " (train it first: see notebook 05 / `mnistlib train`)"
        raise MnistlibError(f"no model file at {p}{hint}")
    return p


def get_model(model=None):
    """A Keras model: ``model`` itself if it is one, else loaded (once per process) from the path
    ``model`` or from :func:`default_model_path`."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model
    path = check_model_path(model)
    key = str(path.resolve())
    if key not in _MODELS:
        _MODELS[key] = _load(path)
    return _MODELS[key]


def _load(path: Path):
    from mnistlib.models import load_model  # imports TensorFlow: only when a model is needed

    return load_model(path)


def _name(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    return getattr(src, "filename", "") or type(src).__name__


def _predict_batch(model, images: np.ndarray) -> np.ndarray:
    probs = np.asarray(model.predict_on_batch(images[..., np.newaxis].astype(np.float32)), dtype=np.float32)
    if probs.ndim != 2 or probs.shape[1] != 10:
        raise MnistlibError(f"the model must output 10 probabilities per image, not shape {probs.shape[1:]}")
    return probs


def _finish(source: str, prepared: Prepared, probs: np.ndarray | None) -> Prediction:
    if probs is None:
        return Prediction(source, None, None, None, prepared)
    digit = int(np.argmax(probs))
    return Prediction(source, digit, float(probs[digit]), probs, prepared)


def predict_image(src, model=None) -> Prediction:
    """Prepare one picture and classify it. ``model``: a Keras model, a path, or ``None`` for the
    default. Raises :class:`MnistlibError` when the picture cannot be read. Used by notebook 07."""
    prepared = to_mnist(src)
    if prepared.blank:
        return _finish(_name(src), prepared, None)
    probs = _predict_batch(get_model(model), prepared.image[np.newaxis])[0]
    return _finish(_name(src), prepared, probs)


def iter_predictions(srcs: Iterable, model=None, batch_size: int = BATCH_SIZE,
                     keep_steps: bool = False) -> Iterator[Prediction]:
    """Like :func:`predict_images` but yields results batch by batch, in input order (the CLI
    streams them). The model is loaded only after the first batch of pictures is prepared."""
    srcs = list(srcs)
    if batch_size < 1:
        raise MnistlibError("batch_size must be at least 1")
    for start in range(0, len(srcs), batch_size):
        chunk = srcs[start: start + batch_size]
        prepared: list[Prepared | str] = []
        for src in chunk:
            try:
                prepared.append(to_mnist(src, keep_steps=keep_steps))
            except MnistlibError as exc:
                prepared.append(str(exc))
            except Exception as exc:  # an image library failure we did not foresee: still one line
                prepared.append(f"{_name(src)}: cannot read ({' '.join(str(exc).split()) or type(exc).__name__})")
        inked = [i for i, p in enumerate(prepared) if isinstance(p, Prepared) and not p.blank]
        probs = {}
        if inked:
            batch = np.stack([prepared[i].image for i in inked])
            probs = dict(zip(inked, _predict_batch(get_model(model), batch)))
        for i, (src, p) in enumerate(zip(chunk, prepared)):
            if isinstance(p, str):
                message = p if _name(src) in p else f"{_name(src)}: {p}"
                yield Prediction(_name(src), None, None, None, None, error=message)
            else:
                yield _finish(_name(src), p, probs.get(i))


def predict_images(srcs: Iterable, model=None, batch_size: int = BATCH_SIZE,
                   keep_steps: bool = False) -> list[Prediction]:
    """Classify many pictures, ``batch_size`` per model call. A picture that cannot be read gives a
    :class:`Prediction` with ``error`` set (nothing is raised for it). Used by notebook 07 and the CLI."""
    return list(iter_predictions(srcs, model, batch_size, keep_steps))
