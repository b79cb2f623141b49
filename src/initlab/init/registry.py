"""The registry of initializers, and the two ways to name one: spec strings and :func:`get`.

Every initializer is registered from a *law function* ``law(shape, **params) -> Law`` and
becomes the pure function ``f(shape, rng, *params, dtype=float64) -> ndarray``. Names map to
them through the plain dict :data:`INITIALIZERS`. A spec string (``he``, ``normal(0.01)``,
``kaiming_uniform(mode=fan_out)``; the command line) and :func:`get` (Python, no strings to
build) both return a bound :class:`Initializer`.

>>> get("kaiming_uniform", mode="fan_out", a=0.2)
Initializer('kaiming_uniform(mode=fan_out, a=0.2)')
"""

from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError
from initlab.init.fans import check_shape, fans
from initlab.init.laws import Law
from initlab.spec import bind, lookup, parse_spec

INITIALIZERS: dict[str, Callable] = {}
ALIASES: dict[str, str] = {}
#: Initializers that also set a layer's bias: name -> ``law(weight_shape) -> Law`` of the bias.
BIAS_LAWS: dict[str, Callable[[tuple], Law]] = {}
#: torch's and Keras' argument names, accepted where initlab's differ.
ARG_ALIASES = {"val": "value", "stddev": "std", "minval": "a", "maxval": "b"}
#: Initializers whose positional arguments would read differently in torch (normal_(mean, std)).
ONE_POSITIONAL = ("normal", "trunc_normal")
ZERO_ELEMENT_WARNING = "Initializing zero-element tensors is a no-op"


def _params(law_fn: Callable, args: tuple, kwargs: dict, spec: str) -> dict:
    """Bind ``args``/``kwargs`` to ``law_fn``'s parameters (after the shape), accepting torch's
    and Keras' names and refusing ambiguous positionals."""
    names = list(inspect.signature(law_fn).parameters)[1:]
    kwargs = {ARG_ALIASES[k] if k not in names and ARG_ALIASES.get(k) in names else k: v
              for k, v in kwargs.items()}
    name = law_fn.__name__
    if name in ONE_POSITIONAL and len(args) >= 2:
        raise InitlabError(
            f"{spec!r}: {name} takes at most one positional argument, the std "
            f"({name}(10) draws randn * 10); torch's {name}_ takes (mean, std) in the other "
            f"order, so give the rest by keyword, e.g. {name}(mean=0, std=0.02)")
    return bind(law_fn, args, kwargs, 1, spec)


