"""A light runtime for prediction: trained models as LiteRT files, answered without TensorFlow (notebook 09).

Importing TensorFlow takes seconds; running a 0.4-million-parameter CNN on one picture takes
milliseconds. So a trained ``X.keras`` is also *exported* to ``X.tflite`` beside it, a LiteRT
(formerly TensorFlow Lite) flat buffer holding the inference graph and the weights, and
:class:`LightModel` runs that file with the small ``ai-edge-litert`` interpreter (NumPy in,
NumPy out). ``mnistlib predict`` uses it whenever the exported file is there, so a cold
``mnistlib predict one.png`` never imports TensorFlow.

* :func:`export_model` writes the file (atomically: a temporary file beside the target, checked
  against the Keras model on probe images, then renamed). It is the only function here that
  needs TensorFlow, and imports it when called, not when this module is imported.
  :func:`mnistlib.saving.save_model` calls it after every training; ``mnistlib export MODEL.keras``
  does it by hand.
* :class:`LightModel` loads an exported file; ``predict`` / ``predict_on_batch`` take a batch of
  ``float32 (N, 28, 28, 1)`` images and return ``(N, 10)`` probabilities, like a Keras model.
* :func:`exported_path` names the file beside a model (``X.keras`` -> ``X.tflite``) and
  :func:`light_model_path` says whether a ``.keras`` has an up-to-date export to use instead.

The exported probabilities match the Keras model's to about 1e-6 (tests/test_runtime.py checks
all 10,000 test images within 1e-5).
"""

from __future__ import annotations

import os
import re
import threading
import zipfile
from pathlib import Path

import numpy as np

from mnistlib.errors import MnistlibError
from mnistlib.inputs import INPUT_DTYPE, INPUT_SHAPE, NUM_CLASSES, check_images

#: The suffix of exported (LiteRT) model files.
EXPORT_SUFFIX = ".tflite"
#: Images sent to the interpreter per call by :meth:`LightModel.predict` (bounds its memory).
BATCH_SIZE = 256
#: An export older than its ``.keras`` by more than this many seconds is stale (not used).
STALE_AFTER = 1.0
#: Largest difference allowed between the exported file's and the Keras model's outputs on the
#: probe images :func:`export_model` checks before keeping a file.
EXPORT_TOLERANCE = 1e-4


class RuntimeModelError(MnistlibError):
    """An exported model file is missing, corrupt, or not a digit classifier."""


class ExportError(MnistlibError):
    """A model could not be exported (no exported file was written)."""


def exported_path(path: str | os.PathLike) -> Path:
    """The exported file beside model file ``path``: ``X.keras`` -> ``X.tflite``."""
    return Path(path).with_suffix(EXPORT_SUFFIX)


def light_model_path(path: str | os.PathLike) -> Path | None:
    """The LiteRT file to run for model file ``path``, or ``None`` when only Keras can run it.

    ``path`` itself when it is a ``.tflite`` file; for ``X.keras``, ``X.tflite`` beside it when it
    exists and is not older than ``X.keras`` (by more than :data:`STALE_AFTER` s: a ``.keras``
    replaced without exporting again is not answered by its old export)."""
    path = Path(path)
    if path.suffix == EXPORT_SUFFIX:
        return path
    if path.suffix != ".keras":
        return None
    light = exported_path(path)
    try:
        if light.stat().st_mtime + STALE_AFTER < path.stat().st_mtime:
            return None
    except OSError:  # no export (or no model): Keras, which reports a missing model clearly
        return None
    return light


def _silenced_stderr():
    # The interpreter prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." straight to file
    # descriptor 2 the first time; the CLI keeps stderr for one-line errors.
    from mnistlib.config import _stderr_silenced

    return _stderr_silenced()


