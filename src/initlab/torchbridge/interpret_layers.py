"""The mean-field interpreter's rules for normalization and pooling layers (the rules of the
other operations, and the table that maps torch functions to rules:
:mod:`initlab.torchbridge.interpret_rules`).

- layer_norm, rms_norm, group_norm, batch_norm (batch statistics in training mode, the running
  buffers in eval mode): the expected statistics over the normalized entries, then the affine
  weight and bias.
- average pooling (and adaptive): mu averaged, s2 summed / count^2 with the window's count.
- max pooling of fn(Gaussian) with fn non-decreasing: max_i fn(x_i) = fn(max_i x_i), and the
  max of a window's independent N(m_i, s_i^2) has the CDF prod_i Phi((x - m_i) / s_i)
  (order statistics; windows at a border or over unequal entries included).
"""

from __future__ import annotations

import math

from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import BATCH, Stat, Unsupported, stat_of
from initlab.torchbridge.interpret_gauss import unique_rows

F = torch.nn.functional
D = torch.float64
#: Window-points a block of max pooling's integration holds (x 8 bytes per temporary): blocks
#: of 2 MiB are reused from one to the next, where one block of 32 MiB can be memory fresh
#: from the system at every call (benchmarks/README.md, issue 32's cost)
_CHUNK = 1 << 18


