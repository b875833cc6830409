"""Load MNIST, offline first (notebook 01_load_data).

Where the four IDX files are looked for, in order:

1. the ``data_dir`` argument,
2. the ``MNIST_DATA_DIR`` environment variable,
3. the per-user cache folder (``MNISTLIB_CACHE_DIR``, else the platform's cache
   folder, e.g. ``~/.cache/mnistlib`` on Linux).

When none of them holds the files they are downloaded into the cache from the
mirrors in :data:`MIRRORS` (override with ``MNISTLIB_MIRRORS``, a space separated
list of base URLs). Every file, local or downloaded, is checked against the
SHA-256 of its *decompressed* bytes, so any faithful mirror passes whatever gzip
settings it used.

:func:`display_path` shows a folder without the machine it is on (``$MNIST_DATA_DIR``,
``<cache>``, ``~``, or relative to the project folder): the text output of ``mnistlib data``
and :class:`MNIST`'s repr use it, so committed notebook outputs carry no absolute paths.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platformdirs

from mnistlib import config
from mnistlib.errors import MnistlibError
from mnistlib.inputs import IMAGE_SHAPE, NUM_CLASSES


class DataError(MnistlibError):
    """The dataset could not be found, downloaded or read."""


#: The four files: role -> (file name without ``.gz``, expected shape, SHA-256 of the decompressed bytes).
FILES: dict[str, tuple[str, tuple[int, ...], str]] = {
    "train_images": (
        "train-images-idx3-ubyte",
        (60000, *IMAGE_SHAPE),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train_labels": (
        "train-labels-idx1-ubyte",
        (60000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test_images": (
        "t10k-images-idx3-ubyte",
        (10000, *IMAGE_SHAPE),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte",
        (10000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

#: Public mirrors of the original gzipped files, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Seconds to wait for a mirror to answer (and between two chunks of a download).
TIMEOUT = 15.0

# IDX element type codes (third byte of the magic number) -> numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class Splits:
    """``train`` and ``test`` as ``(images, labels)`` pairs, for a dataset with ``x_train``, ``y_train``,
    ``x_test`` and ``y_test`` (:class:`MNIST`, :class:`mnistlib.preprocess.RunData`)."""

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_test, self.y_test


@dataclass(frozen=True)
class MNIST(Splits):
    """The dataset in memory: ``uint8`` images ``(N, 28, 28)`` and ``uint8`` labels ``(N,)``.

    ``source`` is the folder the files came from; ``verified`` whether :func:`load_mnist` checked
    their SHA-256 checksums (``verify=True``, the default)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: Path = field(default=Path("."))
    verified: bool = False

    def __repr__(self) -> str:
        return (
            f"MNIST(train={self.x_train.shape[0]:,} images, test={self.x_test.shape[0]:,} images, "
            f"source='{display_path(self.source)}')"
        )


