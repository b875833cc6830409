"""`mnistlib predict`: good files still predicted next to every kind of bad file; usage errors exit 2."""

from __future__ import annotations

import json
import sys

import numpy as np
from PIL import Image

from conftest import ROOT, assert_one_line_error, run_cli

sys.path.insert(0, str(ROOT / "tests"))
from test_predict import paper_photo  # noqa: E402


def test_good_and_bad_files_together(mnist, tmp_path):
    for i in range(3):
        paper_photo(mnist.x_test[i], seed=i).save(tmp_path / f"good_{i}.jpg")
    Image.new("L", (120, 90), 250).save(tmp_path / "blank.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is not an image\n")
    full = (tmp_path / "good_0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(full[: len(full) // 3])
    Image.new("L", (8000, 6000), 255).save(tmp_path / "huge.png")  # 48 megapixels: over the limit
    proc = run_cli("predict", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 4
    for name, reason in (("empty.png", "empty"), ("notes.png", "not an image"), ("truncated.jpg", "truncated"),
                         ("huge.png", "too large")):
        line = next(line for line in errors if name in line)
        assert reason in line, line
    rows = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [r[0].rsplit("/", 1)[-1] for r in rows] == ["blank.png", "good_0.jpg", "good_1.jpg", "good_2.jpg"]
    assert rows[0][1:] == ["blank", "-"]
    assert [int(r[1]) for r in rows[1:]] == mnist.y_test[:3].tolist()
    assert all(0.5 < float(r[2]) <= 1.0 for r in rows[1:])


def test_json_lines(mnist, tmp_path):
    path = tmp_path / "seven.png"
    paper_photo(mnist.x_test[0]).save(path)
    proc = run_cli("predict", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.strip().splitlines()
    result = json.loads(line)
    assert result["path"] == str(path) and result["digit"] == int(mnist.y_test[0]) and result["blank"] is False
    probabilities = np.array(result["probabilities"])
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-3
    assert result["confidence"] == max(result["probabilities"])


def test_usage_errors(mnist, tmp_path):
    (tmp_path / "empty_folder").mkdir()
    paper_photo(mnist.x_test[1]).save(tmp_path / "x.png")
    assert_one_line_error(run_cli("predict", "--model", str(tmp_path / "nope.keras"), str(tmp_path / "x.png")),
                          2, "nope.keras")
    assert_one_line_error(run_cli("predict", str(tmp_path / "empty_folder")), 2, "no images")
    assert_one_line_error(run_cli("predict"), 2, "required")
    (tmp_path / "corrupt.keras").write_bytes(b"not a model")
    assert_one_line_error(run_cli("predict", "--model", str(tmp_path / "corrupt.keras"), str(tmp_path / "x.png")),
                          2, "corrupt.keras")
