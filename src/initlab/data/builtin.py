"""Built-in datasets: scikit-learn's moons, circles and digits, TensorFlow Playground's xor,
spiral and gauss, and MNIST from the user's files; plus the course's exact circles/moons.

Nothing is downloaded: the 2-D sets are generated, digits ships with scikit-learn, and MNIST
is read from the path the user gives (see :mod:`initlab.data.files`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from initlab.data.dataset import (
    Dataset,
    check_test_size,
    stratified_split,
    take_subset,
)
from initlab.data.files import read_image_files, scale_pixels
from initlab.errors import InitlabError, check_positive_int, choose

GENERATED = ("moons", "circles", "xor", "spiral", "gauss")
DATASETS = (*GENERATED, "digits", "mnist")
DEFAULT_NOISE = {"moons": 0.2, "circles": 0.05, "xor": 0.1, "spiral": 0.1, "gauss": 0.1}
DEFAULT_N_SAMPLES = 400  # total, split into train and test (the course's 300 + 100)
DEFAULT_TEST_SIZE = 0.25
PLAYGROUND_HALF_WIDTH = 6.0  # the Playground draws its points on [-6, 6]^2
XOR_PADDING = 0.3  # the Playground keeps xor points this far from both axes


# ---------------------------------------------------------------- TensorFlow Playground sets
def make_xor(n_samples: int, noise: float, rng: np.random.Generator):
    """Return ``(X (N, 2), y (N,))``: TensorFlow Playground's xor quadrants.

    Points are uniform on [-5, 5]^2, pushed 0.3 away from both axes; the label is
    ``x * y >= 0`` evaluated at the point moved by ``U(-5, 5) * noise`` per coordinate, so
    noise flips labels near the axes while the points themselves stay where they were drawn.
    """
    X = rng.uniform(-5, 5, size=(n_samples, 2))
    X += np.where(X > 0, XOR_PADDING, -XOR_PADDING)
    moved = X + rng.uniform(-5, 5, size=(n_samples, 2)) * noise
    return X, (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)


def make_spiral(n_samples: int, noise: float, rng: np.random.Generator):
    """Return ``(X (N, 2), y (N,))``: TensorFlow Playground's two interleaved spirals.

    Arm point i of m: radius r = 5 i / m, angle t = 1.75 * 2 pi i / m + delta (delta = 0 for
    class 1, pi for class 0), position (r sin t, r cos t) + U(-1, 1) * noise per coordinate.
    """
    parts = []
    for label, count, delta in ((1, n_samples - n_samples // 2, 0.0),
                                (0, n_samples // 2, math.pi)):
        frac = np.arange(count) / max(count, 1)
        r, t = 5 * frac, 1.75 * 2 * math.pi * frac + delta
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        parts.append((xy + rng.uniform(-1, 1, size=(count, 2)) * noise,
                      np.full(count, label, dtype=np.int64)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def make_gauss(n_samples: int, noise: float, rng: np.random.Generator):
    """Return ``(X (N, 2), y (N,))``: TensorFlow Playground's two gaussian blobs.

    Class 1 around (2, 2), class 0 around (-2, -2), each coordinate with variance
    0.5 + 7 * noise (the Playground maps noise 0..0.5 linearly onto variance 0.5..4).
    """
    std = math.sqrt(0.5 + 7 * noise)
    n1 = n_samples - n_samples // 2
    centers = np.where(np.arange(n_samples)[:, None] < n1, 2.0, -2.0)
    X = centers + std * rng.standard_normal((n_samples, 2))
    return X, (np.arange(n_samples) < n1).astype(np.int64)


PLAYGROUND = {"xor": make_xor, "spiral": make_spiral, "gauss": make_gauss}


# --------------------------------------------------------------- scikit-learn's moons, circles
# scikit-learn's ``make_circles`` and ``make_moons`` (version 1.x), step for step in NumPy, so
# that loading them does not import scikit-learn (about a second: it imports scipy.stats).
# The same bits for every seed: tests/test_data.py checks them against scikit-learn's own.
def _shuffled_with_noise(x, y, n_out: int, n_in: int, noise, random_state):
    """The generators' common end: the outer part (label 0) then the inner one (label 1),
    shuffled by ``RandomState(random_state)`` and moved by its normal(0, noise) draws."""
    if random_state is None:  # scikit-learn's check_random_state: the global legacy stream,
        rs = np.random.random_sample.__self__  # the RandomState np.random.seed seeds
    elif isinstance(random_state, np.random.RandomState):
        rs = random_state
    else:
        rs = np.random.RandomState(random_state)
    X = np.stack([x, y], axis=1)
    labels = np.concatenate([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n_out + n_in)
    rs.shuffle(order)
    X, labels = X[order], labels[order]
    if noise is not None:
        X += rs.normal(scale=noise, size=X.shape)
    return X, labels


def make_circles(n_samples: int = 100, *, noise: float | None = None, random_state=None,
                 factor: float = 0.8):
    """Return ``(X (N, 2), y (N,))``: scikit-learn's ``make_circles`` (shuffled), same bits.

    n // 2 points on the unit circle (label 0) and the rest on the circle of radius
    ``factor`` (label 1), evenly spaced from angle 0, endpoint excluded; then shuffled and
    moved by gaussian noise of std ``noise``. ``random_state``: an int, a ``RandomState`` (used
    and advanced) or None for NumPy's global legacy stream, as scikit-learn takes it.
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    inner = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.append(np.cos(out), np.cos(inner) * factor)
    y = np.append(np.sin(out), np.sin(inner) * factor)
    return _shuffled_with_noise(x, y, n_out, n_in, noise, random_state)


