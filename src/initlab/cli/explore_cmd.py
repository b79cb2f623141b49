"""``initlab explore``: write the interactive explorer, one self-contained HTML page."""

from __future__ import annotations

import os
import time
from pathlib import Path

from initlab.cli.common import positive_int, show_progress

HELP = "write an interactive page: drag the init's std, depth and width; watch nets train"
DESCRIPTION = """\
Write DIR/explore.html: one self-contained page (data and script inline, no network request,
opens from the file system) with three panels.

At initialization: choose the activation, the init (normal with a log-scale std slider from
1e-3 to 10, or lecun, xavier, he, orthogonal), the depth, the width and the normalization
(none, or batch: every pre-activation normalized over the batch); see per-layer
histograms of the activations and of the gradients, the std against depth beside theory, the
numbers, and a one-line verdict. Every number is what 'initlab activations --json' prints
for the same setting (the page shows that command).

Training: the deep-learning course's three-layer net on circles, moons or spiral from zeros,
normal(0.01), normal(1), normal(10), xavier and he; play or drag through the steps to see the
decision boundary, the cost so far and per-layer stds, with a second init beside the first.

How deep can it go?: the chi_1 phase diagram over (sigma_w^2, sigma_b^2) for tanh, relu and
erf with the critical line chi_1 = 1; drag the point (or use the sliders) to see the length
q_l and the correlation c_l of the mean-field maps against depth, and q*, c*, chi_1, xi_q,
xi_c (the numbers of initlab.theory.mean_field and iterate for that point).

The default grid (widths 16, 64, 256; depth 1-20; 9 std stops; norm none and batch) took
19 CPU seconds on a 2-core machine (2026-12-07); --quick (widths 16, 64; depth 1-10; 5 stops;
2000 training steps; a coarser phase lattice) 4.5. A grid that would make the
page larger than 8 MB is refused with its estimate.

examples:
  initlab explore --out out            # writes out/explore.html
  initlab explore --quick --out /tmp/e
  initlab explore --widths 16,64,256,1024 --depth 12
"""


def add_arguments(parser) -> None:
    from initlab.cli.options import add_config_arguments
    from initlab.explore.build import ExploreConfig

    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("."),
                        help="output folder (default: the current one)")
    add_config_arguments(parser, ExploreConfig)
    parser.add_argument("-j", "--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                        help="worker processes for the runs (default: 2 or the CPUs if fewer)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from initlab.cli.options import config_from_args
    from initlab.explore import plan, write_explorer
    from initlab.explore.build import ExploreConfig, tasks
    from initlab.runtime.progress import Progress

    options = config_from_args(args, ExploreConfig).to_dict()
    p = plan(**options)  # refuse before any work
    start = time.perf_counter()
    with Progress(len(tasks(p)), "initlab explore", "run",
                  enabled=show_progress(args)) as bar:
        def progress(done, total):
            bar.update(done - bar.n)

        path = write_explorer(args.out, jobs=args.jobs, progress=progress, **options)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.1f} MB in {time.perf_counter() - start:.0f} s)")
    return 0
