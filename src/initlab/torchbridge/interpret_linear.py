"""The interpreter's rules for linear maps and attention: linear, conv, matmul, addmm, einsum
(sums of products, from the actual weights), softmax, dropout, embedding lookups and
``scaled_dot_product_attention``; the table of all rules:
:mod:`initlab.torchbridge.interpret_rules`.
"""

from __future__ import annotations

import math

from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import (
    IDS_ATTR,
    WEIGHT_SCALE,
    Stat,
    Unsupported,
    stat_of,
    tracked,
)
from initlab.torchbridge.interpret_common import D, F, linear_combination, variance
from initlab.torchbridge.interpret_structure import structural

_SOFTMAX_CLOSED = 0.5  # largest logit variance for the closed-form softmax
_SOFTMAX_DRAWS = 256


def _bilinear(op, a: Stat, b, gauss: bool = True) -> Stat:
    """c = op(a, b) for op bilinear with sums of products (matmul, linear, conv, einsum); ``b``
    a Stat, or a float32 tensor of constants (:func:`_operand`: a weight, used as it is).

    Computed in float32 and returned in float64: each entry is a sum of a few hundred to a few
    thousand products of one sign (the variance) or of a mean's terms, good to ~1e-6 relative
    in float32, far below the finite-width noise a prediction is compared with, at half the
    cost of the float64 products (the largest part of a transformer's prediction). Where float32
    overflows (entries beyond ~1e19), the op is redone in float64."""
    if isinstance(b, torch.Tensor):  # a weight: its square in float32 is (w64 ** 2).float()
        mu = _in_float32(op, a.mu, b)
        return Stat(mu) if a.const else Stat(mu, _in_float32(op, variance(a), b * b), gauss)
    mu = _in_float32(op, a.mu, b.mu)
    if a.const and b.const:
        return Stat(mu)
    var = None
    if not a.const:
        var = _in_float32(op, variance(a), variance(b) + b.mu ** 2 if not b.const else
                          b.mu ** 2)
    if not b.const:
        term = _in_float32(op, a.mu ** 2, variance(b))
        var = term if var is None else var + term
    return Stat(mu, var, gauss)


def _in_float32(op, p, q):
    """op(p, q) computed in float32, as float64 (in float64 where float32 overflows: a sum
    that is not finite, while the arguments' sums are)."""
    y = op(p.float(), q.float())
    if not math.isfinite(float(y.sum())) and math.isfinite(float(p.sum() + q.sum())):
        return op(p.to(D), q.to(D)).to(D)
    return y.to(D)


def _operand(t):
    """A constant float32 tensor (a weight the data does not flow into, not rescaled by the
    width extrapolation) as it is, else its Stat: a weight's float64 copy, squared and
    rounded back to float32, would give the same bits at several times the cost."""
    if (isinstance(t, torch.Tensor) and t.dtype == torch.float32 and not tracked(t)
            and id(t) not in WEIGHT_SCALE):
        return t.detach()
    return stat_of(t)


def _weights(args, kwargs, names, weight=None):
    """The Stats of a call's tensor arguments by position or name (the one at index
    ``weight`` as :func:`_operand` gives it)."""
    vals = list(args) + [kwargs.get(n) for n in names[len(args):]]
    return [(_operand(v) if i == weight else stat_of(v)) if isinstance(v, torch.Tensor) else v
            for i, v in enumerate(vals)]


def _add_bias(s: Stat, bias) -> Stat:
    return s if bias is None else linear_combination(s, bias, 1.0, 1.0)


def linear(func, name, out, args, kwargs):
    x, w, b = _weights(args, kwargs, ["input", "weight", "bias"], weight=1)
    y = _bilinear(lambda p, q: F.linear(p, q), x, w)
    y.tok = _rows_tok(x, w)
    return _add_bias(y, b)


def _rows_tok(a: Stat, b):
    """A map applied to each row of ``a`` by a constant keeps the rows' token correlation."""
    const = isinstance(b, torch.Tensor) or b.const
    return a.tok if const and a.tok is not None and a.tok[0] != -1 else None