def make_moons(n_samples: int = 100, *, noise: float | None = None, random_state=None):
    """Return ``(X (N, 2), y (N,))``: scikit-learn's ``make_moons`` (shuffled), same bits.

    n // 2 points on the upper half circle (label 0) and the rest on the lower one shifted to
    (1, 0.5) (label 1), angles evenly spaced over [0, pi]; then shuffled and moved by gaussian
    noise of std ``noise`` (``random_state`` as in :func:`make_circles`).
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    out, inner = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.append(np.cos(out), 1 - np.cos(inner))
    y = np.append(np.sin(out), 1 - np.sin(inner) - 0.5)
    return _shuffled_with_noise(x, y, n_out, n_in, noise, random_state)


CLASSIC = {"circles": make_circles, "moons": make_moons}


def load_digits():
    """Return scikit-learn's 8x8 digits ``(X (1797, 64) float64, y (1797,) int)``, as its
    ``load_digits(return_X_y=True)`` gives them, read from the file scikit-learn ships
    (``sklearn/datasets/data/digits.csv.gz``: pixels 0..16, then the label, a row an image)
    without importing scikit-learn (over a second: it imports scipy.stats); through
    scikit-learn itself where that file is not found."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    path = None if spec is None or spec.origin is None else (
        Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz")
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits as sklearn_load_digits

        return sklearn_load_digits(return_X_y=True)
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


