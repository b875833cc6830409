"""mnistlib.saving: model files with their cards, atomic writes, one-line errors, checked before training."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnistlib.config import new_model_session
from mnistlib.errors import MnistlibError
from mnistlib.preprocess import prepare_images
from mnistlib.recipes import RECIPES, build_model
from mnistlib.saving import ModelFileError, check_output_path, load_card, load_model, save_model


def test_save_then_load_gives_identical_predictions_and_a_card(tmp_path, mnist):
    x = prepare_images(mnist.x_test[:64])
    new_model_session(1)
    model = build_model("cnn")  # has the custom augmentation layers and schedule
    path = save_model(model, tmp_path / "m.keras", {"recipe": "cnn", "seed": 1, "epochs": 0,
                                                    "test_accuracy": 0.5, "train_seconds": 1.0})
    assert path == tmp_path / "m.keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]  # no temporary files left
    loaded = load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    card = load_card(path)
    assert card == json.loads((tmp_path / "m.json").read_text())
    assert card["recipe"] == "cnn" and card["seed"] == 1 and card["test_accuracy"] == 0.5
    assert card["params"] == RECIPES["cnn"].params
    assert {"tensorflow", "keras", "numpy"} <= set(card["library_versions"])
    assert card["date"][:2] == "20"


def test_load_missing_or_corrupt_file_names_the_file(tmp_path):
    with pytest.raises(ModelFileError, match="nope.keras"):
        load_model(tmp_path / "nope.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ModelFileError, match="bad.keras"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="nope.json"):
        load_card(tmp_path / "nope.keras")


def test_save_refuses_a_wrong_suffix_and_writes_nothing(tmp_path):
    new_model_session(0)
    with pytest.raises(MnistlibError, match=".keras"):
        save_model(build_model("dense_128"), tmp_path / "m.h5", {})
    assert list(tmp_path.iterdir()) == []


def test_output_path_is_checked_and_created(tmp_path):
    assert check_output_path(tmp_path / "new" / "deeper" / "m.keras") == tmp_path / "new" / "deeper" / "m.keras"
    assert (tmp_path / "new" / "deeper").is_dir() and list((tmp_path / "new" / "deeper").iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelFileError, match="cannot save"):
        check_output_path(blocker / "m.keras")
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(ModelFileError, match="folder"):
        check_output_path(tmp_path / "dir.keras")
