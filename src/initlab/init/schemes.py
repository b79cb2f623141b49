"""The initialization schemes, each a few lines: fan -> gain -> std -> :class:`Law`.

Formulas follow ``torch.nn.init`` (PyTorch 2.x) and Keras 3's initializers; each docstring's
``Formula:`` sentence is what ``initlab init --list`` prints.
"""

from __future__ import annotations

import math
import numbers

from initlab.errors import InitlabError, check_number, check_positive_int, choose
from initlab.init.fans import calculate_gain, check_mode, fan, fans
from initlab.init.laws import KERAS_TRUNCATION, Law
from initlab.init.registry import INITIALIZERS, alias, initializer

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


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
    """Every entry equal (torch's ``val=`` is accepted). Formula: w = value."""
    return Law("constant", std=0.0, value=check_number(value, "value"))


@initializer
def normal(shape, std: float = 1.0, mean: float = 0.0) -> Law:
    """Gaussian with a fixed scale; one positional argument is the std. Formula: w ~ N(mean,
    std^2) (the course's "random" is normal(10))."""
    return Law("normal", std=check_number(std, "std", 0.0), mean=check_number(mean, "mean"))


@initializer
def uniform(shape, a: float = 0.0, b: float = 1.0) -> Law:
    """Uniform on an interval, as torch.nn.init.uniform_. Formula: w ~ U(a, b)."""
    a, b = check_number(a, "a"), check_number(b, "b")
    if b < a:
        raise InitlabError(f"uniform needs a <= b, got a={a}, b={b}")
    return Law("uniform", std=(b - a) / math.sqrt(12), mean=(a + b) / 2, low=a, high=b)


@initializer
def trunc_normal(shape, std: float = 1.0, mean: float = 0.0, a: float = -2.0, b: float = 2.0):
    """Normal truncated to the absolute bounds [a, b], as torch.nn.init.trunc_normal_ (no
    variance correction: the drawn std is below ``std``). Formula: w ~ N(mean, std^2)
    conditioned on a <= w <= b."""
    std = check_number(std, "std", 0.0, low_open=True)
    mean, a, b = check_number(mean, "mean"), check_number(a, "a"), check_number(b, "b")
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
    sparsity = check_number(sparsity, "sparsity", 0.0, 1.0)
    return Law("sparse", std=check_number(std, "std", 0.0), sparsity=sparsity)


@initializer
def orthogonal(shape, gain: float = 1.0) -> Law:
    """(Semi-)orthogonal matrix (Saxe et al. 2014) over the flattened trailing dims: QR of a
    Gaussian matrix, Q times sign(diag R), times gain. Formula: W W^T = gain^2 I (rows <= cols)
    or W^T W = gain^2 I (rows > cols)."""
    if len(shape) < 2:
        raise InitlabError(f"orthogonal needs at least 2 dimensions, got {shape}")
    gain = check_number(gain, "gain")
    rows, cols = shape[0], math.prod(shape[1:])
    return Law("orthogonal", std=abs(gain) * math.sqrt(min(rows, cols) / (rows * cols)),
               gain=gain)


@initializer
def xavier_uniform(shape, gain: float = 1.0) -> Law:
    """Glorot & Bengio (2010), uniform. Formula: bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = check_number(gain, "gain")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return Law("uniform", std=std, low=-bound, high=bound, gain=gain)


@initializer
def xavier_normal(shape, gain: float = 1.0) -> Law:
    """Glorot & Bengio (2010), normal. Formula: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = check_number(gain, "gain")
    return Law("normal", std=gain * math.sqrt(2.0 / (fan_in + fan_out)), gain=gain)


def _kaiming_std(shape, a, mode, nonlinearity) -> tuple[float, float]:
    """(gain, std): as torch, ``a`` is the negative slope of leaky_relu and nothing else."""
    mode = check_mode(mode)
    if mode == "fan_avg":
        raise InitlabError("kaiming mode must be fan_in or fan_out, got 'fan_avg'")
    a = check_number(a, "a")
    name = nonlinearity.lower() if isinstance(nonlinearity, str) else nonlinearity
    gain = calculate_gain(name, a if name == "leaky_relu" else None)
    return gain, gain / math.sqrt(fan(shape, mode))


