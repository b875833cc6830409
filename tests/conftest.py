"""Shared fixtures: the real MNIST from MNIST_DATA_DIR (CI points it at ../shared/data/mnist)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    from mnistlib.data import load_mnist

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
