"""inspect on real architectures: Hugging Face GPT-2, BERT, ViT, ResNet, ConvNeXt and Llama at
their default init get no vanishing, exploding or attention-collapse problem; deliberately
broken models get the right kind; initlab's stream and attention rows equal a plain-torch
measurement of the same model; verdicts do not change with image or batch size."""

import math

import pytest
from arch_panel import IMAGES, PANEL, bert, gpt2, residual_mlp, tanh_mlp

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")

from initlab.torchbridge import inspect  # noqa: E402

SCALE = {"vanishing", "exploding", "attention collapse"}


def kinds(result):
    return {p.kind for p in result.verdict.problems}


@pytest.mark.parametrize("name", sorted(PANEL))
def test_default_init_panel_gets_no_scale_problem(name):
    torch.manual_seed(0)
    model, x = PANEL[name]()
    r = inspect(model, x)
    assert not kinds(r) & SCALE, r.verdict.problems
    assert r.blocks, "every model of the panel has residual adds"
    data = r.to_dict()
    assert {"layers", "blocks", "attention", "verdict"} <= set(data)
    assert {"state", "problems"} <= set(data["verdict"])
    for row in data["layers"]:
        assert {"name", "type", "std", "grad_std", "weight_std", "grad_weight_ratio",
                "update_ratio", "predicted_std", "note"} <= set(row)
    for row in data["blocks"]:
        assert {"name", "std", "branch_std", "growth"} <= set(row)
    if name in ("gpt2", "bert", "vit", "llama"):
        assert len(r.attention) == 4
        for a in r.attention:  # near-uniform at init
            assert a.entropy == pytest.approx(a.max_entropy, rel=0.02)


@pytest.mark.parametrize("name", sorted(PANEL))
def test_panel_rows_equal_plain_torch_hooks(name):
    torch.manual_seed(0)
    model, x = PANEL[name]()
    model.eval()  # no dropout: the same values in both passes
    r = inspect(model, x)
    stds, handles = [], []

    def hook(module, args, output):
        y = output[0] if isinstance(output, tuple) else output
        if isinstance(y, torch.Tensor) and y.is_floating_point():
            stds.append(float(y.detach().double().std()))

    for m in model.modules():
        if next(m.children(), None) is None:
            handles.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(**x)
    for h in handles:
        h.remove()
    assert [row.std for row in r.layers] == pytest.approx(stds, rel=1e-4)


def test_gpt2_stream_equals_the_hidden_states_and_projections_are_intended():
    torch.manual_seed(0)
    model, x = gpt2()
    model.eval()  # no dropout: the same stream in both passes
    r = inspect(model, x)
    with torch.no_grad():
        hidden = model(**x, output_hidden_states=True).hidden_states
    ends = [b for b in r.blocks if b.name.endswith("(add 2)")]
    assert len(r.blocks) == 8 and len(ends) == 4
    for b, h in zip(ends[:-1], hidden[1:-1], strict=False):  # the last is after ln_f
        assert b.std == pytest.approx(float(h.double().std()), rel=1e-6)
    notes = {row.name: row.note or "" for row in r.layers}
    assert notes["transformer.wte"].startswith("embedding")
    assert notes["lm_head"] == "tied to transformer.wte"
    assert notes["transformer.h.0.attn.c_attn"].startswith("packed q/k/v")
    assert notes["transformer.h.0.attn.c_proj"].startswith("intended: scaled residual")
    assert "sqrt(8" in notes["transformer.h.0.attn.c_proj"]  # 0.02 / sqrt(2 L), 2 L = 8
    assert r.loss == "ce"


def test_attention_entropy_equals_the_eager_attention_weights():
    torch.manual_seed(0)
    model, x = gpt2()
    with torch.no_grad():
        model.transformer.h[1].attn.c_attn.weight.mul_(6)  # sharper than at init
    model.eval()
    r = inspect(model, x)
    model.set_attn_implementation("eager")  # the reference: explicit softmax weights
    with torch.no_grad():
        weights = model(**x, output_attentions=True).attentions
    for a, w in zip(r.attention, weights, strict=True):
        w = w.double()
        entropy = -(w * torch.log(w.clamp_min(1e-300))).sum(-1).mean()
        assert a.entropy == pytest.approx(float(entropy), rel=1e-5)
        assert a.max_entropy == pytest.approx(math.lgamma(17) / 16, rel=1e-9)  # causal, 16
    assert r.attention[1].entropy < 0.9 * r.attention[0].entropy


def test_scaled_up_queries_collapse_attention():
    torch.manual_seed(0)
    model, x = gpt2()
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_attn.weight[:, :128].mul_(100)  # Conv1D (in, out): q and k columns
    r = inspect(model, x)
    assert "attention collapse" in kinds(r)
    assert r.verdict.problems[0].where.endswith(".attn")


def test_residual_mlp_without_norm_explodes_and_zero_init_does_not():
    model, x = residual_mlp()
    r = inspect(model, x)
    h = model[0](x)
    stds = []
    with torch.no_grad():
        for block in model[1:-1]:
            h = block(h)
            stds.append(float(h.double().std()))
    assert [b.std for b in r.blocks] == pytest.approx(stds, rel=1e-6)
    assert r.verdict.state == "exploding"
    assert r.verdict.problems[0].kind == "exploding"
    zero = inspect(*residual_mlp(zero=True))
    assert not kinds(zero) & SCALE, zero.verdict.problems
    assert all(b.note.startswith("intended: zero-init") for b in zero.blocks)
    assert all(b.growth == 1 for b in zero.blocks)


