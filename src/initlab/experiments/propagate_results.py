"""The results of the signal-propagation experiments and what their three parts share.

:mod:`initlab.experiments.propagate` (lengths and correlations), :mod:`~.jacobian` (spectra)
and :mod:`~.trainability` (the trainability grid) each fill a part of one
:class:`PropagateResult`; the one-thread BLAS rule is theirs alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from initlab.results import Result, detail, format_table


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
        if (self.config or {}).get("residual"):  # a residual stream: no fixed points, no chi_1
            return (["sigma_w2", "blocks", "q_L", "q_L theory", "q_L / theory", "c_L",
                     "c_L theory"],
                    [[r.sigma_w2, len(r.layers), r.layers[-1].q, r.layers[-1].q_predicted,
                      _ratio(r.layers[-1].q, r.layers[-1].q_predicted), r.layers[-1].c,
                      r.layers[-1].c_predicted] for r in self.runs])
        header = ["sigma_w2", "sigma_b2", "q*", "c*", "chi_1", "xi_c", "q_L", "q_L theory",
                  "c_L", "c_L theory"]
        rows = []
        for r in self.runs:
            last = r.layers[-1]
            rows.append([r.sigma_w2, r.sigma_b2, r.q_star, r.c_star, r.chi_1, r.xi_c, last.q,
                         last.q_predicted, last.c, last.c_predicted])
        return header, rows

    def jacobian_table(self):
        """One row per Jacobian: its singular values' quantiles, mean square (measured and
        predicted) and condition number."""
        header = ["activation", "weights", "depth", "sigma_w2", "sigma_b2", "sv min",
                  "sv median", "sv max", "mean sv^2", "theory", "condition"]
        rows = [[j.activation, j.weights, j.depth, j.sigma_w2, j.sigma_b2,
                 j.singular_values.min, j.singular_values.q50, j.singular_values.max,
                 j.mean_square, j.mean_square_predicted, j.condition_number]
                for j in self.jacobian or []]
        return header, rows

    def trainability_table(self):
        """The trainability grid: a row per sigma_w^2 with 6 xi_c there (the depth below
        which theory expects training) and the mean training accuracy at every depth."""
        from initlab.nn.activations import get_activation
        from initlab.theory.meanfield import mean_fields

        points = self.trainability or []
        sws = list(dict.fromkeys(p.sigma_w2 for p in points))
        depths = sorted({p.depth for p in points})
        acc = {(p.sigma_w2, p.depth): p.train_accuracy.mean for p in points}
        act = get_activation(self.runs[0].activation)  # the grid's, as run_propagate passes
        fields = mean_fields(act, sws, self.runs[0].sigma_b2) if sws else []
        rows = [[sw, 6 * mf.xi_c, *(acc.get((sw, d)) for d in depths)]
                for sw, mf in zip(sws, fields, strict=True)]
        return ["sigma_w2", "6 xi_c", *(f"depth {d}" for d in depths)], rows

    def __str__(self) -> str:
        """The q/c table, then a table for each part that was computed."""
        parts = [super().__str__()]
        if self.jacobian:
            width = sorted({j.width for j in self.jacobian})
            parts.append(f"Jacobian singular values of the input-output map (width "
                         f"{', '.join(map(str, width))}):\n"
                         + format_table(*self.jacobian_table()))
        if self.trainability:
            used = (self.config or {}).get("trainability") or {}
            how = (f" after {used['steps']} SGD steps at width {used['width']}, mean of "
                   f"{used['seeds']} seed(s)" if {"steps", "width", "seeds"} <= set(used)
                   else "")
            parts.append(f"trainability: training accuracy{how}, by sigma_w2 and depth:\n"
                         + format_table(*self.trainability_table()))
        return "\n\n".join(parts)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def one_blas_thread():
    """BLAS in one thread: products of n <= ~1000 gain little from a second thread and lose
    much (10x and more were measured) when the cores are shared with other work."""
    return threadpool_limits(1, "blas")
