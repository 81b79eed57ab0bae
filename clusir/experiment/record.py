"""One run of an experiment: train (resuming a killed run), score the last weights, write the result file.

    python -m clusir.experiment table4 t4a_wtb_only 0 [--threads 1] [--device cpu]

``clusir experiment run`` starts one such process per (variant, seed). The result file
``results/<experiment>/<variant>/seed<k>.json`` is written atomically and only when everything is done, so a
file that exists is a finished run; a run killed at any moment resumes from its ``last.pt``
(``clusir.train`` exact resume). What the file holds is listed in :func:`run_one`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from clusir.runtime import cpu_model, repo_root, resolve_device
from clusir.data import test_set
from clusir.evaluate import evaluate_model, limit_per_task
from clusir.experiment.spec import ExperimentSpec, config_key, load_spec, resolve_config
from clusir.model.info import count_active_parameters, count_macs, count_parameters
from clusir.train import train
from clusir.train.checkpoint import export_release, load_model, sha256_file
from clusir.train.config import config_to_dict
from clusir.train.release import git_commit
from clusir.train.runlog import read_log

__all__ = ["run_one", "result_path", "measured", "hardware", "routing_summary", "routing_sizes", "RESULT_FORMAT"]

RESULT_FORMAT = "clusir-experiment-result/1"
#: fields of a result file that describe *how* it was produced, not *what* it measured
PROVENANCE_KEYS = ("git_commit", "command", "hardware", "date", "train", "eval_seconds", "torch_version",
                   "clusir_version", "checkpoint")


def measured(result: dict) -> dict:
    """What a result file measured, without how and where it was produced (timings, paths, commit, date):
    two runs of the same config and seed must agree on this exactly."""
    out = {k: v for k, v in result.items() if k not in PROVENANCE_KEYS}
    out["config"] = {k: v for k, v in result["config"].items() if k not in ("run_dir", "threads", "device")}
    return out


def result_path(results_dir: Path | str, experiment: str, variant: str, seed: int) -> Path:
    return Path(results_dir) / experiment / variant / f"seed{seed}.json"


def hardware(device: torch.device) -> dict:
    """CPU model, cores, torch threads and, on CUDA, the GPU's name, driver-side CUDA version and memory."""
    out = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "device": str(device), "platform": platform.platform()}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        out.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), cuda=torch.version.cuda)
    return out


def routing_sizes(model) -> list[tuple[int, int]]:
    """(clusters, experts) of each routed stage; the flat router counts as one cluster of M experts."""
    sizes = []
    for block in getattr(model, "moe", []):
        experts = getattr(block, "experts", None)
        if experts is None:
            continue
        posterior = getattr(block, "posterior", None)               # PCGRM's ClusterPosterior, Eqs. (4)-(6)
        sizes.append((posterior.prototypes.shape[0] if posterior is not None else 1, len(experts)))
    return sizes


def routing_summary(records: list[tuple[str, list]], sizes: list[tuple[int, int]]) -> dict:
    """Cluster and expert usage per task and stage from ``(task, [StageRouting per stage])`` records.

    ``sizes`` holds (clusters, experts) per stage (:func:`routing_sizes`). Per stage: ``cluster_share`` (mean
    over images of the renormalised cluster weights α of Eq. (6), scattered to all N clusters; sums to 1),
    ``expert_share`` (mean of α·p(e|c), Eq. (10), over all experts; sums to 1), ``posterior`` (mean α̂ of
    Eq. (5); for the flat router the Eq. (1) softmax over experts) and ``top_cluster`` (how many images put
    each cluster first). Empty for a model without routing.
    """
    by_task: dict[str, list[list]] = {}
    for task, stages in records:
        if stages:
            by_task.setdefault(task, []).append(stages)
    out = {}
    for task, images in by_task.items():
        stages = []
        for s, (n_clusters, n_experts) in enumerate(sizes):
            cl, ex = np.zeros(n_clusters), np.zeros(n_experts)
            top = np.zeros(n_clusters, dtype=int)
            for img in images:                                   # one image per forward (batch of 1)
                r = img[s]
                ci = r.clusters[0].numpy()                       # (K1,)
                np.add.at(cl, ci, r.cluster_weights[0].double().numpy())
                w = r.cluster_weights[0, :, None].double() * r.expert_weights[0].double()   # (K1, K2)
                np.add.at(ex, r.experts[0].numpy().ravel(), w.numpy().ravel())
                top[ci[0]] += 1
            k = len(images)
            post = torch.stack([img[s].posterior[0].double() for img in images]).mean(0)
            stages.append({"cluster_share": (cl / k).round(5).tolist(), "expert_share": (ex / k).round(5).tolist(),
                           "posterior": post.numpy().round(5).tolist(), "top_cluster": top.tolist()})
        out[task] = stages
    return out


