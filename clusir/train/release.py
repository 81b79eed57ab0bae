"""Release a trained run as a small teaching checkpoint in ``checkpoints/`` and record it in the manifest.

    python -m clusir.train.release runs/nhr_nano/last.pt --name nhr_nano --command "clusir train --config ..."

What it does: export the model weights in float16 (:func:`clusir.train.checkpoint.export_release`), *reload the
float16 file* and evaluate it on the MiniAIO test set of its setting (so the recorded numbers are those of the
committed bytes), compare with the best classical baseline per task, and write an entry into
``checkpoints/manifest.json``: file, SHA-256, size, setting, model preset and config, training config, the exact
command, git commit (or "unborn"), hashes of the MiniAIO manifests, metrics per task in both SSIM
conventions, the baselines and the training wall time from the run log.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from clusir.evaluate import evaluate_model, load_baselines, load_samples
from clusir.runtime import default_threads, repo_root
from clusir.train.checkpoint import export_release, load_checkpoint, load_model, sha256_file
from clusir.train.config import model_name
from clusir.train.runlog import read_log

__all__ = ["release", "git_commit", "data_manifest_hashes", "load_manifest", "markdown_table"]


def git_commit(root: Path) -> str:
    """``git rev-parse HEAD``, or ``"unborn (no commit yet)"`` in a fresh repository, or ``"unknown"``."""
    try:
        out = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True)
    except OSError:
        return "unknown (git not installed)"
    if out.returncode == 0:
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return commit + (" (dirty)" if dirty else "")
    inside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True, text=True)
    return "unborn (no commit yet)" if inside.returncode == 0 else "unknown (not a git repository)"


def data_manifest_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of the MiniAIO manifests (clean-image pixel hashes and test-input hashes)."""
    out = {}
    for rel in ("data/miniaio/manifest.json", "data/miniaio/test_inputs.json"):
        p = root / rel
        if p.is_file():
            out[rel] = sha256_file(p)
    return out


def load_manifest(root: Path | None = None) -> dict:
    p = (root or repo_root()) / "checkpoints" / "manifest.json"
    return json.loads(p.read_text()) if p.is_file() else {"checkpoints": []}


def _training_time(run_dir: Path) -> dict:
    try:
        rows = read_log(run_dir)
    except FileNotFoundError:
        return {}
    train = [r for r in rows if r.get("kind") == "train"]
    secs = sum(float(r.get("time", 0)) for r in train)
    samples = sum(float(r.get("samples_per_s", 0)) * float(r.get("time", 0)) for r in train)
    resumes = sum(1 for r in rows if r.get("kind") == "event" and r.get("message") == "resume")
    return {"train_loop_seconds": round(secs, 1), "samples_seen": int(round(samples)), "resumes": resumes}