# --------------------------------------------------------------------------------- loading
def load_dataset(name: str, *, n_samples: int | None = None, noise: float | None = None,
                 test_size: float | None = None, seed: int = 0, data=None,
                 train_size: int | None = None, scale: bool = True) -> Dataset:
    """Load one of :data:`DATASETS` as a :class:`Dataset` split into train and test.

    Args:
        name: ``moons``, ``circles`` (scikit-learn, circles with factor 0.8), ``xor``,
            ``spiral``, ``gauss`` (TensorFlow Playground), ``digits`` (scikit-learn's 8x8,
            1797 images, 10 classes) or ``mnist`` (files you supply through ``data``).
        n_samples: total examples before the split; default 400 for the 2-D sets, all 1797
            for digits (fewer takes a seeded random subset). Not used for ``mnist``.
        noise: noise level of a 2-D set; defaults in :data:`DEFAULT_NOISE`. For moons and
            circles it is scikit-learn's (std of gaussian noise; :func:`make_moons` and
            :func:`make_circles` draw scikit-learn's bits without importing it); the
            Playground sets use it as the Playground does (its slider 0..50 is noise 0..0.5).
        test_size: fraction held out as the test part, in (0, 1); default 0.25. The split is
            stratified and seeded. For a file that has its own test part it must stay None.
        seed: non-negative int. moons/circles are drawn with ``random_state=seed``, so they
            equal scikit-learn's own draw; the split, the Playground draws and subsets use
            independent NumPy streams spawned from ``seed``. Same seed, same data.
        data: path for ``mnist``: a directory or an IDX, CSV or NPZ file (see
            :mod:`initlab.data.files`).
        train_size: keep a seeded random subset of this many training examples (in their
            original order); the test part stays whole.
        scale: bring inputs to unit scale: digits / 16 and pixels / 255 (only when a value
            exceeds 1) into [0, 1]; the Playground sets, drawn on [-6, 6]^2, divided by 6.
            moons and circles are already of unit scale and stay as scikit-learn draws them.

    Returns:
        Dataset with ``X_train (N, F)`` float64 and ``y_train (N,)`` int64 (same for test).

    >>> ds = load_dataset("moons", n_samples=200, seed=1)
    >>> ds.X_train.shape, ds.X_test.shape, ds.n_classes
    ((150, 2), (50, 2), 2)
    """
    choose(name, DATASETS, "dataset")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InitlabError(f"seed must be a non-negative integer, got {seed!r}")
    draw_rng, split_rng, subset_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    params = {"n_samples": n_samples, "noise": noise, "test_size": test_size, "seed": int(seed),
              "train_size": train_size, "scale": bool(scale)}
    if name == "mnist":
        return _load_files(data, n_samples, noise, test_size, split_rng, subset_rng, train_size,
                           scale, params)
    if data is not None:
        raise InitlabError(f"data={str(data)!r} applies only to dataset 'mnist', not {name!r}")
    test_size = check_test_size(DEFAULT_TEST_SIZE if test_size is None else test_size)
    image_shape = None
    if name == "digits":
        if noise is not None:
            raise InitlabError("noise applies only to the 2-D sets, not to 'digits'")
        X, y = load_digits()
        if n_samples is not None:
            check_positive_int(n_samples, "n_samples")
            if n_samples > len(X):
                raise InitlabError(f"n_samples={n_samples} but digits has {len(X)} images")
            keep = np.sort(draw_rng.choice(len(X), size=n_samples, replace=False))
            X, y = X[keep], y[keep]
        X = X / 16.0 if scale else X
        params["n_samples"] = len(X)
        n_classes, image_shape = 10, (8, 8)
    else:
        n_samples = DEFAULT_N_SAMPLES if n_samples is None else n_samples
        check_positive_int(n_samples, "n_samples")
        noise = DEFAULT_NOISE[name] if noise is None else _check_noise(noise)
        if name in CLASSIC:
            X, y = CLASSIC[name](n_samples, noise=noise, random_state=int(seed))
        else:
            X, y = PLAYGROUND[name](n_samples, noise, draw_rng)
            X = X / PLAYGROUND_HALF_WIDTH if scale else X
        n_classes = 2
        params.update(n_samples=n_samples, noise=noise)
    params["test_size"] = test_size
    train_idx, test_idx = stratified_split(y, test_size, split_rng)
    X_train, y_train = take_subset(X[train_idx], y[train_idx], train_size, subset_rng, name)
    return Dataset(X_train, y_train, X[test_idx], y[test_idx], n_classes, name,
                   image_shape=image_shape, params=params)


