"""The rules of the mean-field interpreter: each torch operation's output moments from its inputs'
(the Gaussian expectations of elementwise functions in :mod:`~initlab.torchbridge.interpret_gauss`,
the normalization and pooling rules in :mod:`~initlab.torchbridge.interpret_layers`; the table
:data:`RULES` here names them all).

Every rule takes ``(func, name, out, args, kwargs)`` (the call and its real output) and returns
the :class:`~initlab.torchbridge.interpret.Stat` of the output (a list of them for several
outputs), from the per-entry means mu and variances s2 of its arguments (a constant has
s2 = 0), with fluctuations of distinct entries independent:

- reshapes, permutes, slicing, cat, stack, padding, casts: the same op on mu and on s2.
- add/sub (a residual sum: the branch is independent of the stream at init): mu adds, s2 adds.
- mul of independent a, b: E[ab] = mu_a mu_b, Var = s2_a s2_b + s2_a mu_b^2 + mu_a^2 s2_b;
  ``x * x`` and ``pow``: Gaussian moments.
- linear, conv (in float32), matmul, einsum (weights or two tracked tensors): for
  c = sum_j a_j b_j,
  mu_c = sum mu_a mu_b, s2_c = sum s2_a (s2_b + mu_b^2) + mu_a^2 s2_b, computed by the same
  op on (mu_a, mu_b), (s2_a, s2_b + mu_b^2), (mu_a^2, s2_b). With weights: the textbook
  q_out = fan_in Var(w) E[x^2] + b^2 of LeCun et al. 1998, entry by entry, from the actual
  weights.
- mean/sum over n entries: mu averages, s2 sums / n^2 (what makes a norm's statistics nearly
  deterministic); average pooling likewise with the window's count.
- elementwise functions (ReLU, GELU, SiLU, tanh, exp, ...: the torch function itself) of a
  Gaussian N(mu, s2): the Gaussian expectation, by 32-point Gauss-Hermite for smooth ones and
  Gauss-Legendre split at the kink for the others (``initlab.theory.gaussian``), as
  ``initlab.theory`` computes its maps (ReLU in closed form, the rectified Gaussian); beyond
  4096 distinct (mu, s2) entries on a 65 x 65 grid, interpolated (1% per entry, 0.1% pooled);
  a function of fn(Gaussian) composes with fn, so relu(relu(x)) stays exact.
- rsqrt, sqrt, reciprocal, log, fractional powers, division by a tracked tensor: the delta
  method, only for a concentrated argument (std / mean < 0.3: a mean over many entries).
- softmax over logits N(mu, s2): E[p_j] = exp(mu_j + s2_j/2) / sum_k exp(mu_k + s2_k/2) (the
  denominator of many terms concentrates), Var(p_j) = E[p_j]^2 (exp(s2_j) - 1), while every
  s2 <= 0.5; beyond, the moments over 256 draws of the logits; masked entries (-inf, a
  constant) get 0.
- scaled_dot_product_attention: logits q k^T * scale (+ mask, causal), softmax, dropout,
  @ v, each by the rules above.
- layer_norm, rms_norm, group_norm, batch_norm (batch statistics in training mode, the running
  buffers in eval mode): the expected statistics over the normalized entries, then the affine
  weight and bias.
- max pooling of fn(Gaussian) with fn non-decreasing: max_i fn(x_i) = fn(max_i x_i), and the
  max of a window's independent N(m_i, s_i^2) has the CDF prod_i Phi((x - m_i) / s_i)
  (order statistics; windows at a border or over unequal entries included).
- dropout(p) in training: mu kept, E[y^2] = E[x^2] / (1 - p); embedding: rows of the actual
  weight (a token id drawn as the batch's ids are).
"""

from __future__ import annotations

import math

from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import IDS_ATTR, Stat, Unsupported, stat_of
from initlab.torchbridge.interpret_gauss import unary
from initlab.torchbridge.interpret_layers import (
    adaptive_avg_pool,
    avg_pool,
    batch_norm,
    group_norm,
    layer_norm,
    max_pool,
    rms_norm,
)

F = torch.nn.functional
D = torch.float64
_CONCENTRATED = 0.3  # largest std / |mean| the delta method is used for
_SOFTMAX_CLOSED = 0.5  # largest logit variance for the closed-form softmax
_SOFTMAX_DRAWS = 256


def _v(s: Stat):
    return s.variance()


