"""Paired statistics for small ablations: mean difference per image and a hierarchical bootstrap interval.

Every variant restores the *same* MiniAIO test images with the same degradations, so a variant is compared
with the reference image by image: ``d[s, i] = PSNR_variant(seed s, image i) − PSNR_reference(seed s, image i)``
(seeds paired by number: both runs of seed s saw the same data order). The image-to-image spread, far larger
than any effect, cancels in ``d``.

Two sources of noise remain: which training seeds were run, and which test images. The hierarchical bootstrap
draws seeds with replacement, then, for each drawn seed and each task, images with replacement, and recomputes
the statistic on each draw. The statistic is the paper's "Average": the mean over tasks of the per-task mean
difference. The interval is the 2.5 / 97.5 percentile of the draws. "Resolved" means the interval excludes 0;
with 2–3 seeds the seed level dominates, and the report says on how many seeds an interval rests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDifference", "paired_difference", "paired_arrays"]


@dataclass(frozen=True)
class PairedDifference:
    mean: float                          # mean over tasks of the mean per-image difference (dB)
    low: float                           # 2.5 % bootstrap percentile
    high: float                          # 97.5 % bootstrap percentile
    per_task: dict                       # task -> (mean, low, high)
    seeds: int                           # seeds the interval rests on
    images: dict                         # task -> images per seed

    @property
    def resolved(self) -> bool:
        return self.low > 0 or self.high < 0

    def verdict(self) -> str:
        if self.resolved:
            return "better" if self.mean > 0 else "worse"
        n = max(self.images.values()) if self.images else 0
        return f"not resolved at this scale ({self.seeds} seeds × {n} images per task)"

    def to_dict(self) -> dict:
        return {"mean": round(self.mean, 4), "ci95": [round(self.low, 4), round(self.high, 4)],
                "resolved": self.resolved, "verdict": self.verdict(), "seeds": self.seeds,
                "images_per_task": self.images,
                "per_task": {t: {"mean": round(m, 4), "ci95": [round(lo, 4), round(hi, 4)],
                                 "resolved": lo > 0 or hi < 0} for t, (m, lo, hi) in self.per_task.items()}}


def paired_arrays(variant: dict, reference: dict, key: str = "per_image_psnr") -> dict[str, np.ndarray]:
    """Per task, the (seeds, images) array of differences, from result files keyed by seed.

    ``variant`` and ``reference`` map seed → result dict (``result["test"]["tasks"][task]``). Only seeds
    present in both are used; images are matched by name, so an order change cannot mis-pair them.
    """
    seeds = sorted(set(variant) & set(reference))
    if not seeds:
        raise ValueError("no seed is present in both the variant and the reference")
    out: dict[str, list] = {}
    for s in seeds:
        vt, rt = variant[s]["test"]["tasks"], reference[s]["test"]["tasks"]
        for task in rt:
            if task not in vt:
                raise ValueError(f"seed {s}: task {task} is missing in the variant's results")
            rv = dict(zip(rt[task]["images"], rt[task][key]))
            vv = dict(zip(vt[task]["images"], vt[task][key]))
            if set(rv) != set(vv):
                raise ValueError(f"seed {s}, task {task}: the two runs were scored on different images")
            names = sorted(rv)
            out.setdefault(task, []).append([vv[n] - rv[n] for n in names])
    return {t: np.asarray(rows, dtype=np.float64) for t, rows in out.items()}


def paired_difference(diffs: dict[str, np.ndarray], *, n_boot: int = 4000, seed: int = 0) -> PairedDifference:
    """Mean paired difference over tasks with a hierarchical (seeds, then images) bootstrap 95 % interval.

    ``diffs``: task → array (seeds, images) of per-image differences (same seeds, in the same order, for
    every task). Deterministic for a given ``seed``.
    """
    tasks = list(diffs)
    n_seeds = {diffs[t].shape[0] for t in tasks}
    if len(n_seeds) != 1:
        raise ValueError(f"every task needs the same seeds, got {sorted(n_seeds)} rows")
    (k,) = n_seeds
    rng = np.random.default_rng(seed)
    s_idx = rng.integers(0, k, size=(n_boot, k))                         # (B, k) drawn seeds
    draws = np.zeros((n_boot, len(tasks)))
    for j, t in enumerate(tasks):
        d = diffs[t]                                                     # (k, m)
        m = d.shape[1]
        i_idx = rng.integers(0, m, size=(n_boot, k, m))                  # (B, k, m) drawn images per seed
        picked = d[s_idx[:, :, None], i_idx]                             # (B, k, m)
        draws[:, j] = picked.mean(axis=(1, 2))
    avg = draws.mean(axis=1)
    per_task = {}
    for j, t in enumerate(tasks):
        lo, hi = np.percentile(draws[:, j], [2.5, 97.5])
        per_task[t] = (float(diffs[t].mean()), float(lo), float(hi))
    lo, hi = np.percentile(avg, [2.5, 97.5])
    mean = float(np.mean([diffs[t].mean() for t in tasks]))
    return PairedDifference(mean, float(lo), float(hi), per_task, k, {t: int(diffs[t].shape[1]) for t in tasks})
