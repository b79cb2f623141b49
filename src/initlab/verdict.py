"""What a stack of per-layer statistics says about a network: one verdict, computed from numbers.

The rules (every threshold is a named constant below, and every sentence is built from the
measured values it states):

- **vanishing / exploding**: the first layer whose output std falls below ``1 / FACTOR`` of, or
  rises above ``FACTOR`` times, the first layer's. The reference is the first layer, not the
  input, so an activation's own offset (sigmoid's mean of 1/2, ReLU's halved variance) does not
  count as a change of scale.
- **shrinking / growing**: no layer crosses yet, but the per-layer factor (the slope of a
  least-squares line through log std against layer, from the second layer on, since the first
  sees the raw input rather than a layer's output) differs from 1 by more than its 95% Student-t
  interval and would cross within ``HORIZON`` layers. The layer where it would cross is
  extrapolated from the last layer at that factor. The variance argument behind it:
  Var(sum_i w_i x_i) = n Var(w) Var(x) for independent zero-mean w and x (LeCun et al.,
  "Efficient BackProp", 1998; Glorot & Bengio, AISTATS 2010), so a net whose n Var(w) is off by
  a constant changes scale geometrically with depth.
- **floor**: after shrinking by ``FACTOR`` or more, the last layers hold a level std (each
  within ``LEVEL`` of the next): something other than the weights, typically the biases, holds
  the signal there.
- **no signal**: a layer's std is exactly 0 (every output equal, e.g. all-zero weights).
- **alike**: at some layer the outputs sit within ``ALIKE`` of their common nonzero mean (std <
  ALIKE |mean|): the units are nearly identical, e.g. a sigmoid net with tiny weights, all at 1/2.
- **saturated**: at some layer at least ``SATURATED`` of the outputs sit on the flat ends of a
  bounded activation (where its derivative is near 0).
- **dead units**: at some layer at least ``DEAD`` of the units output zero for the whole batch.
- **healthy**: only when none of the above holds.

Gradients (when given, ordered from the first layer to the last) are judged the same way going
backward, from the last layer down to the first.

>>> v = judge([1.0, 0.5, 0.25, 0.125, 0.0625])
>>> v.state, v.vanishes_at, round(v.factor, 3)
('vanishing', 5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from initlab.results import Result
from initlab.statistics import t975

FACTOR = 10.0  # a change of scale by this factor from the reference layer is vanishing/exploding
HORIZON = 50  # a trend that would cross FACTOR within this many layers is reported
LEVEL = 1.25  # consecutive stds within this factor of each other count as level (a floor)
SATURATED = 0.25  # fraction of outputs on the flat ends that makes a layer "saturated"
DEAD = 0.10  # fraction of units dead for the whole batch that is reported
ALIKE = 0.05  # std below this fraction of |mean|: every output nearly the same value


@dataclass
class Verdict(Result):
    """The judgement of one net's per-layer stds (layers are 1-based)."""

    state: str  # healthy | vanishing | exploding | shrinking | growing | no signal
    text: str
    factor: float | None = None  # per-layer factor of the std (geometric slope)
    vanishes_at: int | None = None
    explodes_at: int | None = None
    crosses_at: float | None = None  # extrapolated layer of crossing (shrinking / growing)
    floor_from: int | None = None
    floor_std: float | None = None
    saturated_from: int | None = None
    saturated_max: float | None = None
    dead_from: int | None = None
    dead_max: float | None = None
    alike_from: int | None = None
    grad_state: str | None = None
    grad_text: str | None = None
    grad_vanishes_at: int | None = None
    grad_explodes_at: int | None = None
    grad_ratio: float | None = None  # gradient std at the first layer / at the last layer

    @property
    def healthy(self) -> bool:
        return (self.state == "healthy" and self.saturated_from is None
                and self.dead_from is None and self.alike_from is None
                and self.grad_state in (None, "healthy"))

    def table(self):
        return ["verdict"], [[self.text]]


