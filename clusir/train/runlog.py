"""Run logs: one JSON object per line (``log.jsonl``), the same rows as CSV (``log.csv``), and a plot helper.

Rows have a ``kind``: ``"train"`` (every ``log_every`` steps: loss terms, lr, running PSNR, throughput),
``"val"`` (per validation: PSNR per task and mean) and ``"event"`` (start, resume, stop, divergence). JSONL is the
source of truth (a resumed run appends to it); the CSV holds the ``train`` rows with a fixed header so that a
spreadsheet can open it.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

__all__ = ["RunLogger", "read_log", "plot_log"]

TRAIN_FIELDS = ("step", "epoch", "lr", "loss", "l1", "ms_ssim", "aux", "psnr", "grad_norm", "samples_per_s", "time")


class RunLogger:
    """Append-only JSONL + CSV log of a run. Create it on rank 0 only (other ranks get ``None``)."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.dir / "log.jsonl"
        self.csv = self.dir / "log.csv"
        self.t0 = time.time()

    def _write(self, row: dict) -> None:
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row, default=_jsonable) + "\n")

    def train(self, **values) -> None:
        row = {"kind": "train", **{k: _jsonable(v) for k, v in values.items()}}
        self._write(row)
        new = not self.csv.exists()
        with open(self.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=TRAIN_FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)

    def val(self, **values) -> None:
        self._write({"kind": "val", **{k: _jsonable(v) for k, v in values.items()}})

    def event(self, message: str, **values) -> None:
        self._write({"kind": "event", "message": message, "wall": round(time.time() - self.t0, 3),
                     **{k: _jsonable(v) for k, v in values.items()}})


def _jsonable(v):
    if hasattr(v, "item") and callable(v.item):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, Path):
        return str(v)
    return v


def read_log(path: str | Path) -> list[dict]:
    """All rows of ``log.jsonl`` (``path`` may be the run folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_log(path: str | Path, keys: tuple[str, ...] = ("loss", "psnr"), ax=None):
    """Plot training curves (``keys`` of the ``train`` rows vs step) and validation PSNR; returns the figure.

    ``psnr`` is the running PSNR of training crops; validation PSNR (mean over tasks) is drawn as dots on the
    PSNR panel. Works on a run folder or a ``log.jsonl`` file.
    """
    import matplotlib.pyplot as plt  # lazy: pyplot is slow to import and only plotting needs it

    rows = read_log(path)
    train = [r for r in rows if r.get("kind") == "train"]
    val = [r for r in rows if r.get("kind") == "val"]
    if ax is None:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = ax if isinstance(ax, (list, tuple)) else [ax]
        fig = axes[0].figure
    for a, key in zip(axes, keys):
        pts = [(r["step"], r[key]) for r in train if isinstance(r.get(key), (int, float))]
        if pts:
            a.plot(*zip(*pts), lw=1.2, label=f"train {key}")
        if key == "psnr" and val:
            a.plot([r["step"] for r in val], [r["psnr"] for r in val], "o", ms=4, label="val PSNR (mean)")
        a.set_xlabel("step")
        a.set_ylabel(key + (" (dB)" if key == "psnr" else ""))
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    return fig
