"""Is this a digit? A small detector and the answer rule "not a digit" / "unsure" (notebook 09_predict).

The detector is the mean of :data:`MEMBERS` binary CNNs on the prepared 28x28 image (what
:func:`mnistlib.imageprep.to_mnist` gives the digit model): class 1 = not a digit. :func:`train_detector`
trains each on MNIST *training* digits outside the calibration split
(:func:`mnistlib.calibration.calibration_split`, the 5,000 images the shipped classifiers never train
on) shown as scans, photos, canvas drawings and pen drawings (:mod:`mnistlib.pictures`, then prepared
like any picture) against :mod:`mnistlib.nondigits` pictures of
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
from mnistlib import nondigits, pictures
from mnistlib.imageprep import to_mnist

#: Detector probability of "not a digit" at or above which the answer is "not a digit", and the
#: calibrated confidence below which a digit answer becomes "unsure": chosen together on validation
#: data by ``benchmarks/bench_reject.py --write-card`` (most non-digits rejected while >= 98 % of the
#: validation digits of each kind of picture -- scan, photo, canvas, pen drawing -- stay correct);
#: ``models/nondigit.json`` records them as ``threshold``/``min_confidence``.
NONDIGIT_THRESHOLD = 0.69
MIN_CONFIDENCE = 0.69
DETECTOR_NAME = "nondigit.keras"
#: The detector is the mean of this many small networks trained with different seeds and pictures (chosen on
#: validation: ``benchmarks/bench_detector.py``; one network alone varied too much from seed to seed).
MEMBERS = 3
#: Seeds: training pictures and digits (validation and evaluation use others).
TRAIN_SEED = 1401
VAL_SEED = 1402


def prepare(pictures) -> np.ndarray:
    """``float32 (N, 28, 28)`` prepared images (blank pictures give zeros)."""
    return np.stack([to_mnist(p, keep_steps=False).image for p in pictures]).astype(np.float32)


def detector_data(x_digits: np.ndarray, n: int, seed: int, kinds=nondigits.TRAIN_KINDS,
                  fonts=nondigits.TRAIN_FONTS, ways=pictures.WAYS) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` digits (from ``x_digits``, seeded sample) shown in turn each of the ``ways``
    (:func:`mnistlib.pictures.show`: scan, photo, canvas, pen drawing) and prepared, plus ``n`` non-digits:
    (images (2n, 28, 28), labels 0 = digit / 1 = not a digit, kinds ("digit" or the non-digit kind))."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x_digits), size=n, replace=False)
    digits = prepare(pictures.show(x_digits[j], ways[i % len(ways)], rng) for i, j in enumerate(idx))
    pics = nondigits.pictures(n, seed, kinds, fonts)
    others = prepare(p for _, p in pics)
    x = np.concatenate([digits, others])
    y = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    return x, y, ["digit"] * n + [k for k, _ in pics]


def build_detector(widths=(32, 64), dense_units: int = 128):
    """One member of the detector: Conv32 -> pool -> Conv64 -> pool -> Dense128 -> Dropout -> sigmoid, ~224 k
    weights (widths and dense units chosen on validation: ``benchmarks/bench_detector.py``); most of the
    few minutes a member takes to train is preparing its 30,000 pictures."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    layers = keras.layers
    inp = keras.Input((28, 28, 1))
    x = inp
    for width in widths:
        x = layers.MaxPooling2D(2)(layers.Conv2D(width, 3, activation="relu")(x))
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation="relu")(x)
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


def ensemble(members, name: str = "nondigit_detector"):
    """One Keras model whose output is the mean of the ``members``' probabilities (saved, exported and
    answered like a single detector). The members keep their names: each enters under a new name,
    ``member_i``, as a view that shares its layers and weights."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    views = [keras.Model(member.input, member.output, name=f"member_{i}") for i, member in enumerate(members)]
    inp = keras.Input((28, 28, 1))
    out = keras.layers.Average(name="not_a_digit")([view(inp) for view in views])
    return keras.Model(inp, out, name=name)


def train_detector(x_train: np.ndarray, y_train: np.ndarray | None = None, n: int = 15000, epochs: int = 10,
                   seed: int = TRAIN_SEED, out: str | Path | None = None, members: int = MEMBERS,
                   kinds=nondigits.TRAIN_KINDS, ways=pictures.WAYS, widths=(32, 64), dense_units: int = 128):
    """Train the detector: ``members`` networks (seeds ``seed``, ``seed + 10``, ...), each on its own ``n``
    training digits vs ``n`` training-generator non-digits, averaged by :func:`ensemble`; save it to
    ``out`` (with a JSON card and a LiteRT export beside it) when given. With ``y_train`` the digits
    come from :func:`detector_digits` (the calibration split is left out). ``kinds``, ``ways``, ``widths`` and
    ``dense_units`` are for comparisons (``benchmarks/bench_detector.py``). Returns (model, card).
    Wrote the committed ``models/nondigit.*`` (seed :data:`TRAIN_SEED`); tests train small ones."""
    from mnistlib.config import keras as _keras

    keras = _keras()
    start = time.perf_counter()
    digits = x_train if y_train is None else detector_digits(x_train, y_train)
    seeds = [seed + 10 * i for i in range(members)]
    nets, accuracy, prep_s = [], [], 0.0
    for member_seed in seeds:
        keras.utils.set_random_seed(member_seed)
        t = time.perf_counter()
        x, y, _ = detector_data(digits, n, member_seed, kinds, ways=ways)
        prep_s += time.perf_counter() - t
        net = build_detector(widths, dense_units)
        hist = net.fit(x[..., None], y.astype(np.float32), epochs=epochs, batch_size=128, shuffle=True, verbose=0)
        nets.append(net)
        accuracy.append(round(float(hist.history["accuracy"][-1]), 5))
    model = nets[0] if members == 1 else ensemble(nets)
    card = {"model": "nondigit detector", "output": "probability that the picture is not a digit",
            "threshold": NONDIGIT_THRESHOLD, "min_confidence": MIN_CONFIDENCE, "train_digits": n, "train_nondigits": n,
            "digits_from": ("MNIST training images outside the calibration split" if y_train is not None
                            else f"{len(digits):,} given images"),
            "digits_shown_as": list(ways), "nondigit_kinds": list(kinds),
            "fonts": list(nondigits.TRAIN_FONTS), "seed": seed, "member_seeds": seeds, "epochs": epochs,
            "train_accuracy": accuracy, "prepare_seconds": round(prep_s, 1),
            "train_seconds": round(time.perf_counter() - start, 1)}
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
    :func:`train_detector` (about 15 minutes on a 2-core machine) when the file is missing."""
    from mnistlib import config

    path = Path(path) if path is not None else Path(config.MODELS_DIR) / DETECTOR_NAME
    if path.is_file():
        return load_detector(path)
    if x_train is None:
        from mnistlib.data import load_mnist

        data = load_mnist()
        x_train, y_train = data.x_train, data.y_train
    return train_detector(x_train, y_train, out=path)
