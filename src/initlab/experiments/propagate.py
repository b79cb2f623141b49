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

from initlab.errors import InitlabError
from initlab.experiments.config import (
    Config,
    at_least,
    in_range,
    nonempty,
    option,
    positive,
    seed_check,
    valid,
)
from initlab.experiments.propagate_results import (  # noqa: F401  (public names here too)
    Critical,
    DepthPoint,
    JacobianCase,
    LayerStat,
    MeanStd,
    PropagateResult,
    PropagateRun,
    Quantiles,
    TrainPoint,
    one_blas_thread,
)
from initlab.experiments.registry import Experiment
from initlab.experiments.shared_options import residual_option
from initlab.nn.activations import get_activation
from initlab.statistics import finite_or_none as _finite
from initlab.theory.meanfield import (
    check_activation,
    chi_1,
    critical_sigma_w2,
    iterate,
    mean_fields,
)


def value_range(text: str) -> list[float]:
    """``LO:HI:N`` (N evenly spaced values from LO to HI), ``a,b,c`` or one number; raises
    ValueError naming what is wrong."""
    parts = text.split(":")
    try:
        if len(parts) == 3:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        elif len(parts) == 1:
            return [float(v) for v in text.split(",")]
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"expected LO:HI:N, a comma list or a number, got {text!r}") from None
    if n < 1:
        raise ValueError(f"range {text!r} is empty: N must be >= 1")
    if hi < lo:
        raise ValueError(f"range {text!r} is reversed: HI must be >= LO")
    if n > 1 and hi == lo:
        raise ValueError(f"range {text!r} repeats one value {n} times")
    return np.linspace(lo, hi, n).tolist()


def depth_range(text: str) -> list[int]:
    """:func:`value_range` of depths, each rounded to a whole layer (5:100:3 is 5, 52, 100)."""
    return [int(round(v)) for v in value_range(text)]


def variance(value) -> str | None:
    """A Config check: a finite number >= 0 (or a tuple of them)."""
    values = value if isinstance(value, tuple) else (value,)
    return None if all(math.isfinite(v) and v >= 0 for v in values) else \
        "must be a finite number >= 0"


def _meanfield_activation(spec: str) -> None:
    check_activation(get_activation(spec))


def _correlation_width(width) -> str | None:
    return None if width is None or width >= 2 else "must be >= 2 to measure a correlation"


#: The sizes that --quick shrinks, where they are not given: (default, with --quick). Ranges
#: are LO:HI:N (:func:`value_range`).
QUICK_SIZES = {"width": (500, 200), "depths": ("5:100:6", "5:100:3"), "steps": (400, 200)}
#: sigma_w2 where not given, by --trainability (the grid's axis needs fewer values than the
#: q/c curves): (default, with --quick).
SIGMA_W2 = {False: ("0.5:4:36", "0.5:4:12"), True: ("1:4:8", "1:4:4")}


def _sizes(pair) -> str:
    return f"default: {pair[0]}; --quick: {pair[1]}"


_JAC, _TRAIN = "Jacobian spectra (--jacobian)", "trainability grid (--trainability)"


