"""The explorer's size and speed goals, measured: build time, page size, first draw, redraw.

    .venv/bin/python benchmarks/explore_page.py            # quick and full builds
    .venv/bin/python benchmarks/explore_page.py --quick    # the quick build only
    .venv/bin/python benchmarks/explore_page.py --page out/explore.html   # browser part only

Goals (issue "An interactive explorer"): page <= 8 MB; build < 60 s (--quick < 15 s) on
two cores; first panel drawn < 2 s in headless Chromium; redraw after a control change
< 100 ms (median of 20 changes). Builds are timed whole-process (interpreter start and
imports included), as a user runs ``initlab explore``. First draw: performance.now() when
the page's first panel has been drawn (time since navigation start), median of 5 loads.
Build CPU seconds (the process and its workers) tell what an idle machine would take:
about CPU / 2 on two cores, as the grid runs in two processes.
Redraw: from the control's input event to the next animation frame after it (the charts
are painted by then), 20 changes alternating std-slider moves and depth changes; then 20
switches of the norm control, and 20 moves of the phase diagram's point (its two sliders).
There is no contender: these are absolute numbers; the machine's load average is printed
beside them, since a shared machine slows everything.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REDRAW_JS = """async ([id, value]) => {
  const e = document.getElementById(id);
  const t0 = performance.now();
  e.value = value; e.dispatchEvent(new Event('input'));
  await new Promise(r => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def build(out: Path, quick: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its workers) of one build."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "initlab.cli", "explore", "--out", str(out), "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd + (["--quick"] if quick else []), check=True, env=env,
                   stdout=subprocess.DEVNULL)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def browser(page_path: Path, loads: int = 5, changes: int = 20) -> dict:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        first = []
        for _ in range(loads):
            page = b.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_path.as_uri())
            page.wait_for_function("() => window.__explore")
            first.append(page.evaluate("() => window.__explore.firstDrawn"))
            page.close()
        page = b.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_path.as_uri())
        page.wait_for_function("() => window.__explore")
        stops = int(page.get_attribute("#std", "max"))
        depth = int(page.get_attribute("#depth", "max"))
        page.check("#init-normal")
        times = []
        for k in range(changes):
            if k % 2:
                times.append(page.evaluate(REDRAW_JS, ["depth", str(1 + (k * 7) % depth)]))
            else:
                times.append(page.evaluate(REDRAW_JS, ["std", str((k * 3) % (stops + 1))]))
        norm = []  # the normalization control, none <-> batch
        for k in range(changes):
            norm.append(page.evaluate(REDRAW_JS, ["axis-norm", ["batch", "none"][k % 2]]))
        sw, sb = int(page.get_attribute("#sw", "max")), int(page.get_attribute("#sb", "max"))
        phase = []  # the phase diagram's point, alternating sigma_w^2 and sigma_b^2 moves
        for k in range(changes):
            control, top = ("sw", sw) if k % 2 else ("sb", sb)
            phase.append(page.evaluate(REDRAW_JS, [control, str((k * 5) % (top + 1))]))
        b.close()
    return {"first_draw_ms": statistics.median(first), "redraw_ms": statistics.median(times),
            "redraw_all_ms": [round(t, 1) for t in times],
            "norm_redraw_ms": statistics.median(norm), "norm_redraw_max_ms": max(norm),
            "phase_redraw_ms": statistics.median(phase), "phase_redraw_max_ms": max(phase)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the quick build only")
    ap.add_argument("--page", type=Path, help="measure this page in the browser, no build")
    args = ap.parse_args()
    rows = {}
    if args.page:
        rows["given"] = {"size_mb": args.page.stat().st_size / 1e6, **browser(args.page)}
    else:
        for quick in (True,) if args.quick else (True, False):
            out = Path(tempfile.mkdtemp(prefix="explore-bench-"))
            load = os.getloadavg()[0]
            seconds, cpu = build(out, quick)
            page = out / "explore.html"
            rows["quick" if quick else "full"] = {
                "build_s": seconds, "build_cpu_s": cpu, "load_before": load,
                "size_mb": page.stat().st_size / 1e6, **browser(page)}
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
