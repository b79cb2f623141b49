"""Theory of signal propagation at initialization (no imports from above it).

- :mod:`~initlab.theory.gaussian`: Gaussian expectations by quadrature (1-D and pairs).
- :mod:`~initlab.theory.variance`: per-layer variance predictions for a given net (the
  forward and backward variance recursions) and the moments of initializers' laws.
- :mod:`~initlab.theory.meanfield`: the mean-field maps of Poole et al. 2016 and Schoenholz
  et al. 2017 for weights N(0, sigma_w^2 / n) and biases N(0, sigma_b^2): the length map and
  q*, the correlation map and c*, chi_1, the depth scales xi_q and xi_c, the critical line.
- :mod:`~initlab.theory.jacobian`: what the maps predict for the input-output Jacobian.
- :mod:`~initlab.theory.norm`: the variance recursions with BatchNorm or LayerNorm before
  every activation.
- :mod:`~initlab.theory.residual`: the residual stream's variance block by block, per scheme.
"""

from initlab.theory.gaussian import (
    NODES,
    WEIGHTS,
    bivariate_expectation,
    expectation,
    gaussian_expectation,
    gaussian_moments,
)
from initlab.theory.meanfield import (
    MeanField,
    c_star,
    check_activation,
    chi_1,
    correlation_map,
    critical_sigma_w2,
    depth_scales,
    iterate,
    length_map,
    mean_field,
    mean_fields,
    q_star,
)
from initlab.theory.norm import predict_normalized, predict_normalized_tops
from initlab.theory.residual import (
    branch_second_moment,
    scheme_stream_variance,
    stream_variance,
)
from initlab.theory.variance import (
    NONE,
    Prediction,
    chi,
    law_moments,
    predict,
    predict_tops,
    variance_map,
)

__all__ = [
    "NODES", "NONE", "WEIGHTS", "MeanField", "Prediction", "bivariate_expectation", "c_star",
    "check_activation", "chi", "chi_1", "correlation_map", "critical_sigma_w2", "depth_scales",
    "expectation", "gaussian_expectation", "gaussian_moments", "iterate", "law_moments",
    "length_map", "mean_field", "mean_fields", "predict", "predict_normalized",
    "predict_normalized_tops", "predict_tops", "q_star", "variance_map",
    "branch_second_moment", "scheme_stream_variance", "stream_variance",
]
