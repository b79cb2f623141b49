"""Every depth from one forward pass, the stacked statistics, kept weights, drawing threads."""

import numpy as np
import pytest

from initlab.experiments import weight_draws
from initlab.experiments.activations import run_activations, run_activations_by_depth
from initlab.experiments.layer_stats import (
    GRAD_EDGES,
    Moments,
    histogram_rows,
    row_moments,
    weight_grad_moments,
    weight_grad_rows,
)
from initlab.experiments.weight_draws import (
    LayerWeight,
    LayerWeights,
    default_threads,
    init_groups,
    layer_product,
)
from initlab.init import get_initializer


@pytest.mark.parametrize("options", [
    {"inits": ["he", "normal(0.01)", "orthogonal"], "activations": ["tanh", "relu", "sigmoid"],
     "depth": 5, "width": 32, "batch": 16},
    {"inits": ["normal(1)", "lsuv"], "activations": ["tanh", "selu"], "depth": 4, "width": 16,
     "batch": 64, "seeds": 2, "bias": 0.1, "norm": "batch"},
    {"inits": ["xavier"], "activations": ["relu"], "sizes": [12, 20, 8, 5], "batch": 8,
     "norm": "layer", "dtype": "float64"},
])
def test_every_depth_is_run_activations_at_that_depth_bit_for_bit(options):
    """One forward pass and a backward pass per top layer give, for each depth d, exactly
    what run_activations prints for depth d: same floats, verdicts, histograms, config."""
    results = run_activations_by_depth(**options)
    sizes = options.pop("sizes", None)
    depth = options.pop("depth", None) or len(sizes) - 1
    assert len(results) == depth
    for d, result in enumerate(results, 1):
        alone = (run_activations(**options, depth=d) if sizes is None
                 else run_activations(**options, sizes=sizes[:d + 1]))
        assert result.to_dict(detail=True) == alone.to_dict(detail=True), d
        assert result.config == alone.config
        assert [r.summary() for r in result.runs] == [r.summary() for r in alone.runs]


def test_histogram_rows_are_numpys_counts_at_the_edges():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for edges in (GRAD_EDGES, np.linspace(0, 1, 31), np.linspace(-0.5, 0.9, 8)):
            e = edges.astype(dtype)  # every edge, and the values just either side of it
            near = np.concatenate([e, np.nextafter(e, dtype(9)), np.nextafter(e, dtype(-9)),
                                   [np.nan, np.inf, -np.inf, 0]]).astype(dtype)
            values = np.concatenate([np.tile(near, (2, 1)),
                                     (2 * rng.standard_normal((3, near.size))).astype(dtype)])
            expected = [np.histogram(v, len(edges) - 1, (edges[0], edges[-1]))[0]
                        for v in values]
            np.testing.assert_array_equal(histogram_rows(values, edges), expected)


def test_stacked_moments_equal_one_group_at_a_time():
    rng = np.random.default_rng(1)
    values = rng.standard_normal((5, 16, 24)).astype(np.float32)
    # a top gradient shared by every activation is a view with stride 0 on the group axis
    for stack in (values, np.broadcast_to(values[:1], (1, 5, 16, 24)).reshape(5, 16, 24)):
        n, mean, m2 = row_moments(stack)
        for k in range(5):
            m = Moments()
            m.add(stack[k])
            assert (n, mean[k], m2[k]) == (m.n, m.mean, m.m2)
    for batch, width in ((4, 30), (40, 6)):  # Gram path; dW formed
        delta = rng.standard_normal((3, 2, batch, width)).astype(np.float32)
        h = rng.standard_normal((2, batch, width)).astype(np.float32)
        n, mean, m2 = weight_grad_rows(delta, h)
        assert mean.shape == m2.shape == (3, 2)
        for t in range(3):
            for k in range(2):
                assert weight_grad_moments(delta[t, k], h[k]) == (n, mean[t, k], m2[t, k])
                dw = delta[t, k].astype(np.float64).T @ h[k]
                assert (mean[t, k], m2[t, k]) == pytest.approx((dw.mean(), dw.size * dw.var()),
                                                               rel=1e-9)


