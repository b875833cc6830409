"""Saving and loading trained models with their model cards (notebooks 07 to 09, ``mnistlib train``).

:func:`save_model` writes ``X.keras`` plus a JSON card ``X.json`` (recipe, seed, epochs, test
accuracy, training seconds, library versions, date), both atomically: a crash never leaves a
half-written model; it also exports ``X.tflite`` beside them (:func:`mnistlib.runtime.export_model`),
the file ``mnistlib predict`` runs without importing TensorFlow. :func:`check_output_path` is
called *before* training, so a model that cannot be saved is known before minutes of training,
not after. :func:`load_model` and :func:`load_card` read them back with one-line errors.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path

import numpy
import sklearn

import mnistlib.augment  # noqa: F401  (registers the custom augmentation layers before any model is loaded)
import mnistlib.optim  # noqa: F401  (registers OneCycle and the smoothed loss)
from mnistlib import __version__
from mnistlib.config import MODELS_DIR, Profile, profile
from mnistlib.config import keras as _keras
from mnistlib.config import tf as _tf
from mnistlib.errors import MnistlibError
from mnistlib.optim import compile_model, make_optimizer
from mnistlib.runtime import ExportError, export_model, exported_path

keras = _keras()

#: The suffix every model file has.
SUFFIX = ".keras"


class ModelFileError(MnistlibError):
    """A model file is missing, unreadable, not a Keras model, or cannot be written."""


def card_path(path: str | os.PathLike) -> Path:
    """The JSON card beside model file ``path`` (``X.keras`` -> ``X.json``)."""
    return Path(path).with_suffix(".json")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model card records."""
    return {"python": platform.python_version(), "mnistlib": __version__, "tensorflow": _tf().__version__,
            "keras": keras.__version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__}


def check_output_path(path: str | os.PathLike) -> Path:
    """Make sure a model can be saved at ``path`` (a ``.keras`` file in a writable folder, created if
    needed) by writing and removing a probe file there; returns the path or raises :class:`ModelFileError`."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ModelFileError(f"model files end in {SUFFIX}: {path}")
    if path.is_dir():
        raise ModelFileError(f"cannot save a model as {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=f".{path.stem}.", suffix=".probe", dir=path.parent):
            pass
    except OSError as exc:
        raise ModelFileError(f"cannot save a model in {path.parent} ({exc.strerror or exc})") from None
    return path


def _temporary_beside(path: Path, suffix: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual permissions
    return Path(tmp)


def _jsonable(value):
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)


def save_model(model, path: str | os.PathLike, card: dict | None = None, export: bool = True) -> Path:
    """Save ``model`` to ``path`` (``.keras``) and its JSON card beside it, both atomically (notebook 07).

    With ``export`` (the default) the model is then also exported to ``X.tflite`` beside them
    (:func:`mnistlib.runtime.export_model`, atomic too), for the light runtime of ``mnistlib predict``.
    If that export fails, the ``.keras`` and its card are saved all the same, an out-of-date
    ``X.tflite`` is removed (so predictions never come from the previous model), and
    :class:`~mnistlib.runtime.ExportError` says so and how to retry (``mnistlib export X.keras``).

    The card gets ``recipe``/``seed``/``epochs``/``test_accuracy``/``train_seconds`` from
    ``card`` (missing ones are null) plus ``params``, ``library_versions``, ``date`` and
    ``file``. The optimizer state is not kept (the file is for prediction; it stays small);
    :func:`load_model` compiles the model again for evaluation. Returns the model path.
    """
    path = check_output_path(path)
    info = {"recipe": None, "seed": None, "epochs": None, "test_accuracy": None, "train_seconds": None}
    info.update(card or {})
    info.update({
        "params": int(model.count_params()),
        "library_versions": library_versions(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "file": path.name,
    })
    # An uncompiled copy (no optimizer state): same weights, a third of the size.
    slim = type(model).from_config(model.get_config())
    slim.set_weights(model.get_weights())
    tmp_model = _temporary_beside(path, SUFFIX)
    tmp_card = _temporary_beside(card_path(path), ".json")
    try:
        slim.save(tmp_model)
        tmp_card.write_text(json.dumps(info, indent=2, default=_jsonable) + "\n")
        os.replace(tmp_model, path)
        os.replace(tmp_card, card_path(path))
    finally:
        for tmp in (tmp_model, tmp_card):
            tmp.unlink(missing_ok=True)
    if export:
        _export_beside(slim, path)
    return path


def _export_beside(model, path: Path) -> None:
    """Export ``model`` (just saved at ``path``) to ``X.tflite``; on failure remove a stale one and say so."""
    light = exported_path(path)
    try:
        export_model(model, light)
    except Exception as exc:  # noqa: BLE001 - the model is saved; only its export failed
        if not light.is_dir():
            light.unlink(missing_ok=True)  # the previous model's export must not answer for this one
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ExportError(f"saved {path} and {card_path(path).name}, but could not export {light.name} ({reason}); "
                          f"predictions will use Keras until `mnistlib export {path}` succeeds") from None


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` model saved by :func:`save_model`, compiled for evaluation (notebooks 08, 09).

    A missing, unreadable or corrupt file -> :class:`ModelFileError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"not a Keras model file (corrupt or wrong format): {path}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a bad file
        first = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"cannot load model file {path}: {first or type(exc).__name__}") from None
    if not isinstance(getattr(model, "output_shape", None), tuple):
        raise ModelFileError(f"{path}: a digit classifier has one output, this model has {len(model.outputs)}")
    try:
        return compile_model(model, make_optimizer("adam", 1e-3))  # ready for model.evaluate()
    except MnistlibError as exc:
        raise ModelFileError(f"{path}: {exc}") from None


def load_card(path: str | os.PathLike) -> dict:
    """The JSON card of the model at ``path`` (``X.keras`` -> ``X.json``; a ``.json`` path is read directly)."""
    card = Path(path) if str(path).endswith(".json") else card_path(path)
    try:
        return json.loads(card.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"model card not found: {card}") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read model card {card}: {exc}") from None



def saved_model_path(name: str, prof: Profile | None = None) -> Path | None:
    """Where the saved model ``name`` is: ``<name>.keras`` in the profile's models folder first, then in
    ``models/``; ``None`` when neither has it (``training.load_or_train``, ``evaluation.model_card``)."""
    prof = prof or profile()
    for folder in dict.fromkeys((prof.models_dir, MODELS_DIR)):
        path = folder / f"{name}.keras"
        if path.is_file():
            return path
    return None

__all__ = ["ModelFileError", "card_path", "check_output_path", "library_versions", "load_card", "load_model",
           "save_model", "saved_model_path"]
