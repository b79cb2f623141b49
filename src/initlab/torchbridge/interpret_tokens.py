"""The correlation between tokens (positions) that attention creates and then averages over.

Attention's output at position t is a weighted average of the values v_s: the outputs at t and
t' share most of their summands, so they are correlated, and the next attention, averaging
over positions again, keeps that shared part instead of averaging it away (with independent
positions its output variance would shrink like 1/t). A :class:`~initlab.torchbridge.
interpret.Stat` may carry ``tok = (axis, R)``: along dim ``axis`` (negative, from the end),
the fluctuations of entries that agree in every other index have correlation matrix R; without
it, positions are independent (R = I). The rules:

- reshapes, permutes, slices, cat: where the token axis goes is found by running the same call
  on a probe whose entries are their index over the dims up to the token axis (entries that
  came from different examples or heads are independent: a reshape may merge them);
- attention, P @ v with mean weights P: Cov_out = P D R D P^T (D: the values' std by
  position), plus the independent noise of the weights themselves;
- add: covariances add; mul of independent factors: (R_a s_a + m_a^2)(R_b s_b + m_b^2) less
  the means; a constant factor keeps R;
- an elementwise function: the correlation map of Poole et al. 2016 through
  :func:`initlab.theory.bivariate_expectation`, on a grid of correlations, interpolated;
- dropout: independent noise on the diagonal; a mean over the token axis: 1^T D R D 1 / n^2.
"""

from __future__ import annotations

import numpy as np

from initlab.theory.gaussian import bivariate_expectation
from initlab.torchbridge.hooks import torch

D = torch.float64
_GRID = np.linspace(-1.0, 1.0, 21)  # correlations the map is computed at, then interpolated
_NODES = 16  # per piece of bivariate_expectation's rule: the map to ~1e-6, plenty for R


def _probes(shape, axis):
    """(each entry's position on the token axis, its index over the dims before it)."""
    k = len(shape) + axis
    t = torch.arange(shape[k], dtype=D).reshape(shape[k], *([1] * (len(shape) - k - 1)))
    lead = int(np.prod(shape[:k])) if k else 1
    g = torch.arange(lead, dtype=D).reshape(*shape[:k], *([1] * (len(shape) - k)))
    return t.expand(*shape).contiguous(), g.expand(*shape).contiguous()


def lookup(R, t, g) -> torch.Tensor:
    """The correlation between entries at positions ``t`` of groups ``g`` (-1: a constant or
    an independent entry); entries of different groups (examples, heads) are independent."""
    valid = t >= 0
    t, g = t.clamp_min(0).to(torch.int64), g.to(torch.int64)
    gn = g.numpy()
    if bool(valid.all()) and (gn == gn[0]).all():  # one group, no constant: the whole block
        out = R[t[:, None], t]
    else:
        out = R[t][:, t] * ((g[:, None] == g[None, :]) & valid[:, None] & valid[None, :])
    out.fill_diagonal_(1.0)
    return out


def carry(func, args, kwargs, map_tree, stat_of, n_out: int):
    """The tok of each of the ``n_out`` outputs of a structural call, found by running it on
    probes of the position and the group. Where the token axis goes depends only on the call,
    its arguments' shapes and token axes: found once per such call and kept for the rest of
    the forward (the repeated blocks of a model make the same calls; :data:`_LINES`), then
    read from each call's R."""
    toks, key = [], [func]
    try:
        _signature((args, kwargs), stat_of, toks, key)
        key = tuple(key)
        lines = _LINES.get(key)
    except TypeError:  # an index tensor or an unhashable argument: probe every time
        key = lines = None
    if not toks or any(t[1] is not toks[0][1] for t in toks[1:]):
        return [None] * n_out  # no correlated input, or two different ones
    if lines is None:
        lines = _probe_lines(func, args, kwargs, map_tree, n_out)
        if key is not None:
            if len(_LINES) >= _LINES_KEPT:
                _LINES.clear()
            _LINES[key] = lines
    R = toks[0][1]
    return [None if line is None else (line[0], _read(R, *line[1:])) for line in lines]


#: (func, arguments' shapes and token axes, other arguments) -> per output, None or (axis,
#: positions, groups, whether those are 0..n-1 of one group): how a structural call moves the
#: token axis (a function of the call alone, so shared by the blocks of one forward; emptied
#: at the start of each, :func:`forget_lines`, so that every prediction pays its own probes)
_LINES: dict = {}
_LINES_KEPT = 4096


def forget_lines() -> None:
    _LINES.clear()