def test_kept_weights_give_the_products_of_fresh_draws(monkeypatch):
    shape, x = (2100, 1000), np.random.default_rng(2).standard_normal((3, 1000), np.float32)
    drawn = []
    real = weight_draws._block
    monkeypatch.setattr(weight_draws, "_block", lambda *a: drawn.append(a[4]) or real(*a))
    w = LayerWeight("normal(0.1)", shape, 7, 2, keep=True)
    forward = w.product(x, threads=2)
    backward = w.product(forward, threads=3, backward=True)
    assert sorted(drawn) == [0, 1, 2]  # three row blocks, each drawn once for both products
    np.testing.assert_array_equal(forward, layer_product("normal(0.1)", shape, 7, 2, x))
    np.testing.assert_array_equal(
        backward, layer_product("normal(0.1)", shape, 7, 2, forward, backward=True))


@pytest.mark.parametrize("keep, threads, dtype", [(False, 1, np.float32), (True, 3, np.float32),
                                                   (False, 2, np.float64)])
def test_shared_draws_give_each_inits_own_products_bit_for_bit(monkeypatch, keep, threads,
                                                                dtype):
    """The normal laws scale one standard draw per block; the others draw their own; every
    product equals the init's own LayerWeight's, forward and backward (summed per block)."""
    inits = ["he", "orthogonal", "normal(0.3)", "xavier_uniform", "lecun", "normal(0.01)"]
    shape, rng = (2100, 1000), np.random.default_rng(3)
    drawn = []
    real = weight_draws.stream
    monkeypatch.setattr(weight_draws, "stream", lambda *a: drawn.append(a) or real(*a))
    w = LayerWeights(inits, shape, 7, 2, dtype, keep)
    xs = [(k, rng.standard_normal((3, 1000)).astype(dtype)) for k in range(len(inits))]
    forward = w.products(xs, threads)
    gs = [(k, rng.standard_normal((4, 2100)).astype(dtype)) for k in (0, 0, 1, 2, 2, 3, 5)]
    backward = w.products(gs, threads, backward=True)
    shared = [a for a in drawn if a[1:3] == (2, 2) and len(a) == 4]
    # 3 row blocks, each drawn once for the four normal laws and once for xavier_uniform, in
    # each pass unless kept (without sharing: 5 draws a block and pass)
    assert len(shared) == (6 if keep else 12)
    for (k, x), got in zip(xs, forward, strict=True):
        np.testing.assert_array_equal(got, LayerWeight(inits[k], shape, 7, 2, dtype).product(x))
    for (k, g), got in zip(gs, backward, strict=True):
        np.testing.assert_array_equal(
            got, LayerWeight(inits[k], shape, 7, 2, dtype).product(g, backward=True))


def test_inits_are_grouped_by_shared_draws_within_the_memory_allowance(monkeypatch):
    inits = [get_initializer(s) for s in ["he", "orthogonal", "lecun", "normal(2)", "zeros"]]
    args = ([64] * 4, 16, 2, np.float32, True, 1, False, 1)
    assert init_groups(inits, *args) == [[0, 2, 3], [1], [4]]
    monkeypatch.setattr(weight_draws, "GROUP_BYTES", 1)
    assert init_groups(inits, *args) == [[0], [2], [3], [1], [4]]


def test_drawing_threads_honour_the_process_thread_limit(monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with threadpool_limits(1, "blas"):
        assert default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    assert 1 <= default_threads() <= 8
    assert default_threads(cap=1) == 1
    # run_activations draws with that many threads: no pool under OMP_NUM_THREADS=1
    pools = []
    real = weight_draws.ThreadPoolExecutor
    monkeypatch.setattr(weight_draws, "ThreadPoolExecutor",
                        lambda n: pools.append(n) or real(n))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run_activations("he", "relu", depth=1, width=1100, batch=2, grad=False)  # 2 row blocks
    assert pools == []
    run_activations("he", "relu", depth=1, width=1100, batch=2, grad=False, threads=2)
    assert pools == [2]
