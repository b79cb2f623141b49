"""``initlab propagate``: signal propagation beside mean-field theory, the edge of chaos,
Jacobian spectra and the trainability phase diagram."""

from __future__ import annotations

import argparse

from initlab.cli.common import add_output_options, int_list, positive_int, show_progress

HELP = "q/c propagation beside mean-field theory, chi_1 phase diagram, Jacobians, trainability"
DESCRIPTION = """\
Push pairs of inputs (correlation --c0, length --q0) and a batch through random deep nets with
weights N(0, sigma_w^2 / width) and biases N(0, sigma_b^2), record the length q_l and the
correlation c_l of the pre-activations at every layer, and print them beside the mean-field
maps of Poole et al. 2016 and Schoenholz et al. 2017: the fixed points q* and c*, chi_1 (the
order-to-chaos parameter: < 1 ordered, > 1 chaotic), and the depth scales xi_q and xi_c. Also
computes the (sigma_w^2, sigma_b^2) phase diagram of chi_1 with the critical line chi_1 = 1.

Ranges: LO:HI:N is N evenly spaced values from LO to HI; a comma list or one value also works.

--jacobian adds the singular values of the input-output Jacobian (Pennington et al. 2017):
tanh on the critical line (sigma_b^2 = --jacobian-sigma-b2) and ReLU at (2, 0), Gaussian and
orthogonal weights, at each --jacobian-depths, width --jacobian-width.
--trainability adds the trainability phase diagram (Schoenholz et al. 2017): a grid of the
--sigma-w2 values by --depths, tanh nets of --train-width units, SGD for --steps steps on
digits, training accuracy after training over --train-seeds seeds, beside 6 xi_c. The grid
at the papers' resolution is a sweep: examples/sweep_trainability.toml ('initlab sweep').

JSON (--json):
  {"critical": {"sigma_b2": [...], "sigma_w2": [...]},      the critical line (null: none)
   "runs": [{"sigma_w2", "sigma_b2", "activation", "q_star", "c_star", "chi_1", "xi_q", "xi_c",
             "layers": [{"index", "q", "q_predicted", "c", "c_predicted"}]}],
   "jacobian": [{"weights": "gaussian"|"orthogonal", "activation", "depth", "width",
                 "sigma_w2", "sigma_b2", "singular_values": {"min", "q05", "q50", "q95", "max"},
                 "condition_number"}],                         with --jacobian
   "trainability": [{"sigma_w2", "depth", "train_accuracy": {"mean", "std"}}],
   "six_xi_c": [{"sigma_w2", "depth"}]}                       with --trainability
Infinite values (xi at criticality, q* of an exploding net) are null.
With --out: results.json, propagation.png, phase.png (+ jacobian.png, trainability.png).

examples:
  initlab propagate --activation tanh --sigma-w2 0.5:4:36 --sigma-b2 0.05 --depth 100 \\
      --width 500 --seeds 3
  initlab propagate --activation relu --sigma-w2 1:3:9 --sigma-b2 0 --out out/relu
  initlab propagate --jacobian --jacobian-depths 32,128 --out out/jac
  initlab propagate --trainability --sigma-w2 1:4:8 --depths 5:100:6 --out out/train
  initlab propagate --trainability --quick --dump-config > train.toml   # for 'initlab run'
"""


def value_range(text: str) -> list[float]:
    """argparse type: ``LO:HI:N`` (N values from LO to HI), ``a,b,c`` or one number."""
    parts = text.split(":")
    try:
        if len(parts) == 3:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        elif len(parts) == 1:
            return [float(v) for v in text.split(",")]
        else:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LO:HI:N, a comma list or a number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"range {text!r} is empty: N must be >= 1")
    if hi < lo:
        raise argparse.ArgumentTypeError(f"range {text!r} is reversed: HI must be >= LO")
    if n > 1 and hi == lo:
        raise argparse.ArgumentTypeError(f"range {text!r} repeats one value {n} times")
    import numpy as np

    return np.linspace(lo, hi, n).tolist()