def conv(func, name, out, args, kwargs):
    """conv{1,2,3}d and conv_transpose: weights per tap, the rest of the call kept (in float32,
    as every bilinear map)."""
    x, w = stat_of(args[0]), _operand(args[1] if len(args) > 1 else kwargs["weight"])
    b = args[2] if len(args) > 2 else kwargs.get("bias")
    rest = dict(kwargs)
    rest.pop("bias", None)
    rest.pop("weight", None)
    more = args[3:]
    y = _bilinear(lambda p, q: func(p, q, None, *more, **rest), x, w)
    if b is None:
        return y
    view = (-1, *([1] * (y.mu.dim() - 2)))
    sb = stat_of(b)
    return linear_combination(y, Stat(sb.mu.reshape(view), None if sb.const else
                                       variance(sb).reshape(view)), 1.0, 1.0)


def matmul(func, name, out, args, kwargs):
    a, b = args[0], args[1]
    if name == "rmatmul":
        a, b = b, a
    sa, sb = stat_of(a), _operand(b)
    if not sa.const and isinstance(sb, Stat) and not sb.const and (
            sb.tok is not None and sb.tok[0] == -2
            or bool(torch.allclose(sa.mu.sum(-1), torch.ones((), dtype=D)))):
        return _attend(sa, sb)  # attention weights (rows summing to 1) averaging positions
    y = _bilinear(torch.matmul, sa, sb)
    y.tok = _rows_tok(sa, sb)
    return y


def _attend(p: Stat, v: Stat) -> Stat:
    """P @ v with weights P independent of the values v, whose positions are correlated."""
    corr, K, cbar = tokens.attend(p.mu, v)
    var = corr
    noise = torch.zeros_like(corr)
    if not p.const:
        noise = variance(p) @ (variance(v) + v.mu ** 2)
        var = var + noise
    tok = tokens.output_tok(K, noise.mean(-1) / max(cbar, 1e-300))
    return Stat(p.mu @ v.mu, var, True, tok=tok)


def addmm(func, name, out, args, kwargs):
    """beta input + alpha (m1 @ m2) (addmm, baddbmm, addbmm)."""
    base, m1, m2 = stat_of(args[0]), stat_of(args[1]), _operand(args[2])
    beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
    op = torch.matmul if name != "addbmm" else (lambda p, q: torch.matmul(p, q).sum(0))
    product = _bilinear(op, m1, m2)
    product.tok = _rows_tok(m1, m2) if name != "addbmm" else None
    return linear_combination(base, product, beta, alpha)


def einsum(func, name, out, args, kwargs):
    eq, ops = args[0], args[1:]
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = ops[0]
    if len(ops) == 1:
        return structural(func, name, out, args, kwargs) if "->" in eq and _no_sum(eq) \
            else _reduce_einsum(eq, stat_of(ops[0]))
    if len(ops) != 2:
        raise Unsupported(f"{len(ops)} operands")
    return _bilinear(lambda p, q: torch.einsum(eq, p, q), stat_of(ops[0]), stat_of(ops[1]))


def _no_sum(eq: str) -> bool:
    left, right = eq.replace(" ", "").split("->")
    return set(left) - {","} <= set(right)


def _reduce_einsum(eq, s: Stat) -> Stat:
    return Stat(torch.einsum(eq, s.mu), torch.einsum(eq, variance(s)), s.gauss)


def softmax(func, name, out, args, kwargs):
    """softmax of independent Gaussian logits over ``dim`` (see the module docstring)."""
    s = stat_of(args[0])
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    if dim is None:
        raise Unsupported("no dim")
    return _softmax(s, dim)


def _softmax(s: Stat, dim) -> Stat:
    """Closed form while the logits' variance is small (the denominator then concentrates);
    beyond, E[p] and E[p^2] over 256 draws of the independent Gaussian logits (fixed seed)."""
    var = variance(s)
    if s.const or float(var.max()) <= _SOFTMAX_CLOSED:
        p = torch.softmax(s.mu + var / 2, dim)
        return Stat(p, p * p * torch.expm1(var))
    gen = torch.Generator().manual_seed(0)
    mean, second = torch.zeros_like(s.mu), torch.zeros_like(s.mu)
    sd = var.sqrt()
    for _ in range(_SOFTMAX_DRAWS):
        p = torch.softmax(s.mu + sd * torch.randn(s.mu.shape, generator=gen, dtype=D), dim)
        mean += p
        second += p * p
    mean, second = mean / _SOFTMAX_DRAWS, second / _SOFTMAX_DRAWS
    return Stat(mean, (second - mean * mean).clamp_min(0))