@initializer
def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Law:
    """He et al. (2015), uniform. Formula: bound = gain * sqrt(3 / fan_mode), gain =
    calculate_gain(nonlinearity, a) (``a``: leaky_relu's negative slope only)."""
    gain, std = _kaiming_std(shape, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return Law("uniform", std=std, low=-bound, high=bound, gain=gain)


@initializer
def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu") -> Law:
    """He et al. (2015), normal. Formula: std = gain / sqrt(fan_mode), gain =
    calculate_gain(nonlinearity, a) (``a``: leaky_relu's negative slope only)."""
    gain, std = _kaiming_std(shape, a, mode, nonlinearity)
    return Law("normal", std=std, gain=gain)


def _torch_default_bias(shape) -> Law:
    fan_in, _ = fans(shape)
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return Law("uniform", std=bound / math.sqrt(3.0), low=-bound, high=bound)


@initializer(bias=_torch_default_bias)
def torch_default(shape) -> Law:
    """PyTorch's default for nn.Linear and nn.Conv*d (reset_parameters): weight =
    kaiming_uniform(a=sqrt(5)), and it also sets the bias. Formula: W ~ U(+-1/sqrt(fan_in)),
    b ~ U(+-1/sqrt(fan_in))."""
    return kaiming_uniform.law(shape, a=math.sqrt(5.0))


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
    """Keras/JAX VarianceScaling: the drawn std is sqrt(scale / n) in all three. Formula: n =
    fan_mode; truncated_normal: N(0, sigma^2) with sigma = sqrt(scale / n) / 0.8796 cut at
    +-2 sigma; untruncated_normal: std = sqrt(scale / n); uniform: bound = sqrt(3 scale / n).
    Glorot = (1, fan_avg), He = (2, fan_in), LeCun = (1, fan_in)."""
    scale = check_number(scale, "scale", 0.0, low_open=True)
    n = fan(shape, mode)
    distribution = choose(distribution.lower() if isinstance(distribution, str)
                          else distribution, DISTRIBUTIONS, "distribution")
    std = math.sqrt(scale / n)
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return Law("uniform", std=std, low=-bound, high=bound)
    if distribution == "untruncated_normal":
        return Law("normal", std=std)
    sigma = std / KERAS_TRUNCATION
    return Law("truncated_normal", std=sigma, low=-2 * sigma, high=2 * sigma)


@initializer
def lsuv(shape, base: str = "orthogonal", tol: float = 0.1, max_tries: int = 10) -> Law:
    """Mishkin & Matas (2016), "All you need is a good init": draw ``base`` (orthogonal by
    default), then, inside a model and on a data batch, rescale each Dense layer in turn until
    its output variance is within tol of 1. Formula: W <- W / sqrt(Var(x W^T + b)) while
    |Var - 1| >= tol, at most max_tries times per layer."""
    if not isinstance(base, str) or base.lower() not in INITIALIZERS or base.lower() == "lsuv":
        valid = ", ".join(sorted(n for n in INITIALIZERS if n != "lsuv"))
        raise InitlabError(f"lsuv's base must be an initializer name, got {base!r}; valid: "
                           f"{valid}")
    check_number(tol, "lsuv tol", 0.0, low_open=True)
    if not isinstance(max_tries, numbers.Integral):
        raise InitlabError(f"lsuv max_tries must be a positive integer, got {max_tries!r}")
    check_positive_int(max_tries, "lsuv max_tries")
    return INITIALIZERS[base.lower()].law(shape)


alias("xavier", "xavier_normal")
alias("glorot", "xavier_normal")
alias("glorot_normal", "xavier_normal")
alias("glorot_uniform", "xavier_uniform")
alias("kaiming", "kaiming_normal")
alias("lecun", "lecun_normal")
alias("identity", "eye")
