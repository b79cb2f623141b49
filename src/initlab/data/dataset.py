"""The :class:`Dataset` container and the splitting helpers every loader shares.

A dataset is batch-first: ``X_train`` is ``(N, F)`` float64 and ``y_train`` is ``(N,)`` int64
class indices in ``[0, n_classes)``, the same for the test part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from initlab.errors import InitlabError


@dataclass(repr=False, eq=False)
class Dataset:
    """A classification dataset split into a training and a test part.

    Attributes:
        X_train: ``(N, F)`` float64 features.
        y_train: ``(N,)`` int64 labels in ``[0, n_classes)``.
        X_test: ``(M, F)`` float64 features.
        y_test: ``(M,)`` int64 labels.
        n_classes: number of classes (2 for the 2-D sets, 10 for digits and MNIST).
        name: the dataset's name (``"moons"``, ``"digits"``, ``"mnist"``, ...).
        image_shape: ``(height, width)`` when each row is a flattened image, else ``None``.
        params: how it was made (sizes, noise, seed, source file), plain JSON types.

    Arrays are converted and checked on construction, so a ``Dataset`` built by hand from
    user arrays is as safe as one from :func:`initlab.data.load_dataset`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str
    image_shape: tuple[int, int] | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        self.X_train, self.y_train = _check_part(self.X_train, self.y_train, "train")
        self.X_test, self.y_test = _check_part(self.X_test, self.y_test, "test")
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise InitlabError(
                f"train has {self.X_train.shape[1]} features but test has {self.X_test.shape[1]}"
            )
        top = max(self.y_train.max(initial=-1), self.y_test.max(initial=-1)) + 1
        if self.n_classes < max(top, 1):
            raise InitlabError(f"n_classes={self.n_classes} but the labels go up to {top - 1}")

    @property
    def n_features(self) -> int:
        """Number of input features F."""
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return self.X_test.shape[0]

    @property
    def is_2d(self) -> bool:
        """True for 2-D inputs, whose decision boundary can be drawn in the plane."""
        return self.n_features == 2

    def bounds(self, margin: float = 0.25) -> tuple[float, float, float, float]:
        """Return ``(x_min, x_max, y_min, y_max)`` over train and test, widened by ``margin``.

        For drawing a decision boundary of a 2-D set; an error for other sets.
        """
        if not self.is_2d:
            raise InitlabError(f"dataset {self.name!r} has {self.n_features} features, not 2")
        both = np.concatenate([self.X_train, self.X_test])
        lo, hi = both.min(axis=0) - margin, both.max(axis=0) + margin
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    def class_counts(self, part: str = "train") -> np.ndarray:
        """Return ``(n_classes,)`` example counts per class of the ``train`` or ``test`` part."""
        if part not in ("train", "test"):
            raise InitlabError(f"unknown part {part!r}; valid: test, train")
        y = self.y_train if part == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes)

    def describe(self) -> str:
        """Return a few lines: name, sizes, feature range and class balance."""
        lo = min(self.X_train.min(initial=np.inf), self.X_test.min(initial=np.inf))
        hi = max(self.X_train.max(initial=-np.inf), self.X_test.max(initial=-np.inf))
        kind = f"images {self.image_shape[0]}x{self.image_shape[1]}" if self.image_shape else (
            "2-D points" if self.is_2d else "vectors")
        lines = [
            repr(self),
            f"  features: {self.n_features} ({kind}), values in [{lo:.4g}, {hi:.4g}]",
            f"  train classes: {self.class_counts('train').tolist()}",
            f"  test classes:  {self.class_counts('test').tolist()}",
        ]
        if self.params:
            lines.append("  " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.n_train}x{self.n_features}, "
                f"test={self.n_test}x{self.n_features}, classes={self.n_classes})")


def _check_part(X, y, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` as (N, F) float64 and ``y`` as (N,) int64, or raise naming what is wrong."""
    X = np.asarray(X, dtype=np.float64)
    y_raw = np.asarray(y)
    if X.ndim != 2:
        raise InitlabError(f"X_{part} must be 2-D (N, features), got shape {X.shape}")
    if y_raw.ndim != 1:
        raise InitlabError(f"y_{part} must be 1-D (N,), got shape {y_raw.shape}")
    if len(X) != len(y_raw):
        raise InitlabError(f"X_{part} has {len(X)} rows but y_{part} has {len(y_raw)} labels")
    if not np.isfinite(X).all():
        raise InitlabError(f"X_{part} holds NaN or inf values")
    return X, labels_as_int(y_raw, f"y_{part}")


def labels_as_int(y, what: str) -> np.ndarray:
    """Return labels as int64, or raise unless they are whole numbers >= 0."""
    y = np.asarray(y)
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise InitlabError(f"{what} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise InitlabError(f"{what} holds a non-integer label {y[bad][0].item()!r}")
    if y.size and y.min() < 0:
        low = int(y.min())
        raise InitlabError(f"{what} holds the negative label {low}; labels must be >= 0")
    return y.astype(np.int64)


def check_test_size(test_size) -> float:
    """Return ``test_size`` as a float, or raise unless it lies strictly between 0 and 1."""
    try:
        value = float(test_size)
    except (TypeError, ValueError):
        raise InitlabError(f"test_size must be a number in (0, 1), got {test_size!r}") from None
    if not 0 < value < 1:
        raise InitlabError(f"test_size must lie strictly between 0 and 1, got {test_size!r}")
    return value


def stratified_split(y: np.ndarray, test_size: float, rng: np.random.Generator):
    """Return ``(train_idx, test_idx)``: a seeded shuffle-split keeping the class balance.

    The test part gets ``round(test_size * N)`` examples (at least 1, at most N - 1); each class
    contributes in proportion (largest remainders decide the rounding). Both index arrays are
    in random order.
    """
    n = len(y)
    if n < 2:
        raise InitlabError(f"cannot split {n} example(s) into a train and a test part")
    n_test = min(max(round(test_size * n), 1), n - 1)
    classes, counts = np.unique(y, return_counts=True)
    share = counts * n_test / n
    quota = np.floor(share).astype(int)
    order = np.argsort(-(share - quota), kind="stable")
    quota[order[: n_test - quota.sum()]] += 1
    train, test = [], []
    for c, q in zip(classes, quota, strict=True):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[:q])
        train.append(idx[q:])
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    return rng.permutation(train_idx), rng.permutation(test_idx)


def take_subset(X, y, train_size, rng: np.random.Generator, what: str):
    """Return a seeded random subset of ``train_size`` rows (kept in their original order)."""
    if train_size is None:
        return X, y
    if isinstance(train_size, bool) or not isinstance(train_size, (int, np.integer)) \
            or train_size <= 0:
        raise InitlabError(f"train_size must be a positive integer, got {train_size!r}")
    if train_size > len(X):
        raise InitlabError(
            f"train_size={train_size} is larger than the {len(X)} training examples of {what}"
        )
    idx = np.sort(rng.choice(len(X), size=int(train_size), replace=False))
    return X[idx], y[idx]


def square_image_shape(n_features: int) -> tuple[int, int] | None:
    """Return ``(s, s)`` when ``n_features`` is a perfect square above 1 (e.g. 784), else None."""
    side = math.isqrt(n_features)
    return (side, side) if side > 1 and side * side == n_features else None
