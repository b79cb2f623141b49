"""``initlab compare``: initializations across many seeds, with error bars."""

from __future__ import annotations

import argparse
from pathlib import Path

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

HELP = "compare initializations across many seeds (accuracy with 95% intervals, curves)"
DESCRIPTION = """\
Train every init from many seeds, all at once as replicas of one model, and report per init the
train and test accuracy (mean, std, 95% interval over seeds), the final loss and how many runs
diverged. With --out: results.json, loss.png (curves with a band over seeds),
accuracy.png, and for 2-D data boundaries.png (the median seed of each init).

presets (explicit options override them):
  coursera  the course's circles data and [2, 10, 5, 1] net, zeros,normal(10),he, lr 0.01,
            15000 full-batch iterations, legacy RandomState(3), (4), ... per seed
  saito     digits (MNIST with --data PATH), 4 hidden layers of 100 ReLU, normal(0.01),lecun,he,
            SGD 0.01, batch 128 with replacement, 2000 iterations

examples:
  initlab compare --dataset moons --layers 10,5 --activation relu --init "zeros,normal(10),he" \\
      --seeds 30 --iterations 15000 --lr 0.01
  initlab compare --preset coursera --seeds 10 --out out/coursera
  initlab compare --preset saito --data ~/mnist --train-size 10000
  initlab compare --dataset spiral --layers 16,16 --activation tanh --init "xavier,he" \\
      --optimizer adam --lr 0.01 --batch 64 --epochs 200
  initlab compare --preset saito --norm batch     # does BatchNorm rescue std 0.01?
"""

DEFAULTS = {"jobs": None, "dataset": "moons", "layers": [10, 5],
            "activation": "relu", "init": ["zeros", "normal(10)", "he"], "seeds": 10, "seed": 0,
            "optimizer": "sgd", "lr": 0.01, "dtype": "float32"}


def add_arguments(parser) -> None:
    from initlab.experiments.compare import COMPARE_PRESETS

    parser.add_argument("--preset", choices=sorted(COMPARE_PRESETS), help="start from a preset")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", help="moons, circles, xor, spiral, gauss, digits or mnist "
                      "(default moons)")
    data.add_argument("--data", type=Path, metavar="PATH",
                      help="MNIST-style files for --dataset mnist (IDX folder/file, CSV or NPZ)")
    data.add_argument("--train-size", type=positive_int, help="train on a subset of this size")
    data.add_argument("--n-samples", type=positive_int, help="examples of a generated data set")
    data.add_argument("--noise", type=float, help="noise of a generated 2-D data set")
    net = parser.add_argument_group("network and training")
    net.add_argument("--layers", type=int_list, help="hidden layer sizes, e.g. 10,5")
    net.add_argument("--activation", help="hidden activation, e.g. relu, tanh, leaky_relu(0.1)")
    net.add_argument("--init", type=spec_list,
                     help='comma-separated init specs, e.g. "zeros,normal(10),he"')
    net.add_argument("--seeds", type=positive_int, help="seeds per init (10)")
    net.add_argument("--seed", type=seed_int,
                     help="first weight seed (0); seeds are seed, seed+1, ...")
    data.add_argument("--data-seed", type=seed_int, help="seed of the data and minibatch order (0)")
    net.add_argument("--iterations", type=positive_int, help="training steps (1000)")
    net.add_argument("--epochs", type=positive_int, help="passes over the data, instead")
    net.add_argument("--lr", type=positive_float, help="learning rate (0.01)")
    net.add_argument("--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam (sgd)")
    net.add_argument("--batch", type=positive_int, help="minibatch size (full batch)")
    net.add_argument("--replace", action=argparse.BooleanOptionalAction,
                     help="sample minibatches with replacement (the saito preset does; "
                     "--no-replace: without)")
    net.add_argument("--l2", type=float, help="L2 weight decay lambda (0)")
    net.add_argument("--dropout", type=float, help="dropout rate after each hidden layer (0)")
    net.add_argument("--norm", help="batch or layer: normalize between each hidden linear "
                     "layer and its activation (default none)")
    net.add_argument("--dtype", choices=["float32", "float64"],
                     help="float32 (default; the coursera preset uses float64)")
    net.add_argument("-j", "--jobs", type=positive_int,
                     help="train the replicas in this many processes (default: 2, or as "
                     "many cores as other tasks leave free if fewer; a run of under a second "
                     "stays in one process, where starting workers would cost more than it "
                     "saves)")
    add_output_options(parser)


def resolve(args) -> dict:
    """Keyword arguments of :func:`run_compare`: explicit options over preset over defaults."""
    from initlab.experiments.compare import COMPARE_PRESETS

    preset = dict(COMPARE_PRESETS.get(args.preset, {}))
    if args.data is not None and args.dataset is None and not preset.get("classic"):
        preset["dataset"] = "mnist"
    if "inits" in preset:
        preset["init"] = preset.pop("inits")
    options = {**DEFAULTS, **preset}
    for key in ("dataset", "data", "data_seed", "train_size", "n_samples", "noise", "layers",
                "activation", "init", "seeds", "seed", "iterations", "epochs", "lr", "optimizer",
                "batch", "l2", "dropout", "dtype", "jobs", "norm"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.replace is not None:
        options["replace"] = args.replace
    if args.epochs is not None and args.iterations is None:
        options["iterations"] = None
    options["inits"] = options.pop("init")
    return options


def check_inputs(args) -> None:
    """The names and the data file, before the estimate (see :mod:`initlab.cli.guard`)."""
    from initlab.cli.common import check_data_path, check_names

    o = resolve(args)
    check_names(inits=o["inits"], activations=[o["activation"]], optimizer=o["optimizer"],
                norms=[o.get("norm")])
    check_data_path(o.get("data"))


def estimate(args):
    """Memory and time of training every (init, seed) replica, from the sizes."""
    from initlab.budget import mlp_training, steps_of
    from initlab.data import expected_size

    o = resolve(args)
    n_train, n_test, features, classes = expected_size(
        o["dataset"], o.get("n_samples"), o.get("train_size"))
    if o.get("classic"):
        n_train, n_test = 300, 100
    sizes = [features, *o["layers"], 1 if classes == 2 else classes]
    steps = steps_of(n_train, o.get("iterations"), o.get("epochs"), o.get("batch"))
    replicas = len(o["inits"]) * o["seeds"]
    itemsize = 8 if o["dtype"] == "float64" else 4
    return mlp_training(sizes, replicas, n_train, n_test, o.get("batch"), steps, 50, itemsize,
                        what=f"training {replicas} nets of sizes {sizes} for {steps} steps")


def settings(args) -> dict:
    """The option values the run will use (for --dump-config): the preset written out."""
    options = resolve(args)
    values = {k: v for k, v in options.items() if k in vars(args)}
    values["init"] = options["inits"]
    return values


def run(args) -> int:
    from initlab.experiments.compare import run_compare

    options = resolve(args)
    result = run_compare(options.pop("inits"), progress=show_progress(args), **options)
    figures = {}
    if args.out is not None:
        from initlab.plots.compare import accuracy_figure, boundary_figure, loss_figure

        figures = {"loss": loss_figure(result), "accuracy": accuracy_figure(result)}
        if result.boundary is not None:
            figures["boundaries"] = boundary_figure(result)
    emit(result, args, figures)
    return 0