def _map(tree, pick):
    """``tree`` with every float tensor t replaced by pick(its Stat, t)."""
    if isinstance(tree, torch.Tensor):
        return pick(stat_of(tree), tree) if tree.is_floating_point() else tree
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(v, pick) for v in tree)
    if isinstance(tree, dict):
        return {k: _map(v, pick) for k, v in tree.items()}
    return tree


def _as64(t):
    if isinstance(t, torch.Tensor) and t.is_floating_point():
        return t.to(D)
    if isinstance(t, (list, tuple)):
        return [_as64(v) for v in t]
    return t


def structural(func, name, out, args, kwargs):
    """Reshapes, permutes, slices, cat, casts: the same call on the means and the variances."""
    mu = _as64(_call(func, args, kwargs, lambda s: s.mu))
    var = _as64(_call(func, args, kwargs, _v))
    gauss = all(s.gauss for s in _stats(args))
    single = isinstance(mu, torch.Tensor)
    mus, vs = ([mu], [var]) if single else (mu, var)
    toks = tokens.carry(func, args, kwargs, _map, stat_of, len(mus))
    out = [Stat(m, v, gauss, tok=k) for m, v, k in zip(mus, vs, toks, strict=True)]
    return out[0] if single else out


def _call(func, args, kwargs, pick):
    """func on pick(Stat) of each float tensor; the Stat's tensors may have other strides than
    the real ones (a view then needs them contiguous)."""
    try:
        return func(*_map(args, lambda s, t: pick(s)), **_map(kwargs, lambda s, t: pick(s)))
    except RuntimeError:
        return func(*_map(args, lambda s, t: pick(s).contiguous()),
                    **_map(kwargs, lambda s, t: pick(s).contiguous()))


def _stats(tree):
    if isinstance(tree, torch.Tensor) and tree.is_floating_point():
        yield stat_of(tree)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            yield from _stats(v)


def setitem(func, name, out, args, kwargs):
    """x[index] = value, in place: the same on x's means and variances."""
    x, index, value = args
    sx, sv = stat_of(x), stat_of(value)
    mu, var = sx.mu.clone(), _v(sx).clone()
    mu[index] = sv.mu if sv is not None else value
    var[index] = _v(sv) if sv is not None else 0.0
    x._initlab_stat = Stat(mu, var)
    return None


def pad(func, name, out, args, kwargs):
    """F.pad: constant padding adds entries with that value (variance 0)."""
    x, p = args[0], args[1]
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    value = kwargs.get("value", args[3] if len(args) > 3 else None) or 0.0
    s = stat_of(x)
    if mode == "constant":
        return Stat(F.pad(s.mu, p, value=value), F.pad(_v(s), p), s.gauss)
    return Stat(F.pad(s.mu, p, mode=mode), F.pad(_v(s), p, mode=mode), s.gauss)


def _linear_combination(a: Stat, b: Stat, ca: float, cb: float) -> Stat:
    mu = ca * a.mu + cb * b.mu
    if a.const and b.const:
        return Stat(mu)
    return Stat(mu, ca * ca * _v(a) + cb * cb * _v(b), (a.gauss or a.const) and (b.gauss or
                                                                                b.const),
                tok=tokens.combine_add(a, b, ca, cb))


def add(func, name, out, args, kwargs):
    """a + alpha b (sub: a - alpha b; rsub: b - alpha a): independent, variances add."""
    a, b = stat_of(args[0]), stat_of(args[1])
    alpha = kwargs.get("alpha", args[2] if len(args) > 2 else 1)
    if name == "rsub":
        return _linear_combination(b, a, 1.0, -alpha)
    sign = -1.0 if "sub" in name else 1.0
    return _linear_combination(a, b, 1.0, sign * alpha)


def neg(func, name, out, args, kwargs):
    s = stat_of(args[0])
    return Stat(-s.mu, s.var, s.gauss, tok=s.tok)


def mul(func, name, out, args, kwargs):
    """a * b of independent factors (x * x: the square's Gaussian moments)."""
    a, b = args[0], args[1]
    if a is b:
        return unary(lambda t: t * t, stat_of(a), smooth=True)
    return _product(stat_of(a), stat_of(b))


def div(func, name, out, args, kwargs):
    """a / b: by a constant, a scale; by a tracked b, a times the delta method's 1 / b."""
    a, b = args[0], args[1]
    if name in ("rtruediv", "rdiv"):
        a, b = b, a
    if kwargs.get("rounding_mode") is not None:
        raise Unsupported("rounding_mode")
    sb = stat_of(b)
    inv = Stat(1.0 / sb.mu) if sb.const else _delta(torch.reciprocal, sb)
    return _product(stat_of(a), inv)