def dropout(func, name, out, args, kwargs):
    """dropout(p, training): E[y] = E[x], E[y^2] = E[x^2] / (1 - p) when it drops."""
    names = ["input", "p", "training", "inplace"]
    vals = dict(zip(names, args, strict=False)) | kwargs
    p, training = vals.get("p", 0.5), vals.get("training", True)
    s = stat_of(args[0])
    return _dropout(s, p) if training else s


def _dropout(s: Stat, p: float) -> Stat:
    if p <= 0:
        return s
    if p >= 1:
        return Stat(torch.zeros_like(s.mu))
    second = (variance(s) + s.mu ** 2) / (1 - p)
    var = (second - s.mu ** 2).clamp_min(0)
    return Stat(s.mu, var, tok=tokens.noisy(s.tok, float(variance(s).mean()), float(var.mean())))


def embedding(func, name, out, args, kwargs):
    """Rows of the actual weight: looked up with the data's token ids, a row drawn as the batch
    draws them (the mean and variance of the looked-up rows); with fixed ids, those rows."""
    ids, w = args[0], args[1] if len(args) > 1 else kwargs["weight"]
    sw = _operand(w)  # the rows looked up, not the whole table, copied to float64
    if isinstance(sw, Stat) and not sw.const:
        raise Unsupported("a tracked weight")
    table = sw if isinstance(sw, torch.Tensor) else sw.mu
    whole = getattr(ids, IDS_ATTR, None)
    if whole is None:
        return Stat(F.embedding(ids, table).to(D))
    rows = table[whole.reshape(-1)].to(D)
    # the variance in two passes: torch's var along the rows (Welford) costs ten times more;
    # they differ by ~1e-15 relative (benchmarks/README.md, issue 32)
    m = rows.mean(0)
    v = (rows - m).square_().mean(0)
    shape = (*ids.shape, w.shape[1])
    return Stat(m.expand(shape).contiguous(), v.expand(shape).contiguous(), True)


def sdpa(func, name, out, args, kwargs):
    """scaled_dot_product_attention: softmax(q k^T scale + mask) @ v by the rules above."""
    names = ["query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
             "enable_gqa"]
    v = dict(zip(names, args, strict=False)) | kwargs
    q, k, val = stat_of(v["query"]), stat_of(v["key"]), stat_of(v["value"])
    heads, kv = q.mu.shape[-3] if q.mu.dim() > 2 else 1, k.mu.shape[-3] if k.mu.dim() > 2 else 1
    if heads != kv:
        k, val = (Stat(s.mu.repeat_interleave(heads // kv, -3), None if s.const else
                       variance(s).repeat_interleave(heads // kv, -3), tok=s.tok) for s in (k, val))
    scale = v.get("scale") or 1.0 / math.sqrt(q.mu.shape[-1])
    kt = Stat(k.mu.transpose(-2, -1), None if k.const else variance(k).transpose(-2, -1))
    logits = _bilinear(torch.matmul, q, kt)
    logits = Stat(logits.mu * scale, variance(logits) * scale * scale)
    n, m = logits.mu.shape[-2:]
    mask = v.get("attn_mask")
    if v.get("is_causal"):
        causal = torch.ones(n, m, dtype=torch.bool).tril(diagonal=m - n)
        mask = causal if mask is None else mask & causal
    if mask is not None:
        if tracked(mask):
            raise Unsupported("a mask computed from the data")
        if mask.dtype == torch.bool:
            logits = Stat(logits.mu.masked_fill(~mask, -math.inf), variance(logits).masked_fill(
                ~mask, 0.0))
        else:
            logits = Stat(logits.mu + mask.to(D), variance(logits))
    p = _dropout(_softmax(logits, -1), v.get("dropout_p") or 0.0)
    return _attend(p, val)

