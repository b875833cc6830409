"""Is this a digit? A small detector and the answer rule "not a digit" / "unsure" (notebook 09_predict).

The detector is a binary CNN on the prepared 28x28 image (what :func:`mnistlib.imageprep.to_mnist`
gives the digit model): class 1 = not a digit. :func:`train_detector` trains it on MNIST *training*
digits outside the calibration split (:func:`mnistlib.calibration.calibration_split`, the 5,000 images
the shipped classifiers never train on) rendered as pictures with varied pens and paper (then
prepared like any picture) against :mod:`mnistlib.nondigits` pictures of
:data:`~mnistlib.nondigits.TRAIN_KINDS` in the training fonts. ``benchmarks/bench_reject.py``
chooses the two thresholds on the calibration split's digits and validation-seed non-digits, and
evaluates once on MNIST test digits and non-digits of other fonts, another seed and kinds never
trained on. :func:`decide` turns a calibrated digit probability vector and the detector's
probability into ``(digit, reason)``: ``"not a digit"`` when the detector says so, ``"unsure"`` when
the calibrated confidence is below ``min_confidence``. Importing this module never imports TensorFlow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from mnistlib import nondigits
from mnistlib.imageprep import to_mnist

#: Detector probability of "not a digit" at or above which the answer is "not a digit", and the
#: calibrated confidence below which a digit answer becomes "unsure": chosen together on validation
#: data by ``benchmarks/bench_reject.py --write-card`` (most non-digits rejected while >= 98 % of the
#: validation digits of each kind of picture -- scan, photo, canvas -- stay correct);
#: ``models/nondigit.json`` records them as ``threshold``/``min_confidence``.
NONDIGIT_THRESHOLD = 0.95
MIN_CONFIDENCE = 0.52
DETECTOR_NAME = "nondigit.keras"
#: Seeds: training pictures and digits (validation and evaluation use others).
TRAIN_SEED = 1401
VAL_SEED = 1402


def render_digit(digit: np.ndarray, rng, size: int = 112) -> Image.Image:
    """One MNIST digit (uint8 28x28, light on black) as a picture: dark ink on light paper, random
    pen width (thin to bold), blur and noise; what a scan, a canvas or a photo crop looks like."""
    img = Image.fromarray(255 - digit).resize((size, size), Image.BILINEAR)
    pen = int(rng.integers(-1, 3))
    if pen > 0:
        img = img.filter(ImageFilter.MinFilter(2 * pen + 1))  # bolder dark ink
    elif pen < 0:
        img = img.filter(ImageFilter.MaxFilter(3))  # finer ink
    a = np.asarray(img, dtype=np.float32) / 255.0
    paper, ink = rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.35)
    a = ink + (paper - ink) * a + rng.normal(0, rng.uniform(0, 0.05), a.shape)
    img = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))


def prepare(pictures) -> np.ndarray:
    """``float32 (N, 28, 28)`` prepared images (blank pictures give zeros)."""
    return np.stack([to_mnist(p, keep_steps=False).image for p in pictures]).astype(np.float32)


def detector_data(x_digits: np.ndarray, n: int, seed: int, kinds=nondigits.TRAIN_KINDS,
                  fonts=nondigits.TRAIN_FONTS) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` rendered-and-prepared digits (from ``x_digits``, seeded sample) plus ``n`` non-digits:
    (images (2n, 28, 28), labels 0 = digit / 1 = not a digit, kinds ("digit" or the non-digit kind))."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x_digits), size=n, replace=False)
    digits = prepare(render_digit(x_digits[i], rng) for i in idx)
    pics = nondigits.pictures(n, seed, kinds, fonts)
    others = prepare(p for _, p in pics)
    x = np.concatenate([digits, others])
    y = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    return x, y, ["digit"] * n + [k for k, _ in pics]


def build_detector():
    """Conv16 -> pool -> Conv32 -> pool -> Dense64 -> Dropout -> sigmoid: ~60 k weights; most of the minute or so of
    :func:`train_detector` is preparing the 14,000 pictures."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    layers = keras.layers
    inp = keras.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, activation="relu")(inp)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1, activation="sigmoid", name="not_a_digit")(x)
    model = keras.Model(inp, out, name="nondigit_detector")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def detector_digits(x_train: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """The training digits the detector may learn from: all but the calibration split, which the
    classifiers never train on and ``benchmarks/bench_reject.py`` chooses the thresholds on."""
    from mnistlib.calibration import calibration_split
    from mnistlib.preprocess import SUBSET_SEED

    keep, _ = calibration_split(y_train, SUBSET_SEED)
    return np.asarray(x_train)[keep]


def train_detector(x_train: np.ndarray, y_train: np.ndarray | None = None, n: int = 7000, epochs: int = 8,
                   seed: int = TRAIN_SEED, out: str | Path | None = None):
    """Train the detector on ``n`` training digits vs ``n`` training-generator non-digits; save it to
    ``out`` (with a JSON card and a LiteRT export beside it) when given. With ``y_train`` the digits
    come from :func:`detector_digits` (the calibration split is left out). Returns (model, card).
    Wrote the committed ``models/nondigit.*`` (seed :data:`TRAIN_SEED`); tests train small ones."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    digits = x_train if y_train is None else detector_digits(x_train, y_train)
    x, y, _ = detector_data(digits, n, seed)
    prep_s = time.perf_counter() - start
    model = build_detector()
    hist = model.fit(x[..., None], y.astype(np.float32), epochs=epochs, batch_size=128, shuffle=True, verbose=0)
    card = {"model": "nondigit detector", "output": "probability that the picture is not a digit",
            "threshold": NONDIGIT_THRESHOLD, "min_confidence": MIN_CONFIDENCE, "train_digits": n, "train_nondigits": n,
            "digits_from": ("MNIST training images outside the calibration split" if y_train is not None
                            else f"{len(digits):,} given images"),
            "nondigit_kinds": list(nondigits.TRAIN_KINDS), "fonts": list(nondigits.TRAIN_FONTS),
            "seed": seed, "epochs": epochs, "train_accuracy": round(float(hist.history["accuracy"][-1]), 5),
            "prepare_seconds": round(prep_s, 1), "train_seconds": round(time.perf_counter() - start, 1)}
    if out is not None:
        save_detector(model, out, card)
    return model, card


def save_detector(model, path: str | Path, card: dict) -> Path:
    """Save the detector as ``path`` (.keras) with its card (.json) and LiteRT export (.tflite, for
    TensorFlow-free prediction) beside it, atomically (:func:`mnistlib.saving.save_model`,
    :func:`mnistlib.runtime.export_model`)."""
    from mnistlib.runtime import export_model, exported_path
    from mnistlib.saving import save_model

    path = save_model(model, path, card, export=False)
    light = exported_path(path)
    try:
        export_model(model, light, outputs=1)
    except Exception:
        light.unlink(missing_ok=True)  # a previous detector's export must not answer for this one
        raise
    return path


def load_detector(path: str | Path):
    """(model, card) of a saved detector; the card's ``threshold`` is the one to use."""
    from mnistlib.config import keras as _keras
    from mnistlib.saving import ModelFileError, load_card

    path = Path(path)
    try:
        card = load_card(path)
    except ModelFileError:
        card = {}
    return _keras().models.load_model(path), card


def nondigit_probability(model, images: np.ndarray) -> np.ndarray:
    """The detector's probability of "not a digit" for prepared images (N, 28, 28) or (N, 28, 28, 1)."""
    x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    return np.asarray(model.predict(x, verbose=0, batch_size=512)).reshape(-1)


@dataclass(frozen=True)
class Rule:
    """The answer rule: thresholds on the detector and on the calibrated confidence."""

    nondigit_threshold: float = NONDIGIT_THRESHOLD
    min_confidence: float = MIN_CONFIDENCE

    def __post_init__(self):
        for name in ("nondigit_threshold", "min_confidence"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1, not {v}")


def decide(probs: np.ndarray, p_nondigit: float | None, rule: Rule = Rule()) -> tuple[int | None, str | None]:
    """(digit, reason) for one calibrated probability vector: reason is ``None`` (a digit),
    ``"not a digit"`` (detector above its threshold) or ``"unsure"`` (confidence below ``min_confidence``)."""
    if p_nondigit is not None and p_nondigit >= rule.nondigit_threshold:
        return None, "not a digit"
    if float(np.max(probs)) < rule.min_confidence:
        return None, "unsure"
    return int(np.argmax(probs)), None


def answers(probs: np.ndarray, p_nondigit: np.ndarray | None, rule: Rule = Rule()) -> np.ndarray:
    """Vectorised :func:`decide`: digit per row, -1 = "not a digit", -2 = "unsure"."""
    probs = np.asarray(probs)
    out = probs.argmax(1)
    out = np.where(probs.max(1) < rule.min_confidence, -2, out)
    if p_nondigit is not None:
        out = np.where(np.asarray(p_nondigit) >= rule.nondigit_threshold, -1, out)
    return out


def tradeoff(probs_digits: np.ndarray, labels: np.ndarray, probs_others: np.ndarray,
             score_digits: np.ndarray, score_others: np.ndarray, thresholds=None,
             min_confidence: float = 0.0) -> dict:
    """The trade-off over detector thresholds: per threshold, the share of real digits answered
    correctly and the share of non-digits answered "not a digit" or "unsure". ``score_*`` is the
    rejection score (detector probability; ``1 - confidence`` for the max-probability baseline)."""
    thresholds = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds)
    correct, rejected = [], []
    for t in thresholds:
        rule = Rule(nondigit_threshold=float(t), min_confidence=min_confidence)
        correct.append(float(np.mean(answers(probs_digits, score_digits, rule) == labels)))
        rejected.append(float(np.mean(answers(probs_others, score_others, rule) < 0)))
    return {"thresholds": thresholds.tolist(), "digits_correct": correct, "nondigits_rejected": rejected}


def plot_tradeoff(curves: dict[str, dict], ax=None, target=(0.97, 0.90), chosen: tuple[float, float] | None = None):
    """Plot :func:`tradeoff` curves (name -> curve): x = real digits answered correctly, y = non-digits
    rejected, with the issue-14 target corner and, when given, the ``chosen`` rule's point (digits
    correct, non-digits rejected). Returns the axes (notebook 09_predict)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, c in curves.items():
        ax.plot(np.asarray(c["digits_correct"]) * 100, np.asarray(c["nondigits_rejected"]) * 100, label=name)
    if chosen is not None:
        ax.plot(chosen[0] * 100, chosen[1] * 100, "o", color="black", label="the chosen rule")
    ax.axvline(target[0] * 100, color="grey", ls=":")
    ax.axhline(target[1] * 100, color="grey", ls=":")
    ax.set_xlabel("real digits answered correctly (%)")
    ax.set_ylabel('non-digits answered "not a digit"/"unsure" (%)')
    ax.set_xlim(80, 100)
    ax.set_ylim(0, 101)
    ax.legend(loc="lower left")
    ax.set_title("Rejection trade-off (thresholds vary along each curve)")
    return ax


def load_or_train_detector(x_train=None, y_train=None, path: str | Path | None = None):
    """(model, card) of ``models/nondigit.keras`` (``predict.get_detector`` runs its LiteRT export); trained now with
    :func:`train_detector` (about a minute on an idle 2-core machine) when the file is missing."""
    from mnistlib import config

    path = Path(path) if path is not None else Path(config.MODELS_DIR) / DETECTOR_NAME
    if path.is_file():
        return load_detector(path)
    if x_train is None:
        from mnistlib.data import load_mnist

        data = load_mnist()
        x_train, y_train = data.x_train, data.y_train
    return train_detector(x_train, y_train, out=path)
