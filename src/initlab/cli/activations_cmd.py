"""``initlab activations``: per-layer activation and gradient statistics at initialization."""

from __future__ import annotations

import argparse

from initlab.cli.common import (
    add_output_options,
    emit,
    int_list,
    positive_float,
    positive_int,
    seed_int,
    show_progress,
    spec_list,
)
from initlab.errors import InitlabError

HELP = "look inside a deep net at initialization: per-layer histograms, stds, theory"
DESCRIPTION = """\
Draw a deep MLP for every init and activation, push a batch through it and a unit-variance
random gradient back, and report per layer the mean, std, fraction saturated (|tanh| > 0.99,
sigmoid < 0.01 or > 0.99) and exactly zero of the activations, the std of the gradients with
respect to the activations and the weights, each beside what variance-propagation theory
predicts, and a verdict computed from those numbers: vanishing or exploding (the first layer
whose std falls below 1/10 or rises above 10x the first layer's), shrinking or growing (a
per-layer trend that would cross within 50 layers, extrapolated), saturated (25% or more on
the flat ends), dead units (10% or more zero for the whole batch), units alike, gradients
judged the same way from the top down; healthy only when none holds.
Statistics pool all values over --seeds nets. With --out: results.json (with histogram counts
and per-seed values), histograms_<activation>.png (rows: inits, columns: layers) and
std_vs_depth.png (theory as lines, each seed as faint markers). With --norm batch (or layer)
every pre-activation is normalized over the batch (or the units) before its activation, so
the scale is restored at every layer whatever the init; theory then says std 1 after each
norm, then the activation's moments of N(0, 1).

presets (explicit options override them):
  saito   Deep Learning from Scratch 6.2: 1000 x 100 input, 5 layers of 100, no bias,
          normal(1),normal(0.01),lecun,he,zeros,ones,constant(5) with sigmoid, relu, tanh
  cs231n  the 10-layer study: 16 x 4096 input, 10 layers of 4096, no bias,
          normal(0.01),normal(0.05),lecun,he with tanh and relu

examples:
  initlab activations --activation tanh,relu --init "normal(0.01),lecun,he" --depth 10 \\
      --width 4096 --batch 16
  initlab activations --preset saito --out out/saito
  initlab activations --preset cs231n --no-grad --json
  initlab activations --activation relu --init he,lecun --depth 20 --width 256 --seeds 10 \\
      --out out/relu
  initlab activations --activation tanh --init "xavier,orthogonal(gain=1.1)" --sizes 784,512,256 \\
      --bias 0.1 --range=-2,2
  initlab activations --preset saito --norm batch --out out/saito-bn   # the scale restored
"""

DEFAULTS = {"inits": ["normal(0.01)", "lecun", "he"], "activations": ["tanh", "relu"],
            "depth": 10, "width": 4096, "batch": 16}