def _evaluate(model, samples, device) -> tuple[dict, dict]:
    """Score ``samples`` and collect the routing of every forward (a hook, so the protocol stays
    ``clusir.evaluate``'s own)."""
    records: list = []
    tasks = iter([s["task"] for s in samples])

    def hook(_module, _inputs, output):
        records.append((next(tasks), [_cpu(r) for r in getattr(output, "routing", [])]))

    handle = model.register_forward_hook(hook)
    try:
        res = evaluate_model(model, samples, device=device, ssim=True)
    finally:
        handle.remove()
    return res, routing_summary(records, routing_sizes(model))


def _cpu(r):
    import dataclasses

    return dataclasses.replace(r, **{f.name: getattr(r, f.name).detach().cpu() for f in dataclasses.fields(r)
                                     if torch.is_tensor(getattr(r, f.name))})


def _metrics(res: dict) -> dict:
    """Per-task means in both SSIM conventions plus the per-image PSNR (for paired statistics)."""
    tasks = {}
    for t, v in res["tasks"].items():
        rows = [r for r in res["images"] if r["task"] == t]
        tasks[t] = {**{k: round(x, 6) if isinstance(x, float) else x for k, x in v.items()},
                    "images": [r["name"] for r in rows],
                    "per_image_psnr": [round(r["psnr"], 5) for r in rows]}
    return {"tasks": tasks, "mean": {k: round(x, 6) for k, x in res["mean"].items()},
            "conventions": res["conventions"], "protocol": res["protocol"]}


def _train_summary(run_dir: Path, steps: int, batch: int, macs: int) -> dict:
    rows = read_log(run_dir)
    train_rows = [r for r in rows if r.get("kind") == "train"]
    secs = sum(float(r.get("time", 0)) for r in train_rows)
    resumes = sum(1 for r in rows if r.get("kind") == "event" and r.get("message") == "resume")
    samples = steps * batch
    return {"steps": steps, "samples": samples, "train_loop_seconds": round(secs, 1),
            "samples_per_s": round(samples / secs, 3) if secs else None, "resumes": resumes,
            "final_train_loss": train_rows[-1]["loss"] if train_rows else None,
            "macs_per_sample": macs, "train_flops_estimate": 6 * macs * samples}


