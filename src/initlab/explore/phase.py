"""The "How deep can it go?" panel: the chi_1 phase diagram and the maps' iterates.

For each activation, two grids over (sigma_w^2, sigma_b^2), computed with
:mod:`initlab.theory` when the page is built (Poole et al. 2016; Schoenholz et al. 2017):

- the heat map: chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] on a fine grid, and the critical line
  sigma_w^2(sigma_b^2) where chi_1 = 1 (:func:`initlab.theory.critical_sigma_w2`);
- the lattice the movable point snaps to: at each point q*, c*, chi_1, xi_q, xi_c
  (:func:`initlab.theory.mean_field`) and the iterates q_l, c_l for l = 1..depth from inputs
  of length q0 and correlation c0 (:func:`initlab.theory.iterate`).

Arrays: chi (B, W) over the fine grid (rows sigma_b^2, columns sigma_w^2), critical (B,),
numbers (b, w, 5), q (b, w, depth), c (b, w, depth) over the lattice. The numbers are stored
as the theory API returns them; the page shows a c* below :data:`C_STAR_TOLERANCE` as 0.
"""

from __future__ import annotations

import numpy as np

from initlab.explore.encode import encode
from initlab.nn.activations import get_activation
from initlab.theory import check_activation, chi_1, critical_sigma_w2, iterate, mean_fields

PHASE_ACTIVATIONS = ["tanh", "relu", "erf"]
NUMBERS = ["q_star", "c_star", "chi_1", "xi_q", "xi_c"]
SW2 = [0.25 * k for k in range(1, 17)]  # 0.25 .. 4, the point's stops
SB2 = [round(0.025 * k, 10) for k in range(13)]  # 0 .. 0.3
FINE = (31, 25)  # heat-map columns (sigma_w^2) x rows (sigma_b^2): half the lattice's steps
DEPTH = 30
#: The page shows a c* below this as 0: :func:`initlab.theory.meanfield.c_star` finds c* to
#: about 1e-8 (32-node quadrature; 1e-10 to 1e-13 measured against 128 nodes), and where c* is
#: exactly 0 (an odd phi without bias) it can return a rounding residue such as 2.5e-33.
C_STAR_TOLERANCE = 1e-8
#: the --quick build's lattice: a quarter of the points, 20 layers
QUICK = {"sw2": [0.5 * k for k in range(1, 9)], "sb2": [0.05 * k for k in range(7)],
         "fine": (15, 13), "depth": 20}


def phase_grid(activation: str, depth: int = DEPTH, q0: float = 1.0, c0: float = 0.5,
               sw2=SW2, sb2=SB2, fine=FINE) -> dict:
    """The panel's data for one activation (module docstring), encoded.

    sw2 : (w,), sb2 : (b,) the lattice; fine: (columns, rows) of the heat map, spanning the
    lattice's ranges. depth: layers iterated; q0, c0: the inputs' length and correlation.
    """
    act = check_activation(get_activation(activation))
    sw, sb = np.asarray(sw2, float), np.asarray(sb2, float)
    fw = np.linspace(sw[0], sw[-1], fine[0])
    fb = np.linspace(sb[0], sb[-1], fine[1])
    chi = chi_1(act, fw[None, :], fb[:, None])  # (rows, columns)
    critical = critical_sigma_w2(act, fb)
    numbers = np.array([[[getattr(m, k) for k in NUMBERS] for m in mean_fields(act, sw, b)]
                        for b in sb])
    with np.errstate(over="ignore", invalid="ignore"):
        q, c = iterate(act, sw[None, :] + 0 * sb[:, None], sb[:, None] + 0 * sw[None, :],
                       q0=q0, c0=c0, depth=depth)
    return {"chi": encode(chi, "f4", True), "critical": encode(critical, "f8"),
            "numbers": encode(numbers, "f8"), "q": encode(q, "f8", True),
            "c": encode(c, "f4", True)}


def build_phase(activations=None, depth: int = DEPTH, q0: float = 1.0, c0: float = 0.5,
                sw2=SW2, sb2=SB2, fine=FINE) -> dict:
    """Every activation's grids (see :func:`phase_grid`), computed here."""
    acts = list(PHASE_ACTIVATIONS if activations is None else activations)
    grids = [phase_grid(a, depth, q0, c0, sw2, sb2, fine) for a in acts]
    return phase_data(grids, acts, depth, q0, c0, sw2, sb2, fine)


def phase_data(grids: list, activations=None, depth: int = DEPTH, q0: float = 1.0,
               c0: float = 0.5, sw2=SW2, sb2=SB2, fine=FINE) -> dict:
    """The panel's data around the grids of each activation (in :data:`PHASE_ACTIVATIONS`
    order unless ``activations`` is given); the other arguments as given to the grids."""
    acts = list(PHASE_ACTIVATIONS if activations is None else activations)
    return {"activations": acts, "sw2": [float(v) for v in sw2], "sb2": [float(v) for v in sb2],
            "fine": list(fine), "depth": depth, "q0": q0, "c0": c0, "numbers_order": NUMBERS,
            "c_star_tolerance": C_STAR_TOLERANCE,
            "grids": dict(zip(acts, grids, strict=True))}
