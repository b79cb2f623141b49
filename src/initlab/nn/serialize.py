"""Save and load models as arrays only: safetensors, or ``.npz`` read with allow_pickle=False.

The file holds the weights under PyTorch ``state_dict`` names and shapes, and the architecture
(layers, init specs, output, dtype) as JSON with a SHA-256 of the arrays:

- one replica: ``"0.weight"`` (out, in), ``"0.bias"`` (out,), ``"2.weight"``, ... -- the keys of
  ``nn.Sequential(nn.Linear, act, nn.Linear, ...)``, loadable as is (no reshaping);
- R > 1 replicas: ``"r.i.weight"`` -- the keys of an ``nn.ModuleList`` of R such Sequentials;
- a residual block i (:mod:`initlab.nn.residual`) adds its branch's arrays as
  ``"i.branch.j.weight"``, ... and its multiplier as ``"i.alpha"`` (1,): the names of a module
  holding ``branch`` (an ``nn.Sequential``) and ``alpha``;
- a BatchNorm layer i adds ``"i.weight"``, ``"i.bias"``, ``"i.running_mean"``,
  ``"i.running_var"`` (F,) and ``"i.num_batches_tracked"`` (0-d int64), as
  ``nn.BatchNorm1d``; a LayerNorm ``"i.weight"`` and ``"i.bias"``, as ``nn.LayerNorm``.

safetensors keeps the JSON in its header metadata (key ``initlab``); ``.npz`` in a 0-d string
array ``__initlab__``. A truncated, tampered with or foreign file raises InitlabError naming it.

This module sits below :mod:`initlab.nn.model`: it reads and writes a model's layers (anything
with ``layers``, ``replicas``, ``dtype`` and ``config()``) and never builds a ``Sequential``
itself; :func:`initlab.nn.model.load` does that from what :func:`read` returns.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from initlab.errors import InitlabError
from initlab.nn.dropout import Dropout
from initlab.nn.layers import Dense, layer_from_config, replica_rngs
from initlab.nn.norm import BatchNorm, LayerNorm, norm_from_config
from initlab.nn.residual import Residual, residual_arrays, residual_from_config
from initlab.runtime.atomic import atomic_path, write_atomic

FORMAT = "initlab.sequential"
VERSION = 1
META_KEY = "initlab"
SUFFIXES = (".safetensors", ".npz")


def state_dict(model, replica: int | None = None) -> dict[str, np.ndarray]:
    """Weights by PyTorch name: ``{"0.weight": (out, in), "0.bias": (out,), ...}``.

    replica=r: that replica's ``nn.Sequential`` state dict. replica=None: the same for a
    one-replica model, else ``{"r.i.weight": ...}`` for every replica r (an ``nn.ModuleList``).
    """
    if replica is None and model.replicas > 1:
        out = {}
        for r in range(model.replicas):
            out.update({f"{r}.{k}": v for k, v in state_dict(model, r).items()})
        return out
    r = 0 if replica is None else replica
    if not isinstance(r, int) or not 0 <= r < model.replicas:
        raise InitlabError(f"replica must be an int in [0, {model.replicas}), got {replica!r}")
    out = {}
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            out[f"{i}.weight"] = np.ascontiguousarray(layer.weight.value[r])
            out[f"{i}.bias"] = np.ascontiguousarray(layer.bias.value[r])
        elif isinstance(layer, (BatchNorm, LayerNorm)):
            out.update({f"{i}.{k}": v for k, v in _norm_state(layer, r).items()})
        elif isinstance(layer, Residual):
            out.update({f"{i}.{k}": v for k, v in residual_arrays(layer, r).items()})
    return out


def _norm_state(layer, r: int) -> dict[str, np.ndarray]:
    """Replica r's arrays of a BatchNorm/LayerNorm under PyTorch's names."""
    out = {}
    for name in layer.state_names:
        value = getattr(layer, name)
        if name == "num_batches_tracked":
            out[name] = np.array(value, dtype=np.int64)
        else:
            out[name] = np.ascontiguousarray((value.value if hasattr(value, "value")
                                              else value)[r])
    return out


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _suffix(path: Path) -> str:
    if path.suffix not in SUFFIXES:
        raise InitlabError(f"model file {str(path)!r} must end in one of: {', '.join(SUFFIXES)}")
    return path.suffix


def save(model, path) -> Path:
    """Write ``model`` to ``path`` (``.safetensors`` or ``.npz``); return the path."""
    path = Path(path)
    suffix = _suffix(path)
    arrays = state_dict(model)
    meta = {"format": FORMAT, "version": VERSION, **model.config(), "sha256": _digest(arrays)}
    text = json.dumps(meta)
    if suffix == ".safetensors":
        from safetensors.numpy import save

        write_atomic(path, save(arrays, metadata={META_KEY: text}))
    else:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays, __initlab__=np.array(text))
    return path


def _read(path: Path) -> tuple[dict, dict]:
    if _suffix(path) == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as fh:
            meta = (fh.metadata() or {}).get(META_KEY)
            arrays = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    else:
        with np.load(path, allow_pickle=False) as fh:
            arrays = {k: fh[k] for k in fh.files}
        meta = arrays.pop("__initlab__", None)
        meta = None if meta is None else str(meta)
    if meta is None:
        raise InitlabError("no initlab architecture in it")
    return json.loads(meta), arrays


def read(path, seed=0) -> tuple[list, str, list]:
    """(layers, output, rngs) of a model written by :func:`save`, checked against its SHA-256;
    ``seed`` seeds the replicas' dropout streams. :func:`initlab.nn.model.load` builds the
    model from them."""
    path = Path(path)
    try:
        meta, arrays = _read(path)
        return _build(meta, arrays, seed)
    except InitlabError as exc:
        raise InitlabError(f"cannot load model file {str(path)!r}: {exc}") from None
    except Exception as exc:  # any reader error: truncated, not a safetensors/zip file, ...
        raise InitlabError(f"cannot load model file {str(path)!r}: {type(exc).__name__}: "
                           f"{exc}") from None


def _build(meta: dict, arrays: dict, seed) -> tuple[list, str, list]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InitlabError(f"not an initlab model (format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise InitlabError(f"unsupported version {meta.get('version')!r}; this is {VERSION}")
    if meta.get("sha256") != _digest(arrays):
        raise InitlabError("the arrays do not match their recorded SHA-256 (file altered?)")
    replicas, dtype = int(meta["replicas"]), np.dtype(meta["dtype"])
    rngs = replica_rngs(seed, replicas)
    layers, used = [], set()
    prefixes = [""] if replicas == 1 else [f"{r}." for r in range(replicas)]
    for i, cfg in enumerate(meta["layers"]):
        if cfg.get("type") == "residual":
            layers.append(_residual(cfg, arrays, i, prefixes, dtype, rngs, used))
            continue
        if cfg.get("type") in ("batch_norm", "layer_norm"):
            names = (BatchNorm if cfg["type"] == "batch_norm" else LayerNorm).state_names
            parts = _stacked(arrays, prefixes, i, names)
            if "num_batches_tracked" in parts:
                parts["num_batches_tracked"] = int(parts["num_batches_tracked"].max())
            if parts["weight"].dtype != dtype:
                raise InitlabError(f"layer {i} holds {parts['weight'].dtype} arrays, the "
                                   f"architecture says {dtype}")
            used.update(f"{p}{i}.{n}" for p in prefixes for n in names)
            layers.append(norm_from_config(cfg, parts))
            continue
        if cfg.get("type") != "dense":
            layers.append(layer_from_config(cfg, rngs=rngs))
            continue
        w, b = _stacked(arrays, prefixes, i, ("weight", "bias")).values()
        if w.dtype != dtype or b.dtype != dtype:
            raise InitlabError(f"layer {i} holds {w.dtype} arrays, the architecture says {dtype}")
        used.update(f"{p}{i}.{n}" for p in prefixes for n in ("weight", "bias"))
        layers.append(layer_from_config(cfg, w, b))
    extra = sorted(set(arrays) - used)
    if extra:
        raise InitlabError(f"unexpected arrays {extra[:5]}")
    return layers, meta["output"], rngs


def _stacked(arrays: dict, prefixes: list, i: int, names) -> dict:
    """Layer ``i``'s arrays ``names`` stacked over the replicas (``prefixes``), in that order;
    a missing array or replicas of different shapes raise naming them."""
    try:
        return {n: np.stack([arrays[f"{p}{i}.{n}"] for p in prefixes]) for n in names}
    except KeyError as exc:
        raise InitlabError(f"missing array {exc.args[0]!r}") from None
    except ValueError as exc:
        raise InitlabError(f"layer {i}: replicas have different shapes ({exc})") from None


def _residual(cfg: dict, arrays: dict, i: int, prefixes: list, dtype, rngs, used: set):
    """Residual block ``i``: its arrays stacked over the replicas, checked, rebuilt."""
    head = f"{prefixes[0]}{i}."
    names = [k[len(head):] for k in arrays if k.startswith(head)]
    parts = _stacked(arrays, prefixes, i, names)
    for n, a in parts.items():
        if n.endswith("num_batches_tracked"):
            continue
        if a.dtype != dtype:
            raise InitlabError(f"layer {i} holds {a.dtype} arrays, the architecture says {dtype}")
    used.update(f"{p}{i}.{n}" for p in prefixes for n in names)
    try:
        return residual_from_config(cfg, parts, dtype, rngs)
    except KeyError as exc:
        raise InitlabError(f"missing array {head}{exc.args[0]!r}") from None


_TORCH_ACTIVATIONS = {
    "identity": lambda nn, p: nn.Identity(), "sigmoid": lambda nn, p: nn.Sigmoid(),
    "tanh": lambda nn, p: nn.Tanh(), "relu": lambda nn, p: nn.ReLU(),
    "leaky_relu": lambda nn, p: nn.LeakyReLU(p), "elu": lambda nn, p: nn.ELU(p),
    "selu": lambda nn, p: nn.SELU(), "gelu": lambda nn, p: nn.GELU(),
    "softplus": lambda nn, p: nn.Softplus(),
}


def to_torch(model, replica: int = 0):
    """One replica as a PyTorch ``nn.Sequential`` with the same weights (needs torch).

    Inverted dropout maps to ``nn.Dropout``; the ``scaled_at_test`` form has no PyTorch layer.
    BatchNorm maps to ``nn.BatchNorm1d`` with its running statistics, LayerNorm to
    ``nn.LayerNorm``; the returned module is in training mode (call ``.eval()`` to predict).
    """
    import torch
    from torch import nn

    modules = []
    for layer in model.layers:
        if isinstance(layer, Residual):
            raise InitlabError("to_torch builds an nn.Sequential of plain layers and PyTorch has "
                               "no residual block module; state_dict(model) gives a residual "
                               "net's arrays under the names its module would use")
        if isinstance(layer, Dense):
            modules.append(nn.Linear(layer.in_features, layer.out_features))
        elif isinstance(layer, BatchNorm):
            modules.append(nn.BatchNorm1d(layer.num_features, eps=layer.eps,
                                          momentum=layer.momentum))
        elif isinstance(layer, LayerNorm):
            modules.append(nn.LayerNorm(layer.num_features, eps=layer.eps))
        elif isinstance(layer, Dropout):
            if layer.mode != "inverted":
                raise InitlabError("PyTorch has no scaled_at_test dropout; use mode='inverted'")
            modules.append(nn.Dropout(layer.rate))
        else:
            act = layer.activation
            if act.name not in _TORCH_ACTIVATIONS:
                raise InitlabError(f"PyTorch has no module for activation {act.name!r}")
            modules.append(_TORCH_ACTIVATIONS[act.name](nn, act.gain_param))
    net = nn.Sequential(*modules).to(getattr(torch, np.dtype(model.dtype).name))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict(model, replica).items()})
    return net