def add_arguments(parser) -> None:
    parser.add_argument("--activation", default="tanh",
                        help="tanh, erf, relu, leaky_relu, linear, sigmoid, selu, ... (tanh)")
    parser.add_argument("--sigma-w2", type=value_range, metavar="RANGE",
                        help="weight variances sigma_w^2 (0.5:4:36; with --trainability "
                        "1:4:8, --quick 1:4:4)")
    parser.add_argument("--sigma-b2", type=float, default=0.05,
                        help="bias variance sigma_b^2 (0.05)")
    parser.add_argument("--depth", type=positive_int, default=100, help="layers (100)")
    parser.add_argument("--width", type=positive_int, default=500, help="units per layer (500)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="random nets (3)")
    parser.add_argument("--q0", type=float, default=1.0, help="input length |x|^2 / n (1)")
    parser.add_argument("--c0", type=float, default=0.5, help="correlation of the pair (0.5)")
    parser.add_argument("--batch", type=positive_int, default=8,
                        help="inputs per net, the pair included (8)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (0)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs (12 sigma values, width 200; trainability: 4 x 3 "
                        "grid, 200 steps)")
    parser.add_argument("--jacobian", action="store_true", help="add the Jacobian spectra")
    parser.add_argument("--jacobian-depths", type=int_list, default=[32, 128],
                        help="depths of the Jacobians (32,128)")
    parser.add_argument("--jacobian-width", type=positive_int, default=200,
                        help="width of the Jacobian nets (200)")
    parser.add_argument("--jacobian-sigma-b2", type=float, default=1e-3,
                        help="sigma_b^2 of the critical tanh net (0.001: q* = 0.107)")
    parser.add_argument("--trainability", action="store_true",
                        help="add the trainability phase diagram")
    parser.add_argument("--depths", type=value_range, metavar="RANGE",
                        help="depths of the trainability grid (5:100:6; --quick 5:100:3)")
    parser.add_argument("--train-sigma-w2", type=value_range, metavar="RANGE",
                        help="sigma_w^2 of the trainability grid when it should differ from "
                        "--sigma-w2 (default: the same values)")
    parser.add_argument("--steps", type=positive_int, help="SGD steps (400; --quick 200)")
    parser.add_argument("--lr", type=float, help="SGD learning rate (0.05)")
    parser.add_argument("--train-width", type=positive_int, help="units per layer (100)")
    parser.add_argument("--train-seeds", type=positive_int, help="seeds per point (1)")
    parser.add_argument("--train-size", type=positive_int,
                        help="training examples of digits (1000)")
    add_output_options(parser)


def check_inputs(args) -> None:
    """The activation (it must have a mean-field theory), before the estimate (see
    :mod:`initlab.cli.guard`)."""
    from initlab.nn.activations import get_activation
    from initlab.theory.meanfield import check_activation

    check_activation(get_activation(args.activation))


def estimate(args):
    """Memory and time of the nets drawn (and trained, with --trainability), from the sizes."""
    from initlab.budget import Estimate, mlp_training

    width = 200 if args.quick and args.width == 500 else args.width
    n_sigma = len(args.sigma_w2 or [0] * 36)
    # every layer draws one width x width matrix and multiplies (batch + 1) rows per sigma
    draws = args.seeds * args.depth * width * width
    flops = 2 * args.seeds * args.depth * n_sigma * (args.batch + 1) * width * width
    seconds, memory = draws * 1e-8 + flops / 2e9, 8 * width * (width + 4 * n_sigma * args.batch)
    what = f"{args.seeds} x {n_sigma} nets of {args.depth} layers of {width}"
    if args.jacobian:
        jw = args.jacobian_width
        seconds += 4 * sum(args.jacobian_depths) * 2 * jw**3 / 2e9
        memory = max(memory, 8 * 6 * jw * jw)
    if args.trainability:
        grid = len(args.train_sigma_w2 or args.sigma_w2 or [0] * 8)
        depths = [int(round(d)) for d in (args.depths or [5, 24, 43, 62, 81, 100])]
        seeds, n_train = args.train_seeds or 1, args.train_size or 1000
        steps, w = args.steps or 400, args.train_width or 100
        for d in depths:
            t = mlp_training([64, *[w] * d, 10], grid * seeds, n_train, 0, 32, steps, 2)
            seconds, memory = seconds + t.seconds, max(memory, t.memory)
        what += f", and {grid} x {len(depths)} trainability points x {seeds} seed(s)"
    return Estimate(memory, seconds, what)


def run(args) -> int:
    from initlab.experiments.propagate import run_propagate

    width = args.width
    if args.quick and width == 500:
        width = 200
    train = {"steps": args.steps, "lr": args.lr, "width": args.train_width,
             "seeds": args.train_seeds, "train_size": args.train_size}
    result = run_propagate(
        activation=args.activation, sigma_w2=args.sigma_w2, sigma_b2=args.sigma_b2,
        depth=args.depth, width=width, seeds=args.seeds, q0=args.q0, c0=args.c0,
        batch=args.batch, seed=args.seed, quick=args.quick, jacobian=args.jacobian,
        jacobian_depths=args.jacobian_depths, jacobian_width=args.jacobian_width,
        jacobian_sigma_b2=args.jacobian_sigma_b2, trainability=args.trainability,
        depths=args.depths, train_sigma_w2=args.train_sigma_w2, train_options=train,
        progress=show_progress(args))
    figures = {}
    if args.out is not None:
        from initlab.plots.propagate import figures as make

        figures = make(result)
    from initlab.cli.common import emit

    emit(result, args, figures)
    return 0
