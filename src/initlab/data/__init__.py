"""Datasets for initialization studies, as :class:`Dataset` objects split into train and test.

- :func:`load_dataset` - moons, circles, xor, spiral, gauss (generated), digits (ships with
  scikit-learn) and mnist (IDX, CSV or NPZ files the user supplies); noise, size, split, seed.
- :func:`classic_dataset` - the deep-learning course's exact circles/moons draws.
- :func:`read_image_files`, :func:`read_idx` - the raw file readers.

Nothing here downloads anything or touches NumPy's global random state.

>>> ds = load_dataset("xor", n_samples=100, noise=0.0, seed=3)
>>> ds
Dataset('xor', train=75x2, test=25x2, classes=2)
"""

from initlab.data.builtin import (
    DATASETS,
    DEFAULT_NOISE,
    classic_dataset,
    expected_size,
    load_dataset,
    make_circles,
    make_gauss,
    make_moons,
    make_spiral,
    make_xor,
)
from initlab.data.dataset import Dataset
from initlab.data.files import RawImages, read_csv, read_idx, read_image_files, read_npz

__all__ = [
    "DATASETS",
    "DEFAULT_NOISE",
    "Dataset",
    "RawImages",
    "classic_dataset",
    "expected_size",
    "load_dataset",
    "make_circles",
    "make_gauss",
    "make_moons",
    "make_spiral",
    "make_xor",
    "read_csv",
    "read_idx",
    "read_image_files",
    "read_npz",
]
