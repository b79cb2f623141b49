"""Gaussian expectations of elementwise functions for the mean-field interpreter: the
moments of fn(x) for x ~ N(mu, s2) entry by entry (:func:`unary`), by 32-point Gauss-Hermite
for smooth functions and Gauss-Legendre split at the kink for the others
(``initlab.theory.gaussian``), beyond 4096 distinct (mu, s2) entries on a grid (65 points on
its longer side), interpolated; and :func:`unique_rows`, the deduplication they (and max
pooling) use. The rules that call them: :mod:`initlab.torchbridge.interpret_elementwise`.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.theory.gaussian import legendre_pieces
from initlab.torchbridge import interpret_tokens as tokens
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import Stat

D = torch.float64
F = torch.nn.functional
_ENTRIES = 1 << 14  # quadrature entries per block (x 48 nodes)
_NODES_PER_PIECE = 24
_GRID_ABOVE, _GRID_POINTS = 4096, 65  # distinct entries beyond which moments are interpolated


def unary(fn, s: Stat, monotone: bool = False, smooth: bool = False) -> Stat:
    """The moments of fn(x) for x ~ N(mu, s2) entry by entry (or fn of the Gaussian x is a
    non-decreasing function of, composed). The Gauss-Legendre rule is split where x = 0, the
    kink of rectifiers, so they cost no accuracy."""
    if s.const:
        return Stat(fn(s.mu).to(D))
    if s.pre is not None:
        mu, var, inner, inner_monotone, tok, inner_smooth = s.pre
        f, monotone = (lambda t: fn(inner(t))), monotone and inner_monotone
        smooth = smooth and inner_smooth
    else:
        mu, var, f, tok = s.mu, s.variance(), fn, s.tok
    mean, out_var = _quadrature(f, mu, var, smooth)
    gaussian = Stat(mu, var, tok=tok)
    out_tok = None if tok is None else tokens.through(f, gaussian, float(mu.mean()),
                                                      float(var.mean()), smooth)
    return Stat(mean, out_var, pre=(mu, var, f, monotone, tok, smooth), tok=out_tok)


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows of a 2-D float array, the index of each row's among them): one sort
    of a key hashed from the rows' bits, checked exact (a lexsort if two rows collide); much
    faster than ``torch.unique(dim=0)``. Rows are distinct by their bits (-0.0 is not 0.0)."""
    if rows.shape[0] == 0:
        return rows, np.zeros(0, dtype=np.int64)
    bits = np.ascontiguousarray(rows, dtype=np.float64).view(np.int64)
    key = bits[:, 0].copy()
    with np.errstate(over="ignore"):
        for col in bits.T[1:]:  # one 64-bit key from every value's bits: one sort
            key = key * np.int64(1_000_003) ^ col
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if np.array_equal(bits[first][inverse], bits):  # no two distinct rows share a key
        return rows[first], inverse
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


#: Gauss-Hermite nodes and weights for E over z ~ N(0, 1), for smooth functions
_HERMITE = np.polynomial.hermite_e.hermegauss(32)
_HERMITE = (_HERMITE[0], _HERMITE[1] / _HERMITE[1].sum())


