"""What the rules of the mean-field interpreter share (:mod:`initlab.torchbridge.interpret_rules`
lists the rules and where each lives): a Stat's variance, the walk that replaces each float
tensor of a call's arguments by something of its Stat, the same call run on the means or the
variances, and the sum of two independent tensors (a residual add, a bias).
"""

from __future__ import annotations

from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import Stat, stat_of

F = torch.nn.functional
D = torch.float64


def variance(s: Stat):
    """The per-entry variance (zeros for a constant)."""
    return s.variance()


def map_stats(tree, pick):
    """``tree`` with every float tensor t replaced by pick(its Stat, t)."""
    if isinstance(tree, torch.Tensor):
        return pick(stat_of(tree), tree) if tree.is_floating_point() else tree
    if isinstance(tree, (list, tuple)):
        return type(tree)(map_stats(v, pick) for v in tree)
    if isinstance(tree, dict):
        return {k: map_stats(v, pick) for k, v in tree.items()}
    return tree


def as64(t):
    """A float tensor (or a list of them) as float64."""
    if isinstance(t, torch.Tensor) and t.is_floating_point():
        return t.to(D)
    if isinstance(t, (list, tuple)):
        return [as64(v) for v in t]
    return t


def call_on(func, args, kwargs, pick):
    """func on pick(Stat) of each float tensor; the Stat's tensors may have other strides than
    the real ones (a view then needs them contiguous)."""
    try:
        return func(*map_stats(args, lambda s, t: pick(s)),
                    **map_stats(kwargs, lambda s, t: pick(s)))
    except RuntimeError:
        return func(*map_stats(args, lambda s, t: pick(s).contiguous()),
                    **map_stats(kwargs, lambda s, t: pick(s).contiguous()))


def stats_in(tree):
    """The Stat of every float tensor of a nest of lists and tuples, in order."""
    if isinstance(tree, torch.Tensor) and tree.is_floating_point():
        yield stat_of(tree)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            yield from stats_in(v)


def linear_combination(a: Stat, b: Stat, ca: float, cb: float) -> Stat:
    """ca a + cb b of independent a, b: means combine, variances add with the squares."""
    mu = _scaled(a.mu, ca) + _scaled(b.mu, cb)
    if a.const and b.const:
        return Stat(mu)
    gauss = (a.gauss or a.const) and (b.gauss or b.const)
    if a.const or b.const:  # a bias: the other's variance, scaled (adding zeros changes no bit)
        var = _scaled(b.var, cb * cb) if a.const else _scaled(a.var, ca * ca)
    else:
        var = _scaled(a.var, ca * ca) + _scaled(b.var, cb * cb)
    return Stat(mu, var, gauss, tok=tokens.combine_add(a, b, ca, cb))


def _scaled(t, c):
    """c t, and t itself for c = 1 (a residual add or a bias: no copy to make)."""
    return t if c == 1 else c * t


def twins(*tensors) -> bool:
    """Whether every tensor holds two equal examples along its first axis: where a BatchNorm
    trains, the interpreter traces two examples of equal statistics
    (:func:`initlab.torchbridge.interpret.interpret`), so a costly rule computes one and
    repeats it (:func:`once_for_twins`)."""
    return all(t.dim() > 0 and t.shape[0] == 2 and torch.equal(t[0], t[1]) for t in tensors)


def once_for_twins(fn, *tensors):
    """fn(*tensors) (a tensor or a tuple of them, each with the inputs' first axis), computed
    on the first example and repeated where the tensors are :func:`twins`."""
    if not twins(*tensors):
        return fn(*tensors)
    out = fn(*(t[:1] for t in tensors))
    if isinstance(out, torch.Tensor):
        return torch.cat([out, out])
    return tuple(torch.cat([o, o]) for o in out)

