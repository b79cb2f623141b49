"""The interpreter's rules, one by one, against Monte Carlo (wide random layers, large batches,
several seeds) and against initlab.theory's closed forms; ops without a rule are counted and
everything after them is unknown."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn
F = torch.nn.functional

from initlab.nn.activations import get_activation  # noqa: E402
from initlab.theory import length_map  # noqa: E402
from initlab.torchbridge.interpret import interpret, pooled_std  # noqa: E402
from initlab.torchbridge.interpret_panel import measure  # noqa: E402


def predicted_and_measured(build, make_input, seeds=3):
    """Per leaf-module call: (predicted std, measured std), each pooled over the seeds."""
    pred, meas = None, None
    for s in range(seeds):
        torch.manual_seed(s)
        model, x = build(), make_input(s)
        x = x if isinstance(x, tuple) else (x,)
        trace = interpret(model, x)
        got = measure(model, x)
        if pred is None:
            pred, meas = [[] for _ in got], [[] for _ in got]
        for i, ((_, p), (_, m)) in enumerate(zip(trace.calls, got, strict=True)):
            pred[i].append(p)
            meas[i].append(m)
    return [(None if any(p is None for p in ps) else pooled_std(_avg(ps)), pooled_std(_avg(ms)))
            for ps, ms in zip(pred, meas, strict=True)]


def _avg(moments):
    return (float(np.mean([m for m, _ in moments])), float(np.mean([s for _, s in moments])))


def assert_close(pairs, rel):
    for i, (p, m) in enumerate(pairs):
        assert p is not None, f"row {i} unknown"
        assert p == pytest.approx(m, rel=rel), f"row {i}: predicted {p}, measured {m}"


def gaussian(n, *shape, mean=0.0, std=1.0):
    return lambda s: mean + std * torch.randn(n, *shape, generator=torch.Generator().manual_seed(
        100 + s))


@pytest.mark.parametrize("act", [nn.ReLU, nn.GELU, nn.Tanh, nn.SiLU, nn.ELU, nn.Sigmoid,
                                 lambda: nn.LeakyReLU(0.2), nn.Softplus, nn.SELU])
def test_linear_then_activation_against_monte_carlo(act):
    def build():
        return nn.Sequential(nn.Linear(256, 512), act(), nn.Linear(512, 256), act())
    assert_close(predicted_and_measured(build, gaussian(2048, 256, mean=0.3)), 0.02)


def test_deep_tanh_net_follows_the_length_map_of_theory():
    """Weights N(0, sigma_w^2 / n), biases N(0, sigma_b^2): the pre-activations' second moment
    is the length map q_{l+1} = sigma_w^2 E[tanh(sqrt(q_l) z)^2] + sigma_b^2 (Poole et al.)."""
    sw2, sb2, n, depth = 1.5, 0.05, 512, 6
    layers = []
    for _ in range(depth):
        lin = nn.Linear(n, n)
        nn.init.normal_(lin.weight, std=math.sqrt(sw2 / n))
        nn.init.normal_(lin.bias, std=math.sqrt(sb2))
        layers += [lin, nn.Tanh()]
    torch.manual_seed(0)
    model = nn.Sequential(*layers)
    trace = interpret(model, (torch.randn(64, n),))
    tanh = get_activation("tanh")
    q = sw2 * 1.0 + sb2
    for i in range(depth):
        m, second = trace.calls[2 * i][1]
        assert second == pytest.approx(q, rel=0.08), i  # the actual weights, one draw
        q = float(length_map(tanh, q, sw2, sb2))


def test_residual_sum_and_products():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(256, 256), nn.Linear(256, 256), nn.Linear(256, 256)

        def forward(self, x):
            h = x + F.relu(self.a(x))       # residual: independent at init
            g = self.b(h) * self.c(h)       # product of independent Gaussians
            sq = g * g                      # a square: not independent of itself
            return self.a(h - 0.5 * sq + g.pow(3) / 4)

    assert_close(predicted_and_measured(Net, gaussian(2048, 256, std=0.5)), 0.03)


def test_cat_permute_reshape_slicing_and_reductions():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.c = nn.Linear(64, 128), nn.Linear(64, 128)
            self.b = nn.Linear(128, 32)

        def forward(self, x):
            h = torch.cat([self.a(x), F.relu(self.c(x + 1))], dim=-1)   # (N, 8, 256)
            h = h.permute(0, 2, 1).reshape(h.shape[0], 2, 128, 8).transpose(-1, -2)
            h = h[:, 1].flatten(1, 2).mean(1, keepdim=True) + h.sum(dim=(1, 2))
            return self.b(h)

    assert_close(predicted_and_measured(Net, gaussian(1024, 8, 64)), 0.03)


@pytest.mark.parametrize("norm", ["layer", "rms", "rms_decomposed", "group", "batch_train",
                                  "batch_eval"])
def test_normalizations(norm):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 64, 3, padding=1)
            self.norm = {"layer": nn.LayerNorm([64, 6, 6]), "rms": nn.RMSNorm([64, 6, 6]),
                         "group": nn.GroupNorm(8, 64), "batch_train": nn.BatchNorm2d(64),
                         "batch_eval": nn.BatchNorm2d(64), "rms_decomposed": None}[norm]
            if norm == "batch_eval":
                self.norm.eval()
                self.norm.running_mean.fill_(0.2)
                self.norm.running_var.fill_(3.0)
            if self.norm is not None and getattr(self.norm, "weight", None) is not None:
                nn.init.uniform_(self.norm.weight, 0.5, 1.5)

        def forward(self, x):
            h = self.conv(x) + 1.0
            if self.norm is None:  # Llama's RMSNorm, written out
                return h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + 1e-6)
            return self.norm(h)

    assert_close(predicted_and_measured(Net, gaussian(512, 8, 6, 6)), 0.03)


@pytest.mark.parametrize("training", [True, False])
def test_dropout_train_and_eval(training):
    def build():
        model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 64))
        return model.train(training)
    pairs = predicted_and_measured(build, gaussian(2048, 256))
    assert_close(pairs, 0.02)
    if training:
        assert pairs[2][1] > 1.1 * pairs[1][1]  # dropout raises the std by 1/sqrt(0.7)


def test_pooling():
    def build():
        return nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                             nn.Conv2d(64, 64, 3), nn.AvgPool2d(2, padding=1),
                             nn.Conv2d(64, 64, 1), nn.Tanh(), nn.MaxPool2d(2),
                             nn.AdaptiveAvgPool2d((2, 3)))
    assert_close(predicted_and_measured(build, gaussian(256, 3, 16, 16)), 0.05)


def test_embedding_of_the_data_ids_and_of_fixed_positions():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(500, 128), nn.Embedding(16, 128)
            self.out = nn.Linear(128, 128)

        def forward(self, ids):
            positions = torch.arange(ids.shape[1])[None]
            return self.out(F.gelu(self.tok(ids) + self.pos(positions)))

    def ids(s):
        return torch.randint(0, 500, (256, 16), generator=torch.Generator().manual_seed(s))
    assert_close(predicted_and_measured(Net, ids), 0.03)


class Attention(nn.Module):
    """Stacked pre-norm causal self-attention blocks, SDPA or written out (eager)."""

    def __init__(self, width=128, heads=2, depth=3, eager=False, causal=True, scale=1.0):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(depth))
        self.qkv = nn.ModuleList(nn.Linear(width, 3 * width) for _ in range(depth))
        self.proj = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        for lin in self.qkv:
            lin.weight.data.mul_(scale)
        self.heads, self.eager, self.causal = heads, eager, causal

    def attend(self, q, k, v):
        if not self.eager:
            return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if self.causal:
            n = q.shape[-2]
            logits = logits.masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(), -math.inf)
        return torch.softmax(logits, dim=-1) @ v

    def forward(self, x):
        b, t, d = x.shape
        for norm, qkv, proj in zip(self.norms, self.qkv, self.proj, strict=True):
            q, k, v = qkv(norm(x)).split(d, dim=-1)
            q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
            x = x + proj(self.attend(q, k, v).transpose(1, 2).reshape(b, t, d))
        return x


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_the_token_correlation_it_creates(eager, causal):
    """Deeper blocks average positions that earlier attention has correlated (a position's
    output shares most of its summands with its neighbours')."""
    pairs = predicted_and_measured(lambda: Attention(eager=eager, causal=causal),
                                   gaussian(64, 32, 128, std=0.05), seeds=2)
    assert_close(pairs, 0.05)


def test_independent_positions_would_miss_the_later_blocks(monkeypatch):
    """The same stack with the token correlation dropped predicts the third block's attention
    output too low: the correlation is what the rule is for."""
    from initlab.torchbridge import interpret_tokens

    monkeypatch.setattr(interpret_tokens, "output_tok", lambda K, noise: None)
    pairs = predicted_and_measured(lambda: Attention(causal=True),
                                   gaussian(64, 32, 128, std=0.05), seeds=2)
    assert pairs[8][0] < 0.85 * pairs[8][1]


def test_sharp_attention_softmax_by_draws():
    """q, k three times larger: logit variance ~ 9, where the closed-form softmax (a
    concentrated denominator) fails and the rule draws the logits."""
    pairs = predicted_and_measured(lambda: Attention(causal=True, scale=3.0),
                                   gaussian(64, 32, 128), seeds=2)
    assert_close(pairs, 0.1)


def test_a_python_activation_module_of_transformers_is_followed_whole():
    from initlab.torchbridge.interpret_panel import transformers_module

    try:
        act = transformers_module().activations.NewGELUActivation
    except ImportError:
        pytest.skip("transformers is an optional extra")

    def build():
        return nn.Sequential(nn.Linear(256, 512), act(), nn.Linear(512, 64))
    assert_close(predicted_and_measured(build, gaussian(2048, 256)), 0.02)


class PythonRMSNorm(nn.Module):
    """transformers' LlamaRMSNorm as written there (upcast, mean of squares, rsqrt, weight);
    ``gemma``: Gemma's, which multiplies by 1 + weight."""

    def __init__(self, width, gemma=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(width) if gemma else torch.ones(width))
        self.variance_epsilon, self.gemma = 1e-6, gemma

    def forward(self, x):
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return ((1.0 + self.weight) if self.gemma else self.weight) * h.to(x.dtype)


def test_a_python_rms_norm_module_is_followed_whole_as_torch_rms_norm():
    """A module written in Python that computes F.rms_norm is predicted as nn.RMSNorm is (the
    same rule, the same numbers); Gemma's 1 + weight fails the check and is followed op by
    op; both within 3% of the measurement."""
    from initlab.torchbridge.interpret_hooks import rms_norm_module

    assert rms_norm_module(PythonRMSNorm(64)) == 1e-6
    assert rms_norm_module(PythonRMSNorm(64, gemma=True)) is None
    assert rms_norm_module(nn.RMSNorm(64, eps=1e-6)) is None  # torch's: F.rms_norm's rule
    assert rms_norm_module(nn.LayerNorm(64)) is None

    class PythonLayerNorm(PythonRMSNorm):  # a bias: a LayerNorm, rejected without a probe
        def __init__(self, width):
            super().__init__(width)
            self.bias = nn.Parameter(torch.zeros(width))

        def forward(self, x):
            self.probed = True
            return super().forward(x) + self.bias
    layer_norm = PythonLayerNorm(64)
    assert rms_norm_module(layer_norm) is None and not hasattr(layer_norm, "probed")

    def build(norm):
        def make():
            net = nn.Sequential(nn.Linear(32, 256), norm(), nn.Linear(256, 64))
            with torch.no_grad():
                net[1].weight.uniform_(0.5, 1.5)
            return net
        return make

    x = (torch.randn(8, 32, generator=torch.Generator().manual_seed(0)) + 0.5,)
    torch.manual_seed(0)
    ours = interpret(build(lambda: PythonRMSNorm(256))(), x)
    torch.manual_seed(0)
    torchs = interpret(build(lambda: nn.RMSNorm(256, eps=1e-6))(), x)
    assert [m for _, m in ours.calls] == [m for _, m in torchs.calls]
    for gemma in (False, True):
        assert_close(predicted_and_measured(build(lambda g=gemma: PythonRMSNorm(256, g)),
                                            gaussian(2048, 32, mean=0.5)), 0.03)


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(32, 32), nn.Linear(32, 32)

    def forward(self, x):
        h = torch.cumsum(self.a(x), dim=-1)   # no rule
        return self.b(F.relu(h))


def test_an_op_without_a_rule_is_counted_and_its_downstream_unknown():
    torch.manual_seed(0)
    trace = interpret(Cumulative(), (torch.randn(16, 32),))
    assert trace.unsupported == {"cumsum": 1}
    assert [name for name, _ in trace.calls] == ["a", "b"]
    assert trace.calls[0][1] is not None and trace.calls[1][1] is None


def test_the_model_is_left_as_it_was():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.5))
    x = torch.randn(16, 8)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    interpret(model, (x,))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert not hasattr(x, "_initlab_stat")


