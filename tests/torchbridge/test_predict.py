"""predict_layers (what inspect shows), the panel at tiny sizes, and the extrapolation to a
deeper or wider model against the built one."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

from initlab.cli import main  # noqa: E402
from initlab.errors import InitlabError  # noqa: E402
from initlab.torchbridge import extrapolate, inspect  # noqa: E402
from initlab.torchbridge.hooks import first_tensor  # noqa: E402
from initlab.torchbridge.interpret_panel import ResidualMLP, panel, score  # noqa: E402
from initlab.torchbridge.predict import LayerPrediction  # noqa: E402


def _transformers():
    from initlab.torchbridge.interpret_panel import transformers_module

    try:
        return transformers_module()
    except ImportError:
        pytest.skip("transformers is an optional extra")


def test_every_tiny_panel_model_is_covered_and_close():
    """The panel of benchmarks/predict_panel.py at width 64, one seed: every weighted row
    predicted, none more than 20% off (the finite-width noise at 64 units is ~10%)."""
    _transformers()
    for name, (build, inputs) in panel(width=64, depth=2, tokens=16, image=32, batch=4).items():
        s = score(name, build, inputs, seeds=1)
        assert s.covered == s.total > 0 and not s.unsupported, name
        assert max(s.errors) < 0.2, (name, s.errors)


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(32, 32), nn.Linear(32, 32)

    def forward(self, x):
        return self.b(torch.relu(torch.cumsum(self.a(x), dim=-1)))


def test_inspect_json_carries_the_prediction_and_the_ops_without_a_rule(tmp_path, capsys):
    torch.manual_seed(0)
    r = inspect(Cumulative(), torch.randn(16, 32))
    assert r.prediction == {"covered": 1, "total": 2, "unsupported": {"cumsum": 1},
                            "disagree": []}
    assert r.layers[0].predicted_std is not None and r.layers[1].predicted_std is None
    assert "1 of 2 weighted rows predicted" in r.prediction_note
    assert "no rule for cumsum x1 (downstream unknown)" in r.prediction_note
    d = json.loads(r.to_json())
    assert d["prediction"]["unsupported"] == {"cumsum": 1}
    assert d["layers"][1]["predicted_std"] is None
    (tmp_path / "net.py").write_text(
        "import torch\nclass Net(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.a = torch.nn.Linear(8, 8)\n"
        "    def forward(self, x):\n        return torch.cumsum(self.a(x), 1)\n")
    assert main(["inspect", f"{tmp_path / 'net.py'}:Net", "--input-shape", "4,8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prediction"] == {"covered": 1, "total": 1, "unsupported": {"cumsum": 1},
                                 "disagree": []}


def test_disagreement_beyond_the_finite_width_noise():
    """Tolerance 3 sqrt(sum 1 / (2 n)) over the weighted rows so far: at width 50 one row
    allows 30%, two rows 42.4%."""
    p = LayerPrediction(["a", "r", "b"], [(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)],
                        [True, False, True])
    assert p.disagreements([1.2, 5.0, 1.4], [50, None, 50]) == []
    off = p.disagreements([1.35, 1.0, 1.0], [50, None, 50])
    assert [(i, round(d, 3), round(t, 3)) for i, d, t in off] == [(0, 0.35, 0.3)]
    note = p.note([1.35, 1.0, 1.0], [50, None, 50], ["row 1 (a)", "row 2 (r)", "row 3 (b)"])
    assert "row 1 (a) +35% (noise allows 30%)" in note and "2 of 2 weighted rows" in note


def _stream(model, x):
    blocks = model.h if hasattr(model, "h") else model.blocks
    out = []
    hooks = [b.register_forward_hook(lambda m, a, y: out.append(first_tensor(y).double()))
             for b in blocks]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return np.array([[float(y.mean()), float((y * y).mean())] for y in out])


def _pooled_std(moments):
    m = np.mean(moments, 0)
    return np.sqrt(m[:, 1] - m[:, 0] ** 2)


def test_gpt2_extrapolated_from_2_to_6_blocks_matches_the_built_one():
    """The 6-block GPT-2 re-draws its residual projections with 0.02 / sqrt(12) where the
    2-block one has 0.02 / sqrt(4): the extrapolation applies the model's own init rule."""
    t = _transformers()

    def gpt(n, seed):
        torch.manual_seed(seed)
        return t.GPT2Model(t.GPT2Config(n_embd=64, n_layer=n, n_head=2, vocab_size=500,
                                        n_positions=16, bos_token_id=0,
                                        eos_token_id=0)).eval()

    ids = torch.randint(0, 500, (8, 16), generator=torch.Generator().manual_seed(0))
    predicted = np.mean([[r.stream_std for r in extrapolate(gpt(2, s), ids, 3).stream]
                         for s in range(3)], 0)
    built = _pooled_std([_stream(gpt(6, s), ids) for s in range(3)])
    model = gpt(2, 0)
    before = {n: (p, p.detach().clone()) for n, p in model.named_parameters()}
    assert extrapolate(model, ids, 3).init_rule.startswith("transformers")
    for n, p in model.named_parameters():  # the model's own tensors, untouched, are back
        assert p is before[n][0] and torch.equal(p, before[n][1]), n
    assert model.config.n_layer == 2
    assert len(predicted) == 6
    np.testing.assert_allclose(predicted, built, rtol=0.15)