@dataclass(frozen=True)
class PropagateConfig(Config):
    """Every option of ``initlab propagate`` (and of :func:`run_propagate`).

    The sizes left None (not given) follow from ``quick`` and ``trainability`` when the Config
    is made (:data:`QUICK_SIZES`, :data:`SIGMA_W2`), so every made Config holds the values
    its run uses and ``--dump-config`` writes them; a value given is kept as given.
    ``train_sigma_w2`` None means the grid's sigma_w^2 are ``sigma_w2``.
    """

    activation: str = option("tanh", "activation with a mean-field theory: tanh, erf, relu, "
                             "leaky_relu, linear, sigmoid, selu, ...",
                             check=valid(_meanfield_activation))
    sigma_w2: tuple[float, ...] | None = option(
        None, f"weight variances sigma_w^2 ({_sizes(SIGMA_W2[False])}; with --trainability "
        f"{_sizes(SIGMA_W2[True])})", check=lambda v: nonempty(v) or positive(v),
        parse=value_range, metavar="RANGE")
    sigma_b2: float = option(0.05, "bias variance sigma_b^2", check=variance)
    depth: int = option(100, "layers", check=at_least(1))
    width: int | None = option(None, f"units per layer ({_sizes(QUICK_SIZES['width'])})",
                               check=_correlation_width)
    seeds: int = option(3, "random nets", check=at_least(1))
    q0: float = option(1.0, "input length |x|^2 / n", check=positive)
    c0: float = option(0.5, "correlation of the pair", check=in_range(-1, 1))
    batch: int = option(8, "inputs per net, the pair included", check=at_least(1))
    seed: int = option(0, "first seed", check=seed_check)
    quick: bool = option(False, "smaller runs: the options that list a --quick value take it "
                          "where not given")
    residual: bool = residual_option("residual nets instead: --depth blocks x <- x + W2 phi(W1 "
                                     "x), both weights N(0, sigma_w^2 / width), no biases; the "
                                     "stream's q and c after each block beside "
                                     "initlab.theory.residual")
    jacobian: bool = option(False, "add the Jacobian spectra", group=_JAC)
    jacobian_depths: tuple[int, ...] = option(
        (32, 128), "depths of the Jacobians", check=lambda v: nonempty(v) or at_least(1)(v),
        group=_JAC)
    jacobian_width: int = option(200, "width of the Jacobian nets", check=at_least(1),
                                 group=_JAC)
    jacobian_sigma_b2: float = option(0.001, "sigma_b^2 of the critical tanh net (small: "
                                      "a small q*, where tanh is near linear)",
                                      check=variance, group=_JAC)
    trainability: bool = option(False, "add the trainability phase diagram", group=_TRAIN)
    depths: tuple[int, ...] | None = option(
        None, f"depths of the grid ({_sizes(QUICK_SIZES['depths'])})",
        check=lambda v: nonempty(v) or at_least(1)(v), parse=depth_range, metavar="RANGE",
        group=_TRAIN)
    train_sigma_w2: tuple[float, ...] | None = option(
        None, "sigma_w^2 of the grid when they should differ from --sigma-w2 (default: the "
        "same values)", check=lambda v: nonempty(v) or positive(v), parse=value_range,
        metavar="RANGE", group=_TRAIN)
    steps: int | None = option(None, f"SGD steps ({_sizes(QUICK_SIZES['steps'])})",
                               check=at_least(1), group=_TRAIN)
    lr: float = option(0.05, "SGD learning rate", check=positive, group=_TRAIN)
    train_width: int = option(100, "units per layer", check=at_least(1), group=_TRAIN)
    train_seeds: int = option(1, "seeds per point", check=at_least(1), group=_TRAIN)
    train_batch: int = option(32, "minibatch size", check=at_least(1), group=_TRAIN)
    train_size: int = option(1000, "training examples of digits", check=at_least(1),
                             group=_TRAIN)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``residual`` nets have no biases: sigma_b^2 is 0 unless given (and then must be)."""
        if merged.get("residual") and "sigma_b2" not in given:
            merged["sigma_b2"] = 0.0
        return merged

    def check(self) -> str | None:
        if not self.residual:
            return None
        if self.sigma_b2 != 0:
            return (f"--residual nets have no biases: leave out --sigma-b2 (got "
                    f"{self.sigma_b2:g})")
        if self.jacobian or self.trainability:
            return ("--residual measures the residual stream alone: run --jacobian and "
                    "--trainability (plain nets) without it")
        return None

    def __post_init__(self):
        quick = bool(self.quick)
        unset = {name: pair[quick] for name, pair in QUICK_SIZES.items()}
        unset["sigma_w2"] = SIGMA_W2[bool(self.trainability)][quick]
        for name, value in unset.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)  # text ranges: parsed as given ones
        super().__post_init__()


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


#: ``run_propagate(train_options=...)``'s keys (the trainability grid's options by their
#: names without the ``train_`` prefix, as earlier versions took them) -> Config fields.
TRAIN_OPTIONS = {"steps": "steps", "lr": "lr", "width": "train_width", "seeds": "train_seeds",
                 "batch": "train_batch", "train_size": "train_size"}


def run_propagate(*, progress: bool = False, config: PropagateConfig | None = None,
                  train_options: dict | None = None, **options) -> PropagateResult:
    """Measure q_l and c_l in random deep nets beside the maps; optionally the Jacobian
    spectra and the trainability grid.

    The options are :class:`PropagateConfig`'s fields, with its defaults (give ``config`` or
    keywords, not both), e.g. ``run_propagate(sigma_w2=[0.8, 3.0], depth=20)``: ``sigma_w2``
    the list of sigma_w^2 (also the trainability grid's x axis unless ``train_sigma_w2`` is
    given), ``depths`` the grid's depths; lists may be arrays. ``train_options``: the grid's
    ``steps``, ``lr``, ``width``, ``seeds``, ``batch`` and ``train_size`` as a dict
    (:data:`TRAIN_OPTIONS`).
    """
    if config is None:
        for key, value in (train_options or {}).items():
            if key not in TRAIN_OPTIONS:
                raise InitlabError(f"unknown train_options key {key!r}; valid: "
                                   f"{', '.join(TRAIN_OPTIONS)}")
            options[TRAIN_OPTIONS[key]] = value
        options = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in options.items()}
        config = PropagateConfig.from_dict(options, source="run_propagate")
    elif options or train_options:
        raise InitlabError("give run_propagate a config or keyword options, not both")
    return _run(config, progress)


def _run(c: PropagateConfig, progress: bool) -> PropagateResult:
    """:func:`run_propagate` for one checked Config: the q/c runs, the phase diagram, and the
    parts asked for."""
    act = check_activation(get_activation(c.activation))
    name, sws, sb = act.spec or act.name, list(c.sigma_w2), c.sigma_b2
    config = {"activation": name, "sigma_w2": sws, "sigma_b2": sb, "depth": c.depth,
              "width": c.width, "seeds": c.seeds, "q0": c.q0, "c0": c.c0, "batch": c.batch,
              "seed": c.seed, "quick": c.quick, "residual": c.residual}
    if c.residual:  # the plain nets' phase diagram and critical line do not apply
        from initlab.experiments.propagate_residual import residual_runs

        return PropagateResult(critical=Critical([], []), config=config,
                               runs=residual_runs(act, c, _streams(c), input_batch))
    phase = phase_diagram(act, sws, [sb])
    critical = Critical(sigma_b2=phase["sigma_b2"],
                        sigma_w2=[_finite(v) for v in phase["critical"]])
    result = PropagateResult(critical=critical, runs=_runs(act, c), phase=phase, config=config)
    if c.jacobian:
        from initlab.experiments.jacobian import run_jacobian

        result.jacobian = run_jacobian(depths=c.jacobian_depths, width=c.jacobian_width,
                                       sigma_b2=c.jacobian_sigma_b2, seed=c.seed)
        config["jacobian"] = {"depths": list(c.jacobian_depths), "width": c.jacobian_width,
                              "sigma_b2": c.jacobian_sigma_b2}
    if c.trainability:
        from initlab.experiments.trainability import run_trainability

        result.trainability, result.six_xi_c, config["trainability"] = run_trainability(
            sigma_w2=list(c.train_sigma_w2 or sws), sigma_b2=sb, depths=c.depths,
            activation=name, seed=c.seed, width=c.train_width, steps=c.steps, lr=c.lr,
            batch=c.train_batch, seeds=c.train_seeds, train_size=c.train_size,
            progress=progress)
    return result


def _runs(act, c: PropagateConfig) -> list[PropagateRun]:
    """Every sigma_w^2: the nets measured (mean over seeds) beside the maps' iterates, the
    fixed points and depth scales, and chi_1 measured over the second half of the net."""
    sws, sb, depth = list(c.sigma_w2), c.sigma_b2, c.depth
    streams = _streams(c)
    with one_blas_thread():
        parts = [measure(act, sws, sb, depth, c.width, rng, c.q0, c.c0, c.batch)
                 for rng in streams]
    q_m = np.mean([p[0] for p in parts], axis=0)
    c_m = np.mean([p[1] for p in parts], axis=0)
    growth = np.concatenate([p[2][:, p[2].shape[1] // 2:] for p in parts], axis=1)
    q_p, c_p = iterate(act, np.array(sws), sb, c.q0, c.c0, depth)
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
    return runs


def _streams(c: PropagateConfig) -> list:
    """One random stream per seed."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(c.seed).spawn(c.seeds)]


