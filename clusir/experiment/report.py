"""Read an experiment's committed result files and report them the way the paper's tables are shaped.

Per variant: parameters and active parameters per image, PSNR / SSIM (skimage7) mean ± std over seeds per
task and on average (the mean of per-task means, as the paper's "avg"), the paper's own number where it has
one (labelled as the paper's), and the paired difference against the reference variant with a 95 %
hierarchical-bootstrap interval (:mod:`clusir.experiment.stats`) and whether it is resolved at this scale.
Nothing here trains: it reads ``results/<experiment>/<variant>/seed<k>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clusir.runtime import repo_root
from clusir.evaluate import TASK_COLUMNS
from clusir.experiment.record import result_path
from clusir.experiment.spec import ExperimentSpec, config_differences, load_spec, resolve_config
from clusir.experiment.stats import paired_arrays, paired_difference
from clusir.train.config import ConfigError

__all__ = ["load_results", "build_report", "format_markdown", "format_text"]


def load_results(spec: ExperimentSpec, variant: str, results_dir: Path | None = None) -> dict[int, dict]:
    """seed → result dict for one variant (following ``same_as`` to the experiment that ran it)."""
    results_dir = Path(results_dir or repo_root() / "results")
    v = spec.variant(variant)
    exp, name = (v.same_as.split("/", 1) if v.same_as else (spec.name, variant))
    out = {}
    for s in spec.seeds:
        p = result_path(results_dir, exp, name, s)
        if p.is_file():
            out[s] = json.loads(p.read_text())
    return out


def _mean_std(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), 4), "std": round(float(a.std(ddof=1)), 4) if len(a) > 1 else 0.0,
            "n": len(a)}


def _variant_row(spec: ExperimentSpec, name: str, runs: dict[int, dict], ref: dict[int, dict]) -> dict:
    v = spec.variant(name)
    row = {"name": name, "label": v.label, "shared_from": v.same_as, "paper": v.paper or None,
           "seeds": sorted(runs), "missing_seeds": [s for s in spec.seeds if s not in runs]}
    if not runs:
        return row
    first = next(iter(runs.values()))
    tasks = list(first["test"]["tasks"])
    row["params"], row["active_params"] = first["params"], first["active_params"]
    row["tasks"] = {t: {"psnr": _mean_std([r["test"]["tasks"][t]["psnr"] for r in runs.values()]),
                        "ssim_skimage7": _mean_std([r["test"]["tasks"][t]["ssim_skimage7"] for r in runs.values()])}
                    for t in tasks}
    row["avg"] = {"psnr": _mean_std([r["test"]["mean"]["psnr"] for r in runs.values()]),
                  "ssim_skimage7": _mean_std([r["test"]["mean"]["ssim_skimage7"] for r in runs.values()]),
                  "ssim_gaussian11": _mean_std([r["test"]["mean"]["ssim_gaussian11"] for r in runs.values()])}
    row["val_avg_psnr"] = _mean_std([r["val"]["mean"]["psnr"] for r in runs.values()])
    rates = [r["train"]["samples_per_s"] for r in runs.values() if r["train"].get("samples_per_s")]
    row["train"] = {"steps": first["train"]["steps"], "samples": first["train"]["samples"],
                    "samples_per_s": _mean_std(rates) if rates else None,
                    "train_flops_estimate": first["train"].get("train_flops_estimate")}
    row["provenance"] = {"git_commits": sorted({r["git_commit"] for r in runs.values()}),
                         "hardware": sorted({r["hardware"].get("gpu") or r["hardware"]["cpu"] for r in runs.values()}),
                         "dates": sorted({r["date"][:10] for r in runs.values()}),
                         "config_keys": sorted({r["config_key"] for r in runs.values()})}
    row["stale_seeds"] = _stale(spec, name, runs)
    if name != spec.reference and ref:
        try:
            row["vs_reference"] = paired_difference(paired_arrays(runs, ref)).to_dict()
        except ValueError as exc:
            row["vs_reference"] = {"error": str(exc)}
    return row


def _stale(spec: ExperimentSpec, name: str, runs: dict[int, dict]) -> list[int]:
    """Seeds whose result was produced by another config than the spec resolves to today (edited spec)."""
    stale = []
    for s, r in sorted(runs.items()):
        try:
            cfg = resolve_config(spec, name, s, runs_dir=Path("runs"))
        except (ConfigError, ValueError):
            stale.append(s)
            continue
        if config_differences(r["config"], r["model_config"], cfg):
            stale.append(s)
    return stale


def build_report(spec: ExperimentSpec | str, results_dir: Path | None = None) -> dict:
    """Everything :func:`format_markdown` prints, as plain data (``clusir experiment report NAME --json``)."""
    spec = load_spec(spec) if isinstance(spec, str) else spec
    ref = load_results(spec, spec.reference, results_dir)
    rows = [_variant_row(spec, v.name, load_results(spec, v.name, results_dir), ref) for v in spec.variants]
    tasks = next((list(r["tasks"]) for r in rows if "tasks" in r), [])
    return {"experiment": spec.name, "title": spec.title, "description": spec.description,
            "reference": spec.reference, "paper_source": spec.paper_source,
            "budget": {"steps": spec.budget.steps, "batch_size": spec.budget.batch_size, "crop": spec.budget.crop},
            "seeds": list(spec.seeds), "tasks": tasks, "variants": rows,
            "complete": all(not r["missing_seeds"] and not r.get("stale_seeds") for r in rows)}


def _pm(d: dict | None, digits: int = 2) -> str:
    if not d:
        return "–"
    return f"{d['mean']:.{digits}f} ± {d['std']:.{digits}f}" if d["n"] > 1 else f"{d['mean']:.{digits}f}"


def _paper(p: dict | None) -> str:
    if not p or "avg" not in p:
        return "–"
    psnr, ssim = p["avg"]
    return f"{psnr:.2f} / {ssim:.3f}"


def _delta(row: dict) -> tuple[str, str]:
    d = row.get("vs_reference")
    if not d:
        return "–", ""
    if "error" in d:
        return "–", d["error"]
    lo, hi = d["ci95"]
    return f"{d['mean']:+.2f} [{lo:+.2f}, {hi:+.2f}]", d["verdict"]


def format_markdown(report: dict) -> str:
    """A markdown table: one row per variant, PSNR mean ± std per task, average PSNR / SSIM, the paper's
    average (labelled), and the paired difference against the reference with its 95 % interval."""
    tasks = report["tasks"]
    cols = [TASK_COLUMNS.get(t, ("", t))[1] for t in tasks]
    head = (["variant", "params", "active/img"] + [f"{c} PSNR" for c in cols]
            + ["avg PSNR", "avg SSIM", "paper avg (as reported)", f"Δ avg vs {report['reference']} [95 % CI]",
               "resolved?"])
    lines = [f"**{report['title'] or report['experiment']}** — budget {report['budget']['steps']} steps × "
             f"{report['budget']['batch_size']} crops of {report['budget']['crop']}², seeds "
             f"{report['seeds']}; PSNR dB (RGB), SSIM skimage7; mean ± std over seeds.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["variants"]:
        name = r["name"] + (" ¹" if r.get("shared_from") else "")
        if r.get("train") and r["train"]["steps"] != report["budget"]["steps"]:
            name += f" ({r['train']['steps']} steps)"
        if "tasks" not in r:
            lines.append(f"| {name} | " + " | ".join(["no results"] + ["–"] * (len(head) - 2)) + " |")
            continue
        delta, verdict = ("reference", "") if r["name"] == report["reference"] else _delta(r)
        cells = ([name, f"{r['params'] / 1e6:.3f} M", f"{r['active_params'] / 1e6:.3f} M"]
                 + [_pm(r["tasks"][t]["psnr"]) for t in tasks]
                 + [_pm(r["avg"]["psnr"]), _pm(r["avg"]["ssim_skimage7"], 3), _paper(r.get("paper")), delta, verdict])
        lines.append("| " + " | ".join(cells) + " |")
    shared = [r for r in report["variants"] if r.get("shared_from")]
    if shared:
        lines.append("")
        lines.append("¹ the same runs as " + ", ".join(f"`{r['shared_from']}`" for r in shared)
                     + " (identical resolved training config).")
    if report.get("paper_source"):
        lines.append(f"Paper column: {report['paper_source']}; not comparable in absolute terms (other data, "
                     "model size and budget).")
    stale = [f"{r['name']} seeds {r['stale_seeds']}" for r in report["variants"] if r.get("stale_seeds")]
    if stale:
        lines.append("STALE (the spec changed since these ran; rerun them): " + "; ".join(stale) + ".")
    missing = [f"{r['name']} seeds {r['missing_seeds']}" for r in report["variants"] if r["missing_seeds"]]
    if missing:
        lines.append("Missing runs: " + "; ".join(missing) + ".")
    return "\n".join(lines)


def format_text(report: dict) -> str:
    return format_markdown(report)
