"""What the mean-field maps predict for the input-output Jacobian of a deep net.

The Jacobian of the last layer's output h_L = phi(a_L) with respect to the input is
J = D_L W_L D_{L-1} W_{L-1} ... D_1 W_1 with D_l = diag(phi'(a_l)). Each factor W D multiplies
the mean squared length of a random direction by chi = sigma_w^2 E[phi'(sqrt(q_l) z)^2]
(Poole et al. 2016; Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in
deep learning through dynamical isometry"), so the mean squared singular value is

    E[sigma^2] = tr(J J^T) / n = prod_{l=1}^{L} chi(q_l)   (= chi_1^L at the fixed point).

The mean is only the first moment: at chi_1 = 1 it stays 1 at any depth, but the spread of
the singular values grows with depth for Gaussian weights, and stays small only for
orthogonal weights with tanh-like units (dynamical isometry), which this theory does not give.
"""

from __future__ import annotations

import numpy as np

from initlab.theory.gaussian import expectation
from initlab.theory.meanfield import iterate


def jacobian_mean_square(act, sigma_w2: float, sigma_b2: float, q0: float,
                         depth: int) -> float:
    """E[sigma^2] of the depth-layer input-output Jacobian for inputs of length q0.

    >>> from initlab.nn.activations import get_activation
    >>> round(jacobian_mean_square(get_activation("relu"), 2.0, 0.0, 1.0, 50), 9)
    1.0
    """
    q, _ = iterate(act, sigma_w2, sigma_b2, q0, None, depth)
    d = lambda x: act.grad(x, act.fn(x))  # noqa: E731
    chis = sigma_w2 * expectation(lambda x: d(x) ** 2, q)
    return float(np.prod(chis))
