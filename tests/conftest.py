"""Shared test helpers: a central-difference numerical gradient."""

import numpy as np
import pytest


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place one entry at a time."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):  # x may be a non-contiguous view (a model's parameters are)
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


@pytest.fixture
def numgrad():
    """``numgrad(f, x)``: central-difference gradient of the scalar ``f()`` w.r.t. array ``x``."""
    return numerical_gradient
