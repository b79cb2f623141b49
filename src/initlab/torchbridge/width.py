"""The coordinate check of your own PyTorch model: ``initlab width coordcheck mynet.py:make``.

``make(**{width_arg: n})`` builds the model at width n. Which dimensions are widths is found
as mup's ``set_base_shapes(model, base, delta=...)`` finds them: the shapes of every parameter
at the base width and at another width are compared, and a dimension that differs is a width
(multiplier m = size / base size). The parametrization is then applied with the rules of
:mod:`initlab.nn.parametrization` (Tensor Programs V, Table 8): an ``nn.Linear`` with a width
fan-in and a finite fan-out is a readout (weight and bias x sqrt(m), its input x 1/m through a
forward pre-hook, as ``MuReadout``), other Linear biases with a width fan-in x sqrt(m); the
learning rate of every parameter is scaled per optimizer kind as ``MuAdam``/``MuSGD`` scale it
(two width dimensions: Adam 1/m_in, SGD m_out/m_in; one: Adam 1, SGD x m; none: 1; NTK: the
Linear rules of :func:`~initlab.nn.parametrization.layer_rules` for the fan-in).

The model takes a batch of the data set's inputs (N, features) and returns logits (N, classes);
the loss is the mean cross-entropy. Statistics are the mean |y| of every leaf module's output.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.errors import InitlabError
from initlab.experiments.common import get_dataset
from initlab.experiments.width_coordcheck import CoordCheckConfig, CoordCheckResult, summarize
from initlab.nn.parametrization import mup_rule, ntk_rule
from initlab.torchbridge.hooks import first_tensor, leaf_modules, require_torch


def build(make, width_arg: str, width: int):
    """``make(**{width_arg: width})``; what the factory raises becomes one line naming it."""
    try:
        return make(**{width_arg: width})
    except Exception as exc:  # the user's code may raise anything
        raise InitlabError(f"the factory rejected {width_arg}={width}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())}") from None


def width_mults(model, base_model, other_model) -> dict:
    """{parameter name: [m per dimension, None for a finite one]} from the three models'
    shapes (``other_model``: the same net at a width other than the base)."""
    base = dict(base_model.named_parameters())
    other = dict(other_model.named_parameters())
    found = {}
    for name, p in model.named_parameters():
        b, o = base[name].shape, other[name].shape
        found[name] = [None if bd == od else d / bd for d, bd, od in zip(p.shape, b, o,
                                                                          strict=True)]
    return found


def parametrize(model, mults: dict, param: str, kind: str) -> list[dict]:
    """Apply ``param`` to ``model`` in place (init rescaling, readout multiplier) and return
    torch optimizer parameter groups with their learning-rate multiplier (``lr_scale``) for
    optimizer ``kind`` (``sgd`` or ``adam``)."""
    torch = require_torch()
    groups, seen = [], set()
    for _, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        m = mults[_name_of(model, module.weight)]
        m_out, m_in = m[0] or 1.0, m[1] or 1.0
        rule = mup_rule(m_in, m_out, m[1] is not None, m[0] is not None) if param == "mup" \
            else ntk_rule(m_in, m[1] is not None) if param == "ntk" else None
        if rule is None:
            continue
        with torch.no_grad():
            module.weight.mul_(rule.init_weight)
            if module.bias is not None:
                module.bias.mul_(rule.init_bias)
        if rule.multiplier != 1.0:
            module.register_forward_pre_hook(
                lambda _, args, c=rule.multiplier: (args[0] * c, *args[1:]))
        w, b = rule.lr[kind]
        groups.append({"params": [module.weight], "lr_scale": w})
        seen.add(id(module.weight))
        if module.bias is not None:
            groups.append({"params": [module.bias], "lr_scale": b})
            seen.add(id(module.bias))
    for name, p in model.named_parameters():  # the rest: mup's vector / matrix rules
        if id(p) not in seen:
            groups.append({"params": [p], "lr_scale": _other_scale(mults[name], param, kind)})
    return groups


def _name_of(model, tensor) -> str:
    return next(n for n, p in model.named_parameters() if p is tensor)


def _other_scale(m: list, param: str, kind: str) -> float:
    """A parameter outside nn.Linear: MuAdam / MuSGD's rule (NTK and SP: unchanged)."""
    inf = [x for x in m if x is not None]
    if param != "mup" or not inf:
        return 1.0
    if len(inf) == 1:
        return 1.0 if kind == "adam" else inf[0]
    fan_out, fan_in = (m[0] or 1.0), (m[1] or 1.0)
    return 1.0 / fan_in if kind == "adam" else fan_out / fan_in


def coordcheck(make, config: CoordCheckConfig) -> CoordCheckResult:
    """The coordinate check of the model ``make`` builds (see the module docstring)."""
    torch = require_torch()
    c = config
    name, _, args = c.optimizer.partition("(")
    if name not in ("sgd", "adam") or args:
        raise InitlabError(f"a PyTorch factory trains with sgd or adam, got {c.optimizer!r}")
    ds = get_dataset(c.dataset, seed=0, data=c.data)
    X = torch.tensor(ds.X_train[:c.batch], dtype=getattr(torch, c.dtype))
    y = torch.tensor(ds.y_train[:c.batch])
    base = c.base_width or min(c.widths)
    other = next((w for w in sorted(c.widths) if w != base), 2 * base)
    shapes = (build(make, c.width_arg, base), build(make, c.width_arg, other))
    stats, names = {}, None
    for p in c.params:
        for w in c.widths:
            runs = []
            for seed in range(c.seed, c.seed + c.seeds):
                torch.manual_seed(seed)
                model = build(make, c.width_arg, w).to(getattr(torch, c.dtype))
                out, names = _steps(model, width_mults(model, *shapes), p, c, X, y)
                runs.append(out)
            stats[p, w] = np.stack(runs, axis=-1)
    return summarize(c, stats, names, {"dataset": ds.name, "batch": len(X), "base_width": base,
                                       "factory": c.factory})


def _steps(model, mults, param: str, c: CoordCheckConfig, X, y):
    """(steps + 1, leaf modules) mean |y| of one model, and the modules' names."""
    torch = require_torch()
    groups = parametrize(model, mults, param, c.optimizer)
    for g in groups:
        g["lr"] = c.lr * g.pop("lr_scale")
    opt = (torch.optim.Adam if c.optimizer == "adam" else torch.optim.SGD)(groups, lr=c.lr)
    leaves = leaf_modules(model)
    out = np.empty((c.steps + 1, len(leaves)))
    for s in range(c.steps + 1):
        seen = {}
        handles = [m.register_forward_hook(
            lambda _, __, o, k=k, seen=seen: seen.__setitem__(
                k, first_tensor(o).detach().abs().mean()))
            for k, (_, m) in enumerate(leaves)]
        logits = model(X)
        for h in handles:
            h.remove()
        out[s] = [float(seen.get(k, math.nan)) for k in range(len(leaves))]
        if s == c.steps:
            break
        opt.zero_grad()
        torch.nn.functional.cross_entropy(logits, y).backward()
        opt.step()
    return out, [n for n, _ in leaves]


__all__ = ["build", "coordcheck", "parametrize", "width_mults"]