def _check_noise(noise) -> float:
    try:
        value = float(noise)
    except (TypeError, ValueError):
        raise InitlabError(f"noise must be a number >= 0, got {noise!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise InitlabError(f"noise must be a finite number >= 0, got {noise!r}")
    return value


def _load_files(data, n_samples, noise, test_size, split_rng, subset_rng, train_size, scale,
                params) -> Dataset:
    """MNIST (or any image set in its form) from the user's files."""
    if data is None:
        raise InitlabError("dataset 'mnist' is read from files you supply: pass data=PATH "
                           "(--data PATH), a directory or an IDX, CSV or NPZ file")
    for value, what in ((n_samples, "n_samples"), (noise, "noise")):
        if value is not None:
            raise InitlabError(f"{what} does not apply to 'mnist' (use train_size to subset)")
    if test_size is not None:
        check_test_size(test_size)
    raw = read_image_files(data)
    X_train, X_test = raw.X_train, raw.X_test
    if scale:
        X_train, X_test = scale_pixels(X_train, X_test, raw.source)
    y_train, y_test = raw.y_train, raw.y_test
    if X_test is None:
        test_size = check_test_size(DEFAULT_TEST_SIZE if test_size is None else test_size)
        train_idx, test_idx = stratified_split(y_train, test_size, split_rng)
        # keep the file's order within each part, so that a subset is the same rows
        train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
        X_train, X_test = X_train[train_idx], X_train[test_idx]
        y_train, y_test = y_train[train_idx], y_train[test_idx]
    elif test_size is not None:
        raise InitlabError(f"{raw.source!r} has its own test part; test_size={test_size!r} "
                           "does not apply (leave it unset)")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    X_train, y_train = take_subset(X_train, y_train, train_size, subset_rng, raw.source)
    params.update(test_size=test_size, source=raw.source)
    del params["noise"], params["n_samples"]
    return Dataset(X_train, y_train, X_test, y_test, n_classes, "mnist",
                   image_shape=raw.image_shape, params=params)


def expected_size(name: str, n_samples: int | None = None,
                  train_size: int | None = None, data=None) -> tuple[int, int, int, int]:
    """``(n_train, n_test, n_features, n_classes)`` of a data set for estimates: the sizes of
    the generated sets and digits without making them; for files (``data``) the files are
    read, so a malformed file is reported as such before any estimate is made from it
    (without ``data``: MNIST's own size)."""
    choose(name, DATASETS, "dataset")  # before any estimate is made from a wrong name
    if name in GENERATED:
        total, features, classes = n_samples or DEFAULT_N_SAMPLES, 2, 2
    elif name == "digits":
        total, features, classes = 1797, 64, 10
    elif data is not None:
        raw = read_image_files(data)
        if raw.X_test is not None:
            n_train = len(raw.X_train)
            return (min(n_train, train_size or n_train), len(raw.X_test), raw.X_train.shape[1],
                    int(max(raw.y_train.max(), raw.y_test.max())) + 1)
        total, features = len(raw.X_train), raw.X_train.shape[1]
        classes = int(raw.y_train.max()) + 1
    else:  # MNIST-style files not named yet: assume MNIST's own size
        total, features, classes = 70000, 784, 10
    n_test = max(1, round(total * DEFAULT_TEST_SIZE))
    n_train = total - n_test
    return min(n_train, train_size or n_train), n_test, features, classes


# ------------------------------------------------------------------- the course's exact data

def classic_dataset(name: str) -> Dataset:
    """Return the deep-learning course's exact ``circles`` or ``moons`` data.

    From deeplearning.ai's "Improving Deep Neural Networks", week 1, "Initialization"
    assignment.

    Train: ``make_*(n_samples=300, noise=0.05, random_state=1)``; test: ``make_*(n_samples=100,
    noise=0.05, random_state=2)``, identical to the course's draws after ``np.random.seed(1)``
    and ``np.random.seed(2)``. Batch-first: ``X_train (300, 2)``, ``y_train (300,)`` (the course
    keeps the transposes, ``(2, 300)`` and ``(1, 300)``). Never scaled.
    """
    make = CLASSIC[choose(name, tuple(CLASSIC), "classic dataset")]
    X_train, y_train = make(300, noise=0.05, random_state=1)
    X_test, y_test = make(100, noise=0.05, random_state=2)
    params = {"variant": "classic", "noise": 0.05, "n_train": 300, "n_test": 100,
              "train_random_state": 1, "test_random_state": 2}
    return Dataset(X_train, y_train, X_test, y_test, 2, name, params=params)