def test_residual_mlp_deeper_and_wider():
    x = torch.randn(256, 128, generator=torch.Generator().manual_seed(1))

    def stream(model):
        return _stream(model, x)

    torch.manual_seed(0)
    r = extrapolate(ResidualMLP(128, 3), x, depth_scale=2)
    assert r.blocks == 6 and r.built_blocks == 3 and len(r.stream) == 6
    built = _pooled_std([stream(_seeded(ResidualMLP, s, 128, 6)) for s in range(3)])
    np.testing.assert_allclose([b.stream_std for b in r.stream], built, rtol=0.1)
    assert [b.stream_std for b in r.built_stream] == pytest.approx(
        [b.stream_std for b in r.stream[:3]])
    assert "6 blocks (2 x the 3 built)" in r.summary()


def _seeded(cls, seed, *args):
    torch.manual_seed(seed)
    return cls(*args)


def test_width_scale_counts_fixed_std_weights_sqrt_k_times():
    """Weights N(0, 0.05^2) whatever the width: the stream at twice the width is predicted from
    the narrow model and matches the built wide one; torch's default init (fan-scaled) keeps
    the per-unit scale."""
    def model(width, seed):
        m = _seeded(ResidualMLP, seed, width, 3)
        for p in m.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.05)
        return m

    x = torch.randn(256, 32, generator=torch.Generator().manual_seed(1))
    r = extrapolate(_Embedded(model(64, 0), 64), x, width_scale=2)
    wide = [_stream(_Embedded(model(128, s), 128), x) for s in range(3)]
    np.testing.assert_allclose([b.stream_std for b in r.stream], _pooled_std(wide), rtol=0.1)


class _Embedded(nn.Module):
    """A fixed 32-feature input lifted to the model's width (the data does not widen)."""

    def __init__(self, inner, width):
        super().__init__()
        self.lift = nn.Linear(32, width)
        self.blocks = inner.blocks

    def forward(self, x):
        x = self.lift(x)
        for b in self.blocks:
            x = x + b(x)
        return x


def test_bad_scales_and_models_without_blocks():
    with pytest.raises(InitlabError, match="depth_scale must be a positive number, got 0"):
        extrapolate(ResidualMLP(8, 2), torch.randn(4, 8), depth_scale=0)
    with pytest.raises(InitlabError, match="no repeated blocks"):
        extrapolate(nn.Linear(8, 8), torch.randn(4, 8), depth_scale=2)
    assert main(["inspect", "--demo", "mlp", "--depth-scale", "-1"]) == 2


def test_cli_depth_scale_writes_the_table_and_figure(tmp_path, capsys):
    out = tmp_path / "deeper"
    assert main(["inspect", "--demo", "mlp", "--input-shape", "32,512", "--depth-scale", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "38 blocks (2 x the 19 built)" in text
    assert (out / "extrapolate.png").stat().st_size > 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["blocks"] == 38 and len(saved["stream"]) == 38


class FailsUnderTheMode(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)

    def forward(self, x):
        from initlab.torchbridge.interpret import STAT_ATTR

        y = self.a(x)
        if hasattr(x, STAT_ATTR):  # the interpreter's input (inspect's own tracer passes)
            raise RuntimeError("no modes here")
        return y


def test_inspect_survives_a_forward_the_interpreter_cannot_run():
    torch.manual_seed(0)
    r = inspect(FailsUnderTheMode(), torch.randn(16, 8))
    assert r.layers[0].std is not None and r.layers[0].predicted_std is None
    assert r.prediction_note == ("no prediction: the traced forward raised RuntimeError: no "
                                 "modes here")


def test_rows_off_the_prediction_are_named_in_the_json():
    """Weights of one constant value make every unit of a layer the same sum: the second
    layer's entries are perfectly correlated, which the interpreter (independent entries)
    cannot know, so its measured std is sqrt(8) times the prediction: named, with the noise
    it exceeds; a random net of the same shape has no such row."""
    torch.manual_seed(0)
    same = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
    with torch.no_grad():
        for layer in same:
            layer.weight.fill_(0.1)
    r = inspect(same, torch.randn(64, 8))
    off = r.prediction["disagree"]
    assert [d["row"] for d in off] == [2] and off[0]["name"] == "1"
    measured, predicted = r.layers[1].std, r.layers[1].predicted_std
    assert off[0]["relative"] == pytest.approx(measured / predicted - 1)
    assert off[0]["relative"] > off[0]["tolerance"]
    assert "row 2 (1)" in r.prediction_note
    random = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
    assert inspect(random, torch.randn(64, 8)).prediction["disagree"] == []
