"""Signal propagation through random deep nets, measured beside the mean-field maps.

For every sigma_w^2 of a list (and one sigma_b^2), ``seeds`` random nets of ``depth`` layers of
``width`` units (weights N(0, sigma_w^2 / width), biases N(0, sigma_b^2)) receive a batch of
inputs of length q0 = |x|^2 / width, whose first two rows have correlation c0. Per layer the
run records the pre-activations' length q_l (mean square over the batch and the units) and
the correlation c_l of the pair, beside the maps' iterates (Poole et al. 2016; Schoenholz et
al. 2017; see :mod:`initlab.theory.meanfield`). A tangent vector pushed along the first input
measures chi_1 as the mean growth of its squared length per layer over the second half of the
net. The nets of all sigma_w^2 of one seed share their standard-normal draws (common random
numbers: they differ only in scale), so one N x N draw per layer serves them all and memory
stays at one weight matrix.

The result also holds the (sigma_w^2, sigma_b^2) phase diagram of chi_1 and the critical line;
``--jacobian`` and ``--trainability`` add the parts of :mod:`initlab.experiments.jacobian` and
:mod:`initlab.experiments.trainability`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from initlab.errors import InitlabError, check_positive_int
from initlab.nn.activations import get_activation
from initlab.results import Result, detail
from initlab.theory.meanfield import (
    check_activation,
    chi_1,
    critical_sigma_w2,
    iterate,
    mean_fields,
)


@dataclass
class LayerStat(Result):
    """One layer: measured q and c (mean over seeds) and the maps' iterates."""

    index: int
    q: float | None
    q_predicted: float | None
    c: float | None
    c_predicted: float | None


@dataclass
class PropagateRun(Result):
    """One sigma_w^2: the fixed points and depth scales, and every layer."""

    sigma_w2: float
    sigma_b2: float
    activation: str
    q_star: float | None
    c_star: float | None
    chi_1: float | None
    xi_q: float | None
    xi_c: float | None
    layers: list[LayerStat]
    chi_1_measured: float | None = detail()


@dataclass
class Critical(Result):
    """The critical line: sigma_w^2 where chi_1 = 1, at each sigma_b^2 (None: none)."""

    sigma_b2: list
    sigma_w2: list


@dataclass
class Quantiles(Result):
    min: float
    q05: float
    q50: float
    q95: float
    max: float


@dataclass
class JacobianCase(Result):
    """Singular values of one input-output Jacobian (see experiments/jacobian.py)."""

    weights: str
    activation: str
    depth: int
    width: int
    sigma_w2: float
    sigma_b2: float
    singular_values: Quantiles
    condition_number: float | None
    mean_square: float | None = detail()
    mean_square_predicted: float | None = detail()
    values: list | None = detail()


@dataclass
class MeanStd(Result):
    mean: float | None
    std: float | None


@dataclass
class SeedRun(Result):
    """One seed's net at one (sigma_w^2, depth): its training accuracy after training."""

    seed: int
    train_accuracy: float | None
    diverged: bool


@dataclass
class TrainPoint(Result):
    """Training accuracy after training, over seeds, at one (sigma_w^2, depth)."""

    sigma_w2: float
    depth: int
    train_accuracy: MeanStd
    diverged: int = detail(0)
    seeds: list[SeedRun] | None = detail()


@dataclass
class DepthPoint(Result):
    sigma_w2: float
    depth: float | None


@dataclass
class PropagateResult(Result):
    """``critical`` and ``runs`` always; ``jacobian``, ``trainability`` and ``six_xi_c`` when
    asked for. ``phase`` (figure data: the chi_1 grid) and ``config`` are kept in saved files."""

    critical: Critical
    runs: list[PropagateRun]
    jacobian: list[JacobianCase] | None = None
    trainability: list[TrainPoint] | None = None
    six_xi_c: list[DepthPoint] | None = None
    phase: dict | None = detail()
    config: dict | None = detail()

    def to_dict(self, detail: bool = False) -> dict:
        d = super().to_dict(detail)
        for key in ("jacobian", "trainability", "six_xi_c"):
            if d.get(key) is None:
                d.pop(key, None)
        return d

    def records(self) -> list[dict]:
        """Flat rows for sweeps: with a trainability grid, one per (sigma_w^2, depth, seed)
        (``activation``, ``sigma_b2``, ``sigma_w2``, ``depth``, ``seed``, ``train_accuracy``,
        ``diverged``), so a sweep's heat map averages the seeds; else one per sigma_w^2."""
        if not self.trainability:
            return super().records()
        base = {"activation": self.runs[0].activation, "sigma_b2": self.runs[0].sigma_b2}
        rows = []
        for p in self.trainability:
            seeds = p.seeds or [SeedRun(None, p.train_accuracy.mean, p.diverged > 0)]
            rows.extend({**base, "sigma_w2": p.sigma_w2, "depth": p.depth, "seed": s.seed,
                         "train_accuracy": s.train_accuracy, "diverged": s.diverged}
                        for s in seeds)
        return rows

    def table(self):
        header = ["sigma_w2", "sigma_b2", "q*", "c*", "chi_1", "xi_c", "q_L", "q_L theory",
                  "c_L", "c_L theory"]
        rows = []
        for r in self.runs:
            last = r.layers[-1]
            rows.append([r.sigma_w2, r.sigma_b2, r.q_star, r.c_star, r.chi_1, r.xi_c, last.q,
                         last.q_predicted, last.c, last.c_predicted])
        return header, rows


