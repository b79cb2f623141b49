"""``initlab regularize``: overfitting on a small training set, and what L2 and dropout do."""

EXPERIMENT = "regularize"
HELP = "overfitting study: none / L2 / dropout / both on a small training set, over seeds"
DESCRIPTION = """\
Train a deep net on a small training subset four ways (no regularization, L2, dropout, both)
from the same seeds, and report train and test accuracy and their gap. Regularization helps when
it narrows the gap without costing test accuracy. With --out: results.json and curves.png.

examples:
  initlab regularize --dataset digits --train-size 300 --layers 100,100,100,100,100 \\
      --l2 0.01 --dropout 0.2 --seeds 5
  initlab regularize --dataset mnist --data ~/mnist --train-size 300 --out out/overfit
"""
