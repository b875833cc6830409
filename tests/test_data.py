"""mnistlib.data on the real files: shapes, sanity figures, and every kind of broken file."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from mnistlib.config import ROOT
from mnistlib.data import FILES, DataError, display_path, load_mnist, parse_idx, read_idx, summary


def test_shapes_and_dtypes(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.uint8


def test_sanity_figures_from_the_shared_readme(mnist):
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert mnist.x_train.mean() == pytest.approx(33.3184, abs=1e-4)
    assert mnist.x_test.mean() == pytest.approx(33.7912, abs=1e-4)
    assert set(np.unique(mnist.y_train)) == set(range(10))


def test_summary_counts(mnist):
    info = summary(mnist)
    assert info["train"]["images"] == 60000 and info["test"]["images"] == 10000
    assert sum(info["train"]["per_class"].values()) == 60000
    assert info["train"]["per_class"]["1"] == 6742  # the most frequent digit


def test_summary_reports_whether_the_checksums_were_checked(mnist_dir, mnist):
    assert mnist.verified and summary(mnist)["checksums_ok"] is True
    unchecked = load_mnist(mnist_dir, verify=False)
    assert unchecked.verified is False
    assert summary(unchecked)["checksums_ok"] is False  # not whatever the caller claims


def test_display_path_hides_this_machines_folders(tmp_path, monkeypatch):
    data_dir, cache, home = tmp_path / "data", tmp_path / "home" / "cache", tmp_path / "home"
    monkeypatch.setenv("MNIST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(cache))
    monkeypatch.setenv("HOME", str(home))
    assert display_path(data_dir) == "$MNIST_DATA_DIR"
    assert display_path(data_dir / "train-images-idx3-ubyte.gz") == "$MNIST_DATA_DIR/train-images-idx3-ubyte.gz"
    assert display_path(cache / "t10k-labels-idx1-ubyte.gz") == "$MNISTLIB_CACHE_DIR/t10k-labels-idx1-ubyte.gz"
    assert display_path(home / "mnist") == "~/mnist"  # the cache is inside home: the more specific one wins above
    assert display_path(ROOT / "models" / "cnn.keras") == "models/cnn.keras"
    assert display_path("/somewhere/else") == "/somewhere/else"
    link = tmp_path / "link"
    link.symlink_to(data_dir, target_is_directory=True)
    data_dir.mkdir()
    assert display_path(link) == "$MNIST_DATA_DIR"  # the same folder through a symlink
    monkeypatch.delenv("MNISTLIB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    assert display_path(home / ".cache" / "mnistlib" / "x.gz") == "<cache>/x.gz"


def test_repr_shows_the_source_without_machine_paths(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    text = repr(load_mnist(verify=False))
    assert text == "MNIST(train=60,000 images, test=10,000 images, source='$MNIST_DATA_DIR')"


def _copy_dataset(src, dst, raw=False):
    dst.mkdir(parents=True, exist_ok=True)
    for base, _shape, _sha in FILES.values():
        if raw:
            (dst / base).write_bytes(gzip.decompress((src / f"{base}.gz").read_bytes()))
        else:
            shutil.copy(src / f"{base}.gz", dst / f"{base}.gz")
    return dst


def test_raw_uncompressed_files_load_the_same(mnist_dir, tmp_path, mnist):
    raw_dir = _copy_dataset(mnist_dir, tmp_path / "raw", raw=True)
    data = load_mnist(raw_dir)
    assert data.source == raw_dir
    np.testing.assert_array_equal(data.x_test, mnist.x_test)
    np.testing.assert_array_equal(data.y_train, mnist.y_train)


def test_explicit_dir_beats_environment(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    assert load_mnist(mnist_dir).source == mnist_dir


def _labels_file(tmp_path, payload: bytes):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(payload)
    return path


def test_wrong_magic(tmp_path):
    path = _labels_file(tmp_path, b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(path)


def test_unknown_dtype_code(tmp_path):
    path = _labels_file(tmp_path, b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(DataError, match="element type"):
        read_idx(path)


def test_wrong_count(tmp_path):
    path = _labels_file(tmp_path, b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(DataError, match="5 values"):
        read_idx(path)


def test_parse_idx_reads_a_valid_file():
    array = parse_idx(b"\x00\x00\x08\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6)))
    assert array.shape == (2, 3) and array.dtype == np.uint8 and array[1, 2] == 5


def test_truncated_gzip_names_the_file(mnist_dir, tmp_path):
    data_dir = _copy_dataset(mnist_dir, tmp_path / "d")
    target = data_dir / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[: 1_000_000])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*(corrupt|truncated)"):
        load_mnist(data_dir)


def test_corrupt_gzip_bytes(mnist_dir, tmp_path):
    data_dir = _copy_dataset(mnist_dir, tmp_path / "d")
    target = data_dir / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(target.read_bytes())
    blob[200:260] = bytes(60)
    target.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="t10k-labels"):
        load_mnist(data_dir)


def test_checksum_mismatch_names_the_file(mnist_dir, tmp_path):
    data_dir = _copy_dataset(mnist_dir, tmp_path / "d")
    labels = bytearray(gzip.decompress((data_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[-1] = (labels[-1] + 1) % 10  # a valid IDX file, one label changed
    (data_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        load_mnist(data_dir)
    assert load_mnist(data_dir, verify=False).y_test[-1] == labels[-1]


def test_train_and_test_counts_must_agree(mnist_dir, tmp_path):
    data_dir = _copy_dataset(mnist_dir, tmp_path / "d")
    labels = gzip.decompress((data_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    short = b"\x00\x00\x08\x01" + (9999).to_bytes(4, "big") + labels[8:-1]
    (data_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(short))
    with pytest.raises(DataError, match="10,000 images but 9,999 labels"):
        load_mnist(data_dir, verify=False)


def test_nothing_found_without_download(isolated_env, tmp_path):
    with pytest.raises(DataError, match="MNIST_DATA_DIR"):
        load_mnist(tmp_path / "empty", download=False)