def _quadrature(f, mu, var, smooth: bool = False):
    """E[f(x)], Var[f(x)] for x ~ N(mu, var) per entry (duplicate entries computed once; more
    than 4096 distinct ones: on a grid, interpolated)."""
    shape = mu.shape
    m, v = mu.reshape(-1).numpy(), var.reshape(-1).numpy()
    every = max(1, m.size // 1024)
    probe = np.stack([m[::every], v[::every]], 1)
    share = len(unique_rows(probe)[0]) / len(probe) if m.size > _GRID_ABOVE else 0.0
    if share > 0.9 or share * m.size > 2 * _GRID_ABOVE:
        # nearly all distinct, or (a sample says) so many distinct that the grid takes them
        # anyway: the grid's lookup of every entry costs less than the sort that would find
        # the equal ones (no sort, no gather back; the same values either way)
        inverse = None
    else:
        pairs, inverse = unique_rows(np.stack([m, v], 1))
        m, v = pairs[:, 0], pairs[:, 1]
    if m.size > _GRID_ABOVE:
        mean, out_var = _on_grid(f, m, v, smooth)
    else:
        mean, second = _moments(f, m, np.sqrt(np.maximum(v, 0.0)), smooth)
        out_var = np.maximum(second - mean * mean, 0.0)
    if inverse is not None:
        mean, out_var = mean[inverse], out_var[inverse]
    mean, out_var = torch.from_numpy(mean), torch.from_numpy(out_var)
    return mean.reshape(shape), out_var.reshape(shape)


def _on_grid(f, m, v, smooth: bool):
    """The mean and variance of f(x) from a grid of (mean, std) spanning the entries',
    interpolated bilinearly: the mean, and the variance over std^2 (smooth in both, also where
    the std is small beside the mean, where the second moment less the squared mean would
    cancel; the variance is returned as such, not as that difference). 65 points on the
    longer side, on the shorter as many as half that spacing needs (both are in the entries'
    units, and the moments curve alike in the mean and the std): a transformer's MLP spans
    its means over ten times its stds, so its grid has 65 x 8 points, not 65 x 65. ``m``,
    ``v``: the entries' means and variances (their stds sqrt(max(v, 0)) are taken block by
    block in the lookup: no full-size temporaries, whose fresh pages cost more than the
    arithmetic on them)."""
    exact = v <= 0  # a std of 0
    if exact.any():
        mean, var = np.empty_like(m), np.empty_like(m)
        mean[exact], second = _moments(f, m[exact], np.sqrt(np.maximum(v[exact], 0.0)), smooth)
        var[exact] = np.maximum(second - mean[exact] ** 2, 0.0)
        mm, vv = m[~exact], v[~exact]
    else:  # the usual case: no boolean mask to copy through
        mm, vv = m, v
    if mm.size:
        # sqrt is monotone: the stds' extremes are those of the variances
        span_s = tuple(np.sqrt(np.maximum(t, 0.0)) for t in (vv.min(), vv.max()))
        gm, gs = _grid_axes((mm.min(), mm.max()), span_s)
        M, S = np.meshgrid(gm, gs, indexing="ij")
        e1, e2 = _moments(f, M.ravel(), S.ravel(), smooth)
        tables = (e1, np.maximum(e2 - e1 * e1, 0.0) / S.ravel() ** 2)
        mean_at, var_at = _bilinear_lookup(tables, gm, gs, mm, vv)
        if exact.any():
            mean[~exact], var[~exact] = mean_at, var_at
        else:
            mean, var = mean_at, var_at
    return mean, var


def _grid_axes(span_m, span_s):
    """The grid's points along the mean and the std: the longer span gets _GRID_POINTS, the
    shorter half its spacing (2 points at least; at the same spacing, the shorter side's
    error would add as much as the longer's)."""
    lengths = (span_m[1] - span_m[0], span_s[1] - span_s[0])
    step = max(lengths) / (_GRID_POINTS - 1) / 2
    counts = [_GRID_POINTS if n == max(lengths) else
              min(_GRID_POINTS, max(2, 1 + math.ceil(n / step))) if step > 0 else 2
              for n in lengths]
    return (np.linspace(*span_m, counts[0]), np.linspace(*span_s, counts[1]))


def _bilinear_lookup(tables, gx, gy, x, var):
    """The two tables (flattened, ``gx.size`` x ``gy.size``, row-major) bilinearly at (x, y),
    y = sqrt(max(var, 0)), the second times y^2 (a variance from the variance over std^2); off
    the grid, the value at its edge. One ``grid_sample`` call (both tables as its two
    channels) does the lookup in one pass; the same interpolation in NumPy took 25 passes over
    the entries (benchmarks/README.md, issue 32's cost)."""
    table = torch.from_numpy(np.stack(tables).reshape(1, 2, gx.size, gy.size))
    y = np.sqrt(np.maximum(var, 0.0))
    grid = np.empty((1, 1, x.size, 2))
    grid[0, 0, :, 0], grid[0, 0, :, 1] = _unit(y, gy), _unit(x, gx)  # (std, mean): (W, H)
    out = F.grid_sample(table, torch.from_numpy(grid), mode="bilinear",
                        padding_mode="border", align_corners=True)[0, :, 0].numpy()
    return [out[0], out[1] * y * y]


def _unit(v, g):
    """Values on the uniform grid g as grid_sample's coordinates: g[0] -> -1, g[-1] -> 1 (a
    grid of one value: every value at -1)."""
    span = g[-1] - g[0]
    return (v - g[0]) * (2.0 / span if span > 0 else 0.0) - 1.0


def _moments(f, m, sd, smooth: bool):
    """E[f(x)], E[f(x)^2], x ~ N(m, sd^2), for arrays m, sd: 32-point Gauss-Hermite for a
    smooth f, else Gauss-Legendre split where x = 0."""
    mean, second = np.empty_like(m), np.empty_like(m)
    for i in range(0, m.size, _ENTRIES):
        mi, si = m[i:i + _ENTRIES, None], sd[i:i + _ENTRIES, None]
        if smooth:
            z, w = _HERMITE[0][None], _HERMITE[1][None]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(si > 0, -mi / np.where(si > 0, si, 1.0), 0.0)
            edges = np.concatenate([np.full_like(t, -12.0), np.clip(t, -12.0, 12.0),
                                    np.full_like(t, 12.0)], axis=1)
            z, w = legendre_pieces(edges, _NODES_PER_PIECE)
        y = f(torch.from_numpy(mi + si * z)).to(D).numpy()
        mean[i:i + _ENTRIES] = (w * y).sum(1)
        second[i:i + _ENTRIES] = (w * y * y).sum(1)
    return mean, second
