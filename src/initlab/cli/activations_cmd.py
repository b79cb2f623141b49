"""``initlab activations``: per-layer activation and gradient statistics at initialization."""

EXPERIMENT = "activations"
HELP = "look inside a deep net at initialization: per-layer histograms, stds, theory"
DESCRIPTION = """\
Draw a deep MLP for every init and activation, push a batch through it and a unit-variance
random gradient back, and report per layer the mean, std, fraction saturated (|tanh| > 0.99,
sigmoid < 0.01 or > 0.99) and exactly zero of the activations, the std of the gradients with
respect to the activations and the weights, each beside what variance-propagation theory
predicts, and a verdict computed from those numbers: vanishing or exploding (the first layer
whose std falls below 1/10 or rises above 10x the first layer's), shrinking or growing (a
per-layer trend that would cross within 50 layers, extrapolated), saturated (25% or more on
the flat ends), dead units (10% or more zero for the whole batch), units alike, gradients
judged the same way from the top down; healthy only when none holds.
Statistics pool all values over --seeds nets. With --out: results.json (with histogram counts
and per-seed values), histograms_<activation>.png (rows: inits, columns: layers) and
std_vs_depth.png (theory as lines, each seed as faint markers). With --norm batch (or layer)
every pre-activation is normalized over the batch (or the units) before its activation, so
the scale is restored at every layer whatever the init; theory then says std 1 after each
norm, then the activation's moments of N(0, 1).

The presets: saito is Deep Learning from Scratch 6.2 (a 1000 x 100 input, 5 layers of 100),
cs231n the CS231n lecture's 10-layer study (a 16 x 4096 input, 10 layers of 4096), both
without biases. Their values are listed below.

examples:
  initlab activations --activation tanh,relu --init "normal(0.01),lecun,he" --depth 10 \\
      --width 4096 --batch 16
  initlab activations --preset saito --out out/saito
  initlab activations --preset cs231n --no-grad --json
  initlab activations --activation relu --init he,lecun --depth 20 --width 256 --seeds 10 \\
      --out out/relu
  initlab activations --activation tanh --init "xavier,orthogonal(gain=1.1)" --sizes 784,512,256 \\
      --bias 0.1 --range=-2,2
  initlab activations --preset saito --norm batch --out out/saito-bn   # the scale restored
"""