@pytest.mark.parametrize("fn, smooth", [(torch.relu, False), (F.gelu, True), (torch.tanh, True)])
def test_moments_interpolated_on_a_grid_stay_close_to_the_quadrature(fn, smooth):
    """Beyond 4096 distinct (mean, variance) pairs the moments come from a grid (65 points on
    its longer side):
    every entry within 1% of the direct quadrature (relative to the typical size), the pooled
    second moment within 0.1%."""
    from initlab.torchbridge import interpret_gauss as gauss

    gen = torch.Generator().manual_seed(0)
    mu = 0.5 * torch.randn(20000, generator=gen, dtype=torch.float64)
    var = 2 * torch.rand(20000, generator=gen, dtype=torch.float64) + 1e-4
    grid_mean, grid_var = gauss._quadrature(fn, mu, var, smooth)
    grid = grid_mean, grid_var + grid_mean ** 2
    direct_mean, direct_var = gauss._quadrature(fn, mu[:4000], var[:4000], smooth)
    direct_second = direct_var + direct_mean ** 2
    assert float((grid[0][:4000] - direct_mean).abs().max()) < 0.01 * float(
        direct_mean.abs().mean())
    assert float(grid[1][:4000].mean() / direct_second.mean()) == pytest.approx(1, abs=1e-3)


