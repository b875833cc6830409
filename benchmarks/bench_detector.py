"""Choose how the "not a digit" detector is trained, on validation data only (issue 14, item 2).

Every candidate (:data:`CANDIDATES`: data) trains a detector with ``mnistlib.rejection`` (training digits
outside the calibration split, shown the candidate's ways, against generated non-digits of its kinds)
and is scored on two validation sets, never on the evaluation set of ``bench_reject.py``:

* ``validation``: 600 calibration-split digits shown each of ``pictures.WAYS`` (scan, photo, canvas and pen
  drawing: 2,400) against 1,200 non-digits of the nine original training kinds in the training fonts, seed
  ``rejection.VAL_SEED`` (``bench_reject.py``'s validation before doodles were added);
* ``other fonts``: 1,200 letters, symbols, scribbles and shapes in the Liberation fonts (a family
  neither training nor evaluation uses), seed 1405: how well the detector carries to glyphs it never saw.

For each candidate the thresholds are chosen on ``validation`` exactly as ``bench_reject.py`` does (most
non-digits rejected with >= 98 % of each way's digits right); the figure of merit is the share of
non-digits rejected on both sets at that rule. Classifier: the shipped ``models/cnn.keras`` with its
card's temperature. At the same rule, the 5,000 calibration-split digits as small 8x8 scans, thin and bold
(``realistic.mnist_lowres_set``, the tuning set of the ``lowres`` pictures): the share answered right and the share
turned away as "not a digit".

Run: ``MNIST_DATA_DIR=... .venv/bin/python benchmarks/bench_detector.py [--candidates "a;b"] [--out FILE]``; prints a
Markdown table and writes ``benchmarks/select_detector.json`` (or ``FILE``). About an hour for every candidate on a
2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import realistic  # noqa: E402
from bench_reject import VAL_MIN_CORRECT, choose, shown  # noqa: E402

from mnistlib import calibration as cal  # noqa: E402
from mnistlib import nondigits, pictures, rejection  # noqa: E402
from mnistlib.data import load_mnist  # noqa: E402
from mnistlib.preprocess import SUBSET_SEED  # noqa: E402

NINE_KINDS = ("letter", "symbol", "scribble", "strokes", "hatching", "noise", "line", "blob", "shape")
OTHER_FONTS = ("LiberationSans-Regular.ttf", "LiberationSerif-Italic.ttf", "LiberationMono-Bold.ttf",
               "LiberationSansNarrow-Regular.ttf", "LiberationSerif-Bold.ttf")
OTHER_FONTS_SEED = 1405
#: name -> settings of ``rejection.train_detector``: pairs per class ``n``, ``ways`` the digits are shown, non-digit
#: ``kinds``, the network's conv ``widths`` and ``dense_units``, ``epochs``, ``members`` averaged. The first is the
#: detector of 2026-12-01.
CANDIDATES = {
    "scans only, Conv16-32/Dense64, 7,000 pairs, 8 epochs (2026-12-01)":
        {"n": 7000, "ways": ("rendered",), "kinds": NINE_KINDS, "widths": (16, 32), "dense_units": 64, "epochs": 8, "members": 1},
    "scans, photos, canvases; Conv16-32/Dense64, 7,000 pairs":
        {"n": 7000, "ways": ("rendered", "photo", "canvas"), "kinds": NINE_KINDS, "widths": (16, 32),
         "dense_units": 64, "epochs": 8, "members": 1},
    "scans, photos, canvases; Conv32-64/Dense128, 15,000 pairs, 10 epochs":
        {"n": 15000, "ways": ("rendered", "photo", "canvas"), "kinds": NINE_KINDS, "widths": (32, 64),
         "dense_units": 128, "epochs": 10, "members": 1},
    "the same + doodles":
        {"n": 15000, "ways": ("rendered", "photo", "canvas"), "kinds": NINE_KINDS + ("doodle",), "widths": (32, 64),
         "dense_units": 128, "epochs": 10, "members": 1},
    "the same + doodles + pen drawings of the digits":
        {"n": 15000, "ways": ("rendered", "photo", "canvas", "drawn"), "kinds": NINE_KINDS + ("doodle",),
         "widths": (32, 64), "dense_units": 128, "epochs": 10, "members": 1},
    "the same, mean of three networks (chosen)":
        {"n": 15000, "ways": ("rendered", "photo", "canvas", "drawn"), "kinds": NINE_KINDS + ("doodle",),
         "widths": (32, 64), "dense_units": 128, "epochs": 10, "members": 3},
    "one network, 7,000 pairs, four ways":
        {"n": 7000, "ways": ("rendered", "photo", "canvas", "drawn"), "kinds": NINE_KINDS + ("doodle",),
         "widths": (32, 64), "dense_units": 128, "epochs": 10, "members": 1},
    "one network, 7,000 pairs, four ways + small 8x8 scans":
        {"n": 7000, "ways": ("rendered", "photo", "canvas", "drawn", "lowres"), "kinds": NINE_KINDS + ("doodle",),
         "widths": (32, 64), "dense_units": 128, "epochs": 10, "members": 1},
    "one network, 8,750 pairs, four ways + small 8x8 scans (as many of each way as with 7,000 and four)":
        {"n": 8750, "ways": ("rendered", "photo", "canvas", "drawn", "lowres"), "kinds": NINE_KINDS + ("doodle",),
         "widths": (32, 64), "dense_units": 128, "epochs": 10, "members": 1},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", help="candidates to run, separated by semicolons (default: all)")
    ap.add_argument("--seed", type=int, default=rejection.TRAIN_SEED, help="training seed of every candidate")
    ap.add_argument("--out", default="select_detector.json", help="results file in benchmarks/ (default: %(default)s)")
    args = ap.parse_args()
    names = [n.strip() for n in args.candidates.split(";")] if args.candidates else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {', '.join(unknown)}; known: {'; '.join(CANDIDATES)}")
    from mnistlib.saving import load_card, load_model

    d = load_mnist()
    clf = load_model(HERE.parent / "models" / "cnn.keras")
    temperature = cal.card_temperature(load_card(HERE.parent / "models" / "cnn.keras"))

    def classify(x):
        return cal.apply_temperature(np.asarray(clf.predict(x[..., None], verbose=0, batch_size=512)), temperature)

    _, held = cal.calibration_split(d.y_train, SUBSET_SEED)
    rv = np.random.default_rng(rejection.VAL_SEED)
    va = rv.permutation(held)[:600]
    x_d = np.concatenate([rejection.prepare(v) for v in shown(d.x_train[va], rv).values()])
    y_d = np.concatenate([d.y_train[va]] * len(pictures.WAYS))
    x_o = rejection.prepare(p for _, p in nondigits.pictures(1200, rejection.VAL_SEED, NINE_KINDS))
    x_f = rejection.prepare(p for _, p in nondigits.pictures(1200, OTHER_FONTS_SEED, NINE_KINDS[:3] + ("shape",),
                                                              OTHER_FONTS))
    scans = realistic.mnist_lowres_sets(d.x_train[held], d.y_train[held])  # the lowres tuning sets
    x_s = {kind: rejection.prepare(s.data for s in samples) for kind, samples in scans.items()}
    y_s = {kind: np.array([s.label for s in samples]) for kind, samples in scans.items()}
    p_s = {kind: classify(x) for kind, x in x_s.items()}
    p_d, p_o, p_f = classify(x_d), classify(x_o), classify(x_f)
    results = {}
    for name in names:
        c = CANDIDATES[name]
        start = time.perf_counter()
        det, _ = rejection.train_detector(d.x_train, d.y_train, seed=args.seed, **c)
        s_d, s_o, s_f = (rejection.nondigit_probability(det, v) for v in (x_d, x_o, x_f))
        best = choose(p_d, y_d, p_o, s_d, s_o)
        results[name] = {**{k: list(v) if isinstance(v, tuple) else v for k, v in c.items()},
                         "seconds": round(time.perf_counter() - start, 1)}
        if best is None:  # no threshold pair keeps every way's digits right enough
            results[name].update(rule=None, validation_rejected=None, worst_way_correct=None, other_fonts_rejected=None)
        else:
            rejected, worst, rule = best
            results[name].update(rule=vars(rule), validation_rejected=round(float(rejected), 4),
                                 worst_way_correct=round(float(worst), 4),
                                 other_fonts_rejected=round(float(np.mean(rejection.answers(p_f, s_f, rule) < 0)), 4))
            for kind in x_s:  # at the same rule: 8x8 scans answered right, and turned away as "not a digit"
                s_s = rejection.nondigit_probability(det, x_s[kind])
                results[name][f"{kind}_8x8_scans_right"] = round(float(np.mean(
                    rejection.answers(p_s[kind], s_s, rule) == y_s[kind])), 4)
                results[name][f"{kind}_8x8_scans_not_a_digit"] = round(float(np.mean(
                    s_s >= rule.nondigit_threshold)), 4)
        print(json.dumps({name: results[name]}), flush=True)
    print("| candidate | non-digits rejected: validation | other fonts | digits right (worst way) | rule | "
          "8x8 scans right (thin / bold) |")
    print("|---|---:|---:|---:|---|---:|")
    for name, r in results.items():
        if r["rule"] is None:
            print(f"| {name} | no rule keeps {VAL_MIN_CORRECT:.0%} of every way's digits right | | | |")
            continue
        print(f"| {name} | {100 * r['validation_rejected']:.1f} % | {100 * r['other_fonts_rejected']:.1f} % | "
              f"{100 * r['worst_way_correct']:.1f} % | {r['rule']['nondigit_threshold']} / {r['rule']['min_confidence']} | "
              f"{100 * r['thin_8x8_scans_right']:.1f} / {100 * r['bold_8x8_scans_right']:.1f} % |")
    out = {"measured": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "seed": args.seed,
           "results": results}
    (HERE / args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