def check_variances(values, name: str) -> list[float]:
    """A non-empty list of finite variances >= 0 (sigma_w^2 > 0), or raise naming the bad one."""
    out = [float(v) for v in np.atleast_1d(values)]
    if not out:
        raise InitlabError(f"{name} is empty: give at least one value")
    for v in out:
        if not math.isfinite(v) or v < 0 or (v == 0 and name == "sigma_w2"):
            allowed = "finite and > 0" if name == "sigma_w2" else "finite and >= 0"
            raise InitlabError(f"{name} must be {allowed}, got {v}")
    return out


def input_batch(rng, batch: int, width: int, q0: float, c0: float) -> np.ndarray:
    """(batch, width) inputs with |x|^2 / width = q0 exactly, rows 0 and 1 of correlation c0."""
    g = rng.standard_normal((max(batch, 2), width))
    u1 = g[0] / np.linalg.norm(g[0])
    u2 = g[1] - (g[1] @ u1) * u1
    u2 /= np.linalg.norm(u2)
    g[0], g[1] = u1, c0 * u1 + math.sqrt(1.0 - c0 * c0) * u2
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return g * math.sqrt(q0 * width)


def measure(act, sigma_w2, sigma_b2: float, depth: int, width: int, rng, q0: float, c0: float,
            batch: int):
    """One seed: q (S, L), c (S, L) and the tangent's per-layer squared-length growth (S, L-1).

    Every sigma_w^2 uses the same standard-normal weights G_l (scaled by sqrt(sigma_w^2 / n)).
    """
    sw = np.asarray(sigma_w2, dtype=float)[:, None, None]
    x = input_batch(rng, batch, width, q0, c0)
    v = rng.standard_normal(width)
    h = np.broadcast_to(np.vstack([x, v * math.sqrt(q0 * width) / np.linalg.norm(v)]),
                        (sw.shape[0], x.shape[0] + 1, width))
    scale, sb = np.sqrt(sw / width), math.sqrt(sigma_b2)
    qs, cs, growth = [], [], []
    prev = None
    with np.errstate(all="ignore"):
        for _ in range(depth):
            # one 2-D product for every sigma_w^2 and row (a stacked 3-D one is far slower)
            a = (h.reshape(-1, width) @ rng.standard_normal((width, width)).T)
            a = a.reshape(h.shape) * scale
            a[:, :-1] += sb * rng.standard_normal(width)  # biases for the inputs, not the tangent
            data, t = a[:, :-1], a[:, -1]
            qs.append(np.mean(data * data, axis=(1, 2)))
            a0, a1 = data[:, 0], data[:, 1]
            cs.append(np.sum(a0 * a1, 1) / np.sqrt(np.sum(a0 * a0, 1) * np.sum(a1 * a1, 1)))
            norm2 = np.sum(t * t, axis=1)
            if prev is not None:
                growth.append(norm2 / prev)
            y = act.fn(data)
            d = act.grad(a[:, 0], y[:, 0])
            h = np.concatenate([y, (d * t)[:, None]], axis=1)
            prev = np.where(norm2 > 0, norm2, np.nan)
    growth = np.stack(growth, axis=1) if growth else np.zeros((sw.shape[0], 0))
    return np.stack(qs, axis=1), np.stack(cs, axis=1), growth


def one_blas_thread():
    """BLAS in one thread: products of n <= ~1000 gain little from a second thread and lose
    much (10x and more were measured) when the cores are shared with other work."""
    return threadpool_limits(1, "blas")


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def phase_diagram(act, sigma_w2, sigma_b2, n_w: int = 48, n_b: int = 21) -> dict:
    """chi_1 on a (sigma_b^2, sigma_w^2) grid around the run and the critical line over it."""
    w_hi = max(4.0, 1.1 * max(sigma_w2))
    b_hi = max(0.3, 2.0 * max(sigma_b2))
    ws = np.linspace(w_hi / n_w, w_hi, n_w)
    bs = np.union1d(np.linspace(0.0, b_hi, n_b), sigma_b2)  # the run's own sigma_b^2 too
    chi = chi_1(act, ws[None, :], bs[:, None])
    crit = critical_sigma_w2(act, bs, high=4 * w_hi)
    return {"sigma_w2": ws.tolist(), "sigma_b2": bs.tolist(), "chi_1": chi.tolist(),
            "critical": crit.tolist()}


