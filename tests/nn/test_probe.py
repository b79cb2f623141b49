"""initlab.nn.probe, the speed path of a deep net at initialization, against nn's own layers:
given products computed as Dense computes them, every value it reports is bit for bit what
Dense, BatchNorm/LayerNorm and ActivationLayer compute."""

import functools

import numpy as np
import pytest

from initlab.lsuv import lsuv, lsuv_scale
from initlab.nn import ActivationLayer, BatchNorm, Dense, LayerNorm, Sequential
from initlab.nn.probe import Observer, probe

ACTS = ["tanh", "relu", "sigmoid", "gelu", "leaky_relu(0.1)"]


class DenseProducts:
    """Each net's weights multiplied as :class:`Dense` multiplies them (W x^T)."""

    def __init__(self, weights):
        self.weights = weights  # per net, (out, in)

    def multiply(self, jobs, backward=False):
        out = []
        for net, s in jobs:
            w = self.weights[net][None]
            w = w.swapaxes(-1, -2) if backward else w
            out.append(np.matmul(w, s.swapaxes(-1, -2)).swapaxes(-1, -2))
        return out


class Record(Observer):
    def __init__(self):
        self.up, self.down = {}, {}

    def forward(self, net, layer, a, h):
        self.up[net, layer] = (a.copy(), h.copy())

    def backward(self, net, layer, tops, g, delta, h_prev):
        for t, top in enumerate(tops):
            self.down[net, layer, top] = (g[t].copy(), delta[t].copy(), h_prev.copy())


def draw(sizes, nets, dtype, seed=0, bias=0.0):
    rng = np.random.default_rng(seed)
    ws = [[rng.standard_normal((o, i)) * (1.5 / np.sqrt(i)) for o, i in zip(
        sizes[1:], sizes[:-1], strict=False)] for _ in range(nets)]
    bs = [rng.standard_normal(o) * bias for o in sizes[1:]]
    return ([[w.astype(dtype) for w in net] for net in ws], [b.astype(dtype) for b in bs],
            rng.standard_normal((6, sizes[0])).astype(dtype))


def plain_layers(weights, biases, act, norm, eps, dtype):
    """The net of one (init, activation): Dense -> [norm] -> ActivationLayer per layer."""
    layers = []
    for w, b in zip(weights, biases, strict=True):
        layers.append([Dense.from_arrays(w[None], b[None])])
        if norm == "batch":
            layers[-1].append(BatchNorm(w.shape[0], 1, eps=eps, dtype=dtype))
        elif norm == "layer":
            layers[-1].append(LayerNorm(w.shape[0], 1, eps=eps, dtype=dtype))
        layers[-1].append(ActivationLayer(act))
    return layers


def plain_pass(layers, x, tops, top_grads):
    """Forward in training mode; then, for each top, backward from it: the values the
    probe reports, from the layers' public forward and backward alone."""
    up, down, h = {}, {}, x
    for layer, parts in enumerate(layers, 1):
        for part in parts[:-1]:
            h = part.forward(h, train=True)
        a, h = h, parts[-1].forward(h, train=True)
        up[layer] = (np.array(a), np.array(h))
    for top in tops:
        grad = top_grads[top][None]
        for layer in range(top, 0, -1):
            g, parts = grad, layers[layer - 1]
            for part in reversed(parts[1:]):
                grad = np.array(part.backward(grad))
            h_prev = x if layer == 1 else up[layer - 1][1]
            down[layer, top] = (np.array(g), grad, h_prev)
            grad = np.array(parts[0].backward(grad))
    return up, down


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm, bias", [(None, 0.0), ("batch", 0.2), ("layer", 0.0)])
def test_probe_is_nns_layers_bit_for_bit(dtype, norm, bias):
    sizes, nets, tops, eps = [5, 7, 4, 6, 3], 2, [2, 4], 1e-5
    weights, biases, x = draw(sizes, nets, dtype, bias=bias)
    rng = np.random.default_rng(1)
    top_grads = {t: rng.standard_normal((len(x), sizes[t])).astype(dtype) for t in tops}
    seen = Record()
    probe(x, lambda layer: DenseProducts([w[layer - 1] for w in weights]), ACTS,
          len(sizes) - 1, lsuv=[None] * nets, bias=(lambda layer: biases[layer - 1]) if bias
          else None, norm=norm, eps=eps, tops=tops, top_gradient=top_grads.get,
          observer=seen)
    for net in range(nets):
        for k, act in enumerate(ACTS):
            up, down = plain_pass(plain_layers(weights[net], biases, act, norm, eps, dtype), x,
                                  tops, top_grads)
            for layer, (a, h) in up.items():
                a_seen, h_seen = seen.up[net, layer]
                np.testing.assert_array_equal(a_seen[k % len(a_seen)], a[0])
                np.testing.assert_array_equal(h_seen[k], h[0])
                assert h_seen.dtype == dtype
            assert set(down) == {(layer, top) for top in tops for layer in range(1, top + 1)}
            for (layer, top), (g, delta, h_prev) in down.items():
                g_seen, delta_seen, h_prev_seen = seen.down[net, layer, top]
                np.testing.assert_array_equal(g_seen[k], g[0])
                np.testing.assert_array_equal(delta_seen[k], delta[0])
                np.testing.assert_array_equal(h_prev_seen[k % len(h_prev_seen)],
                                              h_prev if layer == 1 else h_prev[0])


def test_forward_only_reports_no_gradient_and_lsuv_is_nns_lsuv():
    """Without a top gradient nothing goes down; an LSUV net is what initlab.lsuv.lsuv makes
    of the same weights (it divides the weights, the probe scales the products: the same
    numbers up to rounding, in the same number of rescalings)."""
    sizes = [8, 20, 20, 20]
    weights, biases, x = draw(sizes, 2, np.float64, bias=0.1)
    x = np.random.default_rng(2).standard_normal((50, 8))
    seen = Record()
    done = probe(x, lambda layer: DenseProducts([w[layer - 1] for w in weights]), ["tanh"],
                 3, lsuv=[None, functools.partial(lsuv_scale, tol=0.01, max_tries=20)],
                 bias=lambda layer: biases[layer - 1], observer=seen)
    assert not seen.down and done[0] == [] and len(done[1]) == 3
    layers = [layer for parts in plain_layers(weights[1], biases, "tanh", None, 1e-5,
                                              np.float64) for layer in parts]
    model = Sequential([*layers, Dense(20, 1, rngs=[np.random.default_rng(0)])])
    reached = lsuv(model, x, tol=0.01, max_tries=20, orthonormal=False)
    h = x
    for layer in range(1, 4):
        h = layers[2 * layer - 1].forward(layers[2 * layer - 2].forward(h))
        np.testing.assert_allclose(seen.up[1, layer][1][0], h[0], rtol=1e-9, atol=1e-12)
        tries, var = done[1][layer - 1][:, 0]
        assert var == pytest.approx(reached[layer - 1, 0], rel=1e-9) and tries >= 1
