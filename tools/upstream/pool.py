#!/usr/bin/env python3
"""Pools the rounds of several side_by_side.py runs (their --raw JSON files): per workload, the median and quartiles
of the per-round ratios PyTorch / mimi4j, how many rounds reached 2x, and both sides' median times. Each run's first
round is left out (both sides' first 60 s call of their process, ~2-3x slower than the rest). Host python3, standard
library only.

  python3 tools/upstream/pool.py /tmp/run1.json /tmp/run2.json
"""
import json
import statistics
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds = {}
    for path in sys.argv[1:]:
        try:
            with open(path) as f:
                run = json.load(f)
            run_rounds = run["rounds"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.exit(f"pool.py: {path}: not a side_by_side.py --raw file ({e.__class__.__name__}: {e})")
        for r in run_rounds[1:]:
            for workload, res in r["results"].items():
                if "ratio" in res:
                    rounds.setdefault(workload, []).append(res)
    print(f"{len(sys.argv) - 1} runs pooled, each without its first round\n")
    print("| workload | rounds | ratio: median (quartiles) | rounds at 2x or more | PyTorch, median | mimi4j, median |")
    print("|---|--:|--:|--:|--:|--:|")
    for workload, rs in rounds.items():
        ratios = [r["ratio"] for r in rs]
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        pt = statistics.median(r["pytorch"]["ms"] for r in rs)
        mj = statistics.median(r["mimi4j"]["ms"] for r in rs)
        print(f"| {workload} | {len(rs)} | {statistics.median(ratios):.2f}x ({q[0]:.2f}-{q[2]:.2f}) "
              f"| {sum(x >= 2 for x in ratios)} | {pt:.0f} ms | {mj:.0f} ms |")


if __name__ == "__main__":
    main()