def layer_norm(func, name, out, args, kwargs):
    names = ["input", "normalized_shape", "weight", "bias", "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    dims = tuple(range(-len(v["normalized_shape"]), 0))
    return _normalize(stat_of(v["input"]), dims, v.get("weight"), v.get("bias"),
                      v.get("eps", 1e-5), center=True)


def rms_norm(func, name, out, args, kwargs):
    names = ["input", "normalized_shape", "weight", "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    dims = tuple(range(-len(v["normalized_shape"]), 0))
    eps = v.get("eps")
    eps = torch.finfo(v["input"].dtype).eps if eps is None else eps
    return _normalize(stat_of(v["input"]), dims, v.get("weight"), None, eps, center=False)


def _normalize(s: Stat, dims, weight, bias, eps, center: bool, view=None,
               copies: float = 1.0) -> Stat:
    """(x - mean) / sqrt(var + eps) * weight + bias over ``dims``: each normalized group's
    expected mean and variance (its entries' mean of E[x^2], less the mean's square and the
    1/n of the variance the sample mean takes along)."""
    var = s.variance()
    second = (var + s.mu ** 2).mean(dim=dims, keepdim=True)
    if center:
        n = math.prod(s.mu.shape[d] for d in dims) * copies
        m = s.mu.mean(dim=dims, keepdim=True)
        spread = second - m * m - var.mean(dim=dims, keepdim=True) / n
        mu = s.mu - m
    else:
        spread, mu = second, s.mu
    scale = 1.0 / torch.sqrt(spread.clamp_min(0) + eps)
    mu, var = mu * scale, var * scale * scale
    tok = s.tok if s.tok is not None and s.tok[0] < min(dims) else None
    if weight is not None:
        w = stat_of(weight)
        if not w.const:
            raise Unsupported("a tracked weight")
        w = w.mu if view is None else w.mu.reshape(view)
        mu, var = mu * w, var * w * w
    if bias is not None:
        b = stat_of(bias).mu
        mu = mu + (b if view is None else b.reshape(view))
    return Stat(mu, var, True, tok=tok)


def group_norm(func, name, out, args, kwargs):
    names = ["input", "num_groups", "weight", "bias", "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    s, g = stat_of(v["input"]), v["num_groups"]
    shape = s.mu.shape
    grouped = Stat(s.mu.reshape(shape[0], g, -1), s.variance().reshape(shape[0], g, -1))
    y = _normalize(grouped, (-1,), None, None, v.get("eps", 1e-5), center=True)
    y = Stat(y.mu.reshape(shape), y.var.reshape(shape))
    view = (-1, *([1] * (len(shape) - 2)))
    return _affine_channels(y, v.get("weight"), v.get("bias"), view)


def _affine_channels(y: Stat, weight, bias, view) -> Stat:
    mu, var = y.mu, y.var
    if weight is not None:
        w = stat_of(weight).mu.reshape(view)
        mu, var = mu * w, var * w * w
    if bias is not None:
        mu = mu + stat_of(bias).mu.reshape(view)
    return Stat(mu, var, True)


def batch_norm(func, name, out, args, kwargs):
    """Batch statistics (training, or no running buffers) over every axis but the channels';
    else the running mean and variance."""
    names = ["input", "running_mean", "running_var", "weight", "bias", "training", "momentum",
             "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    s = stat_of(v["input"])
    view = (-1, *([1] * (s.mu.dim() - 2)))
    if v.get("training", False) or v.get("running_mean") is None:
        dims = tuple(d for d in range(s.mu.dim()) if d != 1)
        y = _normalize(s, dims, None, None, v.get("eps", 1e-5), center=True,
                       copies=BATCH["ratio"])
    else:
        m = v["running_mean"].to(D).reshape(view)
        scale = 1.0 / torch.sqrt(v["running_var"].to(D).reshape(view) + v.get("eps", 1e-5))
        y = Stat((s.mu - m) * scale, s.variance() * scale * scale)
    return _affine_channels(y, v.get("weight"), v.get("bias"), view)


def _window_count(x, kernel, stride, padding, ceil_mode, pool):
    """Entries of the input (padding excluded) in each pooling window."""
    ones = torch.ones_like(x[:1, :1])
    return pool(ones, kernel, stride, padding, ceil_mode, True, 1)


def avg_pool(func, name, out, args, kwargs):
    """Average pooling: mu averaged, s2 summed / divisor^2 = avg(s2) * avg(1) / count."""
    s = stat_of(args[0])
    mu = func(s.mu, *args[1:], **kwargs)
    var = func(s.variance(), *args[1:], **kwargs)
    ones = func(torch.ones_like(s.mu[:1, :1]), *args[1:], **kwargs)
    dims = s.mu.dim() - 2
    if dims == 1:
        raise Unsupported("1-d pooling")
    names = ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override"]
    v = dict(zip(names, args, strict=False)) | kwargs
    pool = F.avg_pool2d if dims == 2 else F.avg_pool3d
    count = _window_count(s.mu, v["kernel_size"], v.get("stride") or v["kernel_size"],
                          v.get("padding", 0), v.get("ceil_mode", False), pool)
    return Stat(mu, var * ones / count, s.gauss)


def adaptive_avg_pool(func, name, out, args, kwargs):
    """Adaptive average pooling: window i of n over o covers floor(i n / o) ..
    ceil((i + 1) n / o) - 1 (PyTorch's rule), so s2 sums / count^2."""
    s = stat_of(args[0])
    mu = func(s.mu, *args[1:], **kwargs)
    size, outs = s.mu.shape[2:], mu.shape[2:]
    counts = torch.ones(1, dtype=D)
    for axis, (n, o) in enumerate(zip(size, outs, strict=True)):
        c = torch.tensor([math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o)], dtype=D)
        counts = counts.unsqueeze(-1) * c.reshape(*([1] * axis), -1)
    var = func(s.variance(), *args[1:], **kwargs) / counts.reshape(1, 1, *outs)
    return Stat(mu, var, s.gauss)


def max_pool(func, name, out, args, kwargs):
    """Max pooling of fn(Gaussian), fn non-decreasing: max_i fn(x_i) = fn(max_i x_i), and the
    max of a window's independent N(m_i, s_i^2) has the CDF prod_i Phi((x - m_i) / s_i)
    (padding is -inf: it never wins), integrated on a grid of 160 points per window."""
    names = ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
             "return_indices"]
    v = dict(zip(names, args, strict=False)) | kwargs
    s = stat_of(v["input"])
    if s.mu.dim() != 4 or v.get("return_indices") or v.get("ceil_mode"):
        raise Unsupported("only 2-d, no ceil_mode, no indices")
    if s.pre is not None and s.pre[3]:
        mu, var, fn = s.pre[:3]
    elif s.gauss:
        mu, var, fn = s.mu, s.variance(), None
    else:
        raise Unsupported("not a non-decreasing function of a Gaussian")
    k = v["kernel_size"]
    stride, pad, dil = v.get("stride") or k, v.get("padding", 0), v.get("dilation", 1)
    n, c, h, w = mu.shape
    keep, same = _distinct_planes(mu.reshape(n * c, h * w), var.reshape(n * c, h * w))
    cols = [F.unfold(t.reshape(n * c, 1, h, w)[keep], k, dil, pad, stride) for t in (mu, var)]
    valid = F.unfold(torch.ones(1, 1, h, w, dtype=D), k, dil, pad, stride) > 0  # (1, kk, L)
    kk = cols[0].shape[1]
    valid = valid.expand(len(keep), -1, -1).to(D)
    # one row per window (its means, variances, valid entries); equal windows computed once
    rows = torch.cat([cols[0], cols[1], valid], 1).transpose(1, 2).reshape(-1, 3 * kk)
    rows, inverse = unique_rows(rows.numpy())
    rows, inverse = torch.from_numpy(rows), torch.from_numpy(inverse)
    m, sd, ok = rows[:, :kk], rows[:, kk:2 * kk].clamp_min(0).sqrt(), rows[:, 2 * kk:] > 0
    step = max(1, _CHUNK // (kk * 160))
    parts = [_max_moments(m[i:i + step], sd[i:i + step], ok[i:i + step], fn)
             for i in range(0, m.shape[0], step)]
    mean = torch.cat([p[0] for p in parts])[inverse].reshape(len(keep), -1)[same]
    second = torch.cat([p[1] for p in parts])[inverse].reshape(len(keep), -1)[same]
    oh, ow = out.shape[-2:]
    return Stat(mean.reshape(n, c, oh, ow), (second - mean * mean).clamp_min(0).reshape(
        n, c, oh, ow))


def _distinct_planes(mu, var):
    """(the first of each distinct (mean, variance) plane, which of them each row of ``mu``
    and ``var`` (planes, entries) is): the examples of the traced batch (two where a
    BatchNorm trains) have equal planes, whose windows need not be unfolded and sorted twice.
    Planes are equal by their bits, as :func:`unique_rows` compares."""
    a, b = mu.numpy(), var.numpy()
    index: dict = {}
    keep, same = [], []
    for i in range(a.shape[0]):
        key = a[i].tobytes() + b[i].tobytes()
        if key not in index:
            index[key] = len(keep)
            keep.append(i)
        same.append(index[key])
    return torch.tensor(keep), torch.tensor(same)


def _max_moments(m, sd, valid, fn, points: int = 160):
    """E[fn(max)], E[fn(max)^2] of independent N(m_i, sd_i^2) over axis 1 (valid entries);
    m, sd, valid: (windows, k)."""
    # the max's CDF prod_i Phi_i is ~0 below the largest m_i - 8 s_i and ~1 above the largest
    # m_i + 8 s_i: the grid spans only that
    big = torch.where(valid, m + 8 * sd, torch.tensor(-math.inf, dtype=D)).amax(1)
    small = torch.where(valid, m - 8 * sd, torch.tensor(-math.inf, dtype=D)).amax(1)
    t = torch.linspace(0, 1, points, dtype=D)
    x = small[:, None] + (big - small)[:, None] * t  # (W, P)
    cdf = _window_cdfs(x, m, sd, valid).prod(1)  # (W, P)
    mid = (x[..., 1:] + x[..., :-1]) / 2
    y = mid if fn is None else fn(mid).to(D)
    dp = cdf.diff(dim=-1)
    return (y * dp).sum(-1), (y * y * dp).sum(-1)


def _window_cdfs(x, m, sd, valid):
    """Phi((x - m_i) / s_i) of every entry i of every window at the window's points x (W, P),
    1 where an entry is padding: (W, k, P). Equal entries of a window (all of an interior
    window's, whose inputs share one mean and variance) have equal CDFs, so each is computed
    once, at its first column, and copied to the others: the normal CDF is the costly part
    of max pooling."""
    k = m.shape[1]
    eye = torch.eye(k, dtype=torch.bool)
    same = ((m[:, :, None] == m[:, None, :]) & (sd[:, :, None] == sd[:, None, :])
            & (valid[:, :, None] == valid[:, None, :])) | eye  # (W, k, k)
    first = same.to(torch.uint8).argmax(2)  # the first column equal to each (itself at most)
    own = (first == torch.arange(k)) & valid
    own_w, own_j = own.nonzero(as_tuple=True)
    z = (x[own_w] - m[own_w, own_j, None]) / sd[own_w, own_j, None].clamp_min(1e-300)
    table = torch.cat([torch.ones(1, x.shape[1], dtype=D), torch.special.ndtr(z)])
    # row of the table each entry reads: its first equal column's CDF (row 0, ones: padding)
    row = torch.where(own, own.reshape(-1).cumsum(0).reshape(own.shape), 0)
    return table[row.gather(1, first)]
