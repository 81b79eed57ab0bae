"""`clusir experiment`: list, run and report the experiments of ``configs/experiments/``.

    clusir experiment list
    clusir experiment run table4 --jobs 2 --threads 1            # resumable: finished runs are skipped
    clusir experiment run table5 --variants t5_2346 --seeds 0
    clusir experiment report table4 [--json | --markdown]

See docs/experiments.md for how to read, extend and run a sweep on CPU, one GPU or several.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="run and report ablation sweeps (configs/experiments/)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s.add_parser("list", help="the experiments, their variants, seeds and how many runs are done")
    r = s.add_parser("run", help="train and score every (variant, seed) not done yet")
    r.add_argument("name")
    r.add_argument("--jobs", type=int, default=1, help="training processes side by side (default 1)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    r.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    r.add_argument("--variants", nargs="+", help="only these variants")
    r.add_argument("--seeds", nargs="+", type=int, help="only these seeds")
    r.add_argument("--results-dir", help="where result files go (default results/)")
    q = s.add_parser("report", help="the paper-shaped table from committed results (no training)")
    q.add_argument("name")
    q.add_argument("--json", action="store_true", help="print the report as JSON")
    q.add_argument("--markdown", action="store_true", help="print the markdown table (default)")
    q.add_argument("--results-dir", help="read result files from here (default results/)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from clusir.cli import CLIError
    from clusir.experiment import SweepError, build_report, format_markdown, list_specs, load_spec, run_sweep
    from clusir.experiment.record import result_path
    from clusir.train.config import ConfigError

    try:
        if args.action == "list":
            for name in list_specs():
                spec = load_spec(name)
                done = sum(result_path("results", spec.name, v.name, sd).exists()
                           for v in spec.variants if not v.same_as for sd in spec.seeds)
                total = sum(1 for v in spec.variants if not v.same_as for _ in spec.seeds)
                print(f"{name:18s} {len(spec.variants)} variants × seeds {list(spec.seeds)}, "
                      f"{spec.budget.steps} steps: {done}/{total} runs done — {spec.title}")
            return 0
        if args.action == "run":
            run_sweep(args.name, jobs=args.jobs, threads=args.threads, device=args.device,
                      variants=args.variants, seeds=args.seeds, results_dir=args.results_dir)
            return 0
        report = build_report(args.name, results_dir=args.results_dir)
        print(json.dumps(report, indent=1) if args.json else format_markdown(report))
        return 0
    except (ConfigError, SweepError) as exc:
        raise CLIError(str(exc)) from exc
