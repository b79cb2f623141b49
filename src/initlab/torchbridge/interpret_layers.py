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

import numpy as np

from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import BATCH, Stat, Unsupported, stat_of
from initlab.torchbridge.interpret_gauss import unique_rows

F = torch.nn.functional
D = torch.float64
#: Window-points a block of max pooling's integration holds (x 8 bytes per temporary): blocks
#: of 2 MiB are reused from one to the next, where one block of 32 MiB can be memory fresh
#: from the system at every call (benchmarks/README.md, issue 32's cost)
_CHUNK = 1 << 18
#: Gauss-Legendre nodes per piece of a max's density, and the longest piece in units of the
#: window's smallest std (_max_moments)
_MAX_NODES, _MAX_SPAN = 10, 6.0
#: The most pieces a window's span is cut into (windows that need more: the step sum)
_MAX_PIECES = 64
_LEGENDRE = tuple(torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(_MAX_NODES))


def layer_norm(func, name, out, args, kwargs):
    names = ["input", "normalized_shape", "weight", "bias", "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    dims = tuple(range(-len(v["normalized_shape"]), 0))
    return normalize(stat_of(v["input"]), dims, v.get("weight"), v.get("bias"),
                      v.get("eps", 1e-5), center=True)


def rms_norm(func, name, out, args, kwargs):
    names = ["input", "normalized_shape", "weight", "eps"]
    v = dict(zip(names, args, strict=False)) | kwargs
    dims = tuple(range(-len(v["normalized_shape"]), 0))
    eps = v.get("eps")
    eps = torch.finfo(v["input"].dtype).eps if eps is None else eps
    return normalize(stat_of(v["input"]), dims, v.get("weight"), None, eps, center=False)


def normalize(s: Stat, dims, weight, bias, eps, center: bool, view=None,
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
    y = normalize(grouped, (-1,), None, None, v.get("eps", 1e-5), center=True)
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
        y = normalize(s, dims, None, None, v.get("eps", 1e-5), center=True,
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
    (padding is -inf: it never wins), its density integrated per window (:func:`_max_moments`)."""
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
    # padding (never the max) marked by a variance of -inf, which no entry has
    pads = [p for p in reversed(_pair(pad)) for _ in (0, 1)]
    cols = [F.unfold(F.pad(t.reshape(n * c, 1, h, w)[keep], pads, value=fill), k, dil, 0,
                     stride) for t, fill in ((mu, 0.0), (var, -math.inf))]
    kk = cols[0].shape[1]
    # one row per window (its means and variances); equal windows computed once
    rows = torch.cat(cols, 1).transpose(1, 2).reshape(-1, 2 * kk)
    rows, inverse = unique_rows(rows.numpy())
    rows, inverse = torch.from_numpy(rows), torch.from_numpy(inverse)
    m, ok = rows[:, :kk], rows[:, kk:] > -math.inf
    sd = rows[:, kk:].clamp_min(0).sqrt()
    step = max(1, _CHUNK // (kk * 4 * _MAX_NODES))
    parts = [_max_moments(m[i:i + step], sd[i:i + step], ok[i:i + step], fn)
             for i in range(0, m.shape[0], step)]
    mean = torch.cat([p[0] for p in parts])[inverse].reshape(len(keep), -1)[same]
    second = torch.cat([p[1] for p in parts])[inverse].reshape(len(keep), -1)[same]
    oh, ow = out.shape[-2:]
    return Stat(mean.reshape(n, c, oh, ow), (second - mean * mean).clamp_min(0).reshape(
        n, c, oh, ow))


def _pair(v) -> tuple:
    """An int or a pair of ints (a pooling argument) as a pair."""
    return (v, v) if isinstance(v, int) else tuple(v)


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


def _max_moments(m, sd, valid, fn):
    """E[fn(max)], E[fn(max)^2] of independent N(m_i, sd_i^2) over axis 1 (valid entries);
    m, sd, valid: (windows, k). The max's density f = F sum_i phi_i / (s_i Phi_i), F = prod_i
    Phi_i, integrated by Gauss-Legendre on the span where F moves (the largest m_i - 8 s_i to
    the largest m_i + 8 s_i: there every z_i >= -8, so no Phi_i vanishes), in pieces no longer
    than _MAX_SPAN times the window's smallest std (the density's sharpest feature) of
    _MAX_NODES nodes each, one ending at x = 0, the kink of a rectifier fn (as :func:`unary`
    splits). The density is analytic, so the rule converges geometrically, where the sum over
    the CDF's steps on 160 points it replaced (:func:`_max_moments_steps`) converged as
    1 / points^2: on windows of stds 0.1 to 1.6 the std of fn(max) is within 2.1e-7 of the
    same rule with 64 nodes per piece of 4 stds (10 nodes: 3.5e-9 for the max itself, 16:
    1e-14, 8: 1.7e-5), the 160-point sum was 5e-3 off; on the panel's ResNet and CNN the
    predicted stds moved by up to 1e-3 from that sum, and by 3e-7 from 16 nodes to 10
    (tests/torchbridge/test_interpret_cheaper.py; benchmarks/README.md, issue 32). Where fn is
    0 at both ends of [lo, 0] (non-decreasing: 0 along it, a ReLU's negative side) the span
    starts at 0. Windows with an entry of zero variance (a step in the CDF), or whose span
    would need more than _MAX_PIECES pieces (an entry's std tiny beside the others'), keep the
    sum over the CDF's steps."""
    minus = torch.tensor(-math.inf, dtype=D)
    big = torch.where(valid, m + 8 * sd, minus).amax(1, keepdim=True)
    lo = torch.where(valid, m - 8 * sd, minus).amax(1, keepdim=True)
    narrow = torch.where(valid, sd, torch.tensor(math.inf, dtype=D)).amin(1, keepdim=True)
    pieces = (big - lo) / (_MAX_SPAN * narrow)
    # a zero variance (a step in the CDF), or one so small beside the window's span that the
    # pieces would be too many to hold: the sum over the CDF's steps
    steps = ((valid & (sd <= 0)).any(1) | ~(pieces <= _MAX_PIECES).squeeze(1))
    if bool(steps.any()):
        mean, second = torch.empty(m.shape[0], dtype=D), torch.empty(m.shape[0], dtype=D)
        mean[steps], second[steps] = _max_moments_steps(m[steps], sd[steps], valid[steps], fn)
        if bool((~steps).any()):
            mean[~steps], second[~steps] = _max_moments(m[~steps], sd[~steps], valid[~steps], fn)
        return mean, second
    cut = torch.clamp(torch.zeros_like(lo), lo, big)
    if fn is not None:  # fn non-decreasing and 0 at both ends of [lo, cut]: 0 all along it
        lo = torch.where((fn(lo) == 0) & (fn(cut) == 0), cut, lo)
    count = max(1, math.ceil(float(((big - lo) / (_MAX_SPAN * narrow)).max())))
    edges = lo + (big - lo) * torch.linspace(0, 1, count + 1, dtype=D)
    if bool(((lo < cut) & (cut < big)).any()):  # a piece ends at the kink
        edges = torch.cat([edges, cut], 1).sort(1).values
    t, w = _LEGENDRE
    a, b = edges[:, :-1, None], edges[:, 1:, None]
    x = ((a + b) / 2 + (b - a) / 2 * t).reshape(len(m), -1)
    weight = ((b - a) / 2 * w).reshape(len(m), -1) * _max_density(x, m, sd, valid)
    y = x if fn is None else fn(x).to(D)
    return (y * weight).sum(-1), (y * y * weight).sum(-1)


def _max_density(x, m, sd, valid):
    """The density of the max of a window's independent N(m_i, sd_i^2) (valid entries, sd_i >
    0) at the window's points x (W, P): F sum_i phi_i / (s_i Phi_i), F = prod_i Phi_i summed
    as logs over each window's distinct entries (:func:`_own_entries`), each entry's normal CDF
    computed once and counted as often as it occurs."""
    f, (own_w, std, times, z, cdf) = _cdf_and_entries(x, m, sd, valid)
    ratio = torch.exp(-0.5 * z * z) / cdf * (times / (math.sqrt(2 * math.pi) * std))[:, None]
    return f * torch.zeros_like(x).index_add_(0, own_w, ratio)


def _own_entries(m, sd, valid):
    """Each window's (W, k) distinct valid entries: (the window of each, its mean, its std, how
    many of the window's entries it stands for). An interior window's entries share one mean
    and variance, so their normal CDFs are computed once. Entries are sorted by mean within
    their window and a run of equal (mean, std) neighbours is one entry; equal entries the sort
    leaves apart (equal means, other stds between them) stay two entries, which counts them
    the same."""
    key = torch.where(valid, m, torch.tensor(math.inf, dtype=D))  # padding sorts last
    key, order = key.sort(1)
    std, ok = sd.gather(1, order), valid.gather(1, order)
    new = ok.clone()
    new[:, 1:] &= (key[:, 1:] != key[:, :-1]) | (std[:, 1:] != std[:, :-1])
    run = new.reshape(-1).cumsum(0) - 1  # each entry's distinct entry (row-major, as nonzero)
    own_w, own_j = new.nonzero(as_tuple=True)
    times = torch.zeros(len(own_w), dtype=D).index_add_(
        0, run[ok.reshape(-1)], torch.ones(int(ok.sum()), dtype=D))
    return own_w, key[own_w, own_j], std[own_w, own_j], times


def _max_moments_steps(m, sd, valid, fn, points: int = 160):
    """E[fn(max)], E[fn(max)^2] as the sum of fn at 160 points' midpoints times the CDF's
    steps between them: for windows with an entry of zero variance, whose CDF jumps."""
    # the max's CDF prod_i Phi_i is ~0 below the largest m_i - 8 s_i and ~1 above the largest
    # m_i + 8 s_i: the grid spans only that
    big = torch.where(valid, m + 8 * sd, torch.tensor(-math.inf, dtype=D)).amax(1)
    small = torch.where(valid, m - 8 * sd, torch.tensor(-math.inf, dtype=D)).amax(1)
    t = torch.linspace(0, 1, points, dtype=D)
    x = small[:, None] + (big - small)[:, None] * t  # (W, P)
    cdf = _window_cdf(x, m, sd, valid)
    mid = (x[..., 1:] + x[..., :-1]) / 2
    y = mid if fn is None else fn(mid).to(D)
    dp = cdf.diff(dim=-1)
    return (y * dp).sum(-1), (y * y * dp).sum(-1)


def _window_cdf(x, m, sd, valid):
    """prod_i Phi((x - m_i) / s_i) over every valid entry i of every window at the window's
    points x (W, P): the max's CDF, each distinct entry's normal CDF computed once
    (:func:`_own_entries`; a zero std is a step)."""
    return _cdf_and_entries(x, m, sd, valid)[0]


def _cdf_and_entries(x, m, sd, valid):
    """(the max's CDF at the window's points x (W, P): each window's distinct entries' log
    normal CDFs summed, as often as each occurs; and per distinct entry its window, std,
    count, z (at x) and normal CDF)."""
    own_w, mean, std, times = _own_entries(m, sd, valid)
    z = (x.index_select(0, own_w) - mean[:, None]) / std[:, None].clamp_min(1e-300)
    cdf = torch.special.ndtr(z)
    log_f = torch.zeros_like(x).index_add_(0, own_w, cdf.log() * times[:, None])
    return log_f.exp_(), (own_w, std, times, z, cdf)
