"""Tests for initlab.data: built-in sets, the course's exact data, and the image-file loaders.

Every file is written by the tests into tmp_path; nothing is downloaded.
"""

import gzip
import re
import subprocess
import sys

import numpy as np
import pytest
import sklearn.datasets
from sklearn.datasets import make_circles, make_moons

import initlab.data
from initlab.data import (
    DATASETS,
    Dataset,
    classic_dataset,
    load_dataset,
    make_gauss,
    make_spiral,
    make_xor,
    read_idx,
    read_image_files,
)
from initlab.errors import InitlabError

BUILTIN = [n for n in DATASETS if n != "mnist"]


# ------------------------------------------------------------------------------- builtin
@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_shapes_dtypes_labels(name):
    ds = load_dataset(name, n_samples=200 if name != "digits" else 400, seed=1)
    n = 200 if name != "digits" else 400
    assert ds.n_train + ds.n_test == n
    assert ds.n_test == round(0.25 * n)
    assert ds.X_train.dtype == np.float64 and ds.X_test.dtype == np.float64
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.X_train.shape == (ds.n_train, ds.n_features) and ds.y_train.shape == (ds.n_train,)
    expected_classes = 10 if name == "digits" else 2
    assert ds.n_classes == expected_classes
    assert set(np.unique(ds.y_train)) == set(range(expected_classes))
    assert set(np.unique(ds.y_test)) <= set(range(expected_classes))
    assert ds.is_2d == (name != "digits")
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    assert ds.name == name and ds.params["seed"] == 1


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_same_seed_same_bits(name):
    a, b = load_dataset(name, seed=7), load_dataset(name, seed=7)
    c = load_dataset(name, seed=8)
    for part in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.X_train, c.X_train)


def test_split_is_stratified():
    ds = load_dataset("digits", seed=0)
    share = ds.class_counts("test") / (ds.class_counts("train") + ds.class_counts("test"))
    assert np.all(np.abs(share - 0.25) < 0.02)
    ds = load_dataset("moons", n_samples=101, test_size=0.3, seed=2)
    assert ds.n_test == 30 and abs(int(ds.class_counts("test")[0]) - 15) <= 1


@pytest.mark.parametrize(("name", "make"), [("moons", make_moons), ("circles", make_circles)])
def test_sklearn_sets_are_sklearns_draw(name, make):
    ds = load_dataset(name, n_samples=120, noise=0.1, seed=5)
    X, y = make(n_samples=120, noise=0.1, random_state=5)
    got = np.concatenate([ds.X_train, ds.X_test])
    labels = np.concatenate([ds.y_train, ds.y_test])
    order_got, order_ref = np.lexsort(got.T), np.lexsort(X.T)
    np.testing.assert_array_equal(got[order_got], X[order_ref])
    np.testing.assert_array_equal(labels[order_got], y[order_ref])


@pytest.mark.parametrize("name", ["circles", "moons"])
@pytest.mark.parametrize("n_samples", [1, 2, 3, 100, 301])
@pytest.mark.parametrize("noise", [None, 0.0, 0.05, 0.3])
def test_numpy_moons_circles_are_sklearns_bits(name, n_samples, noise):
    ours, theirs = (getattr(m, f"make_{name}") for m in (initlab.data, sklearn.datasets))
    for seed in (0, 1, 2, 12345):
        X, y = ours(n_samples, noise=noise, random_state=seed)
        X_ref, y_ref = theirs(n_samples=n_samples, noise=noise, random_state=seed)
        np.testing.assert_array_equal(X, X_ref)
        np.testing.assert_array_equal(y, y_ref)
        assert X.dtype == X_ref.dtype and y.dtype == y_ref.dtype
    if name == "circles":
        X, _ = ours(n_samples, noise=noise, random_state=3, factor=0.3)
        np.testing.assert_array_equal(X, theirs(n_samples=n_samples, noise=noise,
                                                random_state=3, factor=0.3)[0])
    saved = global_state()  # None draws from (and advances) the global legacy stream
    try:
        np.random.seed(4)  # noqa: NPY002
        X, _ = ours(n_samples, noise=noise)
        after = global_state()
        np.random.seed(4)  # noqa: NPY002
        np.testing.assert_array_equal(X, theirs(n_samples=n_samples, noise=noise)[0])
        assert same_state(global_state(), after)
    finally:
        np.random.set_state(saved)  # noqa: NPY002


