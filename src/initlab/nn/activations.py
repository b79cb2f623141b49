"""Elementwise activation functions and their derivatives, side by side.

Each :class:`Activation` maps pre-activations ``x`` to ``phi(x)`` and, for backpropagation,
gives ``phi'(x)`` from ``x`` and the already computed output ``y``. All are overflow-free for
any finite input. Names are read as spec strings: ``relu``, ``leaky_relu(0.2)``, ``elu(1.0)``.

>>> act = get_activation("leaky_relu(0.1)")
>>> act(np.array([-1.0, 2.0]))
array([-0.1,  2. ])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from initlab.errors import InitlabError
from initlab.spec import bind, lookup, parse_spec


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), the formula of scipy's ``expit``, in NumPy
    (importing scipy.special costs a fifth of a second of start-up). No overflow warning:
    where exp(-x) overflows the result is 0. Its relative error is a few ulps (float64 within
    4 eps of scipy's, float32 within 2 ulps of the float64 result); it is monotone and exactly
    0, 1/2 and 1 at -inf, 0 and +inf."""
    with np.errstate(over="ignore"):
        return sigmoid_unchecked(x)


def sigmoid_unchecked(x):
    """:func:`expit` without its ``np.errstate``: for a caller that has already silenced
    NumPy's overflow warning (a training loop, once for all its steps), else NumPy warns
    where exp(-x) overflows (the result there is still 0)."""
    e = np.exp(np.negative(x))
    if isinstance(e, np.ndarray) and e.ndim:
        e += 1
        return np.reciprocal(e, out=e)
    return 1.0 / (1.0 + e)


def erf(x):
    """The error function, scipy's ``erf`` (imported on first use)."""
    from scipy.special import erf as _erf

    return _erf(x)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2PI = math.sqrt(2.0 * math.pi)  # Python floats keep float32 arrays float32


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``phi`` with its derivative.

    ``fn(x) -> y``; ``grad(x, y) -> phi'(x)`` (``y = fn(x)`` is passed so sigmoid and tanh reuse
    it). ``gain_name``/``gain_param`` are what :func:`initlab.init.calculate_gain` takes.
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    gain_name: str = "linear"
    gain_param: float | None = None
    spec: str = ""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Activation({self.spec or self.name})"


def identity() -> Activation:
    """phi(x) = x."""
    return Activation("identity", lambda x: x, lambda x, y: np.ones_like(x), "linear")


def sigmoid() -> Activation:
    """phi(x) = 1 / (1 + exp(-x)); phi' = y (1 - y)."""
    return Activation("sigmoid", expit, lambda x, y: y * (1.0 - y), "sigmoid")


def tanh() -> Activation:
    """phi(x) = tanh(x); phi' = 1 - y^2."""
    return Activation("tanh", np.tanh, lambda x, y: 1.0 - y * y, "tanh")


def erf_() -> Activation:
    """phi(x) = erf(x); phi' = 2 / sqrt(pi) exp(-x^2). Its Gaussian kernel has a closed form
    (the arcsin kernel, Williams 1997), so mean-field theory is exact for it. PyTorch has no
    gain for it (``gain_name`` "erf" is not one of ``calculate_gain``'s names)."""
    scale = 2.0 / math.sqrt(math.pi)
    return Activation("erf", erf, lambda x, y: scale * np.exp(-x * x), "erf")


def relu() -> Activation:
    """phi(x) = max(x, 0); phi' = 1 where x > 0 else 0."""
    return Activation(
        "relu", lambda x: np.maximum(x, 0), lambda x, y: (x > 0).astype(x.dtype), "relu"
    )


def leaky_relu(negative_slope: float = 0.01) -> Activation:
    """phi(x) = x for x > 0, negative_slope * x otherwise (PyTorch's default slope 0.01)."""
    s = float(negative_slope)

    def fn(x):
        return np.where(x > 0, x, s * x)

    def grad(x, y):
        return np.where(x > 0, 1.0, s).astype(x.dtype)

    return Activation("leaky_relu", fn, grad, "leaky_relu", s)


def elu(alpha: float = 1.0) -> Activation:
    """phi(x) = x for x > 0, alpha (exp(x) - 1) otherwise; phi' = y + alpha below 0."""
    a = float(alpha)

    def fn(x):
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))

    def grad(x, y):
        return np.where(x > 0, 1.0, y + a).astype(x.dtype)

    return Activation("elu", fn, grad, "elu", a)


def selu() -> Activation:
    """phi(x) = scale * elu(x, alpha) with Klambauer et al.'s fixed scale and alpha."""

    def fn(x):
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))

    def grad(x, y):
        return np.where(x > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA).astype(x.dtype)

    return Activation("selu", fn, grad, "selu")


def gelu() -> Activation:
    """phi(x) = x Phi(x) with the exact normal CDF (PyTorch's default form)."""

    def cdf(x):
        return 0.5 * (1.0 + erf(x / math.sqrt(2.0)))

    def fn(x):
        return x * cdf(x)

    def grad(x, y):
        return cdf(x) + x * np.exp(-0.5 * x * x) / _SQRT_2PI

    return Activation("gelu", fn, grad, "gelu")


def softplus() -> Activation:
    """phi(x) = log(1 + exp(x)), computed as logaddexp(0, x); phi' = sigmoid(x)."""
    return Activation("softplus", lambda x: np.logaddexp(0, x), lambda x, y: expit(x), "softplus")


ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "identity": identity,
    "linear": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "erf": erf_,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "softplus": softplus,
}


def get_activation(spec: str | Activation) -> Activation:
    """Return the activation named by ``spec`` (an :class:`Activation` passes through)."""
    if isinstance(spec, Activation):
        return spec
    name, args, kwargs = parse_spec(spec)
    factory = lookup(ACTIVATIONS, name, "activation")
    params = bind(factory, args, kwargs, 0, spec)
    for key, val in params.items():
        if not isinstance(val, (int, float)) or isinstance(val, bool):
            raise InitlabError(f"activation parameter {key} must be a number, got {val!r}")
    act = factory(**params)
    return Activation(act.name, act.fn, act.grad, act.gain_name, act.gain_param, spec.strip())
