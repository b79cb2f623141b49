"""The weights' side of ``monitor``: ||W|| and ||W_now - W_before|| in one pass over memory.

At a recorded training step ``monitor`` needs ||W|| of every watched weight (the denominator of
the gradient ratio ||dLoss/dW|| / ||W|| and of the update ratio) and a copy of W, so that at the
next training forward pass the update ratio ||W_after - W|| / ||W|| of the optimizer step in
between can be read. Done as copy, subtract, norm of the difference and norm of W, that is four
kernels over the weights' memory (a ResNet-50 holds 100 MB of weights, a GPT-2 500 MB) on top
of the training step's own. :class:`Snapshots` does it in one sweep: per cache-sized chunk of
each weight, the difference of the copy and W goes into a small scratch that stays in cache,
its norm and W's are taken there, and the chunk of W (in cache now) is copied over the old
one. Weights of at most ``SMALL`` values go through torch's ``_foreach`` ops, a few calls for
all of them. (On the 2-core CPU this was measured on, the sweep takes as long as the four
kernels did, not less: they stream at 20-30 GB/s and the in-cache norms cost what the saved
reads did; what it changed is the accuracy below and where the copies live, see
:meth:`Snapshots._allocate` and benchmarks/README.md.)

Norms are reduced in the weight's dtype (float32 for half precision) per row of ``ROW``
values and their squares summed in float64: a float32 reduction of millions of terms of one
size (an Adam update moves every weight by about lr) drifts, ``vector_norm`` of a whole
2.4 M-value update by 6e-4 relative (measured against float64, benchmarks/README.md).
"""

from __future__ import annotations

from initlab.torchbridge.hooks import torch

#: Elements per chunk: 256 Ki float32 values (1 MiB), the chunk of W, its copy and the
#: scratch of differences fit the 2-4 MiB of L2 cache CPUs have per core.
CHUNK = 1 << 18
#: Values per row whose norm is reduced in the weight's dtype (a float32 sum of 4096 squares
#: of one size drifts by 1e-6; of 256 Ki, 4e-5); the rows' squares are summed in float64.
ROW = 1 << 12
#: Weights of at most this many values go through ``_foreach`` ops, whole.
SMALL = 1 << 14


