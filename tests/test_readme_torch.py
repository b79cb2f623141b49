"""The README's example of loading a multi-replica model file into PyTorch runs as written."""

import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors.torch")


def test_readme_multi_replica_example(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
                 if "load_state_dict" in b)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    model, net = scope["model"], scope["net"]
    x = torch.randn(7, 2, dtype=torch.float64)
    want = model.select([1]).forward(x.numpy()[None])[0]
    got = net.double()(x).detach().numpy()
    assert abs(got - want).max() < 1e-6
