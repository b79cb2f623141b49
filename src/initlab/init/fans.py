"""Fans and gains: the two numbers every variance-scaling initializer starts from.

Shapes use PyTorch's layout ``(out, in, *kernel)``. ``calculate_gain`` has the values of
``torch.nn.init.calculate_gain`` (PyTorch 2.x); for elu, gelu and softplus, which PyTorch gives
no gain, it returns the gain that keeps the second moment of a unit Gaussian, computed here by
quadrature (no import from the layers above).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from initlab.errors import InitlabError, check_number, choose

MODES = ("fan_in", "fan_out", "fan_avg")
LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
          "conv_transpose2d", "conv_transpose3d", "sigmoid")
NONLINEARITIES = (*LINEAR, "tanh", "relu", "leaky_relu", "selu", "elu", "gelu", "softplus")


def check_shape(shape) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of ints >= 0 (a zero size is an empty tensor, as in torch),
    or raise naming the bad entry."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise InitlabError(f"shape must be a tuple of integers >= 0, got {shape!r}") from None
    if not dims:
        raise InitlabError("shape must have at least one dimension")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise InitlabError(f"shape {dims} has the size {d!r}; every size must be an int >= 0")
    return tuple(int(d) for d in dims)


def fans(shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a ``(out, in, *kernel)`` tensor, as PyTorch computes them.

    fan_in = in * prod(kernel), fan_out = out * prod(kernel). Fewer than 2 dims is an error.

    >>> fans((64, 32, 3, 3))
    (288, 576)
    """
    shape = check_shape(shape)
    if len(shape) < 2:
        raise InitlabError(
            f"fans need a shape with at least 2 dimensions (out, in, *kernel), got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def check_mode(mode: str) -> str:
    """``mode`` in lower case (``FAN_OUT`` works, as in torch), or raise listing the modes."""
    return choose(mode.lower() if isinstance(mode, str) else mode, MODES, "mode")


def fan(shape, mode: str) -> float:
    """fan_in, fan_out or their mean (``fan_avg``, Keras) of ``shape``."""
    fan_in, fan_out = fans(shape)
    mode = check_mode(mode)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _elu(alpha: float):
    return lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _gelu(_):
    from scipy.special import erf  # scipy is imported where it is used: start-up time counts

    return lambda x: x * 0.5 * (1 + erf(x / math.sqrt(2)))


_SECOND_MOMENT_FUNCTIONS = {
    "elu": _elu,
    "gelu": _gelu,
    "softplus": lambda _: lambda x: np.logaddexp(0, x),
}


@functools.lru_cache(maxsize=64)
def second_moment(name: str, param: float = 1.0) -> float:
    """E[phi(z)^2] for z ~ N(0, 1), by adaptive quadrature split at the kink at 0."""
    from scipy import integrate

    phi = _SECOND_MOMENT_FUNCTIONS[name](param)

    def f(x):
        return float(phi(np.float64(x))) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    return sum(integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-12)[0]
               for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    linear, conv*, sigmoid, identity -> 1; tanh -> 5/3; relu -> sqrt(2);
    leaky_relu(slope=0.01) -> sqrt(2 / (1 + slope^2)); selu -> 3/4.
    initlab's other activations (elu with alpha = param (default 1), gelu, softplus; PyTorch has
    no value) get the gain that keeps the second moment of a unit Gaussian:
    1 / sqrt(E[phi(z)^2]), z ~ N(0, 1) (it gives exactly sqrt(2) for ReLU). As in torch,
    ``param`` is ignored by every other nonlinearity; the name is case-insensitive.

    >>> round(calculate_gain("leaky_relu", 0.2), 6)
    1.386750
    """
    name = nonlinearity.lower() if isinstance(nonlinearity, str) else nonlinearity
    if name in LINEAR:
        return 1.0
    if name == "tanh":
        return 5.0 / 3
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else check_number(param, "negative_slope")
        return math.sqrt(2.0 / (1 + slope**2))
    if name == "selu":
        return 3.0 / 4
    if name == "elu":
        alpha = 1.0 if param is None else check_number(param, "elu alpha", 0.0)
        return 1.0 / math.sqrt(second_moment("elu", alpha))
    if name in _SECOND_MOMENT_FUNCTIONS:
        return 1.0 / math.sqrt(second_moment(name))
    raise InitlabError(
        f"unknown nonlinearity {nonlinearity!r}; valid: {', '.join(sorted(NONLINEARITIES))}")