def release(ckpt_path: str | Path, name: str, command: str, *, default: bool = False, root: Path | None = None,
            threads: int | None = None, notes: str = "") -> dict:
    """Export ``ckpt_path`` as ``checkpoints/<name>.pt`` (fp16), evaluate it, update the manifest; returns the entry."""
    root = root or repo_root()
    torch.set_num_threads(threads or default_threads())
    ckpt = load_checkpoint(ckpt_path)
    setting = ckpt["config"]["data"]["setting"]
    out = root / "checkpoints" / f"{name}.pt"
    commit = git_commit(root)                  # before writing: the new file would make the tree look dirty
    export_release(ckpt, out, half=True)
    model, _ = load_model(out)
    t0 = time.time()
    res = evaluate_model(model, load_samples(setting, "test"), device="cpu")
    eval_s = time.time() - t0
    base = load_baselines(setting)
    margin = {t: round(v["psnr"] - base[t]["psnr"], 3) for t, v in res["tasks"].items() if t in base}
    metrics = {"split": "test", "source": "MiniAIO", "tasks": res["tasks"], "mean": res["mean"],
               "conventions": res["conventions"], "protocol": res["protocol"]}
    # write the metrics into the file too (the hash below is of the final bytes)
    export_release(ckpt, out, half=True, metrics=metrics)
    entry = {
        "name": name,
        "file": out.name,
        "sha256": sha256_file(out),
        "bytes": out.stat().st_size,
        "storage": "float16 weights (loaded as float32)",
        "setting": setting,
        "model": model_name(ckpt["config"]),
        "model_config": ckpt["model_config"],
        "config": ckpt["config"],
        "command": command,
        "steps": ckpt["step"],
        "git_commit": commit,
        "data_manifests": data_manifest_hashes(root),
        "metrics": metrics,
        "best_classical": base,
        "psnr_margin_over_best_classical_dB": margin,
        "beats_best_classical_on_every_task": bool(margin) and all(m > 0 for m in margin.values())
                                              and set(margin) == set(res["tasks"]),
        "training": _training_time(Path(ckpt_path).parent),
        "eval_seconds": round(eval_s, 1),
        "torch_version": str(torch.__version__),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "default": default,
        "notes": notes,
    }
    manifest = load_manifest(root)
    manifest["description"] = ("Released teaching checkpoints, trained by `clusir train` on MiniAIO (CPU). "
                               "tests/test_checkpoints_release.py re-evaluates each one (PSNR within 0.05 dB of "
                               "`metrics`) and checks that it beats the best classical baseline on every task.")
    entries = [e for e in manifest.get("checkpoints", []) if e["name"] != name]
    if default:
        for e in entries:
            e["default"] = False
    manifest["checkpoints"] = sorted(entries + [entry], key=lambda e: e["name"])
    path = root / "checkpoints" / "manifest.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(path)                                       # atomic: never a half-written manifest
    return entry


def markdown_table(entry: dict, root: Path | None = None) -> str:
    """A manifest entry as a markdown table: per task the input, the best classical method, the checkpoint
    (PSNR dB / SSIM skimage7, MiniAIO test split) and its PSNR margin over the classical method."""
    path = (root or repo_root()) / "docs" / "baselines.json"
    inputs = json.loads(path.read_text())["results"] if path.is_file() else {}
    def cell(r: dict, ssim_key: str = "ssim_skimage7") -> str:
        return f"{r['psnr']:.2f} / {r[ssim_key]:.3f}" if r else "–"

    rows = [f"| task | input | best classical | {entry['name']} | margin |", "|---|---|---|---|---|"]
    for task, m in entry["metrics"]["tasks"].items():
        b = entry["best_classical"].get(task, {})
        i = inputs.get(task, {}).get("input", {})
        best = f"{b['method']} {cell(b)}" if b else "–"
        margin = f"{m['psnr'] - b['psnr']:+.2f} dB" if b else "–"
        rows.append(f"| {task} | {cell(i, 'ssim')} | {best} | {cell(m)} | {margin} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m clusir.train.release", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?", help="a training checkpoint (runs/<name>/best.pt)")
    p.add_argument("--name", required=True)
    p.add_argument("--command", help="the exact training command, recorded in the manifest")
    p.add_argument("--table", action="store_true",
                   help="print the manifest entry NAME as a markdown table and exit (no checkpoint needed)")
    p.add_argument("--default", action="store_true", help="make it the default of `clusir restore`")
    p.add_argument("--notes", default="")
    args = p.parse_args(argv)
    if args.table:
        entry = next((e for e in load_manifest()["checkpoints"] if e["name"] == args.name), None)
        if entry is None:
            p.error(f"checkpoints/manifest.json has no checkpoint named {args.name!r}")
        print(markdown_table(entry))
        return 0
    if not args.checkpoint or not args.command:
        p.error("releasing needs CHECKPOINT and --command")
    e = release(args.checkpoint, args.name, args.command, default=args.default, notes=args.notes)
    print(json.dumps({k: e[k] for k in ("file", "sha256", "bytes", "setting", "psnr_margin_over_best_classical_dB",
                                        "beats_best_classical_on_every_task")}, indent=1))
    for t, v in e["metrics"]["tasks"].items():
        b = e["best_classical"].get(t, {})
        print(f"  {t:12s} {v['psnr']:6.2f} dB / {v['ssim_skimage7']:.4f}   best classical {b.get('method', '–')}: "
              f"{b.get('psnr', float('nan')):6.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
