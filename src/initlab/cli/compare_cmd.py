"""``initlab compare``: initializations across many seeds, with error bars."""

EXPERIMENT = "compare"
HELP = "compare initializations across many seeds (accuracy with 95% intervals, curves)"
DESCRIPTION = """\
Train every init from many seeds, all at once as replicas of one model, and report per init the
train and test accuracy (mean, std, 95% interval over seeds), the final loss and how many runs
diverged. With --out: results.json, loss.png (curves with a band over seeds),
accuracy.png, and for 2-D data boundaries.png (the median seed of each init).

The presets: coursera is the deep-learning course's circles experiment over seeds (legacy
RandomState(3), (4), ... per seed); saito is Deep Learning from Scratch's comparison on digits
(MNIST with --data PATH), with LSUV beside the book's three inits. Their values are listed below.

examples:
  initlab compare --dataset moons --layers 10,5 --activation relu --init "zeros,normal(10),he" \\
      --seeds 30 --iterations 15000 --lr 0.01
  initlab compare --preset coursera --seeds 10 --out out/coursera
  initlab compare --preset saito --data ~/mnist --train-size 10000
  initlab compare --dataset spiral --layers 16,16 --activation tanh --init "xavier,he" \\
      --optimizer adam --lr 0.01 --batch 64 --epochs 200
  initlab compare --preset saito --norm batch     # does BatchNorm rescue std 0.01?
"""
