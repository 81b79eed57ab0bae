"""Evaluation: restore a test set, score it with the field's conventions, print tables shaped like the paper's.

Protocol (AdaIR/PromptIR, degradations.md §3): both images centre-cropped to a multiple of 16, prediction
clamped to [0, 1] (not quantised), RGB PSNR with data range 1, SSIM in *both* conventions the literature uses,
each labelled (``skimage7``: uniform 7×7 window, what PromptIR/AdaIR compute; ``gaussian11``: Wang et al.),
means per image then per task. The table layouts follow ClusIR's Tables 1 (N+H+R), 2 (N+H+R+B+L), 3 (one task)
and 6 (CDD-11 composite): one column per task in the paper's order, ``PSNR/SSIM`` cells, an Average column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from clusir import metrics
from clusir.data import SETTINGS, test_set
from clusir.data.io import crop_to_multiple
from clusir.data.real import RealTestSet
from clusir.model import tiled_forward
from clusir.runtime import repo_root

__all__ = [
    "evaluate_model",
    "IdentityRestorer",
    "load_samples",
    "limit_per_task",
    "restore_image",
    "format_table",
    "paper_table_name",
    "task_order",
    "load_baselines",
    "write_json",
]

#: How the paper names each task column: task label (clusir.data) → (group, column).
TASK_COLUMNS = {
    "noise15": ("Denoising", "σ=15"), "noise25": ("Denoising", "σ=25"), "noise50": ("Denoising", "σ=50"),
    "haze": ("Dehazing", "haze"), "rain": ("Deraining", "rain"), "blur": ("Deblurring", "blur"),
    "lowlight": ("Low-light", "low-light"),
    **{f"jpeg{q}": ("JPEG", f"q={q}") for q in (10, 20, 30, 40)},
    **{f"cdd_{t}": ({1: "CDD11-Single", 2: "CDD11-Double", 3: "CDD11-Triple"}[t.count("_") + 1],
                    "+".join({"low": "L", "haze": "H", "rain": "R", "snow": "S"}[p] for p in t.split("_")))
       for t in ("low", "haze", "rain", "snow", "low_haze", "low_rain", "low_snow", "haze_rain", "haze_snow",
                 "low_haze_rain", "low_haze_snow")},
}
PAPER_TABLES = {"nhr": "Table 1 (N+H+R)", "nhrbl": "Table 2 (N+H+R+B+L)", "cdd11": "Table 6 (composite, CDD-11)"}
ONE_BY_ONE = ("denoise", "denoise15", "denoise25", "denoise50", "derain", "dehaze", "deblur", "lowlight")


def paper_table_name(setting: str) -> str:
    """Which table of the paper a setting's results are shaped like."""
    if setting in PAPER_TABLES:
        return PAPER_TABLES[setting]
    if setting in ONE_BY_ONE:
        return f"Table 3 (one-by-one, {setting})"
    return f"setting {setting}"


def task_order(setting: str, seen: Iterable[str]) -> list[str]:
    """Tasks in the order of ``clusir.data.SETTINGS[setting]`` (the paper's column order), then any others."""
    seen = list(dict.fromkeys(seen))
    try:
        ref = list(SETTINGS[setting])
    except (KeyError, TypeError):
        ref = []
    return [t for t in ref if t in seen] + [t for t in seen if t not in ref]


def limit_per_task(samples, limit: int | None):
    """The first ``limit`` samples of each task (all if ``limit`` is None), order kept.

    A lazy ``clusir.data.real.RealTestSet`` is returned as it is without a limit, and with one only the
    kept images are read (its ``entries`` hold the task of each item)."""
    if not limit:
        return samples
    entries = getattr(samples, "entries", None)
    tasks = [e[0] for e in entries] if entries is not None else [s["task"] for s in samples]
    count: dict[str, int] = {}
    keep = []
    for i, t in enumerate(tasks):
        count[t] = count.get(t, 0) + 1
        if count[t] <= limit:
            keep.append(i)
    return [samples[i] for i in keep]


