"""Weight initializers with the exact semantics of ``torch.nn.init`` and Keras' initializers.

Every initializer is a pure function ``f(shape, rng, *params, dtype=float64) -> ndarray``.
``shape`` uses PyTorch's layout ``(out, in, *kernel)``; ``rng`` is a ``numpy.random.Generator``
or a legacy ``numpy.random.RandomState`` (an int seeds a new Generator). Each scheme is written
as a *law* (fan -> gain -> std) that one sampler draws from, so the same law also answers
:func:`describe` (fans, gain, std, bound) without drawing anything.

Normals are drawn as ``rng.standard_normal(shape) * std + mean``, so ``RandomState(3)``
reproduces the course's ``randn(out, in) * scale`` bit for bit.

Naming trap: the deep-learning course and *Deep Learning from Scratch* call ``sqrt(1 / fan_in)``
"Xavier". That is LeCun's formula (``lecun`` here). Glorot & Bengio's Xavier is
``sqrt(2 / (fan_in + fan_out))`` (``xavier``/``glorot`` here, as in PyTorch and Keras).

>>> w = get_initializer("kaiming_uniform(mode=fan_out)")((64, 32, 3, 3), rng=0)
>>> w.shape
(64, 32, 3, 3)
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from initlab.errors import InitlabError, choose
from initlab.spec import bind, lookup, parse_spec

Rng = np.random.Generator | np.random.RandomState
KERAS_TRUNCATION = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


# ----------------------------------------------------------------------------- fans and gain
def check_shape(shape) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of positive ints, or raise naming the bad entry."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise InitlabError(f"shape must be a tuple of positive integers, got {shape!r}") from None
    if not dims:
        raise InitlabError("shape must have at least one dimension")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise InitlabError(f"shape {dims} has the size {d!r}; every size must be an int >= 1")
    return tuple(int(d) for d in dims)


def fans(shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a ``(out, in, *kernel)`` tensor, as PyTorch computes them.

    fan_in = in * prod(kernel), fan_out = out * prod(kernel). Fewer than 2 dims is an error.
    """
    shape = check_shape(shape)
    if len(shape) < 2:
        raise InitlabError(
            f"fans need a shape with at least 2 dimensions (out, in, *kernel), got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape, mode: str) -> float:
    fan_in, fan_out = fans(shape)
    choose(mode, MODES, "mode")
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _second_moment_gain(name: str, param: float | None) -> float:
    """1 / sqrt(E[phi(z)^2]) for z ~ N(0, 1): the gain that keeps the second moment (sqrt 2 for
    ReLU). Used for initlab's activations that PyTorch gives no gain for."""
    from initlab.nn.activations import get_activation
    from initlab.theory import gaussian_expectation

    act = get_activation(name if param is None else f"{name}({param})")
    return 1.0 / math.sqrt(gaussian_expectation(lambda x: act(x) ** 2, 1.0))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    linear, conv*, sigmoid, identity -> 1; tanh -> 5/3; relu -> sqrt(2);
    leaky_relu(slope=0.01) -> sqrt(2 / (1 + slope^2)); selu -> 3/4.
    initlab's other activations (elu, gelu, softplus; PyTorch has no value) get the gain that
    keeps the second moment of a unit Gaussian: 1 / sqrt(E[phi(z)^2]), z ~ N(0, 1)
    (it gives exactly sqrt(2) for ReLU).
    """
    linear = {"linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise InitlabError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity in ("elu", "gelu", "softplus"):
        return _second_moment_gain(nonlinearity, param)
    valid = sorted(linear | {"tanh", "relu", "leaky_relu", "selu", "elu", "gelu", "softplus"})
    raise InitlabError(f"unknown nonlinearity {nonlinearity!r}; valid: {', '.join(valid)}")


# ----------------------------------------------------------------------------- laws and sampling
@dataclass(frozen=True)
class Law:
    """The distribution an initializer draws from, for one shape.

    dist: constant | normal | uniform | truncated_normal | orthogonal | sparse | eye | dirac.
    std: the formula's std (None where the scheme has none); bound: half-width of a uniform
    interval; low/high: uniform interval or absolute truncation bounds.
    """

    dist: str
    std: float | None = None
    mean: float = 0.0
    low: float | None = None
    high: float | None = None
    gain: float | None = None
    value: float = 0.0
    sparsity: float = 0.0
    groups: int = 1

    @property
    def bound(self) -> float | None:
        return (self.high - self.low) / 2 if self.dist == "uniform" else None

    def sample(self, shape: tuple[int, ...], rng, dtype=np.float64) -> np.ndarray:
        """Draw an array of ``shape`` from this law with ``rng``."""
        d = self.dist
        if d == "constant":
            return np.full(shape, self.value, dtype=dtype)
        if d == "eye":
            return np.eye(shape[0], shape[1], dtype=dtype)
        if d == "dirac":
            return _dirac(shape, self.groups, dtype)
        rng = as_rng(rng)
        if d == "normal":
            return _normal(rng, shape, self.std, self.mean, dtype)
        if d == "uniform":
            if isinstance(rng, np.random.Generator) and dtype == np.float32:
                u = rng.random(shape, dtype=np.float32)
                return (u * np.float32(self.high - self.low) + np.float32(self.low))
            return rng.uniform(self.low, self.high, size=shape).astype(dtype, copy=False)
        if d == "truncated_normal":
            lo = ndtr((self.low - self.mean) / self.std)
            hi = ndtr((self.high - self.mean) / self.std)
            x = ndtri(rng.uniform(lo, hi, size=shape)) * self.std + self.mean
            return np.clip(x, self.low, self.high).astype(dtype, copy=False)
        if d == "orthogonal":
            return _orthogonal(rng, shape, self.gain).astype(dtype, copy=False)
        if d == "sparse":
            w = _normal(rng, shape, self.std, 0.0, dtype)
            rows = shape[0]
            n_zero = math.ceil(self.sparsity * rows)
            order = np.argsort(rng.random(shape), axis=0)[:n_zero]
            np.put_along_axis(w, order, 0.0, axis=0)
            return w
        raise AssertionError(f"unhandled law {d}")


def as_rng(rng) -> Rng:
    """Accept a Generator or RandomState as is; an int seeds a new ``default_rng``."""
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InitlabError(
        f"rng must be a numpy.random.Generator, a numpy.random.RandomState or an int seed, "
        f"got {rng!r}"
    )


def _normal(rng: Rng, shape, std: float, mean: float, dtype) -> np.ndarray:
    if isinstance(rng, np.random.Generator) and dtype == np.float32:
        z = rng.standard_normal(shape, dtype=np.float32)
        z *= np.float32(std)
    else:
        z = rng.standard_normal(shape) * std  # randn(*shape) * std, bit for bit
        z = z.astype(dtype, copy=False)
    return z + mean if mean else z


def _orthogonal(rng: Rng, shape, gain: float) -> np.ndarray:
    rows = shape[0]
    cols = math.prod(shape[1:])
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the distribution uniform (Haar) over orthogonal matrices
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape)


def _dirac(shape, groups: int, dtype) -> np.ndarray:
    w = np.zeros(shape, dtype=dtype)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            w[(g * per_group + d, d, *centre)] = 1
    return w


# ----------------------------------------------------------------------------- the schemes
def _number(value, name: str, low: float = -math.inf, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InitlabError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < low or (low_open and value == low):
        rel = ">" if low_open else ">="
        raise InitlabError(f"{name} must be a finite number {rel} {low}, got {value}")
    return value


INITIALIZERS: dict[str, Callable] = {}
ALIASES: dict[str, str] = {}


def initializer(law_fn: Callable[..., Law]) -> Callable[..., np.ndarray]:
    """Register ``law_fn(shape, *params) -> Law`` as the initializer ``f(shape, rng, *params)``."""

    @functools.wraps(law_fn)
    def draw(shape, rng=None, *args, dtype=np.float64, **kwargs):
        shape = check_shape(shape)
        return law_fn(shape, *args, **kwargs).sample(shape, rng, np.dtype(dtype).type)

    params = list(inspect.signature(law_fn).parameters.values())
    rng_param = inspect.Parameter("rng", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    dtype_param = inspect.Parameter("dtype", inspect.Parameter.KEYWORD_ONLY, default=np.float64)
    draw.__signature__ = inspect.Signature([params[0], rng_param, *params[1:], dtype_param])
    draw.law = law_fn
    INITIALIZERS[law_fn.__name__] = draw
    return draw


@initializer
def zeros(shape) -> Law:
    """All zeros. Formula: w = 0 (no symmetry breaking: every unit learns the same)."""
    return Law("constant", std=0.0, value=0.0)


@initializer
def ones(shape) -> Law:
    """All ones. Formula: w = 1."""
    return Law("constant", std=0.0, value=1.0)


@initializer
def constant(shape, value: float = 0.0) -> Law:
    """Every entry equal. Formula: w = value."""
    return Law("constant", std=0.0, value=_number(value, "value"))


@initializer
def normal(shape, std: float = 1.0, mean: float = 0.0) -> Law:
    """Gaussian with a fixed scale. Formula: w ~ N(mean, std^2) (the course's "random" is
    normal(10))."""
    return Law("normal", std=_number(std, "std", 0.0), mean=_number(mean, "mean"))


@initializer
def uniform(shape, a: float = 0.0, b: float = 1.0) -> Law:
    """Uniform on an interval, as torch.nn.init.uniform_. Formula: w ~ U(a, b)."""
    a, b = _number(a, "a"), _number(b, "b")
    if b < a:
        raise InitlabError(f"uniform needs a <= b, got a={a}, b={b}")
    return Law("uniform", std=(b - a) / math.sqrt(12), mean=(a + b) / 2, low=a, high=b)


@initializer
def trunc_normal(shape, std: float = 1.0, mean: float = 0.0, a: float = -2.0, b: float = 2.0):
    """Normal truncated to the absolute bounds [a, b], as torch.nn.init.trunc_normal_ (no
    variance correction). Formula: w ~ N(mean, std^2) conditioned on a <= w <= b."""
    std, mean, a, b = (_number(std, "std", 0.0, True), _number(mean, "mean"), _number(a, "a"),
                       _number(b, "b"))
    if b <= a:
        raise InitlabError(f"trunc_normal needs a < b, got a={a}, b={b}")
    return Law("truncated_normal", std=std, mean=mean, low=a, high=b)


@initializer
def eye(shape) -> Law:
    """Identity matrix (2-D only), as torch.nn.init.eye_. Formula: w = I (out, in)."""
    if len(shape) != 2:
        raise InitlabError(f"eye needs a 2-D shape, got {shape}")
    return Law("eye")


@initializer
def dirac(shape, groups: int = 1) -> Law:
    """Identity-preserving convolution kernel (3-, 4- or 5-D), as torch.nn.init.dirac_.
    Formula: w[g*out/groups + d, d, centre] = 1, else 0."""
    if len(shape) not in (3, 4, 5):
        raise InitlabError(f"dirac needs a 3-, 4- or 5-D shape, got {shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise InitlabError(f"groups must be an int >= 1, got {groups!r}")
    if shape[0] % groups:
        raise InitlabError(f"dirac: out={shape[0]} is not divisible by groups={groups}")
    return Law("dirac", groups=groups)


@initializer
def sparse(shape, sparsity: float = 0.1, std: float = 0.01) -> Law:
    """Martens (2010) sparse init (2-D only): in each column a fraction ``sparsity`` of the rows
    is zero, the rest N(0, std^2). Formula: ceil(sparsity * out) zeros per column."""
    if len(shape) != 2:
        raise InitlabError(f"sparse needs a 2-D shape, got {shape}")
    sparsity = _number(sparsity, "sparsity", 0.0)
    if sparsity > 1:
        raise InitlabError(f"sparsity must lie in [0, 1], got {sparsity}")
    return Law("sparse", std=_number(std, "std", 0.0), sparsity=sparsity)


@initializer
def orthogonal(shape, gain: float = 1.0) -> Law:
    """(Semi-)orthogonal matrix (Saxe et al. 2013) over the flattened trailing dims: QR of a
    Gaussian matrix, Q times sign(diag R), times gain. Formula: W W^T = gain^2 I (rows <= cols)."""
    if len(shape) < 2:
        raise InitlabError(f"orthogonal needs at least 2 dimensions, got {shape}")
    gain = _number(gain, "gain")
    return Law("orthogonal", std=abs(gain) / math.sqrt(math.prod(shape[1:])), gain=gain)


@initializer
def xavier_uniform(shape, gain: float = 1.0) -> Law:
    """Glorot & Bengio (2010), uniform. Formula: bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = _number(gain, "gain")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return Law("uniform", std=std, low=-bound, high=bound, gain=gain)


@initializer
def xavier_normal(shape, gain: float = 1.0) -> Law:
    """Glorot & Bengio (2010), normal. Formula: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = _number(gain, "gain")
    return Law("normal", std=gain * math.sqrt(2.0 / (fan_in + fan_out)), gain=gain)


def _kaiming_std(shape, a, mode, nonlinearity) -> tuple[float, float]:
    fan = _fan(shape, mode)
    if mode == "fan_avg":
        raise InitlabError("kaiming mode must be fan_in or fan_out, got 'fan_avg'")
    gain = calculate_gain(nonlinearity, a)
    return gain, gain / math.sqrt(fan)


@initializer
def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Law:
    """He et al. (2015), uniform. Formula: bound = gain * sqrt(3 / fan_mode), gain =
    calculate_gain(nonlinearity, a). (nn.Linear's own default is a = sqrt(5), which gives
    U(+-1/sqrt(fan_in)).)"""
    gain, std = _kaiming_std(shape, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return Law("uniform", std=std, low=-bound, high=bound, gain=gain)


@initializer
def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu") -> Law:
    """He et al. (2015), normal. Formula: std = gain / sqrt(fan_mode), gain =
    calculate_gain(nonlinearity, a)."""
    gain, std = _kaiming_std(shape, a, mode, nonlinearity)
    return Law("normal", std=std, gain=gain)


@initializer
def he(shape) -> Law:
    """The course's He init: kaiming_normal for ReLU. Formula: std = sqrt(2 / fan_in)."""
    fan_in, _ = fans(shape)
    return Law("normal", std=math.sqrt(2.0 / fan_in), gain=math.sqrt(2.0))


@initializer
def lecun_normal(shape) -> Law:
    """LeCun et al. (1998), untruncated normal (what the course and Deep Learning from Scratch
    call "Xavier"). Formula: std = sqrt(1 / fan_in). Keras' LecunNormal is truncated:
    variance_scaling(1, fan_in, truncated_normal)."""
    fan_in, _ = fans(shape)
    return Law("normal", std=math.sqrt(1.0 / fan_in), gain=1.0)


@initializer
def lecun_uniform(shape) -> Law:
    """LeCun et al. (1998), uniform, as Keras' LecunUniform. Formula: bound = sqrt(3 / fan_in)."""
    fan_in, _ = fans(shape)
    bound = math.sqrt(3.0 / fan_in)
    return Law("uniform", std=math.sqrt(1.0 / fan_in), low=-bound, high=bound, gain=1.0)


@initializer
def variance_scaling(shape, scale: float = 1.0, mode: str = "fan_in",
                     distribution: str = "truncated_normal") -> Law:
    """Keras/JAX VarianceScaling. Formula: n = fan_mode; truncated_normal: std = sqrt(scale / n)
    / 0.8796 cut at 2 std; untruncated_normal: std = sqrt(scale / n); uniform: bound =
    sqrt(3 scale / n). Glorot = (1, fan_avg), He = (2, fan_in), LeCun = (1, fan_in)."""
    scale = _number(scale, "scale", 0.0, True)
    n = _fan(shape, mode)
    choose(distribution, DISTRIBUTIONS, "distribution")
    std = math.sqrt(scale / n)
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return Law("uniform", std=std, low=-bound, high=bound)
    if distribution == "untruncated_normal":
        return Law("normal", std=std)
    std = std / KERAS_TRUNCATION
    return Law("truncated_normal", std=std, low=-2 * std, high=2 * std)


def _alias(name: str, target: str) -> None:
    ALIASES[name] = target
    INITIALIZERS[name] = INITIALIZERS[target]


_alias("xavier", "xavier_normal")
_alias("glorot", "xavier_normal")
_alias("glorot_normal", "xavier_normal")
_alias("glorot_uniform", "xavier_uniform")
_alias("kaiming", "kaiming_normal")
_alias("lecun", "lecun_normal")
_alias("identity", "eye")


# ----------------------------------------------------------------------------- spec strings
@dataclass(frozen=True)
class Initializer:
    """An initializer with its parameters bound, made from a spec string by
    :func:`get_initializer`; call it as ``init(shape, rng, dtype=...)``."""

    spec: str
    name: str
    params: dict

    def __call__(self, shape, rng, dtype=np.float64) -> np.ndarray:
        return INITIALIZERS[self.name](shape, rng, dtype=dtype, **self.params)

    def law(self, shape) -> Law:
        return INITIALIZERS[self.name].law(check_shape(shape), **self.params)

    def __repr__(self) -> str:
        return f"Initializer({self.spec!r})"


def get_initializer(spec: str | Initializer) -> Initializer:
    """Parse a spec string such as ``he``, ``normal(0.01)`` or ``kaiming_uniform(mode=fan_out)``.

    Unknown names or parameters raise :class:`InitlabError` listing the valid ones; parameter
    values are checked on a small shape so a bad mode is caught here, not at training time.
    """
    if isinstance(spec, Initializer):
        return spec
    name, args, kwargs = parse_spec(spec)
    func = lookup(INITIALIZERS, name, "initializer")
    params = bind(func.law, args, kwargs, 1, spec)
    init = Initializer(spec.strip(), name, params)
    if ALIASES.get(name, name) not in ("eye", "dirac"):  # shape-specific; checked when drawn
        init.law((4, 3))
    return init


def describe(spec: str | Initializer, shape) -> dict:
    """Fans, gain, the formula's std and (uniform schemes) bound of ``spec`` at ``shape``."""
    init = get_initializer(spec)
    shape = check_shape(shape)
    law = init.law(shape)
    fan_in, fan_out = fans(shape) if len(shape) >= 2 else (None, None)
    return {"spec": init.spec, "shape": list(shape), "fan_in": fan_in, "fan_out": fan_out,
            "gain": law.gain, "std": law.std, "bound": law.bound}


def formula(name: str) -> str:
    """The ``Formula:`` sentence of an initializer's docstring."""
    doc = " ".join(inspect.getdoc(INITIALIZERS[name]).split())
    return doc.split("Formula: ", 1)[1] if "Formula: " in doc else doc


def catalogue() -> list[dict]:
    """Every initializer and alias with its formula, for ``initlab init --list``."""
    return [{"name": n, "alias_of": ALIASES.get(n), "formula": formula(n)}
            for n in sorted(INITIALIZERS)]
