"""The coordinate check: does each layer's activation size stay put as the net widens?

After Microsoft's ``mup`` (Yang et al. 2022, "Tensor Programs V", the coordinate check of its
Fig. 5 and ``mup.coord_check.get_coord_data``): the same MLP at widths 64 .. 2048 from several
seeds, trained for the first K steps of Adam or SGD on one fixed batch; at every step, before
the update, the mean |x| of every layer's output. Under a parametrization that admits a
width limit with feature learning (muP) the curves of mean |x| against width are flat at every
step; under the standard one (SP) the output and hidden layers grow with width after the
first step. The verdict is computed from the slope of log mean|x| against log width at each
step and layer: ``stable`` when every slope lies within the band, else which layers leave it
and from which step. Step s is the forward pass after s updates (mup's t = s + 1).

The verdict judges the steps after the first update (s >= 1): step 0 is the initialization,
where muP's logits shrink as 1/sqrt(width) by design (Table 8: output weights of init variance
1 behind a 1/fan_in multiplier; mup even offers a zero readout), while the coordinate check
asks whether training moves every layer by a width-independent amount. What step 0 shows is
given beside it (``at_init``), computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab.errors import InitlabError, check_float_dtype
from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.config import Config, at_least, option, positive, seed_check, valid
from initlab.experiments.registry import Experiment
from initlab.experiments.replicas import processes, run_work
from initlab.experiments.shared_options import (
    activation_option,
    base_width_option,
    config_of,
    data_means_mnist,
    data_path_option,
    dataset_option,
    dtype_option,
    optimizer_option,
    params_option,
    seeds_problem,
    widths_problem,
)
from initlab.init import get_initializer
from initlab.nn.layers import Dense
from initlab.nn.model import mlp
from initlab.optim import get_optimizer
from initlab.results import Result
from initlab.runtime.workers import run_tasks

_NET, _TRAIN = "network", "training"


@dataclass(frozen=True)
class CoordCheckConfig(Config):
    """Every option of ``initlab width coordcheck`` (and of :func:`run_coordcheck`)."""

    factory: str | None = option(
        None, "FILE.py:FUNCTION, a PyTorch model factory taking the width as a keyword "
        "(command line only; needs PyTorch); default: initlab's MLP", positional=True,
        metavar="FACTORY")
    width_arg: str = option("width", "the factory's keyword argument that sets the width",
                            group=_NET)
    dataset: str = dataset_option("digits", group=_TRAIN)
    data: Path | None = data_path_option(group=_TRAIN)
    widths: tuple[int, ...] = option((64, 128, 256, 512, 1024, 2048), "widths (hidden sizes)",
                                     check=at_least(1), group=_NET, metavar="N1,N2,...")
    base_width: int | None = base_width_option(group=_NET)
    params: tuple[str, ...] = params_option(("sp", "ntk", "mup"), group=_NET)
    depth: int = option(3, "hidden layers of the MLP", check=at_least(1), group=_NET)
    activation: str = activation_option("relu", group=_NET)
    init: str = option("he", "init spec of the SP net (muP and NTK rescale it)",
                       check=valid(get_initializer), group=_NET, metavar="SPEC")
    optimizer: str = optimizer_option("adam", group=_TRAIN)
    lr: float = option(0.01, "learning rate (at the base width)", check=positive, group=_TRAIN)
    steps: int = option(5, "updates K: mean |x| is recorded before each and after the last",
                        check=at_least(1), group=_TRAIN)
    batch: int = option(64, "examples in the one fixed batch", check=at_least(1),
                        group=_TRAIN)
    seeds: int = option(3, "seeds per width", check=at_least(1), group=_TRAIN)
    seed: int = option(0, "first seed", check=seed_check, group=_TRAIN)
    band: float = option(0.2, "stable when every slope of log2 mean|x| against log2 width "
                         "lies within +-band (0.2: at most 2x over a 32x wider net)",
                         check=positive, group=_TRAIN)
    dtype: str = dtype_option(group=_TRAIN)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` with the digits data set means MNIST files (as ``--data`` always has)."""
        return data_means_mnist(merged)

    def check(self) -> str | None:
        return seeds_problem(self.seed, self.seeds) or widths_problem(self.widths,
                                                                      self.base_width)


@dataclass
class CoordRow(Result):
    """mean |x| of one layer's output at one step, for one net (param, width, seed)."""

    param: str
    width: int
    step: int
    layer: str
    mean_abs: float
    seed: int


