"""``initlab regularize``: overfitting on a small training set, and what L2 and dropout do."""

from __future__ import annotations

from pathlib import Path

from initlab.cli.common import (
    add_output_options,
    dataset_of,
    emit,
    int_list,
    positive_float,
    positive_int,
    seed_int,
    show_progress,
)

HELP = "overfitting study: none / L2 / dropout / both on a small training set, over seeds"
DESCRIPTION = """\
Train a deep net on a small training subset four ways (no regularization, L2, dropout, both)
from the same seeds, and report train and test accuracy and their gap. Regularization helps when
it narrows the gap without costing test accuracy. With --out: results.json and curves.png.

examples:
  initlab regularize --dataset digits --train-size 300 --layers 100,100,100,100,100 \\
      --l2 0.01 --dropout 0.2 --seeds 5
  initlab regularize --dataset mnist --data ~/mnist --train-size 300 --out out/overfit
"""


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default="digits", help="data set (digits)")
    parser.add_argument("--data", type=Path, metavar="PATH", help="files for --dataset mnist")
    parser.add_argument("--train-size", type=positive_int, default=300,
                        help="training examples (300)")
    parser.add_argument("--layers", type=int_list, default=[100] * 5,
                        help="hidden layer sizes (100,100,100,100,100)")
    parser.add_argument("--activation", default="relu", help="hidden activation (relu)")
    parser.add_argument("--init", default="he", help="init spec (he)")
    parser.add_argument("--l2", type=positive_float, default=0.01, help="L2 lambda (0.01)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout rate (0.2)")
    parser.add_argument("--dropout-mode", choices=["inverted", "scaled_at_test"],
                        default="inverted", help="inverted (default) or the non-inverted form")
    parser.add_argument("--norm", help="batch or layer: normalize between each hidden linear "
                        "layer and its activation (default none)")
    parser.add_argument("--seeds", type=positive_int, default=5, help="seeds per variant (5)")
    parser.add_argument("--seed", type=seed_int, default=0, help="first weight seed (0)")
    parser.add_argument("--data-seed", type=seed_int, default=0,
                        help="seed of the data subset and minibatch order (0)")
    parser.add_argument("--optimizer", default="sgd", help="optimizer (sgd)")
    parser.add_argument("--lr", type=positive_float, default=0.1, help="learning rate (0.1)")
    parser.add_argument("--batch", type=positive_int, default=128, help="minibatch size (128)")
    parser.add_argument("--epochs", type=positive_int, default=200, help="epochs (200)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="float32 (default) or float64")
    add_output_options(parser)


def check_inputs(args) -> None:
    """The names and the data file, before the estimate (see :mod:`initlab.cli.guard`)."""
    from initlab.cli.common import check_data_path, check_names

    check_names(inits=[args.init], activations=[args.activation], optimizer=args.optimizer,
                norms=[args.norm])
    check_data_path(args.data)


def estimate(args):
    """Memory and time of the four variants' training, from the sizes."""
    from initlab.budget import Estimate, mlp_training, steps_of
    from initlab.data import expected_size

    dataset = dataset_of(args)
    n_train, n_test, features, classes = expected_size(dataset, None, args.train_size)
    sizes = [features, *args.layers, 1 if classes == 2 else classes]
    steps = steps_of(n_train, None, args.epochs, args.batch)
    one = mlp_training(sizes, args.seeds, n_train, n_test, args.batch, steps, 40,
                       itemsize=4 if args.dtype == "float32" else 8)
    return Estimate(one.memory, 4 * one.seconds,
                    f"training 4 x {args.seeds} nets of sizes {sizes} for {steps} steps")


def run(args) -> int:
    from initlab.experiments.regularize import run_regularize

    args.dataset = dataset_of(args)
    result = run_regularize(
        dataset=args.dataset, data=args.data, train_size=args.train_size, layers=args.layers,
        activation=args.activation, init=args.init, l2=args.l2, dropout=args.dropout,
        dropout_mode=args.dropout_mode, norm=args.norm, seeds=args.seeds, seed=args.seed,
        data_seed=args.data_seed,
        optimizer=args.optimizer, lr=args.lr, batch=args.batch, epochs=args.epochs,
        dtype=args.dtype, progress=show_progress(args))
    figures = {}
    if args.out is not None:
        from initlab.plots.regularize import curves_figure

        figures = {"curves": curves_figure(result)}
    emit(result, args, figures)
    return 0
