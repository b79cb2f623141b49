"""``initlab residual``: residual MLPs without normalization, by depth and initialization."""

EXPERIMENT = "residual"
HELP = "residual nets without normalization: which init trains how deep (Fixup, SkipInit, ...)"
DESCRIPTION = """\
Residual MLPs (width 64, blocks x <- x + alpha B(x) of 2-layer ReLU branches) on standardized
digits at several depths, one init scheme per group of replicas: he (no normalization), fixup,
skipinit (rezero), scaled (last branch layer / sqrt(L); scaled2: / sqrt(2L)) and he+batchnorm
(BatchNorm in the branch). At init: the stream's std per block beside the theory, and the
first block's gradient norm; after training with SGD (momentum 0.9) and Adam over a small
learning-rate grid: the final training loss and accuracy, and which runs diverged (a float32
stream overflows after ~160 He blocks). With --out: results.json, stream.png, loss.png.

examples:
  initlab residual --quick
  initlab residual --depths 4,16,64,256 --schemes he,fixup,skipinit,scaled,he+batchnorm \\
      --optimizer sgd,adam --seeds 3 --out out/residual
  initlab residual --depths 8,32 --schemes "fixup,scaled2,he+layernorm" --json
"""