def test_digits_are_sklearns_without_importing_it():
    from initlab.data.builtin import load_digits

    X, y = load_digits()
    X_ref, y_ref = sklearn.datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.dtype == X_ref.dtype and y.dtype == y_ref.dtype


def test_loading_builtin_sets_does_not_import_sklearn():
    code = ("import sys; from initlab.data import load_dataset, classic_dataset; "
            "load_dataset('moons', seed=1); classic_dataset('circles'); "
            "load_dataset('digits', n_samples=50); "
            "print([m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_xor_definition():
    X, y = make_xor(500, 0.0, np.random.default_rng(0))
    assert X.shape == (500, 2) and y.dtype == np.int64
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    # noise moves the point only where the label is decided: some labels flip near the axes
    Xn, yn = make_xor(2000, 0.5, np.random.default_rng(1))
    wrong = yn != (Xn[:, 0] * Xn[:, 1] >= 0)
    assert 0.02 < wrong.mean() < 0.5


def test_spiral_definition():
    X, y = make_spiral(200, 0.0, np.random.default_rng(0))
    assert (y[:100] == 1).all() and (y[100:] == 0).all()
    i = np.arange(100)
    r, t = 5 * i / 100, 1.75 * 2 * np.pi * i / 100
    np.testing.assert_allclose(X[:100], np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-12)
    np.testing.assert_allclose(X[100:], -X[:100], atol=1e-12)  # second arm rotated by pi
    Xn, _ = make_spiral(200, 0.5, np.random.default_rng(0))
    assert 0 < np.abs(Xn - X).max() <= 0.5


def test_gauss_definition():
    X, y = make_gauss(20001, 0.2, np.random.default_rng(0))
    assert (y == 1).sum() == 10001 and (y == 0).sum() == 10000
    np.testing.assert_allclose(X[y == 1].mean(0), [2, 2], atol=0.05)
    np.testing.assert_allclose(X[y == 0].mean(0), [-2, -2], atol=0.05)
    np.testing.assert_allclose(X[y == 1].var(0), 0.5 + 7 * 0.2, rtol=0.05)


def test_scale_of_playground_sets_and_digits():
    raw = load_dataset("xor", scale=False, seed=3)
    scaled = load_dataset("xor", seed=3)
    np.testing.assert_allclose(scaled.X_train, raw.X_train / 6)
    assert np.abs(scaled.X_train).max() <= 5.3 / 6
    digits = load_dataset("digits", scale=False)
    assert digits.X_train.max() == 16 and digits.image_shape == (8, 8)
    assert load_dataset("digits").X_train.max() == 1.0
    moons = load_dataset("moons", seed=4)
    np.testing.assert_array_equal(moons.X_train, load_dataset("moons", seed=4, scale=False).X_train)


def test_noise_and_defaults_recorded():
    ds = load_dataset("circles")
    assert ds.params["noise"] == 0.05 and ds.params["n_samples"] == 400
    quiet = load_dataset("moons", noise=0.0, seed=0)
    loud = load_dataset("moons", noise=0.3, seed=0)
    assert not np.allclose(quiet.X_train, loud.X_train)


def test_digits_subsets():
    ds = load_dataset("digits", n_samples=500, train_size=100, seed=2)
    assert ds.n_train == 100 and ds.n_test == 125 and ds.n_features == 64
    full = load_dataset("digits", n_samples=500, seed=2)
    # the subset is made of rows of the full training part, test part unchanged
    np.testing.assert_array_equal(ds.X_test, full.X_test)
    rows = {r.tobytes() for r in full.X_train}
    assert all(r.tobytes() in rows for r in ds.X_train)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "mnits"}, "unknown dataset 'mnits'; valid: circles, digits, gauss, mnist"),
    ({"name": "moons", "n_samples": 0}, "n_samples must be a positive integer, got 0"),
    ({"name": "moons", "n_samples": -5}, "n_samples must be a positive integer, got -5"),
    ({"name": "moons", "n_samples": 2.5}, "n_samples must be a positive integer, got 2.5"),
    ({"name": "xor", "noise": -0.1}, "noise must be a finite number >= 0, got -0.1"),
    ({"name": "xor", "noise": float("nan")}, "noise must be a finite number >= 0, got nan"),
    ({"name": "xor", "noise": "lots"}, "noise must be a number >= 0, got 'lots'"),
    ({"name": "moons", "test_size": 0}, "test_size must lie strictly between 0 and 1, got 0"),
    ({"name": "moons", "test_size": 1.0}, "test_size must lie strictly between 0 and 1, got 1.0"),
    ({"name": "moons", "test_size": "x"}, "test_size must be a number in (0, 1), got 'x'"),
    ({"name": "moons", "train_size": 0}, "train_size must be a positive integer, got 0"),
    ({"name": "moons", "train_size": 301}, "train_size=301 is larger than the 300 training"),
    ({"name": "moons", "seed": -1}, "seed must be a non-negative integer, got -1"),
    ({"name": "moons", "seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
    ({"name": "moons", "data": "x.csv"}, "data='x.csv' applies only to dataset 'mnist'"),
    ({"name": "mnist"}, "dataset 'mnist' is read from files you supply: pass data=PATH"),
    ({"name": "mnist", "data": "x", "noise": 0.1}, "noise does not apply to 'mnist'"),
    ({"name": "digits", "noise": 0.1}, "noise applies only to the 2-D sets, not to 'digits'"),
    ({"name": "digits", "n_samples": 5000}, "n_samples=5000 but digits has 1797 images"),
    ({"name": "moons", "n_samples": 1}, "cannot split 1 example(s)"),
])
def test_load_dataset_rejects_bad_input(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(InitlabError, match=re.escape(message)):
        load_dataset(name, **kwargs)


# ------------------------------------------------------------------------------- classic
# The course draws from NumPy's legacy global RNG; these tests do the same on purpose, then put
# the global state back exactly as it was.
def global_state():
    return np.random.get_state()  # noqa: NPY002


def same_state(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("name", "make"), [("circles", make_circles), ("moons", make_moons)])
def test_classic_equals_legacy_global_seed(name, make):
    ds = classic_dataset(name)
    saved = global_state()
    try:
        np.random.seed(1)  # noqa: NPY002
        X_train, y_train = make(n_samples=300, noise=0.05)
        np.random.seed(2)  # noqa: NPY002
        X_test, y_test = make(n_samples=100, noise=0.05)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    assert same_state(global_state(), saved)
    np.testing.assert_array_equal(ds.X_train, X_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.X_test, X_test)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.X_train.shape == (300, 2) and ds.X_test.shape == (100, 2) and ds.n_classes == 2


def test_loaders_leave_global_rng_alone_and_classic_rejects_unknown():
    before = global_state()
    classic_dataset("moons")
    load_dataset("xor", seed=1)
    load_dataset("digits", n_samples=100, train_size=50)
    assert same_state(global_state(), before)
    with pytest.raises(InitlabError, match=r"unknown classic dataset 'xor'; valid: circles, moons"):
        classic_dataset("xor")


# ------------------------------------------------------------------------------- Dataset
def test_dataset_repr_describe_bounds():
    ds = load_dataset("gauss", n_samples=40, seed=0)
    assert repr(ds) == "Dataset('gauss', train=30x2, test=10x2, classes=2)"
    text = ds.describe()
    assert "2-D points" in text and "train classes: [15, 15]" in text and "noise=0.1" in text
    x0, x1, y0, y1 = ds.bounds(margin=0)
    assert x0 == min(ds.X_train[:, 0].min(), ds.X_test[:, 0].min()) and x1 > x0 and y1 > y0
    with pytest.raises(InitlabError, match="has 64 features, not 2"):
        load_dataset("digits").bounds()
    assert "images 8x8" in load_dataset("digits", n_samples=100).describe()


@pytest.mark.parametrize(("args", "message"), [
    ((np.zeros((3, 2)), [0, 1], np.zeros((1, 2)), [0], 2), "X_train has 3 rows but y_train has 2"),
    ((np.zeros(3), [0, 1, 1], np.zeros((1, 2)), [0], 2), "X_train must be 2-D"),
    ((np.zeros((2, 2)), [0, 1], np.zeros((1, 3)), [0], 2), "train has 2 features but test has 3"),
    ((np.zeros((2, 2)), [0, 2], np.zeros((1, 2)), [0], 2), "n_classes=2 but the labels go up to 2"),
    ((np.zeros((2, 2)), [0, -1], np.zeros((1, 2)), [0], 2), "negative label -1"),
    ((np.zeros((2, 2)), [0, 0.5], np.zeros((1, 2)), [0], 2), "non-integer label 0.5"),
    ((np.full((2, 2), np.nan), [0, 1], np.zeros((1, 2)), [0], 2), "X_train holds NaN"),
])
def test_dataset_checks_its_arrays(args, message):
    with pytest.raises(InitlabError, match=re.escape(message)):
        Dataset(*args, name="mine")


# ------------------------------------------------------------------------------- files
def idx_bytes(array, code=0x08):
    """The IDX encoding of ``array``: magic, big-endian dims, big-endian data."""
    dtype = {0x08: ">u1", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return head + np.asarray(array, dtype=dtype).tobytes()


def write(path, data, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def images(n, seed, side=6):
    """``n`` fake ``side x side`` uint8 images and labels 0..2 (every class present)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
    X[0, 0, 0] = 255
    return X, (np.arange(n) % 3).astype(np.uint8)


def write_mnist_dir(directory, gz=False, test=True, dotted=False):
    directory.mkdir(exist_ok=True)
    parts = [("train", *images(40, 0))] + ([("t10k", *images(12, 1))] if test else [])
    for prefix, X, y in parts:
        sep = "." if dotted else "-"
        ext = ".gz" if gz else ""
        write(directory / f"{prefix}-images{sep}idx3-ubyte{ext}", idx_bytes(X), gz)
        write(directory / f"{prefix}-labels{sep}idx1-ubyte{ext}", idx_bytes(y), gz)
    return directory


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_idx_directory(tmp_path, gz, dotted):
    ds = load_dataset("mnist", data=write_mnist_dir(tmp_path / "m", gz=gz, dotted=dotted))
    X, y = images(40, 0)
    Xt, yt = images(12, 1)
    assert ds.image_shape == (6, 6) and ds.n_classes == 3 and ds.name == "mnist"
    np.testing.assert_allclose(ds.X_train, X.reshape(40, 36) / 255)
    np.testing.assert_array_equal(ds.y_train, y)
    np.testing.assert_allclose(ds.X_test, Xt.reshape(12, 36) / 255)
    np.testing.assert_array_equal(ds.y_test, yt)
    assert ds.X_train.min() >= 0 and ds.X_train.max() == 1.0


def test_read_idx_roundtrip_and_float_type(tmp_path):
    arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    got = read_idx(write(tmp_path / "f.idx", idx_bytes(arr, 0x0D), gz=True))
    np.testing.assert_array_equal(got, arr)
    assert got.shape == (2, 3, 4)


def test_single_idx_file_finds_labels_and_splits(tmp_path):
    write_mnist_dir(tmp_path, test=False, gz=True)
    ds = load_dataset("mnist", data=tmp_path / "train-images-idx3-ubyte.gz", test_size=0.25,
                      train_size=20, seed=3)
    assert ds.n_test == 10 and ds.n_train == 20
    assert set(ds.params) >= {"source", "train_size", "test_size", "seed"}
    again = load_dataset("mnist", data=tmp_path / "train-images-idx3-ubyte.gz", test_size=0.25,
                         train_size=20, seed=3)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    X, _ = images(40, 0)
    rows = {r.tobytes() for r in (X.reshape(40, 36) / 255)}
    assert all(r.tobytes() in rows for r in np.concatenate([ds.X_train, ds.X_test]))


def test_mnist_train_size_subset_and_scale_off(tmp_path):
    path = write_mnist_dir(tmp_path / "m")
    ds = load_dataset("mnist", data=path, train_size=10, scale=False)
    X, y = images(40, 0)
    assert ds.n_train == 10 and ds.n_test == 12 and ds.X_train.max() > 1
    rows = [r.tobytes() for r in X.reshape(40, 36).astype(np.float64)]
    idx = [rows.index(r.tobytes()) for r in ds.X_train]
    assert idx == sorted(idx)  # a seeded subset, kept in file order
    np.testing.assert_array_equal(ds.y_train, y[idx])
    with pytest.raises(InitlabError, match="has its own test part; test_size=0.2"):
        load_dataset("mnist", data=path, test_size=0.2)
    with pytest.raises(InitlabError, match="train_size=41 is larger than the 40 training"):
        load_dataset("mnist", data=path, train_size=41)


def csv_text(X, y, header):
    rows = [",".join(str(v) for v in [label, *pixels]) for label, pixels in zip(y, X, strict=True)]
    head = ["label," + ",".join(f"{i // 6 + 1}x{i % 6 + 1}" for i in range(X.shape[1]))]
    return "\n".join((head if header else []) + rows) + "\n"


@pytest.mark.parametrize("header", [False, True])
def test_csv_with_and_without_header(tmp_path, header):
    X, y = images(40, 0)
    path = tmp_path / "mnist_train.csv"
    path.write_text(csv_text(X.reshape(40, 36), y, header))
    ds = load_dataset("mnist", data=path, seed=1)
    assert ds.n_train + ds.n_test == 40 and ds.image_shape == (6, 6)
    got = np.concatenate([ds.X_train, ds.X_test])
    assert got.max() == 1.0 and got.min() >= 0
    raw = read_image_files(path)
    np.testing.assert_array_equal(raw.X_train, X.reshape(40, 36))
    np.testing.assert_array_equal(raw.y_train, y)


def test_csv_directory_and_gzipped_csv(tmp_path):
    X, y = images(40, 0)
    Xt, yt = images(12, 1)
    (tmp_path / "mnist_train.csv").write_text(csv_text(X.reshape(40, 36), y, True))
    (tmp_path / "mnist_test.csv").write_text(csv_text(Xt.reshape(12, 36), yt, True))
    ds = load_dataset("mnist", data=tmp_path)
    assert ds.n_train == 40 and ds.n_test == 12
    gz = write(tmp_path / "small.csv.gz", csv_text(X.reshape(40, 36), y, False).encode(), True)
    np.testing.assert_array_equal(read_image_files(gz).X_train, X.reshape(40, 36))


def test_npz_keras_layout(tmp_path):
    X, y = images(40, 0)
    Xt, yt = images(12, 1)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=X, y_train=y, x_test=Xt, y_test=yt)
    for data in (path, tmp_path):
        ds = load_dataset("mnist", data=data)
        assert ds.n_train == 40 and ds.n_test == 12 and ds.image_shape == (6, 6)
        np.testing.assert_allclose(ds.X_test, Xt.reshape(12, 36) / 255)
        np.testing.assert_array_equal(ds.y_test, yt)


def test_npz_X_y_layout_already_scaled(tmp_path):
    X, y = images(40, 0)
    X = X.reshape(40, 6, 6, 1) / 255.0
    path = tmp_path / "set.npz"
    np.savez_compressed(path, X=X, y=y.astype(np.int64))
    ds = load_dataset("mnist", data=path, test_size=0.5)
    assert ds.n_train == 20 and ds.n_test == 20 and ds.image_shape == (6, 6)
    got = np.concatenate([ds.X_train, ds.X_test])
    assert got.max() == 1.0  # values already in [0, 1] are not divided again


# ------------------------------------------------------------------------- corrupt files
def corrupt_cases(tmp_path):
    """(path, expected message) pairs for files that must be rejected."""
    X, y = images(10, 0)
    good_images, good_labels = idx_bytes(X), idx_bytes(y)
    cases = []

    def add(name, data, message, gz=False):
        cases.append((write(tmp_path / name, data, gz), message))

    d = tmp_path / "magic"
    d.mkdir()
    write(d / "train-images-idx3-ubyte", b"\x00\x01\x08\x03" + good_images[4:])
    write(d / "train-labels-idx1-ubyte", good_labels)
    cases.append((d, "wrong magic number 0x00010803"))
    d = tmp_path / "trunc"
    d.mkdir()
    write(d / "train-images-idx3-ubyte.gz", good_images[:-7], gz=True)
    write(d / "train-labels-idx1-ubyte.gz", good_labels, gz=True)
    cases.append((d, "is truncated: header says shape (10, 6, 6), i.e. 360 bytes of data, but "
                     "353 bytes follow"))
    d = tmp_path / "long"
    d.mkdir()
    write(d / "train-images-idx3-ubyte", good_images)
    write(d / "train-labels-idx1-ubyte", good_labels + b"\x01")
    cases.append((d, "has the wrong length: header says shape (10,), i.e. 10 bytes"))
    d = tmp_path / "nolabels"
    d.mkdir()
    write(d / "train-images-idx3-ubyte", good_images)
    cases.append((d, "labels missing: "))
    d = tmp_path / "count"
    d.mkdir()
    write(d / "train-images-idx3-ubyte", good_images)
    write(d / "train-labels-idx1-ubyte", idx_bytes(y[:9]))
    cases.append((d, "10 images in"))
    d = tmp_path / "empty_dir"
    d.mkdir()
    cases.append((d, "no image files found in"))
    add("lonely-images-idx3-ubyte", good_images, "labels missing: no lonely-labels-idx1-ubyte")
    add("train-labels-idx1-ubyte", good_labels, "holds labels (1 dimension), not images")
    add("pictures.idx", good_images, "cannot tell where the labels of")
    add("short.idx", b"\x00\x00", "too short (2 bytes) to be an IDX file")
    add("header.idx", b"\x00\x00\x08\x03\x00\x00", "truncated: its header promises 3 dimensions")
    add("broken.csv.gz", gzip.compress(b"1,2,3\n")[:-6], "is a damaged gzip file")
    add("text.csv", b"\nlabel,a,b\n1,0,3\n2,abc,4\n",
        "is not a numeric CSV: line 4, column 2 holds 'abc', not a number")
    add("ragged.csv", b"1,0,3\n2,4\n", "is not a numeric CSV: line 2 has 2 columns, the lines")
    add("blank.csv", b"1,0,3\n2,,4\n", "line 2, column 2 holds '', not a number")
    add("nan.csv", b"1,0,3\n2,nan,4\n", "holds NaN or inf (first at image 1, pixel 0)")
    add("empty.csv", b"", "is empty")
    add("headonly.csv", b"label,p1\n", "has a header but no data rows")
    add("onecol.csv", b"1\n2\n", "has 1 column(s)")
    add("neg.csv", b"1,0\n-2,4\n", "holds the negative label -2")
    add("frac.csv", b"1,0\n2.5,4\n", "holds a non-integer label 2.5")
    add("notzip.npz", b"hello", "is not an NPZ file (no zip signature)")
    cases.append((tmp_path / "missing.npz", "file not found"))
    cases.append((tmp_path / "nowhere", "file not found"))
    for name, arrays, message in [
        ("nolab.npz", {"x_train": X}, "labels missing: "),
        ("notest.npz", {"x_train": X, "y_train": y, "x_test": X}, "labels missing: "),
        ("nokeys.npz", {"images": X}, "no images in"),
        ("count.npz", {"X": X, "y": y[:3]}, "10 images in"),
        ("nan.npz", {"X": np.full((3, 4), np.nan), "y": [0, 1, 2]}, "holds NaN or inf"),
        ("obj.npz", {"X": np.array([[1], "a"], dtype=object), "y": [0, 1]}, "cannot read"),
        ("strs.npz", {"X": np.array([["a", "b"]]), "y": [0]}, "values, not numbers"),
        ("flat.npz", {"X": np.arange(3), "y": [0, 1, 2]}, "expected images"),
    ]:
        np.savez(tmp_path / name, **arrays)
        cases.append((tmp_path / name, message))
    return cases


def test_corrupt_files_give_clear_errors(tmp_path):
    for path, message in corrupt_cases(tmp_path):
        with pytest.raises(InitlabError, match=re.escape(message)) as err:
            load_dataset("mnist", data=path)
        assert path.name in str(err.value), (path, str(err.value))


def test_pixels_out_of_range_need_scale_off(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, X=np.array([[0.0, 300.0], [1.0, 2.0]]), y=[0, 1])
    with pytest.raises(InitlabError, match=r"span \[0, 300\], not the 8-bit range"):
        load_dataset("mnist", data=path)
    assert load_dataset("mnist", data=path, scale=False, test_size=0.5).X_train.max() <= 300


def test_csv_without_label_column_is_refused(tmp_path):
    """Kaggle's MNIST test.csv (pixel0,... and no label) and label-less rows are refused."""
    from initlab.data import read_csv

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(300, 16))
    kaggle = tmp_path / "test.csv"
    kaggle.write_text(",".join(f"pixel{i}" for i in range(16)) + "\n"
                      + "\n".join(",".join(map(str, row)) for row in pixels))
    with pytest.raises(InitlabError, match="first column is 'pixel0', a pixel"):
        read_csv(kaggle)
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(map(str, row)) for row in pixels))
    with pytest.raises(InitlabError, match="distinct values, more than 100 classes"):
        read_csv(bare)
    scaled = tmp_path / "scaled.csv"
    scaled.write_text("\n".join(",".join(map(str, row / 255)) for row in pixels))
    with pytest.raises(InitlabError, match="177 distinct values, more than 100 classes"):
        read_csv(scaled)
    good = tmp_path / "good.csv"
    good.write_text("label," + ",".join(f"pixel{i}" for i in range(15)) + "\n" + "\n".join(
        ",".join(map(str, [row[0] % 10, *row[1:]])) for row in pixels))
    X, y, _ = read_csv(good)
    assert X.shape == (300, 15) and y.max() <= 9


def test_expected_size_names_an_unknown_dataset():
    from initlab.data import expected_size

    assert expected_size("moons", 400) == (300, 100, 2, 2)
    with pytest.raises(InitlabError, match=r"unknown dataset 'moonz'; valid: circles, digits"):
        expected_size("moonz")
