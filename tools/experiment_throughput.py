"""Throughput of the committed experiment sweep, from its result files (docs/benchmarks.md quotes it).

    python tools/experiment_throughput.py          # a markdown table per (experiment, variant) and totals
"""

from __future__ import annotations

import json
import statistics as st
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for f in sorted((ROOT / "results").glob("*/*/seed*.json")):
        r = json.loads(f.read_text())
        rows[r["experiment"], r["variant"]].append(r)
    print("| experiment | variant | runs | samples/s (mean over runs) | train loop s per run | eval s per run |")
    print("|---|---|---|---|---|---|")
    seconds = 0.0
    for (e, v), rs in rows.items():
        seconds += sum(r["train"]["train_loop_seconds"] + r["eval_seconds"] for r in rs)
        print(f"| {e} | {v} | {len(rs)} | {st.mean(r['train']['samples_per_s'] for r in rs):.1f} | "
              f"{st.mean(r['train']['train_loop_seconds'] for r in rs):.0f} | "
              f"{st.mean(r['eval_seconds'] for r in rs):.0f} |")
    n = sum(len(rs) for rs in rows.values())
    every = [r for rs in rows.values() for r in rs]
    print(f"\n{n} runs; training loops + evaluation {seconds / 3600:.2f} process-hours in all "
          f"({n / (seconds / 3600):.1f} runs per process-hour; each process uses one core).")
    print(f"Hardware: {sorted({r['hardware']['cpu'] for r in every})}, threads "
          f"{sorted({r['hardware']['torch_threads'] for r in every})}; dates {sorted({r['date'][:10] for r in every})}.")


if __name__ == "__main__":
    main()