def test_deep_tanh_mlp_with_small_weights_vanishes():
    r = inspect(*tanh_mlp())
    assert r.verdict.state == "vanishing"
    assert r.verdict.problems[0].kind == "vanishing" and not r.blocks


@pytest.mark.parametrize("name", IMAGES)
def test_verdict_does_not_change_with_image_or_batch_size(name):
    found = []
    for batch, size in ((2, 32), (8, 32), (2, 64)):
        torch.manual_seed(0)
        model, x = PANEL[name](batch=batch, size=size)
        found.append(inspect(model, x).verdict)
    assert len({v.state for v in found}) == 1 and found[0].state == "healthy"
    assert len({tuple(sorted(p.kind for p in v.problems)) for v in found}) == 1


def test_post_norm_bert_gradient_is_not_an_artefact_of_the_loss():
    torch.manual_seed(0)
    model, x = bert()
    real = inspect(model, x)
    sumsq = inspect(model, x, loss=lambda out: (out.last_hidden_state ** 2).sum() / 2)
    assert real.loss == "projection"
    first = next(r for r in real.layers if r.name.endswith("layer.0.attention.self.value"))
    first_sq = next(r for r in sumsq.layers if r.name == first.name)
    # sum(y^2)/2 of a LayerNorm output is nearly constant: its gradient is ~0
    assert first_sq.grad_weight_ratio < 1e-3 * first.grad_weight_ratio
    assert first.grad_weight_ratio > 1e-2


class MHABlock(torch.nn.Module):
    """A pre-norm block around nn.MultiheadAttention (the path of timm's and torch's own
    transformer layers)."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.norm = torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        h = self.norm(x)
        return x + self.attn(h, h, h, need_weights=False)[0]


def test_multihead_attention_entropy_equals_its_own_weights():
    torch.manual_seed(0)
    model, x = MHABlock(), torch.randn(3, 10, 32)
    with torch.no_grad():
        model.attn.in_proj_weight.mul_(4)  # away from uniform
    model.eval()
    r = inspect(model, x)
    with torch.no_grad():
        h = model.norm(x)
        w = model.attn(h, h, h, average_attn_weights=False)[1].double()  # (N, heads, L, S)
    entropy = float(-(w * torch.log(w)).sum(-1).mean())
    assert len(r.attention) == 1 and r.attention[0].name == "attn"
    assert r.attention[0].entropy == pytest.approx(entropy, rel=1e-6)
    assert r.attention[0].max_entropy == pytest.approx(math.log(10), rel=1e-9)
    assert len(r.blocks) == 1 and r.blocks[0].branch_std > 0


def test_tiny_weights_blown_away_by_one_adam_step_are_a_bad_gradient_ratio():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 4))
    with torch.no_grad():
        model[0].weight.mul_(1e-5)  # rms ~3e-6: Adam's first step of lr 1e-3 is ~300x it
    r = inspect(model, torch.randn(8, 16), optimizer="adam", lr=1e-3)
    bad = [p for p in r.verdict.problems if p.kind == "bad gradient ratio"]
    assert [p.where for p in bad] == ["0"]
    assert r.layers[0].update_ratio > 100 and "one adam step (lr 0.001)" in bad[0].text
    healthy = inspect(torch.nn.Sequential(torch.nn.Linear(16, 16)), torch.randn(8, 16))
    assert "bad gradient ratio" not in kinds(healthy)


def test_a_norm_whose_input_is_below_sqrt_eps_is_flagged():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8, eps=1e-3),
                                torch.nn.ReLU())
    r = inspect(model, torch.randn(4, 3, 8, 8))
    assert r.layers[0].note.startswith("before a norm")
    assert not kinds(r)
    with torch.no_grad():
        model[0].weight.mul_(1e-3)  # conv output std ~3e-4 < sqrt(1e-3) = 0.03
        model[0].bias.zero_()
    r = inspect(model, torch.randn(4, 3, 8, 8))
    assert [p.kind for p in r.verdict.problems] == ["vanishing"]
    problem = r.verdict.problems[0]
    assert problem.where == "1" and "sqrt(eps)" in problem.text


def test_residual_gradient_rule_compares_the_input_and_output_thirds():
    from types import SimpleNamespace

    from initlab.torchbridge.diagnosis import _gradients

    def rows(ratios, note=None):
        return [SimpleNamespace(name=f"l{i}", fan_in=8, note=note, grad_weight_ratio=g)
                for i, g in enumerate(ratios)]

    steady = [1.0, 0.5, 2.0, 1.0, 0.8, 1.2]
    assert _gradients(rows(steady)) == []
    falling = [1e-4, 2e-4, 1e-2, 0.1, 1.0, 2.0]  # input side 1e4 x below the output side
    (problem,) = _gradients(rows(falling))
    assert problem.kind == "vanishing" and problem.where == "l0"
    assert _gradients(rows(falling, note="query projection: ...")) == []  # not judged
    (problem,) = _gradients(rows(falling[::-1]))
    assert problem.kind == "exploding"


def test_the_figure_of_a_residual_model_shows_its_stream():
    from initlab.plots.inspect import inspect_figure

    r = inspect(*residual_mlp(depth=3))
    fig = inspect_figure(r)
    assert len(fig.axes) == 3 and "residual stream" in fig.axes[2].get_title()
    line = fig.axes[2].get_lines()[0]
    assert list(line.get_ydata()) == pytest.approx([b.std for b in r.blocks])
    assert len(inspect_figure(inspect(*tanh_mlp(depth=3))).axes) == 2
