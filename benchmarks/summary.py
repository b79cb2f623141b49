"""The benchmark's arithmetic and tables: rows from the measured samples, goals judged,
each workload's headline, the text and Markdown tables.

Every ratio is the median over rounds of round i's time of row A (the row's ``ratio_of``,
initlab by default) over round i's time of the row itself, never a ratio of medians: a load
spike then spoils one round's ratio, not a whole median. Standard library only.
"""

from __future__ import annotations


def median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def paired(a: list[float], b: list[float]) -> float | None:
    """Median of the per-round ratios a_i / b_i (None without a common round)."""
    pairs = [x / y for x, y in zip(a, b, strict=False)]
    return median(pairs) if pairs else None


def _goals(workload, c, row: dict, first: bool) -> tuple[list[str], list[bool]]:
    """The goals of one row, as text, and whether each is met."""
    goals, ok = [], []
    if c.goal is not None:
        goals.append(f"<= {c.goal:g}x")
        ok.append(row["ratio"] is not None and row["ratio"] <= c.goal)
    if c.goal_seconds is not None:
        goals.append(f"<= {c.goal_seconds:g} s")
        ok.append(row["median"] is not None and row["median"] <= c.goal_seconds)
    if first and workload.memory_goal_mib is not None:
        goals.append(f"mem <= {workload.memory_goal_mib:.3g} MiB")
        rise = row["above_start_mib"]
        ok.append(rise is not None and rise <= workload.memory_goal_mib)
    return goals, ok


def summarize(workload, samples, peaks, above, baselines, reported, errors,
              busy: dict | None = None) -> dict:
    """Rows of the table: median, min, max, peak memory, ratio, goals, pass/fail.

    samples, peaks, above: per contender, lists over the counted rounds (seconds, peak MiB,
    MiB above start); baselines: the baseline's MiB; reported: the child's check dict; errors:
    why a contender failed; busy: seconds beside the neighbour, per round (None: no
    neighbour). Absent contenders (skipped or failed) have no entries.
    """
    rows = []
    for c in workload.contenders:
        t = samples.get(c.name, [])
        num = workload.numerator(c)
        row = {"contender": c.name, "kind": workload.kind(c), "note": c.note,
               "skipped": c.skip, "error": errors.get(c.name), "samples": t, "median": None,
               "min": None, "max": None, "peak_mib": None, "above_start_mib": None,
               "ratio_of": num, "ratio": None, "goal": None,
               "goal_seconds": c.goal_seconds, "passed": None, "check": reported.get(c.name)}
        if t:
            row.update(median=median(t), min=min(t), max=max(t))
            row["peak_mib"] = max(peaks[c.name]) if peaks.get(c.name) else None
            row["baseline_mib"] = baselines.get(c.name)
            if above.get(c.name):
                row["above_start_mib"] = max(above[c.name])
        if num is not None and t:
            row["ratio"] = paired(samples.get(num, []), t)
        if busy is not None and busy.get(c.name):
            row["busy_samples"] = busy[c.name]
            row["busy_median"] = median(busy[c.name])
            row["slowdown"] = paired(busy[c.name], t)
            row["busy_ratio"] = paired(busy.get(num, []), busy[c.name]) if num else None
        goals, ok = _goals(workload, c, row, c is workload.contenders[0])
        if goals:
            row["goal"] = "; ".join(goals)
            if c.skip is None:  # a skipped row neither meets nor misses its goal
                row["passed"] = all(ok)
        elif c is workload.contenders[0] and c.skip is None and not t:
            row["passed"] = False
        rows.append(row)
    out = {"name": workload.name, "title": workload.title, "skipped": workload.skip,
           "notes": workload.notes, "rows": rows}
    out["headline"] = headline(out)
    return out


def headline(result: dict) -> str:
    """The workload's lead line: initlab's ratio to its strongest contender (the row with
    the largest ratio: where initlab fares worst) and to the floor, or the absolute goals."""
    rows = [r for r in result["rows"] if r["median"] is not None]
    parts = []
    rivals = [r for r in rows if r["kind"] == "contender" and r["ratio"] is not None]
    if rivals:
        r = max(rivals, key=lambda r: r["ratio"])
        parts.append(f"{r['ratio']:.2f}x the strongest contender, {r['contender']} "
                     f"({r['ratio_of']} / it)")
    for r in rows:
        if r["kind"] == "floor":
            if r["ratio"] is not None:
                parts.append(f"{r['ratio']:.2f}x the floor, {r['contender']}")
            else:
                parts.append(f"the floor, {r['contender']}: {r['median']:.3g} s")
    for r in rows:
        if r.get("goal_seconds") is not None:
            parts.append(f"{r['contender']}: {r['median']:.3g} s (goal <= "
                         f"{r['goal_seconds']:g} s)")
    return f"{result['name']}: " + ("; ".join(parts) if parts else "nothing measured")


def goal_counts(results: list[dict]) -> tuple[int, int]:
    """How many rows met their goals and how many missed them."""
    judged = [r["passed"] for w in results for r in w["rows"] if r["passed"] is not None]
    return sum(judged), len(judged) - sum(judged)


def _fmt(value, spec: str, none: str = "-") -> str:
    return none if value is None else format(value, spec)


def format_table(results: list[dict], markdown: bool = False) -> str:
    """One table of every workload's rows: plain text, or Markdown for the README.

    Columns: A/x is the row's ratio, A the row it is taken from. With a neighbour: the
    median beside it, the slowdown (beside / alone, per round) and A/x beside it.
    """
    neighbour = any("slowdown" in r for w in results for r in w["rows"])
    head = ["workload", "contender", "median s", "min-max s", "peak MiB (+start)", "A/x",
            "A", "goal", "result"]
    if neighbour:
        head += ["beside s", "slowdown", "A/x beside"]
    lines = []
    for w in results:
        if w["skipped"]:
            lines.append([w["name"], "(skipped)", "", "", "", "", "", "", w["skipped"]])
            continue
        for r in w["rows"]:
            if r["skipped"] or r["error"]:
                why = r["skipped"] or "FAILED: " + r["error"].splitlines()[-1][:60]
                lines.append([w["name"], r["contender"], "", "", "", "", "", "", why])
                continue
            mem = _fmt(r["peak_mib"], ".0f")
            if r["above_start_mib"] is not None:
                mem += f" ({r['above_start_mib']:+.0f})"
            spread = f"{_fmt(r['min'], '.3g')}-{_fmt(r['max'], '.3g')}"
            result = {True: "PASS", False: "FAIL", None: ""}[r["passed"]]
            ratio = _fmt(r["ratio"], ".2f")
            lines.append([w["name"], r["contender"], _fmt(r["median"], ".3g"), spread, mem,
                          ratio, r["ratio_of"] if r["ratio"] is not None else "",
                          r["goal"] or "", result])
            if neighbour:
                lines[-1] += [_fmt(r.get("busy_median"), ".3g"), _fmt(r.get("slowdown"), ".2f"),
                              _fmt(r.get("busy_ratio"), ".2f")]
    lines = [row + [""] * (len(head) - len(row)) for row in lines]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(out + ["| " + " | ".join(str(x) for x in row) + " |" for row in lines])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    rule = "  ".join("-" * n for n in widths)
    out = ["  ".join(str(x).ljust(n) for x, n in zip(head, widths, strict=True)), rule]
    out += ["  ".join(str(x).ljust(n) for x, n in zip(row, widths, strict=True)).rstrip()
            for row in lines]
    return "\n".join(out)