def _signature(tree, stat_of, toks, key) -> None:
    """Append to ``key`` what the probes of a call depend on (raises TypeError where that is
    a tensor's values or unhashable), and the tok of each float tensor to ``toks``."""
    if isinstance(tree, torch.Tensor):
        if not tree.is_floating_point():
            raise TypeError("an index tensor")
        tok = stat_of(tree).tok
        if tok is not None:
            toks.append(tok)
        key.append((tuple(tree.shape), None if tok is None else tok[0]))
    elif isinstance(tree, (list, tuple)):
        key.append((type(tree), len(tree)))
        for v in tree:
            _signature(v, stat_of, toks, key)
    elif isinstance(tree, dict):
        for k, v in tree.items():
            key.append(k)
            _signature(v, stat_of, toks, key)
    elif isinstance(tree, slice):
        key.append((slice, tree.start, tree.stop, tree.step))
    else:
        hash(tree)
        key.append((type(tree), tree))


def _probe_lines(func, args, kwargs, map_tree, n_out: int) -> list:
    """Run the call on probes: per output, None (no token axis) or (axis, positions, groups,
    whether the positions are 0..n-1 of one group)."""
    runs, made = [], {}  # the probes of each (shape, axis), made once for both runs
    for which in (0, 1):
        def probe(st, x, which=which):
            if st.tok is None:
                return torch.full(tuple(x.shape), -1.0, dtype=D)
            key = (tuple(x.shape), st.tok[0])
            if key not in made:
                made[key] = _probes(*key)
            return made[key][which]

        with torch.no_grad():
            out = func(*map_tree(args, probe), **map_tree(kwargs, probe))
        runs.append([out] if isinstance(out, torch.Tensor) else list(out))
    return [_line(t.to(D), g.to(D)) for t, g in zip(*runs, strict=True)]


def _line(t, g):
    """(axis, positions, groups, whole) of one output from its probes (None: no axis): the
    (last) dim along which positions vary."""
    tn = t.numpy()  # numpy: a few microseconds less per dim than torch's dispatch
    moving = [d for d in range(tn.ndim) if tn.shape[d] > 1 and (np.diff(tn, axis=d) != 0).any()]
    if not moving:
        return None
    d = moving[-1]  # several: a merged axis split again, the positions within one group
    index = [0] * tn.ndim
    index[d] = slice(None)
    t, g = t[tuple(index)], g[tuple(index)]
    gn = g.numpy()
    whole = bool((t.numpy() == np.arange(len(t))).all() and (gn == gn[0]).all())
    return d - tn.ndim, t, g, whole


def _read(R, t, g, whole: bool):
    """The correlation between the entries at positions t of groups g, from R (``lookup``;
    positions 0..n-1 of one group: R itself, with its diagonal set to 1)."""
    if whole and R.shape[0] == len(t):
        return R.clone().fill_diagonal_(1.0)
    return lookup(R, t, g)


def pooled_var(s) -> float:
    return float(s.variance().mean())


def combine_add(a, b, ca: float, cb: float):
    """tok of ca a + cb b: covariances add (pooled over entries)."""
    if a.tok is None and b.tok is None:
        return None
    va, vb = ca * ca * pooled_var(a), cb * cb * pooled_var(b)
    return _mix([(a, va), (b, vb)])


def _mix(parts):
    axis, n = None, None
    for s, _ in parts:
        if s.tok is not None:
            if axis is not None and (s.tok[0] != axis or s.tok[1].shape[0] != n):
                return None
            axis, n = s.tok[0], s.tok[1].shape[0]
    total = sum(v for _, v in parts)
    if total <= 0:
        return None
    eye = torch.eye(n, dtype=D)
    R = sum(v * (s.tok[1] if s.tok is not None else eye) for s, v in parts) / total
    return axis, R


def combine_mul(a, b):
    """tok of a * b for independent factors (a constant factor keeps the other's)."""
    if a.const:
        return b.tok
    if b.const:
        return a.tok
    if a.tok is None and b.tok is None:
        return None
    axis = (a.tok or b.tok)[0]
    n = (a.tok or b.tok)[1].shape[0]
    if (a.tok and b.tok) and (a.tok[0] != b.tok[0] or a.tok[1].shape != b.tok[1].shape):
        return None
    eye = torch.eye(n, dtype=D)
    ra, rb = (s.tok[1] if s.tok is not None else eye for s in (a, b))
    va, vb = pooled_var(a), pooled_var(b)
    ma, mb = float((a.mu ** 2).mean()), float((b.mu ** 2).mean())
    cov = (ra * va + ma) * (rb * vb + mb) - ma * mb
    return axis, cov / cov.diagonal().clamp_min(1e-300).sqrt().outer(
        cov.diagonal().clamp_min(1e-300).sqrt())