def float_pair(text: str) -> list[float]:
    """argparse type for ``LO,HI`` -> [lo, hi]."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI (two numbers), got {text!r}") from None
    return [lo, hi]


def add_arguments(parser) -> None:
    from initlab.experiments.activations import ACTIVATION_PRESETS

    parser.add_argument("--preset", choices=sorted(ACTIVATION_PRESETS), help="start from a preset")
    net = parser.add_argument_group("network")
    net.add_argument("--init", type=spec_list,
                     help='comma-separated init specs (default "normal(0.01),lecun,he")')
    net.add_argument("--activation", type=spec_list,
                     help="comma-separated activations (default tanh,relu)")
    net.add_argument("--depth", type=positive_int, help="number of layers (10)")
    net.add_argument("--width", type=positive_int, help="units per layer and input size (4096)")
    net.add_argument("--sizes", type=int_list, metavar="N0,N1,...",
                     help="input size then each layer's size, instead of --depth/--width")
    net.add_argument("--batch", type=positive_int, help="examples in the input batch (16)")
    net.add_argument("--input", metavar="SPEC",
                     help="input distribution as an init spec (normal: N(0, 1); e.g. "
                     "uniform(-1,1))")
    net.add_argument("--bias", type=positive_float, metavar="STD",
                     help="add biases drawn from N(0, STD^2) (default: no bias)")
    net.add_argument("--norm", metavar="NORM",
                     help="normalize every pre-activation: batch (over the batch, as "
                     "training-mode BatchNorm) or layer (over the units); default none")
    run = parser.add_argument_group("seeds, precision and histograms")
    run.add_argument("--seed", type=seed_int, help="first seed (0); nets use seed, seed+1, ...")
    run.add_argument("--seeds", type=positive_int, help="nets drawn per init (1)")
    run.add_argument("--dtype", choices=["float32", "float64"], help="float32 (default)")
    run.add_argument("--no-grad", action="store_true", help="skip the backward pass")
    run.add_argument("--bins", type=positive_int,
                     help="histogram bins (30 for sigmoid, else 40)")
    run.add_argument("--range", type=float_pair, metavar="LO,HI", dest="hist_range",
                     help="histogram range (0,1 for sigmoid, else -1,1; write --range=-2,2)")
    add_output_options(parser)


def resolve(args) -> dict:
    """Keyword arguments of ``run_activations``: explicit options over preset over defaults."""
    from initlab.experiments.activations import preset

    options = {**DEFAULTS, **(preset(args.preset) if args.preset else {})}
    names = {"init": "inits", "activation": "activations"}
    for key in ("init", "activation", "depth", "width", "sizes", "batch", "input", "bias",
                "seed", "seeds", "dtype", "bins", "hist_range", "norm"):
        if getattr(args, key) is not None:
            options[names.get(key, key)] = getattr(args, key)
    if args.sizes is not None and (args.depth is not None or args.width is not None):
        raise InitlabError("give either --sizes or --depth/--width, not both")
    if args.seed is not None and args.seed < 0:
        raise InitlabError(f"--seed must be >= 0, got {args.seed}")
    options["grad"] = not args.no_grad
    return options


def check_inputs(args) -> None:
    """The names, before the estimate (see :mod:`initlab.cli.guard`)."""
    from initlab.cli.common import check_names

    o = resolve(args)
    check_names(inits=o["inits"], activations=o["activations"], norms=[o.get("norm")])


def estimate(args):
    """Memory and time of drawing and pushing a batch through every (init, seed) net."""
    from initlab.budget import stats_at_init
    from initlab.experiments.activations import estimate_memory

    o = resolve(args)
    sizes = o.get("sizes") or [o["width"]] * (o["depth"] + 1)
    n_acts, nets = len(o["activations"]), len(o["inits"]) * o.get("seeds", 1)
    memory = estimate_memory(sizes, o["batch"], n_acts, o.get("dtype", "float32"), o["grad"])
    return stats_at_init(sizes, o["batch"], nets, n_acts, o["grad"], memory,
                         f"{nets} nets of {len(sizes) - 1} layers of up to {max(sizes)} units")


def settings(args) -> dict:
    """The option values the run will use (for --dump-config): the preset written out."""
    o = resolve(args)
    names = {"inits": "init", "activations": "activation", "grad": None}
    values = {names.get(k, k): v for k, v in o.items() if names.get(k, k)}
    values["no_grad"] = not o["grad"]
    if values.get("sizes") is not None:  # --sizes replaces --depth/--width
        values.pop("depth", None)
        values.pop("width", None)
    return {k: v for k, v in values.items() if k in vars(args)}


def run(args) -> int:
    from initlab.experiments.activations import run_activations

    result = run_activations(progress=show_progress(args), **resolve(args))
    figures = {}
    if args.out is not None:
        from initlab.plots.activations import figures as make_figures

        figures = make_figures(result)
    emit(result, args, figures)
    if not args.json:
        print()
        for r in result.runs:
            print(r.summary())
    return 0
