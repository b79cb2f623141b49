"""Variance-propagation theory: what initialization predicts for every layer.

Gaussian expectations are computed by Gauss-Hermite quadrature, so any activation works.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(201)
_WEIGHTS = _WEIGHTS / np.sqrt(2.0 * np.pi)  # weights for E over z ~ N(0, 1)


def gaussian_expectation(fn: Callable[[np.ndarray], np.ndarray], q: float) -> float:
    """E[fn(sqrt(q) z)] for z ~ N(0, 1), by 201-point Gauss-Hermite quadrature.

    >>> round(gaussian_expectation(lambda x: x**2, 4.0), 12)
    4.0
    """
    return float(np.dot(_WEIGHTS, fn(np.sqrt(q) * _NODES)))