def through(fn, s, m: float, q: float, smooth: bool = False):
    """tok of fn(x): the correlation map at the pooled mean m and variance q (for a smooth fn
    and q <= 1, by a product Gauss-Hermite rule: :func:`_hermite_map`)."""
    if s.tok is None or q <= 0:
        return None
    def f(u):
        return fn(torch.from_numpy(np.asarray(m + u, dtype=float))).to(D).numpy()
    if smooth and q <= _HERMITE_Q:
        cov = _hermite_map(f, q)
    else:
        mean = bivariate_expectation(f, lambda u: np.ones_like(u), q, q, 1.0, n=_NODES)
        cov = bivariate_expectation(f, f, q, q, _GRID, n=_NODES) - mean * mean
    if cov[-1] <= 0:
        return None
    rho = cov / cov[-1]
    R = s.tok[1].clamp(-1.0, 1.0)
    mapped = torch.from_numpy(np.interp(R.numpy().ravel(), _GRID, rho)).reshape(R.shape)
    return s.tok[0], mapped


#: Product Gauss-Hermite rule for the correlation map of a smooth function: 24 x 24 nodes
#: per correlation, a quarter of the cost of the split Gauss-Legendre rule and, for pooled
#: variances up to 1 (the normalized streams of a transformer), as accurate or more (the map
#: of GELU, SiLU, tanh to 5e-5 or better against the 32-node split rule; beyond, where the
#: function's curvature is narrow beside the std, the split rule is kept)
_HERMITE_Q = 1.0
_HERMITE_2D = np.polynomial.hermite_e.hermegauss(24)
_HERMITE_2D = (_HERMITE_2D[0], _HERMITE_2D[1] / _HERMITE_2D[1].sum())


def _hermite_map(f, q: float) -> np.ndarray:
    """Cov(f(u1), f(u2)) at each correlation of _GRID, u1, u2 ~ N(0, q):
    u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2)."""
    x, w = _HERMITE_2D
    sq = np.sqrt(q)
    c = _GRID[:, None, None]
    first = f(sq * x)
    second = f(sq * (c * x[:, None] + np.sqrt(np.maximum(1 - c * c, 0.0)) * x[None, :]))
    mean = w @ first
    return np.einsum("i,j,i,cij->c", w, w, first, second) - mean * mean


def square_map(tok, m: float, q: float):
    """tok of x^2 for x of pooled mean m and variance q, in closed form: for a Gaussian pair
    of correlation c, Cov((m + u1)^2, (m + u2)^2) = 4 m^2 q c + 2 q^2 c^2 (Isserlis), over its
    value at c = 1."""
    if tok is None or q <= 0:
        return None
    R = tok[1].clamp(-1.0, 1.0)
    return tok[0], (4 * m * m * q * R + 2 * q * q * R * R) / (4 * m * m * q + 2 * q * q)


def noisy(tok, var_before: float, var_after: float):
    """tok after independent noise raises each entry's variance from var_before to var_after."""
    if tok is None or var_after <= 0:
        return tok
    R = tok[1] * (var_before / var_after)
    R.fill_diagonal_(1.0)
    return tok[0], R


def attend(p, v):
    """(extra variance of P @ v from the values' token correlation, tok of the output).

    p: mean attention weights (..., T, S); v: the values' Stat (..., S, d) with tok on axis -2.
    Returns the correlated variance (..., T, d) that replaces sum_s P_ts^2 s2_sj (the
    values' variance taken as a position profile times a feature profile), K = P D R D P^T
    (..., T, T) in units of the mean feature profile, and that profile's mean.
    """
    var = v.variance()
    a = var.mean(-1)  # (..., S): each position's variance, over features
    c = var.mean(-2, keepdim=True) / a.mean(-1, keepdim=True)[..., None].clamp_min(1e-300)
    R = v.tok[1] if v.tok is not None and v.tok[0] == -2 else torch.eye(var.shape[-2], dtype=D)
    w = p * a.sqrt()[..., None, :]
    K = w @ R @ w.transpose(-1, -2)  # (..., T, T)
    return K.diagonal(dim1=-2, dim2=-1)[..., None] * c, K, float(c.mean())


def output_tok(K, noise):
    """The output's tok from K (..., T, T) and the independent noise (..., T) per position."""
    diag = K.diagonal(dim1=-2, dim2=-1) + noise
    sd = diag.clamp_min(1e-300).sqrt()
    R = K / (sd[..., :, None] * sd[..., None, :])
    R = R.reshape(-1, *R.shape[-2:]).mean(0)
    R.fill_diagonal_(1.0)
    return -2, R


def reduce_over(s, dims, n: int):
    """Variance of a sum over the token axis (dims holds it), over n^2: 1^T D R D 1 / n^2."""
    axis, R = s.tok
    var = s.variance().movedim(axis, -1)
    sd = var.sqrt()
    total = torch.einsum("...i,ij,...j->...", sd, R, sd)
    return total / (n * n), var
