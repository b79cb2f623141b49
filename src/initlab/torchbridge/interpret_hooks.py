"""The leaf-module hooks of the mean-field interpreter (:mod:`initlab.torchbridge.interpret`):
each leaf module's call recorded with its output's predicted moments (inspect's rows);
``transformers``' activation modules written in Python followed whole, as one elementwise
function of their input; and modules written in Python that compute torch's ``rms_norm``
(``transformers``' LlamaRMSNorm and its copies) followed whole, by the RMSNorm rule.
"""

from __future__ import annotations

from initlab.torchbridge.hooks import first_tensor, torch
from initlab.torchbridge.interpret import STAT_ATTR, UNKNOWN, Stat, stat_of, tracked


def install(mode, trace) -> list:
    """The hooks of every leaf module of ``trace.modules``: each call recorded, and the
    modules followed whole (an elementwise activation, a written-out RMSNorm) paused inside;
    returns the handles to remove."""
    handles = []
    for name, module in trace.modules.items():
        whole = _whole_hook_of(mode, module)
        if whole is not None:
            handles.append(module.register_forward_pre_hook(pause(mode, 1)))
            handles.append(module.register_forward_hook(whole))
        handles.append(module.register_forward_hook(record(mode, trace, name)))
    return handles


def _whole_hook_of(mode, module):
    """The hook that follows ``module`` whole, or None where its ops are followed one by one."""
    if elementwise_module(module):
        return elementwise_hook(mode, module)
    eps = rms_norm_module(module)
    return None if eps is None else rms_norm_hook(mode, module, eps)


def elementwise_module(module) -> bool:
    """A leaf module that is an elementwise function of its one input, written in Python
    (``transformers.activations``: NewGELU, QuickGELU, ...): followed as a whole, since its
    inside multiplies a tensor by a function of itself, which per-op rules cannot see."""
    return type(module).__module__.startswith("transformers.activations")


def pause(mode, step):
    def hook(module, args):
        mode.paused += step
    return hook


def whole_hook(mode, rule):
    """The forward hook of a module followed whole (its forward ran paused, :func:`pause`):
    its output's Stat is ``rule`` of its input's, computed past the mode."""
    def hook(mod, args, output):
        mode.paused -= 1
        x = first_tensor(args)
        s = stat_of(x) if x is not None and tracked(x) else None
        if s is None or not isinstance(output, torch.Tensor) or output.shape != x.shape:
            return
        with torch._C.DisableTorchFunction():  # the rule's ops: past the mode
            setattr(output, STAT_ATTR, UNKNOWN if s is UNKNOWN else rule(s))
    return hook


def elementwise_hook(mode, module):
    from initlab.torchbridge.interpret_gauss import unary

    smooth = type(module).__name__ in _SMOOTH_MODULES
    return whole_hook(mode, lambda s: unary(module.forward, s, smooth=smooth))


#: The activation modules of ``transformers.activations`` without a kink (analytic: a
#: Gauss-Hermite rule integrates them; the others, ClippedGELU, ReLUSquared, xIELU, ..., are
#: split at 0 by Gauss-Legendre)
_SMOOTH_MODULES = frozenset((
    "GELUTanh", "PytorchGELUTanh", "NewGELUActivation", "GELUActivation", "SiLUActivation",
    "FastGELUActivation", "QuickGELUActivation", "AccurateGELUActivation", "MishActivation",
    "LaplaceActivation", "SqrtSoftplusActivation"))


def rms_norm_module(module) -> float | None:
    """The epsilon of a module written outside torch whose forward is ``F.rms_norm`` over the
    last dim with its own 1-d weight (``transformers``' LlamaRMSNorm, Qwen2RMSNorm, ...: a
    square, a mean, rsqrt and two products, which the per-op rules follow as independent
    factors, at seven rules' cost); None for any other. Checked on a random probe through
    the module's own forward (no hooks run), not by its name: Gemma's RMSNorm multiplies by
    1 + weight, fails the check, and is followed op by op."""
    w = getattr(module, "weight", None)
    eps = getattr(module, "variance_epsilon", getattr(module, "eps", None))
    if (type(module).__module__.startswith("torch.") or not isinstance(w, torch.Tensor)
            or w.dim() != 1 or not w.is_floating_point() or isinstance(eps, bool)
            or not isinstance(eps, float) or getattr(module, "bias", None) is not None):
        return None  # (a bias: a LayerNorm, as ConvNeXt's, not probed at every prediction)
    gen = torch.Generator().manual_seed(0)
    probe = torch.randn(2, 3, w.shape[0], generator=gen).to(device=w.device, dtype=w.dtype)
    try:
        with torch.no_grad():
            y = module.forward(probe)
    except Exception:  # a forward of other arguments: not one
        return None
    ref = torch.nn.functional.rms_norm(probe, (w.shape[0],), w.detach(), eps)
    same = isinstance(y, torch.Tensor) and y.shape == ref.shape and bool(
        torch.allclose(y, ref, rtol=max(1e-4, 8 * torch.finfo(w.dtype).eps), atol=1e-6))
    return eps if same else None


def rms_norm_hook(mode, module, eps: float):
    from initlab.torchbridge.interpret_layers import normalize

    return whole_hook(mode, lambda s: normalize(s, (-1,), module.weight, None, eps,
                                                center=False))


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