# --------------------------------------------------------------------------- IDX format


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file into an array, validating the header."""
    if len(raw) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{name}: unknown IDX element type 0x{code:02x}")
    if ndim == 0:
        raise DataError(f"{name}: IDX header declares no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        raise DataError(
            f"{name}: header says {'x'.join(map(str, shape))} values ({expected:,} bytes) "
            f"but the file holds {actual:,} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _decompress(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by content, not by name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip file ({exc})") from None
    return raw


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read one IDX file, gzipped or raw; check its SHA-256 (of the decompressed bytes) if given."""
    path = Path(path)
    raw = _decompress(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(
            f"{path}: checksum mismatch (the file is corrupt or not the MNIST original); "
            "delete it to download a fresh copy"
        )
    return parse_idx(raw, str(path))


# --------------------------------------------------------------------------- locating


def cache_dir() -> Path:
    """The per-user cache folder for downloads (``MNISTLIB_CACHE_DIR`` overrides it)."""
    env = os.environ.get("MNISTLIB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("mnistlib", appauthor=False))


def _under(path: Path, base: Path) -> Path | None:
    """``path`` relative to ``base`` when it lies inside it (as written or with symlinks resolved), else None."""
    for p, b in ((Path(os.path.abspath(path)), Path(os.path.abspath(base))), (path.resolve(), base.resolve())):
        try:
            return p.relative_to(b)
        except ValueError:
            continue
    return None


def display_path(path: str | os.PathLike) -> str:
    """``path`` as shown to people, without this machine's folders in it (notebook outputs, ``mnistlib data``).

    Relative to the most specific of these that holds it: ``$MNIST_DATA_DIR/...``, the download cache
    (``$MNISTLIB_CACHE_DIR/...`` when that variable is set, else ``<cache>/...``), the project folder
    (``models/cnn.keras``, see :data:`mnistlib.config.ROOT`) and the home folder (``~/...``). Any other
    path is returned as it is. Only for display: error messages and ``--json`` keep real paths.
    """
    path = Path(path).expanduser()
    bases: list[tuple[str, Path]] = []
    if os.environ.get("MNIST_DATA_DIR"):
        bases.append(("$MNIST_DATA_DIR", Path(os.environ["MNIST_DATA_DIR"]).expanduser()))
    bases.append(("$MNISTLIB_CACHE_DIR" if os.environ.get("MNISTLIB_CACHE_DIR") else "<cache>", cache_dir()))
    bases.append(("", config.ROOT))
    bases.append(("~", Path.home()))
    best: tuple[int, str] | None = None
    for label, base in bases:
        rest = _under(path, base)
        if rest is None:
            continue
        depth = len(Path(os.path.abspath(base)).parts)
        if label:
            shown = label if rest == Path(".") else f"{label}/{rest.as_posix()}"
        else:
            shown = rest.as_posix()
        if best is None or depth > best[0]:
            best = (depth, shown)
    return best[1] if best is not None else str(path)


def mirrors() -> tuple[str, ...]:
    """The mirrors to try: ``MNISTLIB_MIRRORS`` (space separated base URLs) or :data:`MIRRORS`."""
    env = os.environ.get("MNISTLIB_MIRRORS")
    return tuple(env.split()) if env else MIRRORS


def find_file(folder: Path, base: str) -> Path | None:
    """The file ``base`` in ``folder``, gzipped (preferred) or raw, or ``None``."""
    for name in (base + ".gz", base):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the files are looked for, in order, as ``(how it was chosen, folder)``."""
    dirs: list[tuple[str, Path]] = []
    if data_dir is not None:
        dirs.append(("data_dir argument", Path(data_dir).expanduser()))
    env = os.environ.get("MNIST_DATA_DIR")
    if env:
        dirs.append(("MNIST_DATA_DIR", Path(env).expanduser()))
    dirs.append(("cache", cache_dir()))
    return dirs


def locate(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> dict[str, Path]:
    """Paths of the four files: the first folder holding all of them, else a fresh download into the cache."""
    looked = []
    for how, folder in candidate_dirs(data_dir):
        found = {role: find_file(folder, spec[0]) for role, spec in FILES.items()}
        if all(found.values()):
            return found  # type: ignore[return-value]
        missing = [FILES[role][0] for role, path in found.items() if path is None]
        looked.append(f"{folder} ({how}: {len(missing)} of 4 files missing)")
    if not download:
        raise DataError(
            f"MNIST not found; looked in {'; '.join(looked)}. "
            "Set MNIST_DATA_DIR to a folder holding the four IDX files."
        )
    return download_mnist(cache_dir(), looked=looked)


# --------------------------------------------------------------------------- downloading


def _fetch(url: str, dest: Path, sha256: str, timeout: float) -> None:
    """Download ``url`` to ``dest`` atomically: a temporary file, verified, then renamed."""
    import urllib.request  # here, not at the top: `mnistlib predict` imports this module and never downloads

    from tqdm.auto import tqdm

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, leave=False,
                disable=None,  # only on a terminal or notebook
            ) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
            if total is not None and out.tell() != total:
                raise DataError(f"transfer cut off after {out.tell():,} of {total:,} bytes")
        read_idx(tmp, sha256)  # checksum and header, before the file gets its real name
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def download_mnist(
    folder: str | os.PathLike | None = None,
    *,
    urls: tuple[str, ...] | None = None,
    timeout: float | None = None,
    looked: list[str] | None = None,
) -> dict[str, Path]:
    """Download the missing files into ``folder`` (default: the cache), each from the first mirror that works."""
    folder = Path(folder) if folder is not None else cache_dir()
    urls = urls if urls is not None else mirrors()
    timeout = TIMEOUT if timeout is None else timeout
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {folder} ({exc.strerror or exc})") from None
    paths: dict[str, Path] = {}
    for role, (base, _shape, sha) in FILES.items():
        existing = find_file(folder, base)
        if existing is not None:
            paths[role] = existing
            continue
        dest = folder / (base + ".gz")
        failures = []
        for mirror in urls:
            url = mirror.rstrip("/") + "/" + base + ".gz"
            try:
                _fetch(url, dest, sha, timeout)
                break
            except Exception as exc:  # any failure: try the next mirror
                failures.append(f"{url}: {_reason(exc)}")
        else:
            where = "; ".join(looked or [])
            raise DataError(
                f"could not get MNIST: {'looked in ' + where + '; ' if where else ''}"
                f"download of {base}.gz failed from every mirror ({'; '.join(failures) or 'no mirrors'}). "
                "Fix: set MNIST_DATA_DIR to a folder holding the four IDX files, "
                "or MNISTLIB_MIRRORS to a reachable mirror"
            )
        paths[role] = dest
    return paths


def _reason(exc: BaseException) -> str:
    """A short, one-line reason for a failed download."""
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return " ".join(text.split())


# --------------------------------------------------------------------------- loading


def load_mnist(
    data_dir: str | os.PathLike | None = None, *, verify: bool = True, download: bool = True
) -> MNIST:
    """Load the 70,000 MNIST images and labels (notebook 01_load_data).

    ``data_dir`` overrides where the files are looked for (see the module docstring);
    ``verify`` checks each file's SHA-256 (recorded as :attr:`MNIST.verified`); ``download``
    allows fetching missing files.
    """
    paths = locate(data_dir, download=download)
    arrays = {}
    for role, (base, shape, sha) in FILES.items():
        array = read_idx(paths[role], sha if verify else None)
        if array.dtype != np.uint8 or array.shape[1:] != shape[1:]:
            raise DataError(
                f"{paths[role]}: expected uint8 of shape (N, {', '.join(map(str, shape[1:]))}) "
                f"for {base}, got {array.dtype} {array.shape}"
            )
        arrays[role] = array
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DataError(f"{split} split: {n_images:,} images but {n_labels:,} labels")
    return MNIST(
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
        source=paths["train_images"].parent,
        verified=verify,
    )


def summary(data: MNIST) -> dict:
    """Counts per split and per class, as printed by ``mnistlib data`` and notebook 01.

    ``checksums_ok`` is :attr:`MNIST.verified`: true only when :func:`load_mnist` checked the checksums."""
    out: dict = {"source": str(data.source), "checksums_ok": bool(data.verified)}
    for split, (x, y) in (("train", data.train), ("test", data.test)):
        counts = np.bincount(y, minlength=NUM_CLASSES)
        out[split] = {
            "images": int(x.shape[0]),
            "shape": list(x.shape[1:]),
            "per_class": {str(digit): int(n) for digit, n in enumerate(counts)},
        }
    return out


__all__ = [
    "MNIST",
    "DataError",
    "FILES",
    "MIRRORS",
    "load_mnist",
    "download_mnist",
    "locate",
    "read_idx",
    "parse_idx",
    "cache_dir",
    "candidate_dirs",
    "display_path",
    "summary",
]
