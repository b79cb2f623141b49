"""``initlab reproduce``: the classic published experiments with their exact recipes."""

EXPERIMENT = "reproduce"
HELP = "reproduce a published experiment exactly (the course's three-layer init table)"
DESCRIPTION = """\
Reproduce the deep-learning course's "Initialization" experiment exactly: a [2, 10, 5, 1] ReLU
net trained with full-batch gradient descent (lr 0.01, 15000 iterations) from three inits, each
drawn from a legacy RandomState(3): zeros, random (normal(10)) and he. Prints the accuracy
table; with --out also writes results.json, costs.png and boundaries.png. The published circles
table is zeros 0.5/0.5, random 0.83/0.86, he 0.9933/0.96 (train/test). The recipe's options
(--iterations, --lr, --record-every, --boundary-points) default to the course's values; others
run it shorter or coarser, which no longer reproduces the published table.

For the same three inits over many seeds with error bars, see 'initlab compare --preset coursera'.
For the activation-statistics studies, see 'initlab activations --preset saito|cs231n'.

examples:
  initlab reproduce coursera
  initlab reproduce coursera --dataset moons --out out/moons
  initlab reproduce coursera --json
"""
