"""The arrays layers keep between training steps and the read-only ones they share.

Allocating the large arrays of a training step anew at every step makes the C allocator hand
their pages back and fault them in again; a buffer shared by every layer stays in cache where
one per layer of a deep net streams through memory (benchmarks/README.md, "Cutting what is
not BLAS"). :mod:`initlab.nn.layers` uses these; nothing here knows of layers.
"""

from __future__ import annotations

import numpy as np

#: Arrays of at least this many bytes that a layer writes in training are kept from one step
#: to the next (see :func:`kept`); smaller ones are left to the allocator, which hands back
#: the block just freed, still in cache.
KEEP_BYTES = 1 << 17


def kept(store: dict, name: str, shape: tuple, dtype, like=None) -> np.ndarray:
    """The array ``name`` of ``shape`` and ``dtype`` (laid out as ``like`` when given) that a
    layer keeps in ``store`` from one training step to the next: large arrays allocated anew at
    every step make the C allocator hand their pages back and fault them in again (hundreds of
    page faults a step at (60, 10, 300) float32). Found again by one tuple comparison."""
    key = (shape, dtype, None if like is None else like.strides)
    entry = store.get(name)
    if entry is None or entry[0] != key:
        entry = store[name] = (key, np.empty(shape, dtype) if like is None
                              else np.empty_like(like, dtype))
    return entry[1]


#: Zeros up to this many bytes that ReLU layers compare against come from one buffer they all
#: share (see :func:`zeros_as`); larger ones are each layer's own, as any array is.
SHARED_ZEROS_BYTES = 1 << 23
_zeros_buffers: dict = {}
_ones_buffers: dict = {}


def zeros_as(x: np.ndarray) -> np.ndarray | None:
    """Read-only zeros of ``x``'s shape, dtype and layout, a view of one buffer per dtype that
    every layer shares; None when ``x`` is larger than :data:`SHARED_ZEROS_BYTES`.

    ReLU computes max(x, zeros): two arrays of one layout take NumPy's vectorized loop, which
    the scalar 0 does not. One shared buffer stays in cache, where a zeros array per layer of
    a deep net streams through memory at every step (benchmarks/README.md, "Cutting what is
    not BLAS")."""
    if x.nbytes > SHARED_ZEROS_BYTES:
        return None
    flat = _zeros_buffers.get(x.dtype)
    if flat is None or flat.size < x.size:
        flat = _zeros_buffers[x.dtype] = np.zeros(max(x.size, 1), x.dtype)
        flat.flags.writeable = False
    strides = np.empty_like(x).strides  # x's layout (order "K"); nothing is written
    return np.ndarray(x.shape, x.dtype, flat, 0, strides)


def ones_vector(n: int, dtype) -> np.ndarray:
    """``n`` read-only ones of ``dtype`` (Dense's bias gradient is g^T 1): a view of one buffer
    per dtype that every layer shares, which stays in cache where a vector per layer would
    not."""
    flat = _ones_buffers.get(dtype)
    if flat is None or flat.size < n:
        flat = _ones_buffers[dtype] = np.ones(max(n, 1), dtype)
        flat.flags.writeable = False
    return flat[:n]


__all__ = ["KEEP_BYTES", "SHARED_ZEROS_BYTES", "kept", "ones_vector", "zeros_as"]