def estimate(config: PropagateConfig):
    """Memory and time of the nets drawn (and trained, with the trainability grid), from the
    sizes."""
    from initlab.runtime.budget import Estimate, mlp_training

    c, width, n_sigma = config, config.width, len(config.sigma_w2)
    # every layer draws one width x width matrix and multiplies (batch + 1) rows per sigma
    per_layer = 2 if c.residual else 1  # a residual block draws and multiplies two matrices
    draws = per_layer * c.seeds * c.depth * width * width
    flops = per_layer * 2 * c.seeds * c.depth * n_sigma * (c.batch + 1) * width * width
    seconds, memory = draws * 1e-8 + flops / 2e9, 8 * width * (width + 4 * n_sigma * c.batch)
    what = f"{c.seeds} x {n_sigma} nets of {c.depth} layers of {width}"
    if c.jacobian:
        jw = c.jacobian_width
        seconds += 4 * sum(c.jacobian_depths) * 2 * jw**3 / 2e9
        memory = max(memory, 8 * 6 * jw * jw)
    if c.trainability:
        grid, depths = len(c.train_sigma_w2 or c.sigma_w2), sorted(set(c.depths))
        for d in depths:
            t = mlp_training([64, *[c.train_width] * d, 10], grid * c.train_seeds,
                             c.train_size, 0, c.train_batch, c.steps, 2)
            seconds, memory = seconds + t.seconds, max(memory, t.memory)
        what += f", and {grid} x {len(depths)} trainability points x {c.train_seeds} seed(s)"
    return Estimate(memory, seconds, what)


def figures(result: PropagateResult) -> dict:
    """propagation and phase, and jacobian and trainability where computed."""
    from initlab.plots.propagate import figures as draw

    return draw(result)


EXPERIMENT = Experiment(name="propagate", config=PropagateConfig, run=run_propagate,
                        figures=figures, estimate=estimate)