@dataclass
class SlopeRow(Result):
    """The slope of log2 (mean over seeds of mean |x|) against log2 width."""

    param: str
    step: int
    layer: str
    slope: float


@dataclass
class CoordCheckResult(Result):
    """Every recorded mean |x|, the slopes per (param, step, layer), a verdict per param."""

    rows: list[CoordRow]
    slopes: list[SlopeRow]
    verdict: dict
    at_init: dict
    config: dict

    def table(self):
        steps = sorted({s.step for s in self.slopes})
        shown = [steps[0], steps[min(1, len(steps) - 1)], steps[-1]]
        header = ["param", "layer", *[f"slope step {s}" for s in shown]]
        slope = {(s.param, s.step, s.layer): s.slope for s in self.slopes}
        layers = list(dict.fromkeys(s.layer for s in self.slopes))
        return header, [[p, la, *[slope[p, s, la] for s in shown]]
                        for p in self.verdict for la in layers]

    def footnote(self) -> str:
        return "\n".join(f"{p}: {v} (at init: {self.at_init[p]})"
                         for p, v in self.verdict.items())


def layer_names(model) -> list[str]:
    """Names of an MLP's layers as the coordinate check shows them: input, act1, hidden2,
    act2, ..., output (Dense layers by their place, activations by their hidden layer)."""
    names, k = [], 0
    dense = model.dense_layers
    for layer in model.layers:
        if isinstance(layer, Dense):
            k += 1
            names.append("input" if layer is dense[0] else "output" if layer is dense[-1]
                         else f"hidden{k}")
        else:
            names.append(f"{type(layer).__name__.replace('Layer', '').lower()}{k}")
    return names


def coord_stats(model, X, y, optimizer, steps: int) -> np.ndarray:
    """mean |x| of every layer's output, per replica: (steps + 1, layers, R). Forward on the
    fixed batch X, record, then one update (``optimizer``: an Optimizer), ``steps`` times, and
    a last forward pass; as mup's coordinate check does in training mode with ``fix_data``."""
    t = model.loss.targets(y, len(X), model.out_features, model.dtype)
    params = model.flat_parameters()
    out = np.empty((steps + 1, len(model.layers), model.replicas))
    with np.errstate(all="ignore"):
        for s in range(steps + 1):
            x = X
            for i, layer in enumerate(model.layers):
                x = layer.forward(x, train=True)
                out[s, i] = np.abs(x).mean(axis=(-2, -1))
            if s == steps:
                break
            model.backward(model.loss.grad(x, t), input_grad=False)
            optimizer.step(params)
    return out


def _one_net(c: CoordCheckConfig, param: str, width: int, data) -> np.ndarray:
    """Coordinate statistics of ``param`` at ``width``: one model of ``seeds`` replicas."""
    X, y, n_in, units, output = data
    base = c.base_width or min(c.widths)
    model = mlp([n_in, *[width] * c.depth, units], activation=c.activation, init=c.init,
                output=output, seed=list(range(c.seed, c.seed + c.seeds)),
                dtype=check_float_dtype(c.dtype), param=param, base_width=base)
    return coord_stats(model, X, y, get_optimizer(c.optimizer, c.lr), c.steps), \
        layer_names(model)


def run_coordcheck(*, progress: bool = False, jobs: int | None = 1,
                   config: CoordCheckConfig | None = None, **options) -> CoordCheckResult:
    """The coordinate check of an MLP (:class:`CoordCheckConfig`'s fields as keywords, or
    ``config``): per parametrization and width one model of ``seeds`` replicas; ``jobs``
    processes share the (param, width) nets. It takes seconds, so ``progress`` shows
    nothing (it is accepted as every experiment's run accepts it)."""
    c = config_of(CoordCheckConfig, config, options, "run_coordcheck")
    if c.factory is not None:
        raise InitlabError("a PyTorch factory runs through the command line: initlab width "
                           f"coordcheck {c.factory} (it needs the PyTorch bridge)")
    ds = get_dataset(c.dataset, seed=0, data=c.data)
    units, output = output_layer(ds.n_classes)
    dt = check_float_dtype(c.dtype)
    data = (ds.X_train[:c.batch].astype(dt), ds.y_train[:c.batch], ds.n_features, units, output)
    tasks = [(c, p, w, data) for p in c.params for w in c.widths]
    found = [None] * len(tasks)
    work = sum(run_work([ds.n_features, *[w] * c.depth, units], c.seeds, c.batch,
                        {"iterations": c.steps + 1}) for w in c.widths) * len(c.params)
    for k, out in run_tasks(_one_net, tasks, processes(jobs, work, 2 * len(tasks))):
        found[k] = out
    stats = {(p, w): found[k][0] for k, (_, p, w, _) in enumerate(tasks)}
    return summarize(c, stats, found[0][1], {"dataset": ds.name, "batch": len(data[0]),
                                             "base_width": c.base_width or min(c.widths)})