def _product(sa: Stat, sb: Stat) -> Stat:
    mu = sa.mu * sb.mu
    if sa.const and sb.const:
        return Stat(mu)
    var = _v(sa) * _v(sb) + _v(sa) * sb.mu ** 2 + sa.mu ** 2 * _v(sb)
    return Stat(mu, var, (sa.gauss and sb.const) or (sb.gauss and sa.const),
                tok=tokens.combine_mul(sa, sb))


def _delta(fn, s: Stat) -> Stat:
    """fn(x) for a concentrated x (std / |mean| < 0.3): mean fn(mu) + fn''(mu) s2 / 2 and
    variance fn'(mu)^2 s2, derivatives by autograd."""
    if s.const:
        return Stat(fn(s.mu))
    sd, m = _v(s).sqrt(), s.mu.abs()
    if bool((sd > _CONCENTRATED * m).any()):
        raise Unsupported("argument not concentrated")
    with torch.enable_grad():
        x = s.mu.detach().clone().requires_grad_(True)
        y = fn(x)
        (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), x)
    return Stat((y + d2 * _v(s) / 2).detach(), (d1 ** 2 * _v(s)).detach(), tok=s.tok)


def pow_(func, name, out, args, kwargs):
    """x ** e: Gaussian moments for a whole e >= 0; the delta method otherwise."""
    x, e = args[0], args[1] if len(args) > 1 else kwargs["exponent"]
    if not isinstance(e, (int, float)):
        raise Unsupported("tensor exponent")
    s = stat_of(x)
    if float(e).is_integer() and e >= 0:
        return unary(lambda t: t ** e, s, smooth=True)
    return _delta(lambda t: t ** e, s)


def delta_unary(func, name, out, args, kwargs):
    """rsqrt, sqrt, reciprocal, log of a concentrated argument."""
    if len(args) > 1 or kwargs:
        raise Unsupported("extra arguments")
    return _delta(func, stat_of(args[0]))


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
    """relu(x), x ~ N(mu, s^2), in closed form (the rectified Gaussian): with a = mu / s,
    E[relu] = mu Phi(a) + s phi(a), E[relu^2] = (mu^2 + s^2) Phi(a) + mu s phi(a)."""
    mu, var = s.mu, _v(s)
    sd = var.sqrt()
    a = mu / sd.clamp_min(1e-300)
    cdf, pdf = torch.special.ndtr(a), torch.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mean = torch.where(sd > 0, mu * cdf + sd * pdf, mu.clamp_min(0))
    second = torch.where(sd > 0, (mu * mu + var) * cdf + mu * sd * pdf, mu.clamp_min(0) ** 2)
    gaussian = Stat(mu, var, tok=s.tok)
    relu = torch.relu
    tok = tokens.through(relu, gaussian, float(mu.mean()), float(var.mean()))
    return Stat(mean, (second - mean * mean).clamp_min(0), pre=(mu, var, relu, True, s.tok,
                                                                 False), tok=tok)


def _bilinear(op, a: Stat, b: Stat, gauss: bool = True) -> Stat:
    """c = op(a, b) for op bilinear with sums of products (matmul, linear, conv, einsum)."""
    mu = op(a.mu, b.mu)
    if a.const and b.const:
        return Stat(mu)
    var = None
    if not a.const:
        var = op(_v(a), _v(b) + b.mu ** 2 if not b.const else b.mu ** 2)
    if not b.const:
        term = op(a.mu ** 2, _v(b))
        var = term if var is None else var + term
    return Stat(mu, var, gauss)


def _weights(args, kwargs, names):
    vals = list(args) + [kwargs.get(n) for n in names[len(args):]]
    return [stat_of(v) if isinstance(v, torch.Tensor) else v for v in vals]


def _add_bias(s: Stat, bias) -> Stat:
    return s if bias is None else _linear_combination(s, bias, 1.0, 1.0)


def linear(func, name, out, args, kwargs):
    x, w, b = _weights(args, kwargs, ["input", "weight", "bias"])
    y = _bilinear(lambda p, q: F.linear(p, q), x, w)
    y.tok = _rows_tok(x, w)
    return _add_bias(y, b)


def _rows_tok(a: Stat, b: Stat):
    """A map applied to each row of ``a`` by a constant keeps the rows' token correlation."""
    return a.tok if b.const and a.tok is not None and a.tok[0] != -1 else None