class Snapshots:
    """Copies of a set of weight tensors, kept between steps, and their norms.

    ``weights``: id -> tensor (each tensor once: tied weights share one entry).
    """

    def __init__(self, weights: dict):
        self.weights = weights
        self.copies: dict = {}  # id -> flat copy of the weight at the last sweep that kept one
        self._scratch: dict = {}  # dtype -> 1-D scratch of CHUNK values

    def clear(self) -> None:
        """Hold no weight-sized buffer until the next sweep that keeps copies."""
        self.copies.clear()
        self._scratch.clear()

    def sweep(self, diff: bool, keep: bool) -> dict:
        """id -> (||W||, ||copy - W|| or None) for every weight; with ``diff`` the difference
        to the copy taken at the last sweep that kept one (None where there is none or W's
        size, dtype or device changed since); with ``keep`` W is copied for the next sweep,
        else the copies are dropped."""
        with torch.no_grad():
            before = self.copies if diff else {}
            if keep and not self.copies:
                self.copies = self._allocate()
            small, large = [], []
            for key, w in self.weights.items():
                w = w.detach()
                flat = w.reshape(-1)  # a view for a contiguous weight
                copy = before.get(key)
                if copy is not None and (copy.numel(), copy.dtype, copy.device) != (
                        w.numel(), w.dtype, w.device):
                    copy = None
                diff_here = copy is not None
                if keep and copy is None:
                    copy = self.copies.get(key)
                    if copy is None or copy.shape != flat.shape or copy.dtype != flat.dtype \
                            or copy.device != flat.device:  # W changed size: a copy of its own
                        copy = self.copies[key] = torch.empty_like(flat)
                item = (key, flat, copy, diff_here)
                (small if flat.numel() <= SMALL else large).append(item)
            out = self._small(small, keep)
            for key, flat, copy, diff_here in large:
                out[key] = self._chunked(flat, copy, diff_here, keep)
        if not keep:
            self.clear()
        return out

    def _allocate(self) -> dict:
        """id -> an uninitialized flat copy for every weight, views of one block per dtype and
        device. One block of 100-500 MB is mapped apart from the heap by the allocator (glibc:
        above its mmap threshold); a hundred heap blocks of the same size held between steps
        made the training step's own frees and allocations return pages to the system and
        fault them in again (twice the page faults per step, measured: benchmarks/README.md)."""
        groups: dict = {}
        for key, w in self.weights.items():
            groups.setdefault((w.dtype, w.device), []).append((key, w.numel()))
        copies = {}
        for (dtype, device), items in groups.items():
            block = torch.empty(sum(n for _, n in items), dtype=dtype, device=device)
            copies.update(zip((k for k, _ in items), block.split([n for _, n in items]),
                              strict=True))
        return copies

    def _small(self, items, keep: bool) -> dict:
        """The weights of at most SMALL values: a few ``_foreach`` calls for all of them (per
        dtype: the ops take tensors of one dtype and device)."""
        groups: dict = {}
        for item in items:
            groups.setdefault((item[1].dtype, item[1].device), []).append(item)
        out = {}
        for (dtype, _), group in groups.items():
            low = _low(dtype)
            flats = [f for _, f, _, _ in group]
            norms = torch._foreach_norm(flats, **low)
            pairs = [(c, f) for _, f, c, d in group if d]
            dnorms = iter(torch._foreach_norm(torch._foreach_sub([c for c, _ in pairs],
                                                                 [f for _, f in pairs]), **low)
                          if pairs else [])
            values = torch.stack(list(norms) + list(dnorms)).tolist() if flats else []
            dvalues = iter(values[len(flats):])
            for (key, _, _, d), norm in zip(group, values, strict=False):
                out[key] = (norm, next(dvalues) if d else None)
            if keep:
                torch._foreach_copy_([c for _, _, c, _ in group], flats)
        return out

    def _chunked(self, flat, copy, diff: bool, keep: bool) -> tuple:
        """(||W||, ||copy - W|| or None) of one weight, chunk by chunk; the norms of the
        chunks' rows written into one tensor, read back at once."""
        n = flat.numel()
        chunks = range(0, n, CHUNK)
        low = _low(flat.dtype)
        sums = torch.zeros(2, len(chunks), CHUNK // ROW, dtype=low.get("dtype", flat.dtype))
        scratch = self._scratch.get(flat.dtype)
        if diff and scratch is None:
            scratch = self._scratch[flat.dtype] = torch.empty(CHUNK, dtype=flat.dtype)
        for j, i in enumerate(chunks):
            w = flat[i:i + CHUNK]
            if diff:
                d = _rows(torch.sub(copy[i:i + CHUNK], w, out=scratch[:w.numel()]))
                torch.linalg.vector_norm(d, dim=1, out=sums[1, j, :len(d)], **low)
            rows = _rows(w)
            torch.linalg.vector_norm(rows, dim=1, out=sums[0, j, :len(rows)], **low)
            if keep:
                copy[i:i + CHUNK].copy_(w)
        norms, dnorms = sums.double().square_().sum(dim=(1, 2)).sqrt_().tolist()
        return (norms, dnorms if diff else None)


def _low(dtype) -> dict:
    """The keyword that has a half-precision tensor reduced in float32."""
    return {"dtype": torch.float32} if dtype in (torch.float16, torch.bfloat16) else {}


def _rows(x):
    """x (1-D) as rows of ROW values where it divides into them, else as one row."""
    return x.view(-1, ROW) if x.numel() % ROW == 0 else x.view(1, -1)


def norm(t) -> float:
    """||t|| (see the module docstring: per row, squares summed in float64)."""
    flat = t.detach().reshape(-1)
    cut = flat.numel() - flat.numel() % ROW
    parts = [torch.linalg.vector_norm(p, dim=1, **_low(flat.dtype))
             for p in (_rows(flat[:cut]), _rows(flat[cut:])) if p.numel()]
    return float(torch.cat(parts).double().square_().sum().sqrt_()) if parts else 0.0


def ratio(numerator: float | None, norm: float | None) -> float | None:
    """numerator / norm, None where either is missing or the norm is zero."""
    if numerator is None or not norm:
        return None
    return numerator / norm
