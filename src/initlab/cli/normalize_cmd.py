"""``initlab normalize``: a grid of weight scales trained with and without normalization."""

EXPERIMENT = "normalize"
HELP = "normalization forgives a bad init: weight scales trained with and without BatchNorm"
DESCRIPTION = """\
Deep Learning from Scratch's BatchNorm experiment over seeds: 5 hidden layers of 100 ReLU
units, every weight drawn from N(0, std^2) for 16 std values from 1 down to 1e-4 (biases
zero), 1000 training examples, SGD lr 0.01, batches of 100, 20 epochs, trained without
normalization and with BatchNorm between each hidden linear layer and its ReLU. All scales and
seeds of a variant train at once as replicas of one model. Prints per scale and variant the
final train and test accuracy (mean and 95% interval over seeds), the final training loss and
how many runs diverged, then which scales train (mean train accuracy at least halfway from
chance to 1, or --threshold). With --out: results.json, curves.png (one panel per scale: train
accuracy after every epoch) and scales.png (accuracy against the weight scale, 95% bands).

examples:
  initlab normalize                                  # digits, none vs batch, 3 seeds
  initlab normalize --norm batch,layer --seeds 5 --out out/norm
  initlab normalize --data ~/mnist                   # MNIST files (IDX, CSV or NPZ)
  initlab normalize --scales 1,0.1,0.01 --epochs 10 --json
"""
