"""``initlab width coordcheck|transfer``: the width studies, two registered experiments.

Each action is the registered experiment ``width-ACTION`` (:data:`ACTIONS`), made into a
subcommand by :class:`~initlab.cli.experiment.ExperimentCommand` like every experiment command;
this module only nests them under ``width`` and runs a PyTorch factory through the bridge.
``initlab run`` finds an action from its experiment name (``experiment = "width-transfer"``)
through :func:`action_command`.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

from initlab.cli.common import Parser
from initlab.errors import InitlabError

HELP = "width and parametrization (SP, NTK, muP): coordinate checks and learning-rate transfer"
DESCRIPTION = """\
Does a net keep its behaviour as it widens? Two studies, each under the standard
parametrization (SP, PyTorch's defaults), NTK and muP (Yang et al. 2022, Tensor Programs V):

  coordcheck  the mean |x| of every layer over the first steps of Adam or SGD against width
              (mup's coordinate check), with the slope per layer and a verdict
  transfer    the final training loss against learning rate, one curve per width: where
              the optimum goes as the net widens, with its uncertainty over seeds

examples:
  initlab width coordcheck --widths 64,128,256,512,1024,2048 --out out/coord
  initlab width coordcheck mynet.py:make --width-arg d_model --widths 64,128,256
  initlab width transfer --params sp,mup --optimizers adam --out out/transfer
  initlab width transfer --widths 64,256,1024 --adam-lrs 1e-4,3e-4,1e-3,3e-3,1e-2 --json
"""

#: action -> registered experiment, with the action's help line and examples
ACTIONS = {
    "coordcheck": ("width-coordcheck", "mean |x| per layer over the first steps, against width",
                   """\
The same net at every width from several seeds, trained for --steps steps on one fixed batch;
before each update (and after the last) the mean |x| of every layer's output. The slope of
log2 mean|x| against log2 width per step and layer gives the verdict: stable when every slope
after the first update lies within +-band, else which layers blow up or vanish and from which
step. A FACTORY (FILE.py:FUNCTION taking the width as --width-arg) checks your own PyTorch
model instead of initlab's MLP (needs PyTorch). With --out: results.json, coordcheck.png.

examples:
  initlab width coordcheck --optimizer adam --lr 0.01 --steps 5 --seeds 3 --out out/coord
  initlab width coordcheck --optimizer sgd --lr 0.1 --params sp,mup --json
  initlab width coordcheck mynet.py:make --width-arg d_model --widths 64,128,256,512
"""),
    "transfer": ("width-transfer", "final loss against learning rate per width: does the "
                 "optimum move?", """\
Per parametrization, optimizer and width one model of (learning rates x seeds) replicas
trained for --steps minibatch steps; the final training loss per rate, the optimum per width
with the range of the seeds' own optima, the smallest rate that reaches --threshold, and how
far both move from the narrowest to the widest width. With --out: results.json, transfer.png.

examples:
  initlab width transfer --out out/transfer
  initlab width transfer --params sp,mup --optimizers sgd --widths 64,256,1024 --seeds 5
  initlab width transfer --dataset mnist --data ~/mnist --train-size 5000
"""),
}


def action_command(action: str):
    """The :class:`~initlab.cli.experiment.ExperimentCommand` of ``action``."""
    from initlab.cli.experiment import ExperimentCommand
    from initlab.errors import choose

    name, help_text, description = ACTIONS[choose(action, ACTIONS, "width action")]
    command = ExperimentCommand(SimpleNamespace(EXPERIMENT=name, HELP=help_text,
                                                DESCRIPTION=description))
    if action == "coordcheck":
        command.run = lambda args: _run_coordcheck(command, args)
    return command


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser,
                                required=True)
    for action in ACTIONS:
        command = action_command(action)
        p = sub.add_parser(action, help=command.HELP, description=command.DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(p)
        p.add_argument("--force", action="store_true",
                       help="run even where the estimated memory or time exceeds what the "
                       "machine has or the budget (1 h)")
        p.add_argument("--dump-config", action="store_true",
                       help="print these options as a TOML file for 'initlab run' and exit")
        p.set_defaults(width_command=command)


def check_inputs(args) -> None:
    args.width_command.check_inputs(args)


def estimate(args):
    if getattr(args.run_config, "factory", None) is not None:
        return None  # the user's model: its size is known only once it is built
    return args.width_command.estimate(args)


def dump(args) -> str:
    return args.width_command.dump(args)


def run(args) -> int:
    return args.width_command.run(args)


def _run_coordcheck(command, args) -> int:
    """The coordinate check; a FACTORY goes through the PyTorch bridge."""
    config = args.run_config
    if config.factory is None:
        return type(command).run(command, args)
    from initlab.cli.common import emit
    from initlab.cli.inspect_cmd import load_factory
    from initlab.torchbridge.width import coordcheck

    try:
        import torch  # noqa: F401 - only to say so in one line when it is missing
    except ImportError:
        raise InitlabError("a PyTorch factory needs PyTorch; install it with: pip install "
                           "torch") from None
    result = coordcheck(load_factory(config.factory), config)
    emit(result, args, command.experiment.figures(result) if getattr(args, "out", None)
         else None)
    return 0
