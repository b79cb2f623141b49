"""Options and rules that several experiments' Configs share: init specs, activations,
optimizers, norms, dtypes, data sets and files (each looked up as the run will, when a value is
checked), the seed range, and the choice between iterations and epochs.
"""

from __future__ import annotations

import dataclasses

from initlab.errors import MAX_SEED, InitlabError, choose
from initlab.experiments.config import at_least, nonempty, option, valid

# ---- options that many experiments share (validators imported when a value is checked) ----

def _init_spec(spec):
    from initlab.init import get_initializer

    get_initializer(spec)


def _activation(spec):
    from initlab.nn.activations import get_activation

    get_activation(spec)


def _optimizer(spec):
    from initlab.optim import get_optimizer

    get_optimizer(spec)


def _norm(name):
    from initlab.nn.norm import check_norm

    check_norm(name)


def _existing_path(path) -> None:
    if not path.expanduser().exists():
        raise InitlabError(f"file not found: {str(path.expanduser())!r}")


def inits_option(default: tuple[str, ...], help: str = "comma-separated init specs",
                 group: str | None = None):
    """Init spec strings (``zeros,normal(10),he``), each looked up as the run will."""
    return option(default, help, check=lambda v: nonempty(v) or valid(_init_spec)(v),
                  group=group, metavar="SPECS")


def activation_option(default: str, help: str = "hidden activation, e.g. relu, tanh, "
                      "leaky_relu(0.1)", group: str | None = None):
    return option(default, help, check=valid(_activation), group=group)


def optimizer_option(default: str = "sgd", group: str | None = None):
    return option(default, "sgd, momentum, nesterov, adagrad, rmsprop or adam (with "
                  "arguments, e.g. adam(beta1=0.8))", check=valid(_optimizer), group=group)


def norm_option(default: str | None = None, group: str | None = None):
    return option(default, "batch or layer: a normalization between each hidden linear layer "
                  "and its activation (default: none)", check=valid(_norm), group=group)


def dtype_option(default: str = "float32", group: str | None = None):
    return option(default, "floating-point type of the weights and the arithmetic",
                  choices=("float32", "float64"), group=group)


def data_path_option(group: str | None = None):
    """``--data PATH``: MNIST-style files the user supplies (checked to exist)."""
    return option(None, "MNIST-style files for --dataset mnist (an IDX folder or file, CSV "
                  "or NPZ)", check=_existing_path, group=group, metavar="PATH")


def dataset_option(default: str, group: str | None = None):
    from initlab.data.builtin import DATASETS

    return option(default, "data set: " + ", ".join(DATASETS),
                  check=valid(lambda name: choose(name, DATASETS, "dataset")), group=group,
                  metavar="NAME")


def residual_option(help: str, group: str | None = None):
    """``--residual``: the nets are residual MLPs (``mlp(..., residual=True)``), whose inits
    may be residual schemes (fixup, skipinit, ...); ``help`` says what the command then
    measures."""
    return option(False, help, group=group)


# ---- rules and steps that several experiments share ------------------------------------------

def config_of(cls, config, options: dict, source: str):
    """The ``cls`` Config a run function was given: ``config`` as it is, or one made from the
    keyword ``options`` (checked, errors naming ``source``); both at once raise."""
    if config is None:
        return cls.from_dict(options, source=source)
    if options:
        raise InitlabError(f"give {source} a config or keyword options, not both")
    return config


def seeds_problem(seed: int, seeds: int) -> str | None:
    """The rule of ``seeds`` seeds ``seed``, ``seed + 1``, ...: the last is a seed too."""
    if seed + seeds - 1 > MAX_SEED:
        return (f"the seeds {seed}..{seed + seeds - 1} pass the largest seed, {MAX_SEED}: "
                "lower seed or seeds")
    return None