def run_one(spec: ExperimentSpec, variant: str, seed: int, *, results_dir: Path | None = None,
            runs_dir: Path | None = None, checkpoints_dir: Path | None = None, threads: int = 1,
            device: str = "cpu", command: str | None = None, root: Path | None = None) -> Path:
    """Train and score one (variant, seed); return the result file (skipped if it exists already).

    The result file holds: the resolved training and model configs and their key (hash), git commit, command,
    hardware, torch version, date, the budget, parameters and active parameters per image, the training
    summary (steps, samples, wall time, samples/s, MACs per sample and a training-FLOP estimate = 6·MACs·
    samples), validation and test metrics per task in both SSIM conventions, per-image test PSNR, and routing
    statistics per task and stage (:func:`routing_summary`).
    """
    root = root or repo_root()
    results_dir = Path(results_dir or root / "results")
    runs_dir = Path(runs_dir or root / "runs" / "experiments")
    out = result_path(results_dir, spec.name, variant, seed)
    if out.exists():
        return out
    v = spec.variant(variant)
    if v.same_as:
        raise ValueError(f"{spec.name}/{variant} reuses {v.same_as}: run that experiment instead")
    torch.set_num_threads(threads)
    cfg = resolve_config(spec, v, seed, runs_dir=runs_dir, root=root)
    dev = resolve_device(device)
    from dataclasses import replace

    cfg = replace(cfg, threads=threads, device=str(dev))
    commit = git_commit(root)
    t0 = time.time()
    result = train(cfg, resume=True)
    train_wall = time.time() - t0
    if int(os.environ.get("RANK", "0")) != 0:               # under torchrun: rank 0 alone scores and writes
        return out
    model, ckpt = load_model(result.last, device=dev)
    b = spec.budget
    macs = count_macs(model, size=b.crop)
    t1 = time.time()
    setting = cfg.data.setting
    test, routing = _evaluate(model, limit_per_task(test_set(setting, split="test"), b.test_limit), dev)
    val, _ = _evaluate(model, limit_per_task(test_set(setting, split="val"), b.val_limit), dev)
    kept = None
    if variant in spec.keep_checkpoints and seed == min(spec.seeds):
        kept = _keep_checkpoint(ckpt, spec, variant, seed, Path(checkpoints_dir or root / "checkpoints"), root)
    record = {
        "format": RESULT_FORMAT,
        "experiment": spec.name, "variant": variant, "label": v.label, "seed": seed,
        "config": config_to_dict(cfg), "config_key": config_key(cfg),
        "model_config": ckpt.get("model_config"),
        "budget": {"steps": v.steps or b.steps, "batch_size": b.batch_size, "crop": b.crop,
                   "val_limit": b.val_limit, "test_limit": b.test_limit},
        "params": count_parameters(model), "active_params": count_active_parameters(model),
        "train": {**_train_summary(result.run_dir, result.step, b.batch_size, macs),
                  "wall_seconds_this_process": round(train_wall, 1)},
        "val": _metrics(val), "test": _metrics(test), "routing": routing,
        "eval_seconds": round(time.time() - t1, 1),
        "checkpoint": kept,
        "git_commit": commit,
        "command": command or " ".join(shlex.quote(a) for a in sys.argv),
        "hardware": hardware(dev),
        "torch_version": str(torch.__version__),
        "clusir_version": ckpt.get("clusir_version"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, out)                                     # atomic: a result file is always complete
    return out


def _keep_checkpoint(ckpt: dict, spec: ExperimentSpec, variant: str, seed: int, ckpt_dir: Path,
                     root: Path) -> dict:
    """Seed-0 float16 weights in ``checkpoints/experiments/`` and an entry in its manifest (SHA-256)."""
    import fcntl

    sub = ckpt_dir / "experiments"
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / f"{spec.name}_{variant}_s{seed}.pt"
    if path.exists():
        raise FileExistsError(f"{path} exists already: remove it to replace it (a kept checkpoint is never "
                              "overwritten silently)")
    export_release(ckpt, path, half=True)
    entry = {"name": path.stem, "file": f"experiments/{path.name}", "sha256": sha256_file(path),
             "bytes": path.stat().st_size, "experiment": spec.name, "variant": variant, "seed": seed,
             "storage": "float16 weights (loaded as float32)", "steps": ckpt.get("step"),
             "model_config": ckpt.get("model_config")}
    manifest = sub / "manifest.json"
    with open(sub / ".manifest.lock", "w") as lock:         # two jobs may finish at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(manifest.read_text()) if manifest.is_file() else {
            "description": "Seed-0 weights of experiment variants that the book's figures need; written by "
                           "`clusir experiment run` (clusir/experiment/record.py).", "checkpoints": []}
        data["checkpoints"] = sorted([e for e in data["checkpoints"] if e["name"] != entry["name"]] + [entry],
                                     key=lambda e: e["name"])
        tmp = manifest.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, manifest)
    return {k: entry[k] for k in ("name", "file", "sha256")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m clusir.experiment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", help="an experiment name (configs/experiments/NAME.yaml) or a spec YAML path")
    p.add_argument("variant")
    p.add_argument("seed", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--results-dir")
    p.add_argument("--runs-dir")
    p.add_argument("--checkpoints-dir")
    p.add_argument("--command", help="the command to record (default: this process's argv)")
    a = p.parse_args(argv)
    spec = load_spec(a.experiment)
    path = run_one(spec, a.variant, a.seed, results_dir=a.results_dir and Path(a.results_dir),
                   runs_dir=a.runs_dir and Path(a.runs_dir), checkpoints_dir=a.checkpoints_dir and Path(a.checkpoints_dir),
                   threads=a.threads, device=a.device, command=a.command)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