def initializer(law_fn: Callable[..., Law] | None = None, *, bias=None):
    """Register ``law_fn(shape, *params) -> Law`` as the initializer ``f(shape, rng, *params)``.

    bias: optional ``law(weight_shape) -> Law`` for an initializer that also sets the bias.
    A shape with a zero size warns as torch does and returns an empty array.
    """
    if law_fn is None:
        return functools.partial(initializer, bias=bias)

    @functools.wraps(law_fn)
    def draw(shape, rng=None, *args, dtype=np.float64, **kwargs):
        shape = check_shape(shape)
        params = _params(law_fn, args, kwargs, law_fn.__name__)
        dtype = np.dtype(dtype).type
        if 0 in shape:
            warnings.warn(ZERO_ELEMENT_WARNING, UserWarning, stacklevel=2)
            return np.empty(shape, dtype=dtype)
        return law_fn(shape, **params).sample(shape, rng, dtype)

    params = list(inspect.signature(law_fn).parameters.values())
    rng_param = inspect.Parameter("rng", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    dtype_param = inspect.Parameter("dtype", inspect.Parameter.KEYWORD_ONLY, default=np.float64)
    draw.__signature__ = inspect.Signature([params[0], rng_param, *params[1:], dtype_param])
    draw.law = law_fn
    INITIALIZERS[law_fn.__name__] = draw
    if bias is not None:
        BIAS_LAWS[law_fn.__name__] = bias
    return draw


def alias(name: str, target: str) -> None:
    """Register ``name`` as another name of the initializer ``target``."""
    ALIASES[name] = target
    INITIALIZERS[name] = INITIALIZERS[target]


@dataclass(frozen=True)
class Initializer:
    """An initializer with its parameters bound, from :func:`get_initializer` or :func:`get`;
    call it as ``init(shape, rng, dtype=...)``."""

    spec: str
    name: str
    params: dict

    def __call__(self, shape, rng, dtype=np.float64) -> np.ndarray:
        return INITIALIZERS[self.name](shape, rng, dtype=dtype, **self.params)

    @property
    def canonical(self) -> str:
        """The registered name this one is an alias of (or its own name)."""
        return ALIASES.get(self.name, self.name)

    def law(self, shape) -> Law:
        return INITIALIZERS[self.name].law(check_shape(shape), **self.params)

    def bias_law(self, weight_shape) -> Law | None:
        """The law of the bias this initializer also sets (None: it leaves the bias alone)."""
        fn = BIAS_LAWS.get(self.canonical)
        return None if fn is None else fn(check_shape(weight_shape))

    @property
    def lsuv(self) -> dict | None:
        """``{"tol": ..., "max_tries": ...}`` for an LSUV init (rescaled on data inside a model
        after drawing its base), else None."""
        if self.canonical != "lsuv":
            return None
        law = inspect.signature(INITIALIZERS["lsuv"].law).parameters
        return {k: self.params.get(k, law[k].default) for k in ("tol", "max_tries")}

    def __repr__(self) -> str:
        return f"Initializer({self.spec!r})"


def _check(init: Initializer) -> Initializer:
    if init.canonical not in ("eye", "dirac", "delta_orthogonal"):  # shape-specific: when drawn
        init.law((4, 3))
    return init


def get_initializer(spec: str | Initializer) -> Initializer:
    """Parse a spec string such as ``he``, ``normal(0.01)`` or ``kaiming_uniform(mode=fan_out)``.

    Unknown names or parameters raise :class:`InitlabError` listing the valid ones; parameter
    values are checked on a small shape so a bad mode is caught here, not at training time.
    """
    if isinstance(spec, Initializer):
        return spec
    name, args, kwargs = parse_spec(spec)
    func = lookup(INITIALIZERS, name, "initializer")
    return _check(Initializer(spec.strip(), name, _params(func.law, args, kwargs, spec)))


def _word(value) -> str:
    if isinstance(value, str) and value.replace("_", "").isalnum():
        return value
    if value is None or isinstance(value, (bool, numbers.Real)):
        return str(value).lower() if value is None or isinstance(value, bool) else repr(value)
    raise InitlabError(f"an initializer parameter must be a number, a word, true/false or None, "
                       f"got {value!r}")


def get(name: str, *args, **params) -> Initializer:
    """The initializer ``name`` with its parameters given as Python values (no spec string).

    ``get("kaiming_uniform", mode="fan_out", a=0.2)`` is the same initializer as the spec
    ``kaiming_uniform(mode=fan_out, a=0.2)``; its ``.spec`` is that string.

    Args:
        name: a registered name (``initlab init --list``), e.g. ``"kaiming_uniform"``.
        args, params: its parameters, as in the spec string (torch's names accepted).
    """
    if not isinstance(name, str):
        raise InitlabError(f"the initializer name must be a string, got {name!r}")
    func = lookup(INITIALIZERS, name.strip().lower(), "initializer")
    parts = [_word(a) for a in args] + [f"{k}={_word(v)}" for k, v in params.items()]
    key = name.strip().lower()
    spec = f"{key}({', '.join(parts)})" if parts else key
    return _check(Initializer(spec, key, _params(func.law, args, params, spec)))


def describe(spec: str | Initializer, shape) -> dict:
    """Fans, gain, and the exact mean and std of the entries ``spec`` draws at ``shape``
    (after truncation, with the zeros of sparse, of the semi-orthogonal matrix), the bound of
    uniform schemes, ``bias_bound`` for an init that also sets the bias (``torch_default``)
    and a ``note`` for LSUV."""
    init = get_initializer(spec)
    shape = check_shape(shape)
    fan_in, fan_out = fans(shape) if len(shape) >= 2 else (None, None)
    info = {"spec": init.spec, "shape": list(shape), "fan_in": fan_in, "fan_out": fan_out,
            "gain": None, "mean": None, "std": None, "bound": None}
    if 0 in shape:
        return info
    law = init.law(shape)
    mean, var = law.moments(shape)
    info.update(gain=law.gain, mean=mean, std=float(np.sqrt(var)), bound=law.bound)
    bias = init.bias_law(shape)
    if bias is not None:
        info["bias_bound"] = bias.bound
    if init.lsuv is not None:
        info["note"] = ("LSUV: the numbers of the base init; inside a model each layer is then "
                        "rescaled on a data batch to output variance 1")
    return info


def formula(name: str) -> str:
    """The ``Formula:`` sentence of an initializer's docstring."""
    doc = " ".join(inspect.getdoc(INITIALIZERS[name]).split())
    return doc.split("Formula: ", 1)[1] if "Formula: " in doc else doc


def catalogue() -> list[dict]:
    """Every initializer and alias with its formula, for ``initlab init --list``."""
    return [{"name": n, "alias_of": ALIASES.get(n), "formula": formula(n)}
            for n in sorted(INITIALIZERS)]
