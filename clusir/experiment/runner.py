"""Run a sweep: every (variant, seed) of an experiment, ``jobs`` training processes side by side.

Idempotent and resumable: a (variant, seed) whose result file exists is skipped; one whose process was
killed resumes from its ``last.pt``. Each run is its own process (``python -m clusir.experiment``, :mod:`clusir.experiment.record`) with
``threads`` torch threads, so two 1-thread jobs use two cores without fighting over them, and many jobs can
share one GPU. One status line per running job is printed as its run log advances.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from clusir.runtime import repo_root
from clusir.experiment.record import result_path
import yaml

from clusir.experiment.spec import ExperimentSpec, load_spec, resolve_config, spec_to_dict

__all__ = ["planned_runs", "run_sweep", "SweepError"]


class SweepError(RuntimeError):
    """One or more runs of a sweep failed (their logs are named)."""


@dataclass
class _Job:
    variant: str
    seed: int
    proc: subprocess.Popen
    log: Path
    run_dir: Path
    started: float = field(default_factory=time.time)
    last_step: int = -1


def planned_runs(spec: ExperimentSpec, variants=None, seeds=None) -> list[tuple[str, int]]:
    """(variant, seed) pairs this experiment trains itself (``same_as`` variants are another's runs)."""
    names = list(variants) if variants else [v.name for v in spec.variants]
    for n in names:
        spec.variant(n)                                            # unknown names are errors
    seeds = list(seeds) if seeds is not None else list(spec.seeds)
    return [(n, s) for n in names if not spec.variant(n).same_as for s in seeds]


def _status(job: _Job, total: int) -> str | None:
    path = job.run_dir / "log.jsonl"
    step, rate = None, None
    try:
        for line in path.read_text().splitlines()[-20:]:
            row = json.loads(line)
            if row.get("kind") == "train":
                step, rate = row["step"], row.get("samples_per_s")
    except (OSError, ValueError):
        return None
    if step is None or step == job.last_step:
        return None
    job.last_step = step
    speed = f", {rate:.1f} samples/s" if rate else ""
    return f"  {job.variant} seed{job.seed}: step {step}/{total}{speed}, {time.time() - job.started:.0f} s"


def run_sweep(spec: ExperimentSpec | str, *, jobs: int = 1, threads: int = 1, device: str = "cpu",
              variants=None, seeds=None, results_dir: Path | None = None, runs_dir: Path | None = None,
              checkpoints_dir: Path | None = None, log=print, poll: float = 2.0,
              env: dict | None = None) -> list[Path]:
    """Train and score every planned run not finished yet; return the result files of all planned runs.

    Raises :class:`SweepError` naming the failed runs and their logs (the others still finish).
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    root = repo_root()
    results_dir = Path(results_dir or root / "results")
    runs_dir = Path(runs_dir or root / "runs" / "experiments")
    plan = planned_runs(spec, variants, seeds)
    todo = [(v, s) for v, s in plan if not result_path(results_dir, spec.name, v, s).exists()]
    log(f"experiment {spec.name}: {len(plan)} runs planned, {len(plan) - len(todo)} done, {len(todo)} to run "
        f"({jobs} job(s) × {threads} thread(s), device {device})")
    running: list[_Job] = []
    failed: list[str] = []
    queue = list(todo)
    try:
        _drive(spec, queue, running, failed, jobs, threads, device, results_dir, runs_dir, checkpoints_dir,
               env, log, poll)
    finally:                                  # interrupted (Ctrl-C, an error): stop the children; they resume
        for job in running:
            if job.proc.poll() is None:
                job.proc.kill()
                job.proc.wait()
    if failed:
        raise SweepError(f"experiment {spec.name}: {len(failed)} run(s) failed: " + "; ".join(failed))
    return [result_path(results_dir, spec.name, v, s) for v, s in plan]


def _drive(spec, queue, running, failed, jobs, threads, device, results_dir, runs_dir, checkpoints_dir, env,
           log, poll) -> None:
    """Keep ``jobs`` processes busy until the queue is empty and every process has ended."""
    while queue or running:
        while queue and len(running) < jobs:
            v, s = queue.pop(0)
            running.append(_start(spec, v, s, threads, device, results_dir, runs_dir, checkpoints_dir, env))
            log(f"  start {v} seed{s}" + (" (resuming)" if (running[-1].run_dir / "last.pt").exists() else ""))
        time.sleep(poll)
        for job in list(running):
            line = _status(job, spec.variant(job.variant).steps or spec.budget.steps)
            if line:
                log(line)
            code = job.proc.poll()
            if code is None:
                continue
            running.remove(job)
            if code == 0 and result_path(results_dir, spec.name, job.variant, job.seed).exists():
                log(f"  done  {job.variant} seed{job.seed} in {time.time() - job.started:.0f} s")
            else:
                failed.append(f"{job.variant} seed{job.seed} (exit {code}; log {job.log})")
                log(f"  FAILED {failed[-1]}")


def _start(spec, variant, seed, threads, device, results_dir, runs_dir, checkpoints_dir, env) -> _Job:
    cfg = resolve_config(spec, variant, seed, runs_dir=runs_dir)
    run_dir = cfg.run_path
    run_dir.mkdir(parents=True, exist_ok=True)
    logfile = run_dir / "process.log"
    spec_file = Path(runs_dir) / spec.name / "spec.yaml"            # the spec this process runs, as data
    spec_file.write_text(yaml.safe_dump(spec_to_dict(spec), sort_keys=False))
    cmd = [sys.executable, "-m", "clusir.experiment", str(spec_file), variant, str(seed),
           "--threads", str(threads), "--device", device, "--results-dir", str(results_dir),
           "--runs-dir", str(runs_dir),
           "--command", f"clusir experiment run {spec.name} --variants {variant} --seeds {seed} "
                        f"--threads {threads} --device {device}"]
    if checkpoints_dir:
        cmd += ["--checkpoints-dir", str(checkpoints_dir)]
    penv = {**os.environ, **(env or {}), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with open(logfile, "a") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=penv, cwd=repo_root())
    return _Job(variant, seed, proc, logfile, run_dir)
