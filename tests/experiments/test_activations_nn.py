"""The activation study measures nn's nets: what Dense, BatchNorm and ActivationLayer compute
from the study's draws, and no module reaches into another's private names."""

import ast
from pathlib import Path

import numpy as np
import pytest

from initlab.experiments.activations import (
    draw_bias,
    draw_input,
    draw_top_gradient,
    draw_weight,
    run_activations,
)
from initlab.nn import ActivationLayer, BatchNorm, Dense

SRC = Path(__file__).resolve().parents[2] / "src" / "initlab"


def plain_net(init, act, sizes, seed, bias, dtype):
    """nn's layers holding the weights and biases the study draws for ``seed``."""
    layers = []
    for layer, shape in enumerate(zip(sizes[1:], sizes[:-1], strict=False), 1):
        w = draw_weight(init, shape, seed, layer, dtype)
        b = draw_bias(bias, shape[0], seed, layer, dtype)
        layers.append((Dense.from_arrays(w[None], b[None]),
                       BatchNorm(shape[0], 1, eps=1e-5, dtype=dtype), ActivationLayer(act)))
    return layers


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_every_statistic_is_that_of_nns_layers(dtype, rtol):
    """Forward (mean, std, pre-activation std) and backward (dL/dh and dL/dW, the latter as
    Dense's own weight gradient) from a unit-variance gradient at the top. The study
    multiplies x W^T, Dense W x^T: equal up to rounding (bit for bit:
    tests/nn/test_probe.py)."""
    sizes, n, seed, bias = [20, 30, 25, 16], 12, 3, 0.2
    result = run_activations(["he", "orthogonal"], ["tanh", "relu"], sizes=sizes, batch=n,
                             seed=seed, dtype=np.dtype(dtype).name, norm="batch", bias=bias)
    for run in result.runs:
        net = plain_net(run.init, run.activation, sizes, seed, bias, dtype)
        h = draw_input("normal", (n, sizes[0]), seed, dtype)
        for (dense, norm, act), stats in zip(net, run.layers, strict=True):
            a = norm.forward(dense.forward(h, train=True), train=True)
            h = act.forward(a, train=True)
            assert stats.std == pytest.approx(h.std(), rel=rtol)
            assert stats.mean == pytest.approx(h.mean(), rel=rtol)
            assert stats.pre_std == pytest.approx(a.std(), rel=rtol)
        grad = draw_top_gradient((n, sizes[-1]), seed, dtype)[None]
        for (dense, norm, act), stats in reversed(list(zip(net, run.layers, strict=True))):
            assert stats.grad_std == pytest.approx(grad.std(), rel=rtol)
            grad = dense.backward(norm.backward(act.backward(grad)))
            assert stats.weight_grad_std == pytest.approx(dense.weight.grad.std(), rel=rtol)


def test_no_module_imports_a_private_name_of_another():
    """``from initlab.x import _name`` reaches past a module's public face (the explorer
    once imported the study's ``_edges``, the study weight_draws' ``_BY_BLOCKS``)."""
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("initlab"):
                found += [f"{path.relative_to(SRC)}: {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found
