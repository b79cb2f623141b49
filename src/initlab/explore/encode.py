"""Compact encoding of the explorer's arrays: little-endian binary in base64 inside JSON.

A float array becomes float32 (``f4``) or, where its values may pass float32's range (the
stds of an exploding net), float64 (``f8``); a histogram becomes uint8 bar heights (``u1``,
255 = the tallest bar of its row), a boolean image becomes packed bits (``bits``), a list of
one-line strings becomes UTF-8 lines (``text``). With ``deflate`` the bytes are zlib-compressed
before base64 (histograms shrink about 3x, stds about 1.7x); the page inflates them with the
browser's ``DecompressionStream("deflate")``. The page decodes each with ``atob`` into a typed
array; :func:`decode` does the same in Python.
"""

from __future__ import annotations

import base64
import zlib

import numpy as np

from initlab.errors import InitlabError

KINDS = ("f4", "f8", "u1", "bits", "text")


def encode(array, kind: str = "f4", deflate: bool = False) -> dict:
    """``{"kind", "shape", "b64"}`` (+ ``"z": true`` when deflated) for ``array``; ``u1``
    wants values already in 0..255, ``text`` a list of strings without newlines."""
    if kind == "text":
        lines = [str(t) for t in array]
        if any("\n" in t for t in lines):
            raise InitlabError("text encoding needs one-line strings")
        return _pack("\n".join(lines).encode("utf-8"), [len(lines)], kind, deflate)
    a = np.asarray(array)
    if kind in ("f4", "f8"):
        with np.errstate(over="ignore"):  # f4: beyond float32's range is inf
            raw = a.astype("<" + kind).tobytes()
    elif kind == "u1":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise InitlabError(f"u1 encoding needs values in 0..255, got {a.min()}..{a.max()}")
        raw = np.rint(a).astype(np.uint8).tobytes()
    elif kind == "bits":
        raw = np.packbits(a.astype(bool).ravel()).tobytes()
    else:
        raise InitlabError(f"unknown encoding {kind!r}; valid: {', '.join(KINDS)}")
    return _pack(raw, list(a.shape), kind, deflate)


def _pack(raw: bytes, shape: list, kind: str, deflate: bool) -> dict:
    entry = {"kind": kind, "shape": shape}
    if deflate:
        raw, entry["z"] = zlib.compress(raw, 9), True
    return {**entry, "b64": base64.b64encode(raw).decode("ascii")}


def decode(entry: dict):
    """The array :func:`encode` stored (float32, float64, uint8 or bool; a list for text)."""
    raw, shape = base64.b64decode(entry["b64"]), tuple(entry["shape"])
    if entry.get("z"):
        raw = zlib.decompress(raw)
    if entry["kind"] == "text":
        return raw.decode("utf-8").split("\n") if shape[0] else []
    if entry["kind"] in ("f4", "f8"):
        return np.frombuffer(raw, "<" + entry["kind"]).reshape(shape)
    if entry["kind"] == "u1":
        return np.frombuffer(raw, np.uint8).reshape(shape)
    n = int(np.prod(shape))
    return np.unpackbits(np.frombuffer(raw, np.uint8))[:n].astype(bool).reshape(shape)


def bar_heights(counts) -> np.ndarray:
    """Histogram counts (..., B) as uint8 heights, each row scaled so its tallest bar is 255.

    h = round(255 c / max(c)); an all-zero row stays zero.
    """
    c = np.asarray(counts, dtype=np.float64)
    top = c.max(axis=-1, keepdims=True)
    return np.rint(255 * np.divide(c, top, out=np.zeros_like(c), where=top > 0))


def encoded_bytes(n_values: int, kind: str = "f4") -> int:
    """Characters of base64 that ``n_values`` values take in ``kind``."""
    raw = {"f4": 4 * n_values, "f8": 8 * n_values, "u1": n_values, "bits": -(-n_values // 8)}[kind]
    return 4 * -(-raw // 3)
