#!/usr/bin/env python3
"""Per-kernel time table from an Nsight Compute CSV (ncu --csv --metrics gpu__time_duration.sum --log-file F):
kernel launches grouped by name and grid, each group's launches, mean and total time and share of the sum, largest
first. The sum is of kernels run one at a time (ncu serialises them), so set it beside the step's wall time to see
what launch gaps and overlap make of it. Usage: ncu_kernel_table.py FILE.csv [--steps N] [--top K]"""
import argparse
import csv
import collections
import re


def short(name: str) -> str:
    # Template arguments say which format / row count / variant: keep them, drop namespaces, the return type and
    # the parameter list (the last top-level parenthesis).
    name = name.replace("(anonymous namespace)::", "")
    if name.endswith(")"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break
    name = re.sub(r"^void ", "", name)
    name = re.sub(r"\(?hotrod::(\w+::)*DType\)?", "", name)
    name = re.sub(r"hotrod::(\w+::)*", "", name)
    return name[:90]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--steps", type=int, default=0, help="forward steps profiled: also print the time a step")
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    with open(a.csv, newline="", errors="replace") as f:
        lines = [l for l in f if l.startswith('"')]  # ncu's own log lines are not quoted
    rows = list(csv.DictReader(lines))
    groups = collections.defaultdict(list)
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        v = float(r["Metric Value"].replace(",", ""))
        unit = r.get("Metric Unit", "nsecond")
        us = v / 1000 if unit.startswith("n") else v if unit.startswith("u") else v * 1000
        groups[(short(r["Kernel Name"]), r.get("Grid Size", ""))].append(us)
    total = sum(sum(v) for v in groups.values())
    print(f"{sum(len(v) for v in groups.values())} launches, {total / 1000:.2f} ms of kernel time"
          + (f", {total / a.steps:.1f} us a step over {a.steps} steps" if a.steps else ""))
    print(f"{'kernel':90s} {'grid':>14s} {'launches':>8s} {'mean us':>8s} {'total ms':>9s} {'share':>6s}")
    for (name, grid), v in sorted(groups.items(), key=lambda kv: -sum(kv[1]))[: a.top]:
        print(f"{name:90s} {grid:>14s} {len(v):8d} {sum(v) / len(v):8.2f} {sum(v) / 1000:9.3f} {100 * sum(v) / total:5.1f}%")


if __name__ == "__main__":
    main()
