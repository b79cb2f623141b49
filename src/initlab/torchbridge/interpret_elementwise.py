"""The interpreter's elementwise rules: add and sub of independent tensors, mul and div,
powers, the delta method for rsqrt, sqrt, reciprocal and log, every activation by its Gaussian
expectation (:mod:`initlab.torchbridge.interpret_gauss`; ReLU in closed form), ``where`` and
``masked_fill``; the table of all rules: :mod:`initlab.torchbridge.interpret_rules`.
"""

from __future__ import annotations

import math

from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import Stat, Unsupported, stat_of, tracked
from initlab.torchbridge.interpret_common import (
    linear_combination,
    once_for_twins,
    variance,
)
from initlab.torchbridge.interpret_gauss import unary

_CONCENTRATED = 0.3  # largest std / |mean| the delta method is used for
#: Elementwise functions followed by their Gaussian expectation; the non-decreasing ones (and
#: only those) commute with max pooling.
MONOTONE = ("relu", "relu6", "leaky_relu", "elu", "selu", "celu", "tanh", "sigmoid",
            "softplus", "hardtanh", "hardsigmoid", "erf", "exp", "clamp", "clip", "log_sigmoid",
            "logsigmoid")
ELEMENTWISE = (*MONOTONE, "gelu", "silu", "mish", "hardswish", "abs", "sin", "cos",
               "softsign", "tanhshrink", "square")
#: The smooth ones (no kink): a Gauss-Hermite rule suffices
SMOOTH = ("tanh", "sigmoid", "softplus", "erf", "exp", "log_sigmoid", "logsigmoid", "gelu",
          "silu", "mish", "sin", "cos", "tanhshrink", "square")


def add(func, name, out, args, kwargs):
    """a + alpha b (sub: a - alpha b; rsub: b - alpha a): independent, variances add."""
    a, b = stat_of(args[0]), stat_of(args[1])
    alpha = kwargs.get("alpha", args[2] if len(args) > 2 else 1)
    if name == "rsub":
        return linear_combination(b, a, 1.0, -alpha)
    sign = -1.0 if "sub" in name else 1.0
    return linear_combination(a, b, 1.0, sign * alpha)


def neg(func, name, out, args, kwargs):
    s = stat_of(args[0])
    return Stat(-s.mu, s.var, s.gauss, tok=s.tok)


def mul(func, name, out, args, kwargs):
    """a * b of independent factors (x * x: the square's Gaussian moments)."""
    a, b = args[0], args[1]
    if a is b:
        return _square(stat_of(a))
    return _product(stat_of(a), stat_of(b))


def div(func, name, out, args, kwargs):
    """a / b: by a constant, a scale; by a tracked b, a times the delta method's 1 / b."""
    a, b = args[0], args[1]
    if name in ("rtruediv", "rdiv"):
        a, b = b, a
    if kwargs.get("rounding_mode") is not None:
        raise Unsupported("rounding_mode")
    sb = stat_of(b)
    inv = Stat(1.0 / sb.mu) if sb.const else _delta(torch.reciprocal, sb,
                                                       _DERIVATIVES["reciprocal"])
    return _product(stat_of(a), inv)


def _product(sa: Stat, sb: Stat) -> Stat:
    mu = sa.mu * sb.mu
    if sa.const and sb.const:
        return Stat(mu)
    if sb.const:  # a constant factor (RoPE's cos, a norm's weight): the terms in s2_b are 0
        var = variance(sa) * sb.mu ** 2
    elif sa.const:
        var = sa.mu ** 2 * variance(sb)
    else:
        var = variance(sa) * variance(sb) + variance(sa) * sb.mu ** 2 + sa.mu ** 2 * variance(sb)
    return Stat(mu, var, (sa.gauss and sb.const) or (sb.gauss and sa.const),
                tok=tokens.combine_mul(sa, sb))


