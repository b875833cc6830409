"""Temperature scaling and ECE on synthetic logits with a known answer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import softmax

from mnistlib import calibration as cal


def _sample(n: int, true_t: float, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / true_t): calibrated at true_t."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, size=(n, 10))
    true_p = softmax(logits / true_t, axis=1)
    labels = np.array([rng.choice(10, p=p) for p in true_p])
    return softmax(logits, axis=1), true_p, labels


def test_fit_recovers_known_temperature():
    probs, _, labels = _sample(20_000, true_t=2.5)
    t = cal.fit_temperature(probs, labels)
    assert t == pytest.approx(2.5, rel=0.05)


def test_apply_temperature_keeps_argmax_and_is_identity_at_one():
    probs, _, _ = _sample(500, true_t=1.0)
    np.testing.assert_allclose(cal.apply_temperature(probs, 1.0), probs, atol=1e-6)
    hot = cal.apply_temperature(probs, 3.0)
    assert (hot.argmax(1) == probs.argmax(1)).all()
    assert hot.max(1).mean() < probs.max(1).mean()
    np.testing.assert_allclose(hot.sum(1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        cal.apply_temperature(probs, 0.0)


def test_ece_small_when_calibrated_large_when_overconfident():
    probs, true_p, labels = _sample(20_000, true_t=2.5)
    assert cal.expected_calibration_error(true_p, labels) < 0.02
    assert cal.expected_calibration_error(probs, labels) > 0.1
    perfect = np.eye(10)[labels]
    assert cal.expected_calibration_error(perfect, labels) == pytest.approx(0.0)


def test_calibrate_improves_and_card_round_trips():
    probs, _, labels = _sample(5_000, true_t=2.0, seed=1)
    c = cal.calibrate(probs, labels)
    assert c.temperature > 0
    assert c.ece_after < c.ece_before and c.nll_after < c.nll_before
    card = json.loads(json.dumps({"calibration": c.as_dict()}))
    assert cal.card_temperature(card) == pytest.approx(c.temperature, rel=1e-5)
    assert cal.card_temperature({}) == 1.0
    with pytest.raises(ValueError):
        cal.card_temperature({"calibration": {**c.as_dict(), "temperature": -1.0}})


def test_calibration_split_is_stratified_disjoint_and_seeded(mnist):
    train, held = cal.calibration_split(mnist.y_train, seed=42)
    assert len(held) == cal.CALIBRATION_IMAGES and len(train) == 55_000
    assert not np.intersect1d(train, held).size
    counts = np.bincount(mnist.y_train[held], minlength=10) / len(held)
    np.testing.assert_allclose(counts, np.bincount(mnist.y_train, minlength=10) / 60_000, atol=0.002)
    assert np.array_equal(held, cal.calibration_split(mnist.y_train, seed=42)[1])
    small_train, small_held = cal.calibration_split(mnist.y_train[:6000], seed=42)
    assert len(small_held) == 500
