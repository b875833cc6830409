"""One switch for seeds and run size, and quiet TensorFlow (used by every notebook).

* :func:`set_seed` seeds Python, NumPy and Keras/TensorFlow and turns on op determinism,
  so the same seed gives the same numbers.
* :func:`profile` reads ``MNISTLIB_QUICK``: ``1`` selects the quick profile (a small
  stratified subset, few epochs; for CI and smoke runs), unset or ``0`` the full one.
* :func:`keras` / :func:`tf` import Keras and TensorFlow once, without their start-up
  log lines (nbval compares stderr, and learners should not read C++ logs). TensorFlow's oneDNN
  kernels are turned on before it is imported; imported after TensorFlow, this module warns when
  TensorFlow says they are off.
* :func:`project_root` says where ``figures/`` and ``models/`` are: ``MNISTLIB_HOME`` when
  set, else the source checkout this package runs from, else the current folder (an installed
  package has no checkout). :data:`ROOT`, :data:`FIGURES_DIR` and :data:`MODELS_DIR` are fixed
  from it when this module is first imported.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlib.errors import MnistlibError

#: The seed used everywhere unless a caller passes another one.
DEFAULT_SEED = 42

#: The environment variable naming the project folder (a checkout with ``models/``, or any folder).
HOME_ENV = "MNISTLIB_HOME"


def source_checkout() -> Path | None:
    """The source checkout this package is imported from (the folder holding ``pyproject.toml`` and
    ``notebooks/`` beside the package), or ``None`` for an installed copy (e.g. in site-packages)."""
    folder = Path(__file__).resolve().parent.parent
    return folder if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir() else None


def project_root() -> Path:
    """The project folder: ``$MNISTLIB_HOME`` if set, else the source checkout, else the current folder."""
    env = os.environ.get(HOME_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return source_checkout() or Path.cwd().resolve()


#: The project folder (where ``figures/``, ``models/`` and ``notebooks/`` live): :func:`project_root`.
ROOT = project_root()
FIGURES_DIR = ROOT / "figures"
MODELS_DIR = ROOT / "models"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is ever imported
# TensorFlow uses oneDNN's kernels by default only on CPUs with AVX-512 VNNI, bfloat16 or AMX; on other x86 CPUs (an
# AVX2-only AMD EPYC, say) it falls back to generic kernels that train the CNNs 1.3-2 x slower. Turned on here for every
# CPU (TF_ENABLE_ONEDNN_OPTS=0 turns them off); where TensorFlow turns them on itself, nothing changes.
if "tensorflow" in sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in os.environ:  # too late to turn them on
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own answer: are its oneDNN kernels on?

    if not _pywrap_util_port.IsMklEnabled():
        warnings.warn("TensorFlow was imported before mnistlib, too late to turn on its oneDNN kernels on this CPU: "
                      "training is slower and its numbers differ from the course's. Import mnistlib first, or set "
                      "TF_ENABLE_ONEDNN_OPTS=1 before TensorFlow.", RuntimeWarning, stacklevel=2)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


@dataclass(frozen=True)
class Profile:
    """How big a run is: the full course, or the quick smoke run used by CI."""

    name: str
    quick: bool
    train_size: int | None  # training images used (None = all 60,000)
    test_size: int | None  # test images used (None = all 10,000)
    max_epochs: int | None  # cap on any recipe's epochs (None = the recipe's own)
    folds: int  # k for k-fold cross-validation in the notebooks

    @property
    def figures_dir(self) -> Path:
        """Where this profile's figures go: ``figures/`` (full) or ``build/quick/figures`` (quick, not committed)."""
        return FIGURES_DIR if not self.quick else ROOT / "build" / self.name / "figures"

    @property
    def models_dir(self) -> Path:
        """Where this profile's trained models go: ``models/`` (full) or ``build/quick/models`` (quick)."""
        return MODELS_DIR if not self.quick else ROOT / "build" / self.name / "models"

    def epochs(self, full: int) -> int:
        """The number of epochs to run for a recipe that wants ``full`` epochs."""
        return full if self.max_epochs is None else max(1, min(full, self.max_epochs))