def test_unique_rows():
    from initlab.torchbridge.interpret_gauss import unique_rows

    rows = np.array([[1.0, 2.0], [0.5, 2.0], [1.0, 2.0], [1.0, -0.0], [1.0, 0.0]])
    values, inverse = unique_rows(rows)
    np.testing.assert_array_equal(values[inverse], rows)
    assert len(values) == 4  # -0.0 and 0.0 differ in their bits: kept apart, both exact
    wide = np.repeat(rows, 2, axis=1)
    values, inverse = unique_rows(wide)
    np.testing.assert_array_equal(values[inverse], wide)


class NeedsTwo(nn.Module):
    """Fails on one example (BatchNorm1d in eval mode is fine; this raises by itself)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)

    def forward(self, x):
        if x.shape[0] < 2:
            raise ValueError("needs a batch")
        return self.a(x)


def test_a_forward_failing_on_one_example_is_traced_on_the_whole_batch():
    torch.manual_seed(0)
    trace = interpret(NeedsTwo(), (torch.randn(16, 8),))
    assert [n for n, _ in trace.calls] == ["a"] and trace.calls[0][1] is not None


@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_a_training_batchnorm_is_traced_on_one_example(kind):
    """BatchNorm2d trains on one example (its channels have 6 x 6 values); BatchNorm1d after a
    Linear has one value per channel there, which torch refuses in training: its real output
    is that of two equal examples; either way its batch statistics count the whole batch, as
    the measurement does."""
    torch.manual_seed(0)
    if kind == "conv":
        model, x = nn.Sequential(nn.Conv2d(8, 64, 3, padding=1), nn.BatchNorm2d(64),
                                 nn.ReLU()), torch.randn(16, 8, 6, 6) + 1
    else:
        model, x = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256),
                                 nn.ReLU()), torch.randn(64, 64) + 1
    sizes = []
    model[0].register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    trace = interpret(model.train(), (x,))
    assert sizes == [1]
    measured = measure(model, (x,))
    for (_, m), (_, got) in zip(trace.calls, measured, strict=True):
        assert abs(pooled_std(m) / pooled_std(got) - 1) < 0.05


def test_a_mean_over_positions_attention_has_correlated():
    """Pooling the tokens after causal attention (a classifier's mean over the sequence): the
    positions are correlated, so the mean keeps far more variance than 1/T of it."""
    class Pool(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = Attention(depth=1, causal=True)
            self.head = nn.Linear(128, 16)

        def forward(self, x):
            return self.head(self.attn(x).mean(1))

    assert_close(predicted_and_measured(Pool, gaussian(64, 32, 128, std=0.05), seeds=2), 0.05)
