"""The interpreter's rules for operations that move entries without mixing them (reshapes,
permutes, slices, cat, casts, padding, item assignment), for reductions (mean, sum) and for
constants made inside the forward (``zeros_like``, ``fill_``); the table of all rules:
:mod:`initlab.torchbridge.interpret_rules`.
"""

from __future__ import annotations

from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import STAT_ATTR, Stat, Unsupported, stat_of, tensors_in
from initlab.torchbridge.interpret_common import (
    D,
    F,
    as64,
    call_on,
    map_stats,
    stats_in,
    variance,
)


def structural(func, name, out, args, kwargs):
    """Reshapes, permutes, slices, cat, casts: the same call on the means and the variances."""
    x = args[0] if args else None
    if (not kwargs and isinstance(x, torch.Tensor) and x.is_floating_point()
            and not tensors_in(args[1:])):
        return _of_one(func, args)
    mu = as64(call_on(func, args, kwargs, lambda s: s.mu))
    var = as64(call_on(func, args, kwargs, variance))
    gauss = all(s.gauss for s in stats_in(args))
    single = isinstance(mu, torch.Tensor)
    mus, vs = ([mu], [var]) if single else (mu, var)
    toks = tokens.carry(func, args, kwargs, map_stats, stat_of, len(mus))
    out = [Stat(m, v, gauss, tok=k) for m, v, k in zip(mus, vs, toks, strict=True)]
    return out[0] if single else out


def _of_one(func, args):
    """:func:`structural` for the usual call, ``func(x, *rest)`` with one tensor x (a view, a
    transpose, a slice): what the general walk computes, without walking."""
    s, rest = stat_of(args[0]), args[1:]
    try:
        mu, var = func(s.mu, *rest), func(variance(s), *rest)
    except RuntimeError:  # a view of a Stat's tensor of other strides: as call_on
        mu, var = func(s.mu.contiguous(), *rest), func(variance(s).contiguous(), *rest)
    mu, var = as64(mu), as64(var)
    single = isinstance(mu, torch.Tensor)
    mus, vs = ([mu], [var]) if single else (mu, var)
    toks = [None] * len(mus) if s.tok is None else tokens.carry(
        func, args, {}, map_stats, stat_of, len(mus))
    out = [Stat(m, v, s.gauss, tok=k) for m, v, k in zip(mus, vs, toks, strict=True)]
    return out[0] if single else out


def setitem(func, name, out, args, kwargs):
    """x[index] = value, in place: the same on x's means and variances."""
    x, index, value = args
    sx, sv = stat_of(x), stat_of(value)
    mu, var = sx.mu.clone(), variance(sx).clone()
    mu[index] = sv.mu if sv is not None else value
    var[index] = variance(sv) if sv is not None else 0.0
    setattr(x, STAT_ATTR, Stat(mu, var))
    return None


def pad(func, name, out, args, kwargs):
    """F.pad: constant padding adds entries with that value (variance 0)."""
    x, p = args[0], args[1]
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    value = kwargs.get("value", args[3] if len(args) > 3 else None) or 0.0
    s = stat_of(x)
    if mode == "constant":
        return Stat(F.pad(s.mu, p, value=value), F.pad(variance(s), p), s.gauss)
    return Stat(F.pad(s.mu, p, mode=mode), F.pad(variance(s), p, mode=mode), s.gauss)


def reduce(func, name, out, args, kwargs):
    """mean and sum over some dims: mu averages (sums), s2 sums (/ n^2); over correlated
    positions, the correlated sum of interpret_tokens."""
    s = stat_of(args[0])
    kwargs = {k: v for k, v in kwargs.items() if k != "dtype"}
    mu = func(s.mu, *args[1:], **kwargs).to(D)
    n = s.mu.numel() / max(mu.numel(), 1)
    scale = 1.0 / n if name == "mean" else 1.0
    var = func(variance(s), *args[1:], **kwargs).to(D) * scale
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    dims = tuple(range(s.mu.dim())) if dim is None else (
        tuple(dim) if isinstance(dim, (list, tuple)) else (dim,))
    dims = tuple(d % s.mu.dim() - s.mu.dim() for d in dims)
    tok = s.tok
    keep = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    if tok is not None and tok[0] in dims:
        if len(dims) != 1:
            raise Unsupported("a reduction over correlated positions and other dims")
        total, _ = tokens.reduce_over(s, dims, 1)
        var = (total.unsqueeze(tok[0]) if keep else total) * scale * scale
        tok = None
    elif tok is not None and not keep:
        tok = (tok[0] + sum(d > tok[0] for d in dims), tok[1])
    return Stat(mu, var, True, tok=tok)


def copy(func, name, out, args, kwargs):
    """x.copy_(src): x now holds src."""
    return stat_of(args[1])


def constant(func, name, out, args, kwargs):
    """zeros_like, new_ones, fill_, ...: the data does not reach the values."""
    return [Stat(t.detach().to(D)) if t.is_floating_point() else None
            for t in (out if isinstance(out, (list, tuple)) else [out])]