FULL = Profile("full", quick=False, train_size=None, test_size=None, max_epochs=None, folds=5)
QUICK = Profile("quick", quick=True, train_size=3000, test_size=1000, max_epochs=2, folds=3)


def profile() -> Profile:
    """The run profile selected by ``MNISTLIB_QUICK`` (``1``/``true``/``yes`` = quick)."""
    value = os.environ.get("MNISTLIB_QUICK", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return FULL
    if value in ("1", "true", "yes", "on"):
        return QUICK
    raise MnistlibError(f"MNISTLIB_QUICK must be 1 or 0, not {value!r}")


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null (C++ code writes there directly)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tf():
    """TensorFlow, imported once and without its start-up log lines (lazily: ``import mnistlib`` stays light)."""
    if "tensorflow" not in sys.modules:
        with _stderr_silenced():
            import tensorflow  # noqa: F401
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
        sys.modules["tensorflow"].get_logger().setLevel("ERROR")
    return sys.modules["tensorflow"]


def keras():
    """Keras 3 (on the TensorFlow backend), imported quietly."""
    tf()
    import keras as _keras

    return _keras


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy, Keras and TensorFlow, and make TensorFlow ops deterministic.

    Call it (after ``keras.backend.clear_session()``) before building each model; returns the seed.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    keras().utils.set_random_seed(seed)
    tf().config.experimental.enable_op_determinism()
    return seed


def new_model_session(seed: int = DEFAULT_SEED) -> int:
    """``keras.backend.clear_session()`` then :func:`set_seed`: the line before every model in the notebooks."""
    keras().backend.clear_session()
    return set_seed(seed)


#: ``float32``: train every recipe in float32, even where the CPU computes bfloat16 natively (then the same
#: seed gives the same numbers as on a CPU without it); ``bfloat16``: train the recipes that ask for it in
#: mixed precision even where it is emulated (slower; e.g. to try it on a GPU). Unset: :func:`native_bfloat16` decides.
PRECISION_ENV = "MNISTLIB_PRECISION"
#: The precisions a recipe may ask for (:attr:`mnistlib.recipes.Recipe.precision`).
PRECISIONS = ("float32", "bfloat16")
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def native_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX or AVX512-BF16, read from ``/proc/cpuinfo``) and
    oneDNN may use it (``ONEDNN_MAX_CPU_ISA`` unset, ``ALL``, or naming a bfloat16/AMX/AVX10 level).
    ``cpuinfo``: the text to read instead of ``/proc/cpuinfo`` (tests)."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").strip().upper()
    if not (isa in ("", "ALL") or "BF16" in isa or "AMX" in isa or isa.startswith("AVX10")):
        return False
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return any(flag in flags for flag in _BF16_FLAGS)


def compute_policy(precision: str = "float32") -> str:
    """The Keras dtype policy a recipe of ``precision`` trains under on this machine (notebook 06).

    ``"bfloat16"`` means mixed precision (``"mixed_bfloat16"``: float32 weights, bfloat16 arithmetic)
    only where :func:`native_bfloat16` says the CPU does it in hardware, where it is about twice as fast;
    elsewhere it is ``"float32"``, as emulated bfloat16 is slower. ``MNISTLIB_PRECISION`` overrides the
    machine check (:data:`PRECISION_ENV`). A float32 recipe is always float32.
    """
    if precision not in PRECISIONS:
        raise MnistlibError(f"unknown precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
    forced = os.environ.get(PRECISION_ENV, "").strip().lower()
    if forced and forced not in PRECISIONS:
        raise MnistlibError(f"{PRECISION_ENV}={forced!r}: use one of: {', '.join(PRECISIONS)}")
    if precision == "bfloat16" and (forced == "bfloat16" or (not forced and native_bfloat16())):
        return "mixed_bfloat16"
    return "float32"
