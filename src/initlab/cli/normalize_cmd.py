"""``initlab normalize``: a grid of weight scales trained with and without normalization."""

from __future__ import annotations

import os
from pathlib import Path

from initlab.cli.common import (
    add_output_options,
    dataset_of,
    emit,
    int_list,
    positive_float,
    positive_int,
)

HELP = "normalization forgives a bad init: weight scales trained with and without BatchNorm"
DESCRIPTION = """\
Deep Learning from Scratch's BatchNorm experiment over seeds: 5 hidden layers of 100 ReLU
units, every weight drawn from N(0, std^2) for 16 std values from 1 down to 1e-4 (biases
zero), 1000 training examples, SGD lr 0.01, batches of 100, 20 epochs, trained without
normalization and with BatchNorm between each hidden linear layer and its ReLU. All scales and
seeds of a variant train at once as replicas of one model. Prints per scale and variant the
final train and test accuracy (mean and 95% interval over seeds), the final training loss and
how many runs diverged, then which scales train (mean train accuracy at least halfway from
chance to 1). With --out: results.json, curves.png (one panel per scale: train accuracy after
every epoch) and scales.png (accuracy against the weight scale, 95% bands).

examples:
  initlab normalize                                  # digits, none vs batch, 3 seeds
  initlab normalize --norm batch,layer --seeds 5 --out out/norm
  initlab normalize --data ~/mnist                   # MNIST files (IDX, CSV or NPZ)
  initlab normalize --scales 1,0.1,0.01 --epochs 10 --json
"""


def float_list(text: str) -> list[float]:
    """argparse type for ``1,0.1,0.01`` -> [1.0, 0.1, 0.01] (finite numbers > 0)."""
    import argparse

    try:
        return [positive_float(v) for v in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers > 0, got {text!r}") from None


def add_arguments(parser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="digits", help="digits (default) or mnist")
    data.add_argument("--data", type=Path, metavar="PATH",
                      help="MNIST-style files (IDX folder/file, CSV or NPZ); implies mnist")
    data.add_argument("--train-size", type=positive_int, default=1000,
                      help="training examples (1000)")
    data.add_argument("--data-seed", type=int, default=0,
                      help="seed of the data subset and minibatch order (0)")
    net = parser.add_argument_group("network and training")
    net.add_argument("--norm", default="batch", metavar="NORM[,NORM]",
                     help="normalized variants trained beside 'none': batch (default), layer, "
                     "or batch,layer")
    net.add_argument("--scales", type=float_list, metavar="S1,S2,...",
                     help="weight stds (default: 16 values from 1 down to 1e-4)")
    net.add_argument("--layers", type=int_list, default=[100] * 5,
                     help="hidden layer sizes (100,100,100,100,100)")
    net.add_argument("--activation", default="relu", help="hidden activation (relu)")
    net.add_argument("--seeds", type=positive_int, default=3, help="seeds per scale (3)")
    net.add_argument("--seed", type=int, default=0, help="first weight seed (0)")
    net.add_argument("--optimizer", default="sgd", help="optimizer (sgd)")
    net.add_argument("--lr", type=positive_float, default=0.01, help="learning rate (0.01)")
    net.add_argument("--batch", type=positive_int, default=100, help="minibatch size (100)")
    net.add_argument("--epochs", type=positive_int, default=20, help="epochs (20)")
    net.add_argument("--momentum", type=float, default=0.1,
                     help="BatchNorm running-statistics momentum in [0, 1] (0.1)")
    net.add_argument("--eps", type=float, default=1e-5, help="normalization eps > 0 (1e-5)")
    net.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                     help="float32 (default) or float64")
    net.add_argument("-j", "--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                     help="train the variants in this many processes (default: 2 or the "
                     "number of CPUs if fewer)")
    add_output_options(parser)


def verdict(result) -> list[str]:
    """One line per variant: how many scales train, and which (computed from the result)."""
    n, lines = len(result.config["scales"]), []
    for norm in result.norms:
        ok = result.training_scales(norm)
        which = ", ".join(f"{s:.3g}" for s in ok) if ok else "none"
        lines.append(f"{norm}: {len(ok)} of {n} scales train (mean train accuracy >= "
                     f"{result.config['threshold']:.2f}): {which}")
    return lines


def check_inputs(args) -> None:
    """The names and the data file, before the estimate (see :mod:`initlab.cli.guard`)."""
    from initlab.cli.common import check_data_path, check_names

    check_names(activations=[args.activation], optimizer=args.optimizer,
                norms=[n.strip() for n in str(args.norm).split(",")])
    check_data_path(args.data)


def estimate(args):
    """Memory and time of training every (scale, seed) of every variant, from the sizes."""
    from initlab.budget import Estimate, mlp_training, steps_of
    from initlab.data import expected_size
    from initlab.experiments.normalize import SCALES

    dataset = dataset_of(args)
    n_train, n_test, features, classes = expected_size(dataset, None, args.train_size)
    sizes = [features, *args.layers, classes]
    variants = 1 + len([n for n in str(args.norm).split(",") if n.strip()])
    replicas = len(args.scales or SCALES) * args.seeds
    steps = steps_of(n_train, None, args.epochs, args.batch)
    one = mlp_training(sizes, replicas, n_train, n_test, args.batch, steps, args.epochs + 1)
    return Estimate(one.memory, variants * one.seconds,
                    f"training {variants} x {replicas} nets of sizes {sizes} for {steps} steps")


def run(args) -> int:
    from initlab.cli.common import show_progress
    from initlab.experiments.normalize import run_normalize

    args.dataset = dataset_of(args)
    result = run_normalize(
        dataset=args.dataset, data=args.data, train_size=args.train_size, layers=args.layers,
        activation=args.activation, scales=args.scales, norms=args.norm, seeds=args.seeds,
        seed=args.seed, data_seed=args.data_seed, optimizer=args.optimizer, lr=args.lr,
        batch=args.batch, epochs=args.epochs, momentum=args.momentum, eps=args.eps,
        dtype=args.dtype, jobs=args.jobs, progress=show_progress(args))
    figures = {}
    if args.out is not None:
        from initlab.plots.normalize import figures as make_figures

        figures = make_figures(result)
    emit(result, args, figures)
    if not args.json:
        print()
        print("\n".join(verdict(result)))
    return 0
