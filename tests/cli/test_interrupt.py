"""Interrupting a real ``initlab compare`` with two worker processes: Ctrl-C (once, twice) and
SIGTERM end it within seconds, with "interrupted", exit 130/143, no traceback, no process left."""

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the group")

ARGV = ["compare", "--dataset", "moons", "--seeds", "4", "--iterations", "5000000", "--jobs",
        "2", "--force", "-q"]


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group ``pgid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def start_with_workers():
    proc = subprocess.Popen([sys.executable, "-m", "initlab.cli", *ARGV],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(group_members(proc.pid)) < 3:  # the parent and its two workers
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.2)
    time.sleep(1.0)  # let them get into training
    return proc


@pytest.mark.parametrize("how, code", [("ctrl-c", 130), ("int-twice", 130), ("term", 143)])
def test_interrupt_ends_cleanly(how, code):
    proc = start_with_workers()
    if how == "ctrl-c":  # a terminal sends SIGINT to the whole foreground group
        os.killpg(proc.pid, signal.SIGINT)
    elif how == "int-twice":  # as `timeout -s INT` delivers it
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    try:
        out, err = proc.communicate(timeout=15)
        # what the parent started (workers, multiprocessing's resource tracker) is gone
        # within a moment of the parent's exit, even on a busy machine
        leftover = group_members(proc.pid)
        while leftover and time.monotonic() - start < 15:
            time.sleep(0.1)
            leftover = group_members(proc.pid)
    finally:
        for pid in group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
    assert time.monotonic() - start < 15
    assert proc.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert leftover == []


def test_interrupted_report_keeps_finished_sections(tmp_path):
    """Ctrl-C after the first section: the report holds it, marked incomplete, whole files."""
    out = tmp_path / "report"
    from initlab.report.sections import SECTIONS

    proc = subprocess.Popen([sys.executable, "-m", "initlab.cli", "report", "--quick", "--jobs",
                             "1", "--seeds", "1", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = proc.stderr.readline()  # the progress line of the first finished section
    # the sections and the explorer
    assert f"1/{len(SECTIONS) + 1} parts" in first, first + proc.stderr.read()
    os.killpg(proc.pid, signal.SIGINT)
    out_text, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    page = (out / "report.html").read_text()
    assert "This report is incomplete: it was interrupted after" in page
    assert "not run: the report was interrupted" in page
    import json

    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False
    statuses = [s["status"] for s in results["sections"].values()]
    assert statuses.count("ok") >= 1 and "not run" in statuses
    assert not list(out.glob(".*.tmp"))