class LightModel:
    """A model exported by :func:`export_model`, run by the LiteRT interpreter (no TensorFlow).

    Quacks like the Keras model for prediction: :meth:`predict` / :meth:`predict_on_batch` and
    :attr:`output_shape` ``(None, 10)`` (so :func:`mnistlib.inputs.check_model` accepts it).
    Safe to share between threads (one call at a time runs the interpreter)."""

    input_shape = (None, *INPUT_SHAPE)

    def __init__(self, path: str | os.PathLike, *, num_threads: int | None = None, outputs: int = NUM_CLASSES):
        """``outputs``: values per image the model must give (10 for a digit classifier; 1 for the
        "not a digit" detector of :mod:`mnistlib.rejection`)."""
        self.path = Path(path)
        self.output_shape = (None, outputs)
        if not self.path.is_file():
            raise RuntimeModelError(f"exported model file not found: {self.path}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise RuntimeModelError("the LiteRT runtime is not installed: pip install ai-edge-litert "
                                    "(a dependency of mnistlib)") from None
        try:
            with _silenced_stderr():
                self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = " ".join(str(exc).split())[:200]
            raise RuntimeModelError(f"not a LiteRT model file (corrupt or wrong format): {self.path} "
                                    f"({first})") from None
        inputs = self._interpreter.get_input_details()
        output_details = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(output_details) != 1:
            raise RuntimeModelError(f"{self.path}: a digit classifier has one input and one output, this model "
                                    f"has {len(inputs)} and {len(output_details)}")
        self._input, self._output = inputs[0], output_details[0]
        per_image = tuple(int(d) for d in self._input["shape_signature"][1:])
        if per_image != INPUT_SHAPE or self._input["dtype"] != INPUT_DTYPE:
            raise RuntimeModelError(f"{self.path}: takes {np.dtype(self._input['dtype']).name} images of shape "
                                    f"{per_image}, not float32 {INPUT_SHAPE}")
        if int(self._output["shape_signature"][-1]) != outputs:
            what = "a digit classifier" if outputs == NUM_CLASSES else "this model"
            raise RuntimeModelError(f"{self.path}: outputs {int(self._output['shape_signature'][-1])} values per "
                                    f"image; {what} must output {outputs}"
                                    + (" (one per digit)" if outputs == NUM_CLASSES else ""))
        self._batch = int(self._input["shape"][0])
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LightModel({str(self.path)!r})"

    def _run(self, batch: np.ndarray) -> np.ndarray:
        index = self._input["index"]
        if len(batch) != self._batch:  # the interpreter's input has a fixed batch: resize it when it changes
            self._interpreter.resize_tensor_input(index, batch.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(batch)
        self._interpreter.set_tensor(index, batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])  # a copy

    def predict(self, images, batch_size: int | None = None, verbose=0) -> np.ndarray:
        """Scores ``float32 (N, outputs)`` (for a classifier the softmax probabilities of the course's models) for a batch of
        images ``(N, 28, 28, 1)`` or ``(N, 28, 28)`` in [0, 1], ``batch_size`` (default :data:`BATCH_SIZE`)
        per interpreter call. ``verbose`` is accepted for Keras compatibility and ignored."""
        x = np.ascontiguousarray(check_images(images))
        size = max(1, int(batch_size or BATCH_SIZE))
        with self._lock:
            parts = [self._run(x[start: start + size]) for start in range(0, len(x), size)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def predict_on_batch(self, images) -> np.ndarray:
        """:meth:`predict` (the name :mod:`mnistlib.predict` calls, as on a Keras model)."""
        return self.predict(images)

    __call__ = predict_on_batch


def _probe_images() -> np.ndarray:
    """Images to compare the export with its Keras model on: noise, blank, full, and stroke-like blobs."""
    rng = np.random.default_rng(0)
    noise = rng.random((4, *INPUT_SHAPE), dtype=np.float32)
    blank = np.zeros((1, *INPUT_SHAPE), np.float32)
    full = np.ones((1, *INPUT_SHAPE), np.float32)
    sparse = (rng.random((2, *INPUT_SHAPE)) > 0.8).astype(np.float32)
    return np.concatenate([noise, blank, full, sparse])


def _converter_reason(exc: Exception) -> str:
    """The gist of a converter error, in one line (its message holds pages of MLIR)."""
    text = str(exc)
    unsupported = re.search(r"TF Select ops: ([^\n]+)", text)
    if unsupported:
        return (f"it uses TensorFlow operations that LiteRT's built-in operations lack "
                f"({unsupported.group(1).strip()[:200]})")
    return " ".join(text.split())[:300] or type(exc).__name__


def export_model(model, out: str | os.PathLike | None = None, outputs: int = NUM_CLASSES) -> Path:
    """Export a Keras model (or the ``.keras`` file at path ``model``) to a LiteRT file; returns its path.

    ``out`` defaults to :func:`exported_path` of the model file (``X.keras`` -> ``X.tflite`` beside it);
    it is required when ``model`` is a model object, and must end in ``.tflite``. Only the built-in
    LiteRT operations are allowed (no TensorFlow "select" ops, which the light runtime lacks). The file
    is written to a temporary name beside ``out``, loaded by :class:`LightModel` and compared with the
    Keras model on probe images (``outputs`` values per image: 10 for a digit classifier, 1 for the
    "not a digit" detector), and only then renamed to ``out``: on any failure nothing is left
    behind and :class:`ExportError` (:class:`~mnistlib.saving.ModelFileError` for a ``.keras`` that
    Keras cannot load) says why in one line. Imports TensorFlow (when called, not when this module is imported).
    """
    from_file = isinstance(model, (str, os.PathLike))
    if out is None and not from_file:
        raise ExportError("export_model(model, out): say where to write the exported file (out=...)")
    out = exported_path(model) if out is None else Path(out)
    if out.suffix != EXPORT_SUFFIX:
        raise ExportError(f"exported model files end in {EXPORT_SUFFIX}: {out}")
    if out.is_dir():
        raise ExportError(f"cannot export to {out}: it is a folder")
    if from_file and not Path(model).is_file():  # said before the seconds TensorFlow takes to import
        raise ExportError(f"model file not found: {model}")
    if from_file and not zipfile.is_zipfile(model):
        raise ExportError(f"not a Keras model file (corrupt or wrong format): {model}")
    # Deliberately lazy: importing mnistlib.runtime must not import TensorFlow (tests/test_imports.py).
    from mnistlib import saving
    from mnistlib.config import tf

    if from_file:
        what = str(model)
        keras_model = saving.load_model(model)  # ModelFileError naming the file when it is missing/corrupt
    else:
        keras_model, what = model, f"model {getattr(model, 'name', type(model).__name__)!r}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = saving._temporary_beside(out, EXPORT_SUFFIX)
    except OSError as exc:
        raise ExportError(f"cannot write an exported model in {out.parent} ({exc.strerror or exc})") from None
    try:
        builtins_only = {"supported_ops": [tf().lite.OpsSet.TFLITE_BUILTINS]}
        try:
            with _silenced_stderr():  # the converter prints its MLIR diagnostics straight to stderr
                keras_model.export(str(tmp), format="litert", verbose=False, target_spec=builtins_only)
        except Exception as exc:  # noqa: BLE001 - the converter raises many kinds
            raise ExportError(f"cannot export {what} to LiteRT: {_converter_reason(exc)}") from None
        probe = _probe_images()
        expected = np.asarray(keras_model(probe, training=False), np.float32)
        got = LightModel(tmp, outputs=outputs).predict(probe)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=0, atol=EXPORT_TOLERANCE):
            worst = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("nan")
            raise ExportError(f"the export of {what} does not reproduce the Keras model (largest difference "
                              f"{worst:.2g} > {EXPORT_TOLERANCE:g}); nothing written")
        os.replace(tmp, out)
    except RuntimeModelError as exc:
        raise ExportError(f"the export of {what} cannot be run by the light runtime: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


__all__ = ["BATCH_SIZE", "EXPORT_SUFFIX", "ExportError", "LightModel", "RuntimeModelError", "export_model",
           "exported_path", "light_model_path"]
