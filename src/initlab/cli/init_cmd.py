"""``initlab init``: list the initializers, or draw one and report its formula and sample."""

from __future__ import annotations

import json

from initlab.cli.common import int_list, seed_int
from initlab.errors import InitlabError

HELP = "list the initializers, or draw one and show its fans, gain, std and sample"
DESCRIPTION = """\
Draw one tensor with an initializer and show what its formula says (fan_in, fan_out, gain, and
the exact mean and std of the drawn entries, uniform bound; torch_default's bias bound) next to
what the sample shows (mean, std, min, max). Shapes use PyTorch's layout (out, in, *kernel), so
the numbers mean the same as in torch.nn.init.

examples:
  initlab init --list
  initlab init he --shape 100,100
  initlab init "kaiming_uniform(mode=fan_out, nonlinearity=leaky_relu, a=0.2)" --shape 64,32,3,3
  initlab init "normal(0.01)" --shape 4096,4096 --seed 1 --json
  initlab init torch_default --shape 100,784     # nn.Linear's default weight and bias
  initlab init "lsuv(he)" --shape 100,784        # the base draw; LSUV rescales on data later
"""


def add_arguments(parser) -> None:
    parser.add_argument("spec", nargs="?", metavar="SPEC",
                        help="initializer spec, e.g. he, normal(0.01), orthogonal(gain=2)")
    parser.add_argument("--list", action="store_true",
                        help="list every initializer and alias with its formula")
    parser.add_argument("--shape", type=int_list, default=None, metavar="DIMS",
                        help="comma-separated shape (out, in, *kernel), e.g. 64,32,3,3")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the random stream (0)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="dtype of the drawn sample (float64)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


#: Initializers registered under their own name that draw exactly what a parameterized base
#: draws (to rounding: tests check it), marked as aliases in --list.
SAME_AS = {"he": "kaiming_normal(nonlinearity=relu)"}


def check_inputs(args) -> None:
    """The initializer's name and parameters, before the estimate (:mod:`initlab.cli.guard`)."""
    from initlab.cli.common import check_names

    if args.spec is not None and not args.list:
        check_names(inits=[args.spec])


def estimate(args):
    """Memory and time of drawing the tensor (orthogonal: a QR of the flattened matrix)."""
    import numpy as np

    from initlab.runtime.budget import tensor_draw

    if args.list or args.spec is None or args.shape is None:
        return None
    n = int(np.prod(args.shape, dtype=object))
    matrix = (args.shape[0], n // args.shape[0]) if "orthogonal" in args.spec else None
    return tensor_draw(n, np.dtype(args.dtype).itemsize, matrix,
                       f"drawing a {'x'.join(map(str, args.shape))} tensor")


def run(args) -> int:
    import numpy as np

    from initlab.init import catalogue, describe, get_initializer
    from initlab.results import format_table

    if args.list and args.spec is not None:
        raise InitlabError(f"give either an initializer SPEC ({args.spec!r}) or --list, "
                           "not both")
    if args.list:
        rows = [{**r, "alias_of": r["alias_of"] or SAME_AS.get(r["name"])} for r in catalogue()]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(format_table(["name", "alias of", "formula"],
                               [[r["name"], r["alias_of"] or "", r["formula"]] for r in rows]))
        return 0
    if args.spec is None:
        raise InitlabError("give an initializer SPEC (see 'initlab init --list') or --list")
    if args.shape is None:
        raise InitlabError("give the tensor shape with --shape, e.g. --shape 64,32")
    info = describe(args.spec, args.shape)
    w = get_initializer(args.spec)(tuple(args.shape), np.random.default_rng(args.seed),
                                   dtype=np.dtype(args.dtype).type)
    info["sample"] = {"mean": float(w.mean()), "std": float(w.std()),
                      "min": float(w.min()), "max": float(w.max())}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    rows = [[k, "-" if info[k] is None else info[k]]
            for k in ("spec", "shape", "fan_in", "fan_out", "gain", "mean", "std", "bound")]
    rows[1][1] = "x".join(map(str, info["shape"]))
    rows += [[k, info[k]] for k in ("bias_bound", "note") if k in info]
    rows += [[f"sample {k}", v] for k, v in info["sample"].items()]
    print(format_table(["quantity", "value"], rows))
    return 0