def _finite(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def per_layer_factor(stds: Sequence[float]) -> float | None:
    """exp of the least-squares slope of log std against layer index (None for < 2 layers)."""
    fit = _fit(stds)
    return None if fit is None else fit[0]


def _fit(stds: Sequence[float]) -> tuple[float, bool] | None:
    """(per-layer factor, whether its 95% t-interval excludes 1) of the positive finite stds;
    None for fewer than 2. Two points give a factor but no interval (taken as a trend)."""
    s = _finite(stds)
    keep = np.isfinite(s) & (s > 0)
    if keep.sum() < 2:
        return None
    x, y = np.flatnonzero(keep).astype(np.float64), np.log(s[keep])
    x -= x.mean()
    sxx = x @ x
    slope = (x @ (y - y.mean())) / sxx
    if x.size == 2:
        return float(np.exp(slope)), True
    resid = y - y.mean() - slope * x
    se = math.sqrt(float(resid @ resid) / (x.size - 2) / sxx)
    sure = abs(slope) > t975(x.size - 2) * se if se > 0 else slope != 0
    return float(np.exp(slope)), bool(sure)


def _scale(stds: Sequence[float], label: str, order: list[int]) -> dict:
    """Judge the change of scale along ``order`` (0-based indices, reference first). One
    function: the vanishing, exploding and trend rules read the same few arrays in turn."""
    s = _finite(stds)
    seq = s[order]
    n = len(order)
    names = [i + 1 for i in order]
    if n == 0 or not np.isfinite(seq[0]):
        return {"state": "healthy", "text": f"{label}: not measured"}
    zero = np.flatnonzero(seq == 0)
    if zero.size:
        at = names[zero[0]]
        return {"state": "no signal", "vanishes_at": at,
                "text": f"{label}: no signal (std exactly 0, every output equal) from layer {at}"}
    ref = seq[0]
    ratio = seq / ref
    fit = _fit(seq[1:] if n >= 4 else seq)
    factor, sure = (None, False) if fit is None else fit
    out = {"factor": factor}
    low = np.flatnonzero(ratio < 1 / FACTOR)
    high = np.flatnonzero(ratio > FACTOR)
    per = f" (x{factor:.3g} per layer)" if factor is not None else ""
    ref_name = f"layer {names[0]}'s {ref:.3g}"
    if low.size and (not high.size or low[0] < high[0]):
        at = names[low[0]]
        text = (f"{label} vanishes: std {seq[low[0]]:.3g} at layer {at}, below 1/{FACTOR:g} of "
                f"{ref_name}{per}")
        tail = seq[-min(3, n):]
        if n >= 4 and low[0] < n - 1 and np.all(tail[1:] / tail[:-1] < LEVEL) and \
                np.all(tail[:-1] / tail[1:] < LEVEL):
            first = n - len(tail)
            while first > low[0] and seq[first - 1] / seq[first] < LEVEL:
                first -= 1
            out.update(floor_from=names[first], floor_std=float(seq[-1]))
            text += (f"; then level at std {seq[-1]:.3g} from layer {names[first]} "
                     f"(held by something other than the weights, e.g. the biases)")
        out.update(state="vanishing", vanishes_at=at, text=text)
        return out
    if high.size:
        at = names[high[0]]
        out.update(state="exploding", explodes_at=at,
                   text=f"{label} explodes: std {seq[high[0]]:.3g} at layer {at}, over "
                        f"{FACTOR:g}x {ref_name}{per}")
        return out
    if sure and factor != 1:
        target = ref / FACTOR if factor < 1 else ref * FACTOR
        cross = math.log(target / seq[-1]) / math.log(factor)  # layers after the last
        step = 1 if order[0] <= order[-1] else -1
        where = names[-1] + step * cross
        if cross + n - 1 <= HORIZON:
            # The first whole layer past the limit: k > cross layers after the last (the
            # crossing may fall a fraction of a layer after it: that is the next layer).
            k = math.floor(cross) + 1
            word, past = (("shrinks", f"below 1/{FACTOR:g} of") if factor < 1
                          else ("grows", f"over {FACTOR:g}x"))
            out.update(state="shrinking" if factor < 1 else "growing", crosses_at=float(where),
                       text=f"{label} {word} x{factor:.3g} per layer (std {seq[0]:.3g} at layer "
                            f"{names[0]}, {seq[-1]:.3g} at layer {names[-1]}): at that rate, "
                            f"{k} layer{'' if k == 1 else 's'} beyond this net's {n} layers, "
                            f"it would be about {seq[-1] * factor**k:.3g}, {past} {ref_name}")
            return out
    lo, hi = float(np.nanmin(ratio)), float(np.nanmax(ratio))
    out.update(state="healthy", text=f"{label} keeps its scale: std within {lo:.2f}x-{hi:.2f}x "
                                     f"of {ref_name} through layer {names[-1]}")
    return out


def _first_over(fractions, limit: float) -> tuple[int | None, float | None]:
    if fractions is None:
        return None, None
    f = _finite(fractions)
    if not np.isfinite(f).any():
        return None, None
    over = np.flatnonzero(f >= limit)
    return (int(over[0]) + 1 if over.size else None), float(np.nanmax(f))


def judge(stds: Sequence[float], *, means: Sequence[float] | None = None,
          saturated: Sequence[float] | None = None, dead: Sequence[float] | None = None,
          grad_stds: Sequence[float | None] | None = None) -> Verdict:
    """Judge a net from its per-layer output stds (first layer first).

    Args:
        stds: (L,) std of each layer's output.
        means: (L,) mean of each layer's output, or None.
        saturated: (L,) fraction of outputs on the flat ends of a bounded activation, or None.
        dead: (L,) fraction of units whose output is zero for the whole batch, or None.
        grad_stds: (L,) std of dLoss/d(output) per layer (first layer first), or None.
    """
    scale = _scale(stds, "signal", list(range(len(stds))))
    v = Verdict(**scale)
    parts = [scale["text"]]
    if means is not None:
        m, sd = _finite(means), _finite(stds)
        alike = np.flatnonzero((sd > 0) & (sd < ALIKE * np.abs(m)))
        if alike.size:
            i = int(alike[0])
            v.alike_from = i + 1
            parts.append(f"alike: at layer {i + 1} every output lies near {m[i]:.3g} (std "
                         f"{sd[i]:.3g}, {100 * sd[i] / abs(m[i]):.3g}% of it): the units are "
                         f"nearly identical")
    v.saturated_from, v.saturated_max = _first_over(saturated, SATURATED)
    if v.saturated_from is not None:
        frac = _finite(saturated)[v.saturated_from - 1]
        parts.append(f"saturated: {frac:.0%} of outputs on the flat ends at layer "
                     f"{v.saturated_from} (at most {v.saturated_max:.0%} in a layer)")
    v.dead_from, v.dead_max = _first_over(dead, DEAD)
    if v.dead_from is not None:
        frac = _finite(dead)[v.dead_from - 1]
        parts.append(f"dead units: {frac:.0%} of layer {v.dead_from}'s units output zero for "
                     f"the whole batch (at most {v.dead_max:.0%} in a layer)")
    if grad_stds is not None and any(g is not None for g in grad_stds):
        g = _scale(grad_stds, "gradient", list(range(len(grad_stds) - 1, -1, -1)))
        v.grad_state, v.grad_text = g["state"], g["text"]
        v.grad_vanishes_at, v.grad_explodes_at = g.get("vanishes_at"), g.get("explodes_at")
        gs = _finite(grad_stds)
        if gs[-1] > 0 and np.isfinite(gs[0]):
            v.grad_ratio = float(gs[0] / gs[-1])
        parts.append(g["text"])
    if v.healthy:
        parts[0] = "healthy: " + parts[0]
    v.text = "; ".join(parts)
    return v
