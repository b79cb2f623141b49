"""``initlab propagate``: signal propagation beside mean-field theory, the edge of chaos,
Jacobian spectra and the trainability phase diagram."""

EXPERIMENT = "propagate"
HELP = "q/c propagation beside mean-field theory, chi_1 phase diagram, Jacobians, trainability"
DESCRIPTION = """\
Push pairs of inputs (correlation --c0, length --q0) and a batch through random deep nets with
weights N(0, sigma_w^2 / width) and biases N(0, sigma_b^2), record the length q_l and the
correlation c_l of the pre-activations at every layer, and print them beside the mean-field
maps of Poole et al. 2016 and Schoenholz et al. 2017: the fixed points q* and c*, chi_1 (the
order-to-chaos parameter: < 1 ordered, > 1 chaotic), and the depth scales xi_q and xi_c. Also
computes the (sigma_w^2, sigma_b^2) phase diagram of chi_1 with the critical line chi_1 = 1.

Ranges: LO:HI:N is N evenly spaced values from LO to HI; a comma list or one value also works
(on the command line and as text in a TOML file). --quick shrinks the sizes not given (width,
sigma_w2, and the grid's depths and steps: each option's help lists its --quick value).

--jacobian adds the singular values of the input-output Jacobian (Pennington et al. 2017):
tanh on the critical line (sigma_b^2 = --jacobian-sigma-b2) and ReLU at (2, 0), Gaussian and
orthogonal weights, at each --jacobian-depths, width --jacobian-width.
--trainability adds the trainability phase diagram (Schoenholz et al. 2017): a grid of the
--sigma-w2 values by --depths, tanh nets of --train-width units, SGD for --steps steps on
digits, training accuracy after training over --train-seeds seeds, beside 6 xi_c. The grid
at the papers' resolution is a sweep: examples/sweep_trainability.toml ('initlab sweep').

JSON (--json):
  {"critical": {"sigma_b2": [...], "sigma_w2": [...]},      the critical line (null: none)
   "runs": [{"sigma_w2", "sigma_b2", "activation", "q_star", "c_star", "chi_1", "xi_q", "xi_c",
             "layers": [{"index", "q", "q_predicted", "c", "c_predicted"}]}],
   "jacobian": [{"weights": "gaussian"|"orthogonal", "activation", "depth", "width",
                 "sigma_w2", "sigma_b2", "singular_values": {"min", "q05", "q50", "q95", "max"},
                 "condition_number"}],                         with --jacobian
   "trainability": [{"sigma_w2", "depth", "train_accuracy": {"mean", "std"}}],
   "six_xi_c": [{"sigma_w2", "depth"}]}                       with --trainability
Infinite values (xi at criticality, q* of an exploding net) are null.
With --out: results.json, propagation.png, phase.png (+ jacobian.png, trainability.png).

examples:
  initlab propagate --activation tanh --sigma-w2 0.5:4:36 --sigma-b2 0.05 --depth 100 \\
      --width 500 --seeds 3
  initlab propagate --activation relu --sigma-w2 1:3:9 --sigma-b2 0 --out out/relu
  initlab propagate --jacobian --jacobian-depths 32,128 --out out/jac
  initlab propagate --trainability --sigma-w2 1:4:8 --depths 5:100:6 --out out/train
  initlab propagate --trainability --quick --dump-config > train.toml   # for 'initlab run'
"""