def _delta(fn, s: Stat, derivatives=None) -> Stat:
    """fn(x) for a concentrated x (std / |mean| < 0.3): mean fn(mu) + fn''(mu) s2 / 2 and
    variance fn'(mu)^2 s2; ``derivatives(x)`` gives (fn, fn', fn'') in closed form, else they
    come from autograd."""
    if s.const:
        return Stat(fn(s.mu))
    sd, m = variance(s).sqrt(), s.mu.abs()
    if bool((sd > _CONCENTRATED * m).any()):
        raise Unsupported("argument not concentrated")
    if derivatives is not None:
        y, d1, d2 = derivatives(s.mu)
    else:
        with torch.enable_grad():
            x = s.mu.detach().clone().requires_grad_(True)
            y = fn(x)
            (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
            (d2,) = torch.autograd.grad(d1.sum(), x)
        y, d1, d2 = y.detach(), d1.detach(), d2.detach()
    return Stat(y + d2 * variance(s) / 2, d1 ** 2 * variance(s), tok=s.tok)


#: (fn, fn', fn'') of the functions delta_unary follows (RMSNorm's rsqrt at every norm: in
#: closed form, autograd's two passes cost more than the rest of the rule)
_DERIVATIVES = {
    "rsqrt": lambda x: (x.rsqrt(), -0.5 * x ** -1.5, 0.75 * x ** -2.5),
    "sqrt": lambda x: (x.sqrt(), 0.5 * x ** -0.5, -0.25 * x ** -1.5),
    "reciprocal": lambda x: (x.reciprocal(), -(x ** -2), 2 * x ** -3),
    "log": lambda x: (x.log(), x.reciprocal(), -(x ** -2)),
}


def pow_(func, name, out, args, kwargs):
    """x ** e: Gaussian moments for a whole e >= 0; the delta method otherwise."""
    x, e = args[0], args[1] if len(args) > 1 else kwargs["exponent"]
    if not isinstance(e, (int, float)):
        raise Unsupported("tensor exponent")
    s = stat_of(x)
    if e == 2:
        return _square(s)
    if float(e).is_integer() and e >= 0:
        return unary(lambda t: t ** e, s, smooth=True)
    return _delta(lambda t: t ** e, s)


def _square(s: Stat) -> Stat:
    """x^2 for x ~ N(mu, s2) in closed form (RMSNorm's ``x.pow(2)``, ``x * x``): E[x^2] =
    mu^2 + s2, E[x^4] = mu^4 + 6 mu^2 s2 + 3 s2^2, so Var = 4 mu^2 s2 + 2 s2^2 (exact, where
    the Gaussian expectation of :func:`unary` would interpolate a grid); a square of a
    function of a Gaussian composes with it there."""
    if s.const or s.pre is not None:
        return unary(_squared, s, smooth=True)
    mu, var = s.mu, variance(s)
    mean = mu * mu + var
    m, q = float(mu.mean()), float(var.mean())
    return Stat(mean, (4 * mu * mu + 2 * var) * var, pre=(mu, var, _squared, False, s.tok, True),
                tok=tokens.square_map(s.tok, m, q))


def _squared(t):
    return t * t


def delta_unary(func, name, out, args, kwargs):
    """rsqrt, sqrt, reciprocal, log of a concentrated argument."""
    if len(args) > 1 or kwargs:
        raise Unsupported("extra arguments")
    return _delta(func, stat_of(args[0]), _DERIVATIVES[name])


def elementwise(func, name, out, args, kwargs):
    """An elementwise torch function of one tracked tensor (its other arguments fixed)."""
    x, rest = args[0], args[1:]
    if any(isinstance(t, torch.Tensor) for t in (*rest, *kwargs.values())):
        raise Unsupported("tensor arguments")
    kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
    s = stat_of(x)
    if name == "relu" and s.pre is None and not s.const:
        return _relu(s)
    return unary(lambda t: func(t, *rest, **kwargs), s, name in MONOTONE,
                 name in SMOOTH)


def _relu(s: Stat) -> Stat:
    """relu(x), x ~ N(mu, s^2), in closed form (the rectified Gaussian, :func:`_rectified`)."""
    mu, var = s.mu, variance(s)
    mean, second = once_for_twins(_rectified, mu, var)
    gaussian = Stat(mu, var, tok=s.tok)
    relu = torch.relu
    tok = None if s.tok is None else tokens.through(relu, gaussian, float(mu.mean()),
                                                    float(var.mean()))
    return Stat(mean, (second - mean * mean).clamp_min(0), pre=(mu, var, relu, True, s.tok,
                                                                 False), tok=tok)


def _rectified(mu, var):
    """E[relu(x)], E[relu(x)^2] for x ~ N(mu, var): with sd = sqrt(var), a = mu / sd,
    E[relu] = mu Phi(a) + sd phi(a), E[relu^2] = (mu^2 + var) Phi(a) + mu sd phi(a)."""
    sd = var.sqrt()
    wide = bool((sd >= 1e-300).all())  # the usual case: no clamp, no zero-variance entry
    a = mu / sd if wide else mu / sd.clamp_min(1e-300)
    cdf = torch.special.ndtr(a)
    pdf = a.mul_(a).mul_(-0.5).exp_().div_(math.sqrt(2 * math.pi))  # in place: a is spent
    mean = mu * cdf
    mean += sd * pdf
    second = mu * mu
    second += var
    second *= cdf
    second += (mu * sd).mul_(pdf)
    if wide:
        return mean, second
    return (torch.where(sd > 0, mean, mu.clamp_min(0)),
            torch.where(sd > 0, second, mu.clamp_min(0) ** 2))


def where(func, name, out, args, kwargs):
    cond, a, b = args[:3]
    if tracked(cond):
        raise Unsupported("a condition computed from the data")
    sa, sb = stat_of(a), stat_of(b)
    return Stat(torch.where(cond, sa.mu, sb.mu), torch.where(cond, variance(sa), variance(sb)))


def masked_fill(func, name, out, args, kwargs):
    x, mask, value = args[0], args[1], args[2] if len(args) > 2 else kwargs["value"]
    if tracked(mask):
        raise Unsupported("a mask computed from the data")
    s = stat_of(x)
    if isinstance(value, torch.Tensor):
        value = float(value)
    return Stat(s.mu.masked_fill(mask, value), variance(s).masked_fill(mask, 0.0))

