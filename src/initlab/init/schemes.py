"""The initialization schemes, each a few lines: fan -> gain -> std -> :class:`Law`.

Formulas follow ``torch.nn.init`` (PyTorch 2.x) and Keras 3's initializers; each docstring's
``Formula:`` sentence is what ``initlab init --list`` prints.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_number, check_positive_int, choose
from initlab.init.fans import calculate_gain, check_mode, fan, fans
from initlab.init.laws import KERAS_TRUNCATION, Law
from initlab.init.registry import INITIALIZERS, alias, initializer
from initlab.rng import as_rng

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


@dataclass(frozen=True)
class DeltaOrthogonalLaw(Law):
    """The law of :func:`delta_orthogonal`: one orthogonal matrix at the kernel's centre tap.

    Entries: the centre holds ``in`` orthonormal rows of length ``out`` times the gain, so the
    mean square is gain^2 in / (out in prod(kernel)); every other tap is 0."""

    def moments(self, shape) -> tuple[float, float]:
        return 0.0, self.gain**2 * shape[1] / math.prod(shape)

    def sample(self, shape, rng, dtype=np.float64) -> np.ndarray:
        n_out, n_in = shape[0], shape[1]
        q, r = np.linalg.qr(as_rng(rng).standard_normal((n_out, n_out)))
        q *= np.sign(np.diag(r))  # Haar-uniform, as TensorFlow's q *= sign(diag(r))
        w = np.zeros(shape, dtype=dtype)
        centre = tuple((k - 1) // 2 for k in shape[2:])
        w[(slice(None), slice(None), *centre)] = self.gain * q[:n_in, :].T
        return w


@initializer
def delta_orthogonal(shape, gain: float = 1.0) -> Law:
    """Delta-orthogonal convolution kernel (Xiao et al. 2018, "Dynamical isometry and a mean
    field theory of CNNs", algorithm 2), as TensorFlow's ``ConvolutionDeltaOrthogonal`` in
    PyTorch's (out, in, *kernel) layout: 3-, 4- or 5-D, in <= out. Formula: w[:, :, centre] =
    gain * Q[:in, :]^T with Q an out x out Haar orthogonal matrix, centre = (k - 1) // 2 per
    spatial axis, every other tap 0."""
    if len(shape) not in (3, 4, 5):
        raise InitlabError(f"delta_orthogonal needs a 3-, 4- or 5-D convolution kernel "
                           f"(out, in, *kernel), got {shape}")
    if shape[1] > shape[0]:
        raise InitlabError(f"delta_orthogonal needs in_channels <= out_channels (the centre "
                           f"tap is in orthonormal rows of an out x out matrix), got out="
                           f"{shape[0]}, in={shape[1]}")
    return DeltaOrthogonalLaw("delta_orthogonal", std=None, gain=check_number(gain, "gain"))


alias("xavier", "xavier_normal")
alias("glorot", "xavier_normal")
alias("glorot_normal", "xavier_normal")
alias("glorot_uniform", "xavier_uniform")
alias("kaiming", "kaiming_normal")
alias("lecun", "lecun_normal")
alias("identity", "eye")


# ----------------------------------------------------------------------------- residual nets
# Schemes for residual networks (initlab.nn.residual): they set a whole net, not one tensor,
# since what they draw depends on the number of blocks L and the branch's depth m. Each is
# registered here so that spec strings, ``init --list`` and every command know it; drawn on a
# single tensor it draws its ``base``. Inside ``mlp(..., residual=True)`` the model applies the
# rule :func:`initlab.init.residual.residual_rule` reads from the spec.


def _residual_base(base, shape) -> Law:
    """The law of a residual scheme's ``base``: a per-tensor initializer's name."""
    name = base.lower() if isinstance(base, str) else base
    if name not in INITIALIZERS or name in RESIDUAL_SCHEMES or name == "lsuv":
        valid = ", ".join(sorted(n for n in INITIALIZERS
                                 if n not in RESIDUAL_SCHEMES and n != "lsuv"))
        raise InitlabError(f"a residual scheme's base must be an initializer name, got "
                           f"{base!r}; valid: {valid}")
    return INITIALIZERS[name].law(shape)


@initializer
def fixup(shape, base: str = "he") -> Law:
    """Fixup (Zhang, Dauphin & Ma 2019, "Fixup initialization: residual learning without
    normalization", rules 1-3), for L blocks of m >= 2 Dense layers. Formula: branch layers
    1..m-1 ~ base * L^(-1/(2m-2)); the last branch layer and the readout W = 0, b = 0; a scalar
    bias (0) before every branch Dense and activation, a scalar multiplier (1) per branch."""
    return _residual_base(base, shape)


@initializer
def skipinit(shape, base: str = "he") -> Law:
    """SkipInit (De & Smith 2020, "Batch normalization biases residual blocks towards the
    identity function in deep networks"): a learnable scalar at the end of each branch,
    starting at 0. Formula: x <- x + alpha B(x), alpha = 0 (learned), every layer ~ base."""
    return _residual_base(base, shape)


@initializer
def rezero(shape, base: str = "he") -> Law:
    """ReZero (Bachlechner et al. 2020, "ReZero is all you need"): x <- x + alpha F(x) with a
    learnable alpha per block starting at 0 -- in these blocks the same net as skipinit.
    Formula: alpha = 0 (learned), every layer ~ base."""
    return _residual_base(base, shape)


@initializer
def scaled_residual(shape, base: str = "he", factor: float = 1.0) -> Law:
    """The last layer of each branch scaled down with depth: factor 1 keeps the stream's
    variance bounded (Var_L <= e^g Var_0 for a branch gain g), factor 2 is GPT-2's 1/sqrt(N)
    with N = 2L residual layers (Radford et al. 2019, section 2.3). Formula: the last branch
    layer ~ base / sqrt(factor * L), every other layer ~ base."""
    check_number(factor, "scaled_residual factor", 0.0, low_open=True)
    return _residual_base(base, shape)


@initializer
def zero_init_residual(shape, base: str = "he") -> Law:
    """The last normalization layer of each branch starts with weight 0, so each block starts
    as the identity (Goyal et al. 2017, "Accurate, large minibatch SGD", section 5.1;
    torchvision's ``zero_init_residual``); needs a norm in the branch. Formula: gamma_last = 0,
    every layer ~ base."""
    return _residual_base(base, shape)


#: The residual schemes above: model-level rules, applied by ``mlp(..., residual=True)``.
RESIDUAL_SCHEMES = ("fixup", "skipinit", "rezero", "scaled_residual", "zero_init_residual")
