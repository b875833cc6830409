"""Downloading from mirrors, against an HTTP server on 127.0.0.1 serving the shared files (never a real host)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from mnistlib.data import FILES, DataError, download_mnist, load_mnist


class Mirrors:
    """One local server; the first path segment picks how the 'mirror' behaves."""

    def __init__(self, mnist_dir):
        self.files = {f"{base}.gz": (mnist_dir / f"{base}.gz").read_bytes() for base, _, _ in FILES.values()}
        # A faithful mirror that compressed differently: same content, other gzip bytes.
        self.recompressed = {
            name: gzip.compress(gzip.decompress(blob), compresslevel=1) for name, blob in self.files.items()
        }
        # A broken mirror: valid gzip, last byte of the content flipped.
        self.corrupt = {}
        for name, blob in self.files.items():
            raw = bytearray(gzip.decompress(blob))
            raw[-1] ^= 0xFF
            self.corrupt[name] = gzip.compress(bytes(raw), compresslevel=1)
        self.requests: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                mirror.requests.append(self.path)
                kind, _, name = self.path.strip("/").partition("/")
                if name not in mirror.files:
                    self.send_error(404)
                    return
                blob = mirror.files[name]
                if kind == "fail":
                    self.send_error(503)
                    return
                blob = {"recompressed": mirror.recompressed, "corrupt": mirror.corrupt}.get(kind, mirror.files)[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                if kind == "cutoff":  # promises everything, sends half, hangs up
                    self.wfile.write(blob[: len(blob) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(blob)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, kind: str) -> str:
        return f"{self.base}/{kind}/"


@pytest.fixture
def mirrors(mnist_dir):
    server = Mirrors(mnist_dir)
    yield server
    server.server.shutdown()
    server.server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part")


def test_download_from_a_faithful_mirror(mirrors, isolated_env, mnist):
    paths = download_mnist(isolated_env, urls=(mirrors.url("recompressed"),))
    assert sorted(p.name for p in paths.values()) == sorted(f"{b}.gz" for b, _, _ in FILES.values())
    data = load_mnist()  # found in the cache now, checksums verified on the decompressed bytes
    assert data.source == isolated_env
    np.testing.assert_array_equal(data.y_test, mnist.y_test)


def test_load_mnist_downloads_into_the_cache(mirrors, isolated_env, monkeypatch):
    monkeypatch.setenv("MNISTLIB_MIRRORS", mirrors.url("good"))
    data = load_mnist()
    assert data.x_train.shape == (60000, 28, 28) and data.source == isolated_env
    assert len(mirrors.requests) == 4
    load_mnist()
    assert len(mirrors.requests) == 4  # the second load reads the cache


def test_failing_then_corrupt_then_good_mirror(mirrors, isolated_env):
    urls = (mirrors.url("fail"), mirrors.url("corrupt"), mirrors.url("good"))
    download_mnist(isolated_env, urls=urls)
    assert [r.split("/")[1] for r in mirrors.requests[:3]] == ["fail", "corrupt", "good"]
    assert _leftovers(isolated_env) == []
    load_mnist()  # verified


def test_transfer_cut_off_midway_leaves_nothing_and_uses_the_next_mirror(mirrors, isolated_env):
    download_mnist(isolated_env, urls=(mirrors.url("cutoff"), mirrors.url("good")))
    assert [r.split("/")[1] for r in mirrors.requests[:2]] == ["cutoff", "good"]
    assert _leftovers(isolated_env) == []
    load_mnist()


def test_every_mirror_broken_leaves_nothing_behind(mirrors, isolated_env):
    with pytest.raises(DataError) as err:
        download_mnist(isolated_env, urls=(mirrors.url("cutoff"), mirrors.url("corrupt")))
    message = str(err.value)
    assert "\n" not in message and "MNIST_DATA_DIR" in message
    assert "cutoff" in message and "corrupt" in message
    assert list(isolated_env.iterdir()) == []


def test_no_mirror_reachable_is_a_clear_quick_error(isolated_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_MIRRORS", f"{_closed_port_url()} {_closed_port_url()}")
    start = time.monotonic()
    with pytest.raises(DataError) as err:
        load_mnist(tmp_path / "nothing-here")
    assert time.monotonic() - start < 10
    message = str(err.value)
    for expected in ("nothing-here", str(isolated_env), "127.0.0.1", "MNIST_DATA_DIR"):
        assert expected in message
    assert list(isolated_env.iterdir()) == []
