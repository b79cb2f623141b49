"""Model files: round trips, PyTorch loading, and clear errors for bad files."""

import json

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn import load, mlp, save, state_dict
from initlab.train import fit

SUFFIXES = [".safetensors", ".npz"]


def trained(replicas=2, **kw):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    model = mlp([4, 6, 5, 3], activation="leaky_relu(0.2)", output="softmax", replicas=replicas,
                init=["he", "xavier_uniform"][:replicas], seed=1, **kw)
    fit(model, X, y, iterations=5, lr=0.1)
    return model, X


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_keeps_weights_architecture_and_predictions(tmp_path, suffix, dtype):
    model, X = trained(dtype=dtype, dropout=0.25)
    back = load(save(model, tmp_path / f"m{suffix}"))
    assert repr(back) == repr(model)
    for a, b in zip(model.parameters(), back.parameters(), strict=True):
        assert b.value.dtype == dtype
        np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert back.layers[2].rngs is back.rngs  # dropout streams re-created


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_one_replica_file_holds_exactly_pytorch_state_dict(tmp_path, suffix):
    model, _ = trained(replicas=1)
    path = save(model, tmp_path / f"m{suffix}")
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as fh:
            arrays = {k: fh[k] for k in fh.files if k != "__initlab__"}
    else:
        from safetensors.numpy import load_file

        arrays = load_file(str(path))
    expected = state_dict(model)
    assert {k: v.shape for k, v in arrays.items()} == {
        "0.weight": (6, 4), "0.bias": (6,), "2.weight": (5, 6), "2.bias": (5,),
        "4.weight": (3, 5), "4.bias": (3,)}
    for k, v in expected.items():
        np.testing.assert_array_equal(arrays[k], v)


def test_saved_model_loads_into_pytorch_and_predicts_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    from torch import nn

    def torch_net():
        return nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 5),
                             nn.LeakyReLU(0.2), nn.Linear(5, 3)).double()

    model, X = trained(replicas=2)
    net = torch_net()
    net.load_state_dict(load_file(str(save(model.select([1]), tmp_path / "one.safetensors"))))
    with torch.no_grad():  # loaded as is: no renaming, no reshaping
        logits = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(logits, model.logits(X)[1], rtol=1e-12)
    np.testing.assert_array_equal(logits.argmax(axis=1), model.predict(X)[1])
    # a multi-replica file is the state dict of a ModuleList of such Sequentials
    nets = nn.ModuleList([torch_net() for _ in range(2)])
    nets.load_state_dict(load_file(str(save(model, tmp_path / "both.safetensors"))))
    with torch.no_grad():
        for r in range(2):
            np.testing.assert_allclose(nets[r](torch.from_numpy(X)).numpy(), model.logits(X)[r],
                                       rtol=1e-12)


def test_wrong_suffix_is_refused(tmp_path):
    model, _ = trained()
    with pytest.raises(InitlabError, match=r"must end in one of: \.safetensors, \.npz"):
        save(model, tmp_path / "m.pt")
    with pytest.raises(InitlabError, match=r"must end in one of"):
        load(tmp_path / "m.pkl")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_file(tmp_path, suffix):
    path = save(trained()[0], tmp_path / f"m{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InitlabError, match=f"cannot load model file '{path}'"):
        load(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_tampered_weights_are_detected(tmp_path, suffix):
    model, _ = trained()
    path = save(model, tmp_path / f"m{suffix}")
    data = bytearray(path.read_bytes())
    raw = np.ascontiguousarray(model.layers[2].weight.value[0]).tobytes()[:16]
    at = bytes(data).find(raw)  # the stored bytes of one weight matrix
    assert at > 0
    data[at + 3] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(InitlabError, match=f"cannot load model file '{path}'"):
        load(path)


def test_tampered_architecture_is_detected(tmp_path):
    from safetensors.numpy import load_file, save_file

    model, _ = trained()
    path = save(model, tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as fh:
        meta = json.loads(fh.metadata()["initlab"])
    meta["layers"][2]["out_features"] = 7
    save_file(load_file(str(path)), str(path), metadata={"initlab": json.dumps(meta)})
    with pytest.raises(InitlabError, match="does not match the weight array"):
        load(path)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, not a model")
    with pytest.raises(InitlabError, match="cannot load model file .*notes.safetensors"):
        load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(InitlabError, match="plain.npz.*no initlab architecture"):
        load(plain)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __initlab__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InitlabError, match="pickled.npz"):
        load(pickled)
    with pytest.raises(InitlabError, match="missing.npz"):
        load(tmp_path / "missing.npz")


def test_state_dict_rejects_a_bad_replica():
    with pytest.raises(InitlabError, match=r"replica must be an int in \[0, 2\)"):
        state_dict(trained()[0], replica=2)
