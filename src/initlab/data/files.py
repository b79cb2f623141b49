"""Image sets (MNIST or any set in its form) read from files the user supplies.

Three formats, each gzipped or not (recognised by the gzip magic bytes, not the name):

- IDX, MNIST's own: a directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``
  and optionally ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each may end in
  ``.gz``; ``train-images.idx3-ubyte`` spellings work too), or one images file whose labels file
  lies next to it under the same name with ``images`` -> ``labels`` and ``idx3`` -> ``idx1``.
- CSV with the label in the first column and one pixel per further column; a header row is
  detected (its first field is not a number) and skipped. A directory may hold
  ``mnist_train.csv`` and optionally ``mnist_test.csv``.
- NPZ with keys ``x_train, y_train[, x_test, y_test]`` (Keras' ``mnist.npz``) or ``X, y``.
  A directory may hold ``mnist.npz``. Read with ``allow_pickle=False``.

Readers return the raw pixel values (no scaling); images are flattened to rows.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from initlab.data.dataset import labels_as_int, square_image_shape
from initlab.errors import InitlabError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# IDX type code -> big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_PAIRS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CSV_NAMES = ("mnist_train.csv", "mnist_test.csv")
NPZ_NAME = "mnist.npz"


class RawImages(NamedTuple):
    """What a file holds: ``X_train (N, F)``, ``y_train (N,)``, the test part or ``None``s."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    image_shape: tuple[int, int] | None
    source: str