def conv(func, name, out, args, kwargs):
    """conv{1,2,3}d and conv_transpose: weights per tap, the rest of the call kept. Computed
    in float32 (a conv is the costly part of a CNN's prediction; the sums of squares it takes
    are good to ~1e-6 there), returned in float64."""
    x, w = stat_of(args[0]), stat_of(args[1] if len(args) > 1 else kwargs["weight"])
    b = args[2] if len(args) > 2 else kwargs.get("bias")
    rest = dict(kwargs)
    rest.pop("bias", None)
    rest.pop("weight", None)
    more = args[3:]
    y = _bilinear(lambda p, q: func(p.float(), q.float(), None, *more, **rest).to(D), x, w)
    if b is None:
        return y
    view = (-1, *([1] * (y.mu.dim() - 2)))
    sb = stat_of(b)
    return _linear_combination(y, Stat(sb.mu.reshape(view), None if sb.const else
                                       _v(sb).reshape(view)), 1.0, 1.0)


def matmul(func, name, out, args, kwargs):
    a, b = args[0], args[1]
    if name == "rmatmul":
        a, b = b, a
    sa, sb = stat_of(a), stat_of(b)
    if not sa.const and not sb.const and (sb.tok is not None and sb.tok[0] == -2 or bool(
            torch.allclose(sa.mu.sum(-1), torch.ones((), dtype=D)))):
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
        noise = _v(p) @ (_v(v) + v.mu ** 2)
        var = var + noise
    tok = tokens.output_tok(K, noise.mean(-1) / max(cbar, 1e-300))
    return Stat(p.mu @ v.mu, var, True, tok=tok)


def addmm(func, name, out, args, kwargs):
    """beta input + alpha (m1 @ m2) (addmm, baddbmm, addbmm)."""
    base, m1, m2 = (stat_of(t) for t in args[:3])
    beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
    op = torch.matmul if name != "addbmm" else (lambda p, q: torch.matmul(p, q).sum(0))
    product = _bilinear(op, m1, m2)
    product.tok = _rows_tok(m1, m2) if name != "addbmm" else None
    return _linear_combination(base, product, beta, alpha)


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
    return Stat(torch.einsum(eq, s.mu), torch.einsum(eq, _v(s)), s.gauss)


def reduce(func, name, out, args, kwargs):
    """mean and sum over some dims: mu averages (sums), s2 sums (/ n^2); over correlated
    positions, the correlated sum of interpret_tokens."""
    s = stat_of(args[0])
    kwargs = {k: v for k, v in kwargs.items() if k != "dtype"}
    mu = func(s.mu, *args[1:], **kwargs).to(D)
    n = s.mu.numel() / max(mu.numel(), 1)
    scale = 1.0 / n if name == "mean" else 1.0
    var = func(_v(s), *args[1:], **kwargs).to(D) * scale
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


def where(func, name, out, args, kwargs):
    cond, a, b = args[:3]
    if isinstance(cond, torch.Tensor) and getattr(cond, "_initlab_stat", None) is not None:
        raise Unsupported("a condition computed from the data")
    sa, sb = stat_of(a), stat_of(b)
    return Stat(torch.where(cond, sa.mu, sb.mu), torch.where(cond, _v(sa), _v(sb)))


def masked_fill(func, name, out, args, kwargs):
    x, mask, value = args[0], args[1], args[2] if len(args) > 2 else kwargs["value"]
    if getattr(mask, "_initlab_stat", None) is not None:
        raise Unsupported("a mask computed from the data")
    s = stat_of(x)
    if isinstance(value, torch.Tensor):
        value = float(value)
    return Stat(s.mu.masked_fill(mask, value), _v(s).masked_fill(mask, 0.0))


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
    var = _v(s)
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
    second = (_v(s) + s.mu ** 2) / (1 - p)
    var = (second - s.mu ** 2).clamp_min(0)
    return Stat(s.mu, var, tok=tokens.noisy(s.tok, float(_v(s).mean()), float(var.mean())))


