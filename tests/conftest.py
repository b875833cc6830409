"""Shared fixtures and helpers: the real MNIST from MNIST_DATA_DIR (CI points it at ../shared/data/mnist).

The one home of the helpers several test modules use (no test module imports another one):
fixtures ``mnist_dir``, ``mnist``, ``isolated_env``, ``paper_photo``, ``run_cli`` and
``assert_one_line_error``; the last two (and ``ROOT``) stay importable as plain functions for
the modules that do ``from conftest import ...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistlib.data import load_mnist

ROOT = Path(__file__).resolve().parent.parent


def _data_dir() -> Path:
    env = os.environ.get("MNIST_DATA_DIR")
    folder = Path(env) if env else ROOT.parent / "shared" / "data" / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.exit(f"the tests need the real MNIST: set MNIST_DATA_DIR (looked in {folder})", returncode=2)
    return folder


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four real, gzipped MNIST files."""
    return _data_dir()


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """The whole dataset, loaded once per test session."""
    return load_mnist(mnist_dir)


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No MNIST_DATA_DIR and an empty cache folder: nothing to find locally."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m mnistlib ARGS`` the way a user would; returns the completed process."""
    full_env = {**os.environ, **(env or {})}
    for key, value in list(full_env.items()):
        if value is None:
            del full_env[key]
    return subprocess.run(
        [sys.executable, "-m", "mnistlib", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int = 2, contains: str = "") -> str:
    """The CLI failure pattern: exit ``code``, exactly one line on stderr, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert contains.lower() in lines[0].lower(), lines[0]
    return lines[0]


def paper_photo(digit: np.ndarray, *, scale=6, canvas=(260, 320), at=(40, 150), dark_ink=True, seed=0) -> Image.Image:
    """An MNIST digit as a photo: upscaled, dark ink on unevenly lit paper, noisy, off-centre (mode "L")."""
    rng = np.random.default_rng(seed)
    ink = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.BICUBIC), np.float32) / 255
    h, w = canvas
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 0.80 + 0.15 * (xx / w) - 0.08 * (yy / h)  # a lighting gradient
    page = np.zeros((h, w), np.float32)
    page[at[0]: at[0] + ink.shape[0], at[1]: at[1] + ink.shape[1]] = ink
    img = paper * (1 - 0.85 * page) if dark_ink else 0.15 + 0.75 * page
    img = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
    return Image.fromarray((img * 255).astype(np.uint8))


@pytest.fixture(name="paper_photo")
def paper_photo_fixture():
    """:func:`paper_photo`, the function: ``paper_photo(digit, seed=1).save(path)``."""
    return paper_photo


@pytest.fixture(name="run_cli")
def run_cli_fixture():
    """:func:`run_cli`, the function."""
    return run_cli


@pytest.fixture(name="assert_one_line_error")
def assert_one_line_error_fixture():
    """:func:`assert_one_line_error`, the function."""
    return assert_one_line_error