def run_propagate(*, activation: str = "tanh", sigma_w2=None, sigma_b2: float = 0.05,
                  depth: int = 100, width: int = 500, seeds: int = 3, q0: float = 1.0,
                  c0: float = 0.5, batch: int = 8, seed: int = 0, jacobian: bool = False,
                  jacobian_depths=(32, 128), jacobian_width: int = 200,
                  jacobian_sigma_b2: float = 1e-3, trainability: bool = False, depths=None,
                  train_sigma_w2=None,
                  quick: bool = False,
                  train_options: dict | None = None, progress: bool = False) -> PropagateResult:
    """Measure q_l and c_l in random deep nets beside the maps; optionally the Jacobian
    spectra and the trainability grid.

    sigma_w2: the list of sigma_w^2 (default 36 values from 0.5 to 4; with ``trainability``
    the grid's x axis, default 8 from 1 to 4, quick 4). depths: the trainability grid's depths
    (default 6 from 5 to 100, quick 3). train_sigma_w2: the grid's x axis when it should
    differ from ``sigma_w2``. train_options: passed to
    :func:`initlab.experiments.trainability.run_trainability` (steps, lr, batch, width, ...).
    """
    act = check_activation(get_activation(activation))
    if sigma_w2 is None:
        sigma_w2 = (np.linspace(1, 4, 4 if quick else 8) if trainability
                    else np.linspace(0.5, 4, 12 if quick else 36))
    sws = check_variances(sigma_w2, "sigma_w2")
    sb = check_variances(sigma_b2, "sigma_b2")[0]
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    n_seeds = check_positive_int(seeds, "seeds")
    if width < 2:
        raise InitlabError(f"width must be >= 2 to measure a correlation, got {width}")
    if not (q0 > 0 and math.isfinite(q0)):
        raise InitlabError(f"q0 must be a finite number > 0, got {q0}")
    if not -1 <= c0 <= 1:
        raise InitlabError(f"c0 must lie in [-1, 1], got {c0}")
    batch = check_positive_int(batch, "batch")

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_seeds)]
    with one_blas_thread():
        parts = [measure(act, sws, sb, depth, width, rng, q0, c0, batch) for rng in streams]
    q_m = np.mean([p[0] for p in parts], axis=0)
    c_m = np.mean([p[1] for p in parts], axis=0)
    growth = np.concatenate([p[2][:, p[2].shape[1] // 2:] for p in parts], axis=1)
    q_p, c_p = iterate(act, np.array(sws), sb, q0, c0, depth)
    runs = []
    for i, (sw, mf) in enumerate(zip(sws, mean_fields(act, sws, sb), strict=True)):
        layers = [LayerStat(index=k + 1, q=_finite(q_m[i, k]), q_predicted=_finite(q_p[i, k]),
                            c=_finite(c_m[i, k]), c_predicted=_finite(c_p[i, k]))
                  for k in range(depth)]
        g = growth[i][np.isfinite(growth[i])]
        runs.append(PropagateRun(
            sigma_w2=sw, sigma_b2=sb, activation=act.spec or act.name, q_star=_finite(mf.q_star),
            c_star=_finite(mf.c_star), chi_1=_finite(mf.chi_1), xi_q=_finite(mf.xi_q),
            xi_c=_finite(mf.xi_c), layers=layers,
            chi_1_measured=_finite(g.mean()) if g.size else None))
    phase = phase_diagram(act, sws, [sb])
    critical = Critical(sigma_b2=phase["sigma_b2"],
                        sigma_w2=[_finite(v) for v in phase["critical"]])
    config = {"activation": act.spec or act.name, "sigma_w2": sws, "sigma_b2": sb,
              "depth": depth, "width": width, "seeds": n_seeds, "q0": q0, "c0": c0,
              "batch": batch, "seed": seed, "quick": quick}
    result = PropagateResult(critical=critical, runs=runs, phase=phase, config=config)
    if jacobian:
        from initlab.experiments.jacobian import run_jacobian

        result.jacobian = run_jacobian(depths=jacobian_depths, width=jacobian_width,
                                       sigma_b2=check_variances(jacobian_sigma_b2,
                                                                "jacobian_sigma_b2")[0],
                                       seed=seed)
        config["jacobian"] = {"depths": list(jacobian_depths), "width": jacobian_width,
                              "sigma_b2": jacobian_sigma_b2}
    if trainability:
        from initlab.experiments.trainability import run_trainability

        points, curve, used = run_trainability(
            sigma_w2=sws if train_sigma_w2 is None else train_sigma_w2, sigma_b2=sb,
            depths=depths, activation=act.spec or act.name,
            seed=seed, quick=quick, progress=progress, **(train_options or {}))
        result.trainability, result.six_xi_c = points, curve
        config["trainability"] = used
    return result

