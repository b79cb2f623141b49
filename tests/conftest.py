"""Shared test helpers: a central-difference numerical gradient; the record of skipped tests
that .ci/run's second pass runs again with the optional extras."""

import os

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


# .ci/run's second pass: the first pass (the README's command, without the optional extras)
# writes here every test it skipped, and the second runs exactly those with the extras installed.
SKIPS_FILE = os.environ.get("INITLAB_RECORD_SKIPS")


def _record_skip(report) -> None:
    if SKIPS_FILE and report.skipped:
        with open(SKIPS_FILE, "a", encoding="utf-8") as f:
            f.write(report.nodeid + "\n")


def pytest_collectreport(report):
    """A test module skipped as a whole (a module-level ``importorskip``)."""
    _record_skip(report)


def pytest_runtest_logreport(report):
    """A test skipped in its setup or body."""
    if report.when in ("setup", "call"):
        _record_skip(report)