def summarize(c: CoordCheckConfig, stats: dict, layers: list[str], extra: dict):
    """The result from ``stats[(param, width)] : (steps + 1, layers, seeds)``: rows, slopes
    and verdicts (the torch bridge's coordinate check ends here too)."""
    seeds = range(c.seed, c.seed + c.seeds)
    rows = [CoordRow(p, w, s, la, float(a[s, i, r]), seed)
            for (p, w), a in stats.items() for s in range(a.shape[0])
            for i, la in enumerate(layers) for r, seed in enumerate(seeds)]
    widths = sorted(c.widths)
    logw = np.log2(widths)
    slopes = []
    for p in c.params:
        mean = np.stack([stats[p, w].mean(axis=2) for w in widths])  # (widths, steps+1, L)
        with np.errstate(all="ignore"):
            fitted = np.polyfit(logw, np.log2(mean.reshape(len(widths), -1)), 1)[0]
        fitted = fitted.reshape(mean.shape[1:])
        slopes += [SlopeRow(p, s, la, float(fitted[s, i]))
                   for s in range(mean.shape[1]) for i, la in enumerate(layers)]
    verdict = {p: verdict_of([s for s in slopes if s.param == p and s.step >= 1], c.band)
               for p in c.params}
    at_init = {p: verdict_of([s for s in slopes if s.param == p and s.step == 0], c.band)
               for p in c.params}
    config = {**c.to_dict(), **extra}
    return CoordCheckResult(rows=rows, slopes=slopes, verdict=verdict, at_init=at_init,
                            config=config)


def verdict_of(slopes: list[SlopeRow], band: float) -> str:
    """``stable`` when every slope lies within +-band; else the layers that leave it (the
    steepest first), each with the step it first leaves the band and its slope there."""
    out = {}
    for s in sorted(slopes, key=lambda s: s.step):
        if not (abs(s.slope) <= band) and s.layer not in out:
            out[s.layer] = s
    if not out:
        return "stable"
    worst = sorted(out.values(), key=lambda s: -abs(s.slope) if np.isfinite(s.slope) else
                   -np.inf)
    parts = []
    for s in worst[:3]:
        how = ("is not finite" if not np.isfinite(s.slope) else
               f"{'blows up' if s.slope > 0 else 'vanishes'} as width^{s.slope:+.2f}")
        parts.append(f"{s.layer} {how} from step {s.step}")
    extra = len(worst) - 3
    more = f" (and {extra} more layer{'s' if extra > 1 else ''})" if extra > 0 else ""
    return f"not stable (band +-{band:g}): " + "; ".join(parts) + more


def estimate(config: CoordCheckConfig):
    """Memory and time of every (param, width) net's steps on the fixed batch."""
    from initlab.data import expected_size
    from initlab.runtime.budget import Estimate, mlp_training

    c = config
    _, _, features, classes = expected_size(c.dataset, None, None)
    total = Estimate(0.0, 0.0, "")
    for w in c.widths:
        one = mlp_training([features, *[w] * c.depth, classes], c.seeds, c.batch, 0, c.batch,
                           c.steps + 1, 0, itemsize=np.dtype(c.dtype).itemsize)
        total = Estimate(max(total.memory, one.memory), total.seconds + one.seconds, "")
    return Estimate(total.memory, total.seconds * len(c.params),
                    f"the coordinate check of {len(c.params)} x {len(c.widths)} nets")


def figures(result: CoordCheckResult) -> dict:
    """mup's coord-check plot per parametrization: one panel per step, layers as lines."""
    from initlab.plots.width import coordcheck_figure

    return {"coordcheck": coordcheck_figure(result)}


EXPERIMENT = Experiment(name="width-coordcheck", config=CoordCheckConfig, run=run_coordcheck,
                        figures=figures, estimate=estimate, jobs=True)
