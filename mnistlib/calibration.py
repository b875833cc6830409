"""Calibrated confidence: temperature scaling and expected calibration error (notebook 09_predict).

The models output softmax probabilities ``p``. Temperature scaling (Guo et al. 2017) divides the
logits by one number ``T > 0``; since ``softmax(log p / T) == softmax(logits / T)`` it applies to
log-probabilities directly, so no model needs re-exporting. ``T`` is fitted by minimising the
negative log-likelihood on held-out data (never the test set); ``T > 1`` softens an over-confident
model, and the predicted class never changes. Expected calibration error (ECE) is the equal-width,
15-bin gap between confidence and accuracy, weighted by bin size. numpy/scipy only: importing this
module never imports TensorFlow (``mnistlib.predict`` uses it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import log_softmax

#: Equal-width confidence bins of :func:`expected_calibration_error` (Guo et al. use 15).
ECE_BINS = 15
#: Search range of log T in :func:`fit_temperature`: T in [e^-4, e^4] ~ [0.018, 55].
LOG_T_RANGE = (-4.0, 4.0)
_EPS = 1e-12


def _log_probs(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(log p / T)`` for probabilities ``probs`` (N, C) or (C,); T = 1 is identity."""
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, not {temperature!r}")
    scaled = np.exp(log_softmax(_log_probs(probs) / float(temperature), axis=-1))
    return scaled.astype(np.float32)


def nll(probs: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of integer ``labels`` under ``probs`` scaled by ``temperature``."""
    logp = log_softmax(_log_probs(probs) / float(temperature), axis=-1)
    labels = np.asarray(labels, dtype=np.int64)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The ``T > 0`` minimising :func:`nll` on held-out ``probs``/``labels`` (bounded search on log T)."""
    from scipy.optimize import minimize_scalar  # ~0.3 s to import: only when fitting, never in `mnistlib predict`

    if len(labels) == 0:
        raise ValueError("fit_temperature needs at least one held-out example")
    logp = _log_probs(probs)
    idx = (np.arange(len(labels)), np.asarray(labels, dtype=np.int64))

    def objective(log_t: float) -> float:
        return float(-log_softmax(logp / np.exp(log_t), axis=-1)[idx].mean())

    res = minimize_scalar(objective, bounds=LOG_T_RANGE, method="bounded", options={"xatol": 1e-5})
    return float(np.exp(res.x))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """Per equal-width confidence bin: (mean confidence, accuracy, count); empty bins are dropped.

    For a reliability diagram; :func:`expected_calibration_error` is the count-weighted mean gap."""
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(labels)).astype(np.float64)
    # bin i holds (i/bins, (i+1)/bins]; confidence is never below 1/C > 0
    which = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    keep = count > 0
    mean_conf = np.bincount(which, weights=conf, minlength=bins)[keep] / count[keep]
    accuracy = np.bincount(which, weights=correct, minlength=bins)[keep] / count[keep]
    return mean_conf, accuracy, count[keep]


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: sum over equal-width confidence bins of |accuracy - confidence| weighted by bin share."""
    mean_conf, accuracy, count = reliability(probs, labels, bins)
    return float(np.sum(count * np.abs(accuracy - mean_conf)) / np.sum(count))


@dataclass
class Calibration:
    """What the model card stores under ``calibration`` (written by ``training.train_and_save``)."""

    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    images: int
    fit_on: str = "held-out calibration split of the training set"

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        c = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        if not (np.isfinite(c.temperature) and c.temperature > 0):
            raise ValueError(f"calibration temperature must be positive, not {c.temperature!r}")
        return c


def calibrate(probs: np.ndarray, labels: np.ndarray, fit_on: str | None = None) -> Calibration:
    """Fit T on held-out ``probs``/``labels`` and measure ECE and NLL before and after."""
    t = fit_temperature(probs, labels)
    after = apply_temperature(probs, t)
    extra = {} if fit_on is None else {"fit_on": fit_on}
    return Calibration(temperature=t,
                       ece_before=expected_calibration_error(probs, labels),
                       ece_after=expected_calibration_error(after, labels),
                       nll_before=nll(probs, labels), nll_after=nll(probs, labels, t),
                       images=int(len(labels)), **extra)


def card_temperature(card: dict | None) -> float:
    """The temperature in a model card (``card["calibration"]["temperature"]``), 1.0 when absent."""
    if not card or "calibration" not in card:
        return 1.0
    t = card["calibration"].get("temperature") if isinstance(card["calibration"], dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not (np.isfinite(t) and t > 0):
        raise ValueError(f"calibration temperature must be a positive number, not {t!r}")
    return float(t)


#: Training images held out for the temperature in the full profile (60,000 -> 55,000 + 5,000).
CALIBRATION_IMAGES = 5000
CALIBRATION_FRACTION = CALIBRATION_IMAGES / 60_000


def calibration_split(y_train: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train index, calibration index): a stratified 1/12 of the training images (5,000 of 60,000;
    proportionally fewer in the quick profile) held out for :func:`fit_temperature`. Drawn with
    ``seed`` (``training.train_and_save`` passes the fixed ``preprocess.SUBSET_SEED``, so every recipe and
    run seed holds out the same images)."""
    from sklearn.model_selection import train_test_split

    y_train = np.asarray(y_train)
    n = max(10 * int(np.unique(y_train).size), int(round(len(y_train) * CALIBRATION_FRACTION)))
    train, held = train_test_split(np.arange(len(y_train)), test_size=n, stratify=y_train, random_state=seed)
    return np.sort(train), np.sort(held)