def one_length(cls, given: dict, merged: dict, default: str) -> dict:
    """For :meth:`Config.adjust`: ``iterations`` or ``epochs`` given alone replaces the other
    (a preset's too); neither (both None) means the ``default`` one (``"iterations"`` or
    ``"epochs"``) with its default value."""
    other = "epochs" if default == "iterations" else "iterations"
    if other in given and default not in given:
        merged[default] = None
    if merged.get("iterations") is None and merged.get("epochs") is None:
        merged[default] = {f.name: f.default for f in dataclasses.fields(cls)}[default]
    return merged


def residual_scheme_problem(inits, residual: bool) -> str | None:
    """A residual scheme (fixup, skipinit, ...) sets a whole residual net: without
    ``--residual`` there is none to set."""
    from initlab.init.residual import is_residual_scheme

    scheme = None if residual else next((s for s in inits if is_residual_scheme(s)), None)
    if scheme is None:
        return None
    return (f"init {scheme!r} is a scheme for residual nets: add --residual, or give a plain "
            "init (he, lecun, ...)")


def length_problem(iterations: int | None, epochs: int | None) -> str | None:
    """A training length is ``iterations`` or ``epochs``, exactly one of them."""
    if (iterations is None) == (epochs is None):
        return (f"give iterations or epochs, one of them (got iterations={iterations}, "
                f"epochs={epochs})")
    return None


# ---- width studies: parametrizations and widths ----------------------------------------------

def params_option(default: tuple[str, ...], group: str | None = None):
    """Width parametrizations (:mod:`initlab.nn.parametrization`): sp, ntk, mup."""
    from initlab.nn.parametrization import PARAMETRIZATIONS

    return option(default, "width parametrizations: " + ", ".join(PARAMETRIZATIONS) + " (SP: "
                  "the init as given and one learning rate; NTK; muP, Tensor Programs V)",
                  choices=PARAMETRIZATIONS, check=nonempty, group=group, metavar="P1,P2")


def base_width_option(group: str | None = None):
    return option(None, "base width n0 of the parametrizations: the width at which every one "
                  "is SP (default: the smallest width)", check=at_least(1), group=group)


def param_option(group: str | None = None):
    """``--param``: the width parametrization of a training command's net."""
    from initlab.nn.parametrization import PARAMETRIZATIONS

    return option("sp", "width parametrization: sp (the init as given, one learning rate), "
                  "ntk or mup (Tensor Programs V), relative to --base-width",
                  choices=PARAMETRIZATIONS, group=group)


def param_problem(param: str, base_width: int | None, layers: tuple[int, ...]) -> str | None:
    """NTK and muP need a base width no larger than any hidden layer."""
    if param == "sp":
        return None
    if base_width is None:
        return f"--param {param} needs --base-width (the width at which it equals sp)"
    if layers and base_width > min(layers):
        return (f"base width {base_width} is larger than width {min(layers)}; the base width "
                "must be at most every hidden layer size")
    return None


def widths_problem(widths: tuple[int, ...], base_width: int | None) -> str | None:
    """Widths of a width study: at least two, distinct, none below the base width."""
    if len(set(widths)) < 2 or len(set(widths)) != len(widths):
        return f"widths must be at least two distinct values, got {list(widths)}"
    if base_width is not None and base_width > min(widths):
        return (f"base width {base_width} is larger than width {min(widths)}; the base width "
                "must be at most every width")
    return None



def data_means_mnist(merged: dict) -> dict:
    """``--data`` with the digits data set means MNIST files (as ``--data`` always has): the
    rule of a Config's ``adjust`` for the commands that train on digits or MNIST."""
    if merged.get("data") is not None and merged.get("dataset") == "digits":
        merged["dataset"] = "mnist"
    return merged

__all__ = ["activation_option", "base_width_option", "config_of", "data_means_mnist",
           "data_path_option", "dataset_option", "dtype_option", "inits_option",
           "length_problem", "norm_option", "one_length", "optimizer_option", "param_option",
           "param_problem", "params_option", "residual_option", "residual_scheme_problem",
           "seeds_problem", "widths_problem"]
