"""`mnistlib data`: the summary, its JSON, and the one-line failures."""

from __future__ import annotations

import json
import shutil
import socket
import time


def test_data_json_reports_the_counts(mnist_dir, run_cli):
    proc = run_cli("data", "--json", "--data-dir", str(mnist_dir))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["train"]["images"] == 60000 and info["test"]["images"] == 10000
    assert info["checksums_ok"] is True and info["source"] == str(mnist_dir)  # --json: the real path
    assert info["test"]["per_class"]["0"] == 980
    assert proc.stderr == ""


def test_data_text_summary_uses_the_environment(mnist_dir, run_cli):
    proc = run_cli("data", env={"MNIST_DATA_DIR": str(mnist_dir)})
    assert proc.returncode == 0, proc.stderr
    assert "checksums OK" in proc.stdout and "60,000" in proc.stdout and "10,000" in proc.stdout
    first = proc.stdout.splitlines()[0]
    assert first == "MNIST from $MNIST_DATA_DIR (checksums OK)"  # no path of this machine in the output
    assert str(mnist_dir) not in proc.stdout


def test_checksums_ok_only_when_they_were_checked(mnist_dir, run_cli):
    proc = run_cli("data", "--no-verify", "--data-dir", str(mnist_dir))
    assert proc.returncode == 0, proc.stderr
    assert "checksums OK" not in proc.stdout and "(checksums not checked)" in proc.stdout.splitlines()[0]
    proc = run_cli("data", "--json", "--no-verify", "--data-dir", str(mnist_dir))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["checksums_ok"] is False


def test_no_data_and_no_network(tmp_path, run_cli, assert_one_line_error):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    start = time.monotonic()
    proc = run_cli(
        "data",
        env={"MNIST_DATA_DIR": None, "MNISTLIB_CACHE_DIR": str(tmp_path / "cache"), "MNISTLIB_MIRRORS": dead},
    )
    assert time.monotonic() - start < 60
    line = assert_one_line_error(proc, 2, "MNIST_DATA_DIR")
    assert line.startswith("mnistlib data: error:")


def test_truncated_training_file(mnist_dir, tmp_path, run_cli, assert_one_line_error):
    broken = tmp_path / "broken"
    shutil.copytree(mnist_dir, broken)
    target = broken / "train-images-idx3-ubyte.gz"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes()[:500_000])
    proc = run_cli("data", "--data-dir", str(broken))
    assert_one_line_error(proc, 2, "train-images-idx3-ubyte.gz")


def test_usage_error_is_one_line(run_cli, assert_one_line_error):
    proc = run_cli("data", "--no-such-flag")
    assert_one_line_error(proc, 2, "unrecognized arguments")