def embedding(func, name, out, args, kwargs):
    """Rows of the actual weight: looked up with the data's token ids, a row drawn as the batch
    draws them (the mean and variance of the looked-up rows); with fixed ids, those rows."""
    ids, w = args[0], args[1] if len(args) > 1 else kwargs["weight"]
    sw = stat_of(w)
    if not sw.const:
        raise Unsupported("a tracked weight")
    whole = getattr(ids, IDS_ATTR, None)
    if whole is None:
        return Stat(F.embedding(ids, sw.mu))
    rows = sw.mu[whole.reshape(-1)]
    m, v = rows.mean(0), rows.var(0, unbiased=False)
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
                       _v(s).repeat_interleave(heads // kv, -3), tok=s.tok) for s in (k, val))
    scale = v.get("scale") or 1.0 / math.sqrt(q.mu.shape[-1])
    kt = Stat(k.mu.transpose(-2, -1), None if k.const else _v(k).transpose(-2, -1))
    logits = _bilinear(torch.matmul, q, kt)
    logits = Stat(logits.mu * scale, _v(logits) * scale * scale)
    n, m = logits.mu.shape[-2:]
    mask = v.get("attn_mask")
    if v.get("is_causal"):
        causal = torch.ones(n, m, dtype=torch.bool).tril(diagonal=m - n)
        mask = causal if mask is None else mask & causal
    if mask is not None:
        if getattr(mask, "_initlab_stat", None) is not None:
            raise Unsupported("a mask computed from the data")
        if mask.dtype == torch.bool:
            logits = Stat(logits.mu.masked_fill(~mask, -math.inf), _v(logits).masked_fill(
                ~mask, 0.0))
        else:
            logits = Stat(logits.mu + mask.to(D), _v(logits))
    p = _dropout(_softmax(logits, -1), v.get("dropout_p") or 0.0)
    return _attend(p, val)


def copy(func, name, out, args, kwargs):
    """x.copy_(src): x now holds src."""
    return stat_of(args[1])


def constant(func, name, out, args, kwargs):
    """zeros_like, new_ones, fill_, ...: the data does not reach the values."""
    return [Stat(t.detach().to(D)) if t.is_floating_point() else None
            for t in (out if isinstance(out, (list, tuple)) else [out])]


RULES = {}
for _n in ("view", "reshape", "permute", "transpose", "t", "flatten", "unflatten", "squeeze",
           "unsqueeze", "expand", "expand_as", "contiguous", "clone", "detach", "to", "float",
           "double", "half", "bfloat16", "type", "type_as", "getitem", "narrow", "select",
           "split", "chunk", "unbind", "cat", "concat", "concatenate", "stack", "repeat",
           "repeat_interleave", "roll", "flip", "movedim", "moveaxis", "view_as", "reshape_as",
           "tile", "index_select", "gather", "tril", "triu", "T", "mT", "data", "swapaxes",
           "swapdims", "unfold", "split_with_sizes", "hsplit", "vsplit", "tensor_split",
           "squeeze_", "unsqueeze_", "contiguous", "pixel_shuffle", "pixel_unshuffle",
           "channel_shuffle", "require_grad", "requires_grad_", "cpu", "cuda"):
    RULES[_n] = structural
RULES.update({
    "setitem": setitem, "pad": pad,
    "add": add, "sub": add, "subtract": add, "rsub": add, "radd": add, "neg": neg,
    "negative": neg, "mul": mul, "multiply": mul, "rmul": mul, "div": div, "truediv": div,
    "true_divide": div, "divide": div, "rtruediv": div, "pow": pow_, "copy": copy,
    "rsqrt": delta_unary, "sqrt": delta_unary, "reciprocal": delta_unary, "log": delta_unary,
    "linear": linear, "conv1d": conv, "conv2d": conv, "conv3d": conv,
    "conv_transpose1d": conv, "conv_transpose2d": conv, "conv_transpose3d": conv,
    "matmul": matmul, "rmatmul": matmul, "mm": matmul, "bmm": matmul, "addmm": addmm,
    "baddbmm": addmm, "einsum": einsum, "mean": reduce, "sum": reduce,
    "where": where, "masked_fill": masked_fill, "softmax": softmax,
    "dropout": dropout, "dropout1d": dropout, "dropout2d": dropout, "dropout3d": dropout,
    "embedding": embedding, "scaled_dot_product_attention": sdpa, "layer_norm": layer_norm,
    "rms_norm": rms_norm, "group_norm": group_norm, "batch_norm": batch_norm,
    "avg_pool2d": avg_pool, "avg_pool3d": avg_pool, "adaptive_avg_pool1d": adaptive_avg_pool,
    "adaptive_avg_pool2d": adaptive_avg_pool, "adaptive_avg_pool3d": adaptive_avg_pool,
    "max_pool2d": max_pool, "max_pool2d_with_indices": max_pool,
})
for _n in ("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
           "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "zero", "fill"):
    RULES[_n] = constant
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

for _n in ELEMENTWISE:
    RULES[_n] = elementwise