def load_samples(setting: str, split: str = "test", root: str | None = None, limit: int | None = None):
    """MiniAIO samples of ``setting`` (``split``) or, with ``root``, the paper's real test sets, at most
    ``limit`` per task. A real test set stays lazy (images read one by one) unless it is limited."""
    samples = RealTestSet(setting, root) if root else list(test_set(setting, split=split))
    return limit_per_task(samples, limit)


class IdentityRestorer(nn.Module):
    """Stands in for a model and returns the degraded input: the "Input" row of the tables, and the base of
    stand-in models in tests (override :meth:`restore`)."""

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(image=self.restore(x))               # like ClusIROutput.image


def _to_chw(x: Any) -> torch.Tensor:
    """numpy (H, W, 3) or torch (3, H, W) → float32 tensor (3, H, W)."""
    if isinstance(x, torch.Tensor):
        t = x.detach().float()
        return t if t.shape[0] == 3 else t.permute(2, 0, 1)
    a = np.asarray(x, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


@torch.no_grad()
def restore_image(model: torch.nn.Module, x: torch.Tensor, *, tile: int | None = None, overlap: int = 32,
                  amp_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Restore a batch ``x`` (B, 3, H, W) in [0, 1]; tiled when ``tile`` is set and the image exceeds it.

    Tiling (``clusir.model.tiled_forward``) bounds memory for photographs of any size. Output is clamped.
    """
    device = x.device
    with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        if tile and max(x.shape[-2:]) > tile:
            y = tiled_forward(model, x, tile=tile, overlap=overlap)
        else:
            y = model(x).image
    return y.float().clamp(0, 1)


def evaluate_model(
    model: torch.nn.Module,
    samples: Iterable[dict],
    *,
    device: str | torch.device = "cpu",
    ssim: bool = True,
    conventions: tuple[str, ...] = ("skimage7", "gaussian11"),
    tile: int | None = None,
    overlap: int = 32,
    crop_base: int = 16,
    amp_dtype: torch.dtype | None = None,
    keep_outputs: bool = False,
    progress: bool = False,
) -> dict:
    """Restore every sample ({"name", "task", "lq", "gt"}) and score it.

    Returns ``{"tasks": {task: {"psnr", "ssim_<conv>"..., "n"}}, "mean": {...}, "images": [...],
    "conventions": {...}}``; ``mean`` averages the per-task means (the paper's "Average" column).
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    it = samples                                     # may be lazy (real test sets): images are read one by one
    if progress:
        it = tqdm(samples, desc="eval", leave=False, total=len(samples) if hasattr(samples, "__len__") else None)
    images, outputs = [], []
    for s in it:
        lq = crop_to_multiple(_to_chw(s["lq"]), crop_base)
        gt = crop_to_multiple(_to_chw(s["gt"]), crop_base)
        pred = restore_image(model, lq[None].to(device), tile=tile, overlap=overlap, amp_dtype=amp_dtype)[0].cpu()
        mse = float((pred.double() - gt.double()).square().mean())
        row = {"name": s.get("name"), "task": s["task"],
               "psnr": float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)}
        if ssim:
            for conv in conventions:
                row[f"ssim_{conv}"] = metrics.ssim(pred, gt, convention=conv)
        images.append(row)
        if keep_outputs:
            outputs.append(pred)
    model.train(was_training)
    keys = ["psnr"] + ([f"ssim_{c}" for c in conventions] if ssim else [])
    tasks: dict[str, dict] = {}
    for t in dict.fromkeys(r["task"] for r in images):
        rows = [r for r in images if r["task"] == t]
        tasks[t] = {k: float(np.mean([r[k] for r in rows])) for k in keys} | {"n": len(rows)}
    mean = {k: float(np.mean([v[k] for v in tasks.values()])) for k in keys} if tasks else {}
    out = {"tasks": tasks, "mean": mean, "images": images,
           "conventions": {"psnr": metrics.PSNR_CONVENTION,
                           **({f"ssim_{c}": metrics.SSIM_CONVENTIONS[c] for c in conventions} if ssim else {})},
           "protocol": f"centre crop to a multiple of {crop_base}, prediction clamped to [0,1], mean per image then per task"}
    if keep_outputs:
        out["outputs"] = outputs
    return out


def load_baselines(setting: str, path: str | Path | None = None) -> dict[str, dict]:
    """Best classical baseline per task from ``docs/baselines.json`` (written by ``clusir.baselines``).

    Returns ``{task: {"method", "psnr", "ssim_skimage7"?...}}``; empty if the file or setting is missing.
    """
    path = Path(path) if path else repo_root() / "docs" / "baselines.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return _best_per_task(data, setting)


def _best_per_task(data: dict, setting: str) -> dict[str, dict]:
    """From ``{"results": {task: {method: {"psnr", "ssim", "ssim_gaussian11", ...}}}}`` (clusir.baselines
    report) pick, for each task of ``setting``, the classical method with the highest PSNR (``input`` excluded).
    SSIM keys are renamed to this module's ``ssim_skimage7`` / ``ssim_gaussian11``."""
    try:
        tasks = list(SETTINGS[setting])
    except KeyError:
        return {}
    results = data.get("results", {})
    out = {}
    for t in tasks:
        methods = {m: r for m, r in results.get(t, {}).items() if m != "input"}
        if not methods:
            continue
        m = max(methods, key=lambda k: methods[k]["psnr"])
        r = methods[m]
        out[t] = {"method": m, "psnr": r["psnr"], "ssim_skimage7": r.get("ssim"),
                  "ssim_gaussian11": r.get("ssim_gaussian11"), "n": r.get("n")}
    return out


def _cell(v: dict, key: str) -> str:
    p = v.get("psnr")
    s = v.get(key)
    if p is None:
        return "–"
    return f"{p:.2f}/{s:.3f}" if isinstance(s, (int, float)) else f"{p:.2f}"


def format_table(rows: dict[str, dict], setting: str, *, convention: str = "skimage7", title: str | None = None) -> str:
    """A text table shaped like the paper's: one row per method, one ``PSNR/SSIM`` column per task + Average.

    ``rows`` maps a method label to an ``evaluate_model`` result (or a ``{"tasks": {...}}`` dict with the same
    keys). The header names the paper table and the SSIM convention.
    """
    key = f"ssim_{convention}"
    tasks = task_order(setting, [t for r in rows.values() for t in r["tasks"]])
    groups = [TASK_COLUMNS.get(t, ("", t))[0] for t in tasks]
    cols = [TASK_COLUMNS.get(t, ("", t))[1] for t in tasks]
    width = max(13, *(len(c) + 2 for c in cols))
    name_w = max(10, *(len(k) for k in rows))
    head = title or f"{paper_table_name(setting)} — MiniAIO/real results, PSNR (dB, RGB) / SSIM"
    lines = [head, f"SSIM convention: {convention} = {metrics.SSIM_CONVENTIONS[convention]}"]
    g_line = " " * name_w + " | " + " | ".join(f"{g if i == 0 or groups[i - 1] != g else '':<{width}}"
                                             for i, g in enumerate(groups)) + " |"
    c_line = f"{'Method':<{name_w}} | " + " | ".join(f"{c:<{width}}" for c in cols) + f" | {'Average':<{width}}"
    lines += [g_line, c_line, "-" * len(c_line)]
    for label, res in rows.items():
        cells = [_cell(res["tasks"].get(t, {}), key) for t in tasks]
        have = [res["tasks"][t] for t in tasks if t in res["tasks"]]
        avg = {"psnr": float(np.mean([v["psnr"] for v in have])) if have else None}
        if have and all(isinstance(v.get(key), (int, float)) for v in have):
            avg[key] = float(np.mean([v[key] for v in have]))
        lines.append(f"{label:<{name_w}} | " + " | ".join(f"{c:<{width}}" for c in cells) + f" | {_cell(avg, key):<{width}}")
    return "\n".join(lines)


def write_json(obj: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n")
    return path