def read_image_files(path) -> RawImages:
    """Read an image set from a directory or one IDX, CSV or NPZ file (see the module doc).

    Raises :class:`InitlabError` naming the file for a missing file, a wrong magic number, a
    wrong length, non-numeric CSV, missing labels, an images/labels count mismatch or NaN.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return _read_directory(path)
    if not path.is_file():
        raise InitlabError(f"file not found: {str(path)!r}")
    if _head(path) == ZIP_MAGIC or path.suffix.lower() == ".npz":
        return read_npz(path)
    if _is_csv(path):
        X, y, shape = read_csv(path)
        return RawImages(X, y, None, None, shape, str(path))
    X, y, shape = _read_idx_pair(path, None)
    return RawImages(X, y, None, None, shape, str(path))


# ------------------------------------------------------------------------------------ IDX
def read_idx(path) -> np.ndarray:
    """Return the array stored in one IDX file (gzipped or not), shaped as its header says.

    Layout: 2 zero bytes, a type code (0x08 = unsigned byte, ...), the number of dimensions,
    then one big-endian uint32 per dimension and the big-endian data.
    """
    raw = _read_bytes(path)
    name = str(path)
    if len(raw) < 4:
        raise InitlabError(f"{name!r} is too short ({len(raw)} bytes) to be an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES or raw[3] == 0:
        raise InitlabError(
            f"{name!r} is not an IDX file: wrong magic number 0x{magic:08X} (expected "
            "0x00000803 for images, 0x00000801 for labels)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InitlabError(f"{name!r} is truncated: its header promises {ndim} dimensions "
                           f"({header} bytes) but the file has {len(raw)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "is truncated" if found < expected else "has the wrong length"
        raise InitlabError(
            f"{name!r} {what}: header says shape {dims}, i.e. {expected} bytes of data, "
            f"but {found} bytes follow the header"
        )
    return np.frombuffer(raw, dtype, math.prod(dims), header).reshape(dims)


def _read_idx_pair(images: Path, labels: Path | None):
    """Read an images file and its labels file (``None``: the one next to it)."""
    X = read_idx(images)
    if X.ndim < 2:
        raise InitlabError(f"{str(images)!r} holds labels (1 dimension), not images; "
                           "pass the images file (magic 0x00000803)")
    labels = _labels_next_to(images) if labels is None else labels
    y = read_idx(labels)
    if y.ndim != 1:
        raise InitlabError(f"{str(labels)!r} should hold labels (1 dimension, magic 0x00000801) "
                           f"but holds an array of shape {y.shape}")
    return _finish(X, y, str(images), str(labels))


def _labels_next_to(images: Path) -> Path:
    """Find the labels file of a single IDX images file: images -> labels, idx3 -> idx1."""
    stem = images.name.removesuffix(".gz")
    wanted = stem.replace("images", "labels").replace("idx3", "idx1")
    if wanted == stem:
        raise InitlabError(
            f"cannot tell where the labels of {str(images)!r} are: name the images file like "
            "train-images-idx3-ubyte with train-labels-idx1-ubyte next to it, or pass a "
            "CSV or NPZ file"
        )
    for name in (wanted, wanted + ".gz"):
        if (images.parent / name).is_file():
            return images.parent / name
    raise InitlabError(f"labels missing: no {wanted}[.gz] next to {str(images)!r}")


def _find_idx(directory: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


# ------------------------------------------------------------------------------ directory
def _read_directory(directory: Path) -> RawImages:
    found = {part: tuple(_find_idx(directory, s) for s in stems)
             for part, stems in IDX_PAIRS.items()}
    for part, (images, labels) in found.items():
        if (images is None) != (labels is None):
            missing = IDX_PAIRS[part][images is not None]
            kind = "labels" if images is not None else "images"
            raise InitlabError(f"{kind} missing: {str(directory)!r} has "
                               f"{(images or labels).name} but no {missing}[.gz]")
    (train_images, train_labels), (test_images, test_labels) = found["train"], found["test"]
    if train_images is not None:
        X, y, shape = _read_idx_pair(train_images, train_labels)
        X_test = y_test = None
        if test_images is not None:
            X_test, y_test, _ = _read_idx_pair(test_images, test_labels)
            _same_width(X, X_test, test_images)
        return RawImages(X, y, X_test, y_test, shape, str(directory))
    if (directory / NPZ_NAME).is_file():
        return read_npz(directory / NPZ_NAME)
    train_csv, test_csv = (directory / n for n in CSV_NAMES)
    if train_csv.is_file():
        X, y, shape = read_csv(train_csv)
        X_test = y_test = None
        if test_csv.is_file():
            X_test, y_test, _ = read_csv(test_csv)
            _same_width(X, X_test, test_csv)
        return RawImages(X, y, X_test, y_test, shape, str(directory))
    raise InitlabError(
        f"no image files found in {str(directory)!r}: expected {IDX_PAIRS['train'][0]}[.gz] "
        f"and {IDX_PAIRS['train'][1]}[.gz] (t10k-* optional), {NPZ_NAME}, or {CSV_NAMES[0]} "
        f"({CSV_NAMES[1]} optional)"
    )


# ------------------------------------------------------------------------------------ CSV
def _is_csv(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in (".csv", ".txt")


def read_csv(path) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """Return ``(X (N, F), y (N,), image_shape)`` from a CSV whose first column is the label.

    A first row whose first field is not a number is a header and is skipped.
    """
    name = str(path)
    try:
        text = _read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InitlabError(f"{name!r} is not a text CSV file (it is not UTF-8)") from None
    first, _, rest = text.lstrip().partition("\n")
    if not first.strip():
        raise InitlabError(f"{name!r} is empty: expected rows of label,pixel,pixel,...")
    header = not _is_number(first.split(",")[0])
    if header and not rest.strip():
        raise InitlabError(f"{name!r} has a header but no data rows")
    try:
        table = np.loadtxt(io.StringIO(rest if header else text.lstrip()), delimiter=",",
                           dtype=np.float64, ndmin=2)
    except ValueError:
        raise InitlabError(f"{name!r} is not a numeric CSV: {_csv_problem(text)}") from None
    if table.shape[1] < 2:
        raise InitlabError(f"{name!r} has {table.shape[1]} column(s); expected the label "
                           "in the first column and at least one pixel after it")
    check_label_column(table, first.split(",")[0].strip().strip('"') if header else None, name)
    return _finish(table[:, 1:], table[:, 0], name, name)


MAX_CLASSES = 100  # more distinct values than this in the first column: not labels


def check_label_column(table: np.ndarray, heading: str | None, name: str) -> None:
    """Refuse a CSV whose first column is not a label column: a header that names a pixel
    (Kaggle's MNIST ``test.csv``: ``pixel0,...``) or more distinct values than any class count
    (a pixel's 0-255). Non-integer labels are refused by ``labels_as_int``."""
    expected = ("expected the class label in the first column, then the pixels (Kaggle's "
                "test.csv has no labels and cannot be used)")
    if heading is not None and heading.lower().rstrip("0123456789_ ") in ("pixel", "px", "x"):
        raise InitlabError(f"{name!r}: the first column is {heading!r}, a pixel; {expected}")
    distinct = np.unique(table[:, 0]).size  # non-integer labels: labels_as_int says so
    if distinct > MAX_CLASSES:
        raise InitlabError(f"{name!r}: the first column holds {distinct} distinct values, more "
                           f"than {MAX_CLASSES} classes; {expected}")


def _csv_problem(text: str) -> str:
    """Say where a CSV that NumPy refused goes wrong: the first bad field or ragged line."""
    width, seen = None, False
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split(",")
        if not line.strip():
            continue
        if not seen and not _is_number(fields[0]):
            seen = True
            continue  # the header
        seen = True
        for column, field in enumerate(fields, start=1):
            if not _is_number(field):
                return f"line {number}, column {column} holds {field.strip()!r}, not a number"
        if width is not None and len(fields) != width:
            return f"line {number} has {len(fields)} columns, the lines before it {width}"
        width = len(fields)
    return "it does not parse as numbers separated by commas"


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------ NPZ
def read_npz(path) -> RawImages:
    """Read ``x_train, y_train[, x_test, y_test]`` or ``X, y`` from an ``.npz`` file."""
    name = str(path)
    if _head(path) != ZIP_MAGIC:
        raise InitlabError(f"{name!r} is not an NPZ file (no zip signature)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = sorted(archive.files)
            layout = _npz_layout(set(keys), name)
            arrays = {k: archive[k] for k in layout if k in archive.files}
    except InitlabError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, pickled object arrays, truncated members
        raise InitlabError(f"cannot read {name!r} as NPZ: {exc}") from None
    x_key, y_key, xt_key, yt_key = layout
    X, y, shape = _finish(arrays[x_key], arrays[y_key], f"{name}[{x_key}]", f"{name}[{y_key}]")
    X_test = y_test = None
    if xt_key in arrays:
        X_test, y_test, _ = _finish(arrays[xt_key], arrays[yt_key],
                                    f"{name}[{xt_key}]", f"{name}[{yt_key}]")
        _same_width(X, X_test, f"{name}[{xt_key}]")
    return RawImages(X, y, X_test, y_test, shape, name)


def _npz_layout(keys: set[str], name: str) -> tuple[str, str, str, str]:
    """Return the (x, y, x_test, y_test) key names used by the archive, or raise."""
    expected = "x_train, y_train (x_test, y_test optional) or X, y"
    for layout in (("x_train", "y_train", "x_test", "y_test"), ("X", "y", "", ""),
                   ("x", "y", "", "")):
        x_key, y_key, xt_key, yt_key = layout
        if x_key not in keys:
            continue
        if y_key not in keys:
            raise InitlabError(f"labels missing: {name!r} has {x_key} but no {y_key} "
                               f"(keys: {', '.join(sorted(keys))})")
        if xt_key and (xt_key in keys) != (yt_key in keys):
            present, absent = (xt_key, yt_key) if xt_key in keys else (yt_key, xt_key)
            raise InitlabError(f"{'labels' if absent == yt_key else 'images'} missing: "
                               f"{name!r} has {present} but no {absent}")
        return layout
    raise InitlabError(f"no images in {name!r}: keys {', '.join(sorted(keys)) or '(none)'}; "
                       f"expected {expected}")


# ---------------------------------------------------------------------------- shared
def _head(path) -> bytes:
    """Return the first 4 raw bytes of ``path`` (to recognise a zip archive)."""
    try:
        with open(path, "rb") as f:
            return f.read(4)
    except FileNotFoundError:
        raise InitlabError(f"file not found: {str(path)!r}") from None
    except OSError as exc:
        raise InitlabError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


def _read_bytes(path) -> bytes:
    """Return the bytes of ``path``, decompressed when they start with the gzip magic."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InitlabError(f"file not found: {name!r}") from None
    except OSError as exc:
        raise InitlabError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise InitlabError(f"{name!r} is a damaged gzip file: {exc}") from None


def _finish(X, y, images: str, labels: str):
    """Check one images/labels pair; return ``(X (N, F), y (N,) int64, image_shape)``."""
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype.kind not in "biuf":
        raise InitlabError(f"{images!r} holds {X.dtype} values, not numbers")
    if X.ndim < 2:
        raise InitlabError(f"{images!r} holds an array of shape {X.shape}; expected images "
                           "(N, height, width) or rows (N, pixels)")
    if y.ndim != 1:
        y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
        if y.ndim != 1:
            raise InitlabError(f"{labels!r} holds labels of shape {y.shape}; expected (N,)")
    if len(X) != len(y):
        raise InitlabError(f"{len(X)} images in {images!r} but {len(y)} labels in {labels!r}")
    if len(X) == 0:
        raise InitlabError(f"{images!r} holds no images")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0]
        raise InitlabError(f"{images!r} holds NaN or inf (first at image {bad[0]}, "
                           f"pixel {bad[1]})")
    shape = X.shape[1:]
    squeezed = tuple(s for s in shape if s != 1)  # (H, W, 1) and (1, H, W) are images too
    if len(shape) == 1:
        image_shape = square_image_shape(shape[0])
    else:
        image_shape = squeezed if len(squeezed) == 2 else None
    X = X.reshape(len(X), -1)
    return X, labels_as_int(y, repr(labels)), image_shape


def _same_width(X_train, X_test, where) -> None:
    if X_train.shape[1] != X_test.shape[1]:
        raise InitlabError(f"test images in {str(where)!r} have {X_test.shape[1]} pixels but "
                           f"the training images have {X_train.shape[1]}")


def scale_pixels(X_train, X_test, source: str):
    """Return float64 copies scaled to [0, 1]: divided by 255 when the largest value exceeds 1.

    Values above 255 or below 0 cannot be 8-bit pixels and raise (pass ``scale=False``).
    """
    parts = [X_train] if X_test is None else [X_train, X_test]
    top = max(float(p.max()) for p in parts)
    low = min(float(p.min()) for p in parts)
    divide = top > 1
    if divide and (top > 255 or low < 0):
        raise InitlabError(f"pixel values in {source!r} span [{low:g}, {top:g}], not the 8-bit "
                           "range [0, 255]; pass scale=False to keep them as they are")
    scaled = [p.astype(np.float64) for p in parts]
    for p in scaled if divide else ():
        p /= 255.0
    return scaled[0], (scaled[1] if X_test is not None else None)
