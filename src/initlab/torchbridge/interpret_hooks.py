"""The leaf-module hooks of the mean-field interpreter (:mod:`initlab.torchbridge.interpret`):
each leaf module's call recorded with its output's predicted moments (inspect's rows), and
``transformers``' activation modules written in Python followed whole, as one elementwise
function of their input.
"""

from __future__ import annotations

from initlab.torchbridge.hooks import first_tensor, torch
from initlab.torchbridge.interpret import STAT_ATTR, UNKNOWN, Stat, stat_of, tracked


def elementwise_module(module) -> bool:
    """A leaf module that is an elementwise function of its one input, written in Python
    (``transformers.activations``: NewGELU, QuickGELU, ...): followed as a whole, since its
    inside multiplies a tensor by a function of itself, which per-op rules cannot see."""
    return type(module).__module__.startswith("transformers.activations")


def pause(mode, step):
    def hook(module, args):
        mode.paused += step
    return hook


def elementwise_hook(mode, module):
    from initlab.torchbridge.interpret_gauss import unary

    def hook(mod, args, output):
        mode.paused -= 1
        x = first_tensor(args)
        s = stat_of(x) if x is not None and tracked(x) else None
        if s is None or not isinstance(output, torch.Tensor) or output.shape != x.shape:
            return
        with torch._C.DisableTorchFunction():  # the quadrature's ops: past the mode
            smooth = type(module).__name__ in _SMOOTH_MODULES
            result = UNKNOWN if s is UNKNOWN else unary(module.forward, s, smooth=smooth)
        setattr(output, STAT_ATTR, result)
    return hook


#: The activation modules of ``transformers.activations`` without a kink (analytic: a
#: Gauss-Hermite rule integrates them; the others, ClippedGELU, ReLUSquared, xIELU, ..., are
#: split at 0 by Gauss-Legendre)
_SMOOTH_MODULES = frozenset((
    "GELUTanh", "PytorchGELUTanh", "NewGELUActivation", "GELUActivation", "SiLUActivation",
    "FastGELUActivation", "QuickGELUActivation", "AccurateGELUActivation", "MishActivation",
    "LaplaceActivation", "SqrtSoftplusActivation"))


def record(mode, trace, name):
    def hook(module, args, output):
        y = first_tensor(output)
        if y is None:
            return
        s = getattr(y, STAT_ATTR, None)
        if s is UNKNOWN:
            trace.calls.append((name, None))
            return
        with torch._C.DisableTorchFunction():  # our own ops: past the mode, not through it
            s = s if s is not None else Stat(y.detach().to(torch.float64))
            trace.calls.append((name, s.pooled()))
    return hook
