"""The rules of the mean-field interpreter: each torch operation's output moments from its inputs'.
The table :data:`RULES` here names them all; they live in
:mod:`~initlab.torchbridge.interpret_structure` (reshapes, slices, padding, reductions,
constants), :mod:`~initlab.torchbridge.interpret_elementwise` (add, mul, div, powers,
activations), :mod:`~initlab.torchbridge.interpret_linear` (linear maps, softmax, dropout,
embedding, attention) and :mod:`~initlab.torchbridge.interpret_layers` (norms, pooling), with
the Gaussian expectations of elementwise functions in
:mod:`~initlab.torchbridge.interpret_gauss` and what they share in
:mod:`~initlab.torchbridge.interpret_common`.

Every rule takes ``(func, name, out, args, kwargs)`` (the call and its real output) and returns
the :class:`~initlab.torchbridge.interpret.Stat` of the output (a list of them for several
outputs), from the per-entry means mu and variances s2 of its arguments (a constant has
s2 = 0), with fluctuations of distinct entries independent:

- reshapes, permutes, slicing, cat, stack, padding, casts: the same op on mu and on s2.
- add/sub (a residual sum: the branch is independent of the stream at init): mu adds, s2 adds.
- mul of independent a, b: E[ab] = mu_a mu_b, Var = s2_a s2_b + s2_a mu_b^2 + mu_a^2 s2_b;
  ``x * x`` and ``pow``: Gaussian moments.
- linear, conv, matmul, einsum (in float32; weights or two tracked tensors): for
  c = sum_j a_j b_j,
  mu_c = sum mu_a mu_b, s2_c = sum s2_a (s2_b + mu_b^2) + mu_a^2 s2_b, computed by the same
  op on (mu_a, mu_b), (s2_a, s2_b + mu_b^2), (mu_a^2, s2_b). With weights: the textbook
  q_out = fan_in Var(w) E[x^2] + b^2 of LeCun et al. 1998, entry by entry, from the actual
  weights.
- mean/sum over n entries: mu averages, s2 sums / n^2 (what makes a norm's statistics nearly
  deterministic); average pooling likewise with the window's count.
- elementwise functions (ReLU, GELU, SiLU, tanh, exp, ...: the torch function itself) of a
  Gaussian N(mu, s2): the Gaussian expectation, by 32-point Gauss-Hermite for smooth ones and
  Gauss-Legendre split at the kink for the others (``initlab.theory.gaussian``), as
  ``initlab.theory`` computes its maps (ReLU in closed form, the rectified Gaussian); beyond
  4096 distinct (mu, s2) entries on a grid (65 points on the longer side of their span, half
  that spacing on the shorter), interpolated (1% per entry, 0.1% pooled); a function of
  fn(Gaussian) composes with fn, so relu(relu(x)) stays exact; x^2 in closed form.
- rsqrt, sqrt, reciprocal, log, fractional powers, division by a tracked tensor: the delta
  method, only for a concentrated argument (std / mean < 0.3: a mean over many entries),
  derivatives in closed form (autograd for fractional powers).
- softmax over logits N(mu, s2): E[p_j] = exp(mu_j + s2_j/2) / sum_k exp(mu_k + s2_k/2) (the
  denominator of many terms concentrates), Var(p_j) = E[p_j]^2 (exp(s2_j) - 1), while every
  s2 <= 0.5; beyond, the moments over 256 draws of the logits; masked entries (-inf, a
  constant) get 0.
- scaled_dot_product_attention: logits q k^T * scale (+ mask, causal), softmax, dropout,
  @ v, each by the rules above.
- layer_norm, rms_norm, group_norm, batch_norm (batch statistics in training mode, the running
  buffers in eval mode): the expected statistics over the normalized entries, then the affine
  weight and bias.
- max pooling of fn(Gaussian) with fn non-decreasing: max_i fn(x_i) = fn(max_i x_i), and the
  max of a window's independent N(m_i, s_i^2) has the CDF prod_i Phi((x - m_i) / s_i)
  (order statistics; windows at a border or over unequal entries included).
- dropout(p) in training: mu kept, E[y^2] = E[x^2] / (1 - p); embedding: rows of the actual
  weight (a token id drawn as the batch's ids are).
"""

