"""``initlab reproduce``: the classic published experiments with their exact recipes."""

from __future__ import annotations

from initlab.cli.common import add_output_options, emit, show_progress

HELP = "reproduce a published experiment exactly (the course's three-layer init table)"
DESCRIPTION = """\
Reproduce the deep-learning course's "Initialization" experiment exactly: a [2, 10, 5, 1] ReLU
net trained with full-batch gradient descent (lr 0.01, 15000 iterations) from three inits, each
drawn from a legacy RandomState(3): zeros, random (normal(10)) and he. Prints the accuracy
table; with --out also writes results.json, costs.png and boundaries.png. The published circles
table is zeros 0.5/0.5, random 0.83/0.86, he 0.9933/0.96 (train/test).

For the same three inits over many seeds with error bars, see 'initlab compare --preset coursera'.
For the activation-statistics studies, see 'initlab activations --preset saito|cs231n'.

examples:
  initlab reproduce coursera
  initlab reproduce coursera --dataset moons --out out/moons
  initlab reproduce coursera --json
"""


def add_arguments(parser) -> None:
    from initlab.experiments.classic import DATASETS

    parser.add_argument("study", metavar="EXPERIMENT", choices=["coursera"],
                        help="which experiment: coursera (the three-layer init table)")
    parser.add_argument("--dataset", choices=DATASETS, default="circles",
                        help="the course's data set (circles)")
    add_output_options(parser)


def run_classic(dataset: str, **kwargs):
    """:func:`initlab.experiments.classic.run_classic`, imported when a run needs it (the
    experiment loads the whole training stack; ``initlab --help`` imports this module)."""
    from initlab.experiments.classic import run_classic

    return run_classic(dataset, **kwargs)


def run(args) -> int:
    result = run_classic(args.dataset, progress=show_progress(args))
    figures = {}
    if args.out is not None:
        from initlab.plots.classic import boundary_figure, cost_figure

        figures = {"costs": cost_figure(result), "boundaries": boundary_figure(result)}
    emit(result, args, figures)
    return 0