from __future__ import annotations

from initlab.torchbridge.interpret_elementwise import (
    ELEMENTWISE,
    add,
    delta_unary,
    div,
    elementwise,
    masked_fill,
    mul,
    neg,
    pow_,
    where,
)
from initlab.torchbridge.interpret_layers import (
    adaptive_avg_pool,
    avg_pool,
    batch_norm,
    group_norm,
    layer_norm,
    max_pool,
    rms_norm,
)
from initlab.torchbridge.interpret_linear import (
    addmm,
    conv,
    dropout,
    einsum,
    embedding,
    linear,
    matmul,
    sdpa,
    softmax,
)
from initlab.torchbridge.interpret_structure import (
    constant,
    copy,
    pad,
    reduce,
    setitem,
    structural,
)

#: torch function name (as the interpreter's mode reduces it: ``__iadd__`` -> ``add``) -> rule
RULES = {}
for _n in ("view", "reshape", "permute", "transpose", "t", "flatten", "unflatten", "squeeze",
           "unsqueeze", "expand", "expand_as", "contiguous", "clone", "detach", "to", "float",
           "double", "half", "bfloat16", "type", "type_as", "getitem", "narrow", "select",
           "split", "chunk", "unbind", "cat", "concat", "concatenate", "stack", "repeat",
           "repeat_interleave", "roll", "flip", "movedim", "moveaxis", "view_as", "reshape_as",
           "tile", "index_select", "gather", "tril", "triu", "T", "mT", "data", "swapaxes",
           "swapdims", "unfold", "split_with_sizes", "hsplit", "vsplit", "tensor_split",
           "squeeze_", "unsqueeze_", "contiguous", "pixel_shuffle", "pixel_unshuffle",
           "channel_shuffle", "require_grad", "requires_grad_", "cpu", "cuda"):
    RULES[_n] = structural
RULES.update({
    "setitem": setitem, "pad": pad,
    "add": add, "sub": add, "subtract": add, "rsub": add, "radd": add, "neg": neg,
    "negative": neg, "mul": mul, "multiply": mul, "rmul": mul, "div": div, "truediv": div,
    "true_divide": div, "divide": div, "rtruediv": div, "pow": pow_, "copy": copy,
    "rsqrt": delta_unary, "sqrt": delta_unary, "reciprocal": delta_unary, "log": delta_unary,
    "linear": linear, "conv1d": conv, "conv2d": conv, "conv3d": conv,
    "conv_transpose1d": conv, "conv_transpose2d": conv, "conv_transpose3d": conv,
    "matmul": matmul, "rmatmul": matmul, "mm": matmul, "bmm": matmul, "addmm": addmm,
    "baddbmm": addmm, "einsum": einsum, "mean": reduce, "sum": reduce,
    "where": where, "masked_fill": masked_fill, "softmax": softmax,
    "dropout": dropout, "dropout1d": dropout, "dropout2d": dropout, "dropout3d": dropout,
    "embedding": embedding, "scaled_dot_product_attention": sdpa, "layer_norm": layer_norm,
    "rms_norm": rms_norm, "group_norm": group_norm, "batch_norm": batch_norm,
    "avg_pool2d": avg_pool, "avg_pool3d": avg_pool, "adaptive_avg_pool1d": adaptive_avg_pool,
    "adaptive_avg_pool2d": adaptive_avg_pool, "adaptive_avg_pool3d": adaptive_avg_pool,
    "max_pool2d": max_pool, "max_pool2d_with_indices": max_pool,
})
for _n in ("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
           "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "zero", "fill"):
    RULES[_n] = constant
for _n in ELEMENTWISE:
    RULES[_n] = elementwise
