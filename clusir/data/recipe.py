"""The paper's data recipe for the real data sets: which training set each task reads, the data expansion
ratios, and what they give per epoch (ClusIR §4.1: "Following [AdaIR], we set the data expansion ratios to
3, 120, 5, and 200 for denoising, deraining, deblurring, and low-light enhancement, respectively, while keeping
dehazing unchanged").

An epoch is the AdaIR training list: every training image of a task repeated ``ratio`` times, all tasks
concatenated, so

    samples per epoch = sum over the setting's tasks of (training-set size x ratio of the task's family)

with one entry per noise level (AdaIR repeats the BSD400+WED list x3 for each sigma). With the full releases:
N+H+R = 3 x 5,144 x 3 + 200 x 120 + 72,135 = 142,431 samples; one-by-one deraining = 24,000
(500 steps of 48 per epoch, 75,000 over 150 epochs).

**Low-light ratio.** The paper's text says x200; AdaIR's public training code
(``utils/dataset_utils.py``, ``self.enhance_ids * 20``), which the paper says it follows and which produced
AdaIR's published five-task numbers, uses x20. ClusIR's own code is not public. Default here: **x20**, the
number a run can actually be checked against; x200 would make LOL's 485 pairs 97,000 samples, 44 % of the
five-task epoch (more than OTS). Pass ``ratios={"lowlight": 200}`` to ``RealTrainPairs`` (or
``samples_per_epoch``) for the paper text's value. docs/training.md ("Paper inconsistencies") records this.

This module depends only on the data-set registry (``clusir.data.layouts``) and the task labels; settings
and loaders read it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from clusir.data.degradations import CDD11_TASKS, JPEG_TASKS, NOISE_TASKS, TASKS
from clusir.data.layouts import DATASETS

#: data expansion ratio per task family (AdaIR's public code; see the module docstring for low light)
EXPANSION_RATIOS: dict[str, int] = {
    "denoise": 3,      # paper and AdaIR code; per noise level
    "rain": 120,       # paper and AdaIR code
    "haze": 1,         # "keeping dehazing unchanged"
    "blur": 5,         # paper and AdaIR code
    "lowlight": 20,    # AdaIR code; the paper text says 200 (LOWLIGHT_RATIO_PAPER_TEXT)
    "cdd11": 1,        # [choice] not expanded: the paper names no ratio for CDD-11
    "jpeg": 3,         # [choice] not in the paper; the same clean images and ratio as denoising
}
LOWLIGHT_RATIO_PAPER_TEXT = 200
#: the training crop of §4.1 (every config in configs/paper/ uses it)
PAPER_CROP = 128


def family(task: str) -> str:
    """The task family a degradation label belongs to: ``noise25`` -> ``denoise``, ``cdd_low_haze`` -> ``cdd11``."""
    if task in NOISE_TASKS:
        return "denoise"
    if task in JPEG_TASKS:
        return "jpeg"
    if task in CDD11_TASKS:
        return "cdd11"
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    return task


def dataset_keys(task: str, role: str) -> list[str]:
    """The registered data sets a task reads for ``role`` (``"train"`` or ``"test"``), in registry order.
    JPEG artefact removal reuses the denoising clean sets."""
    fam = family(task)
    fam = "denoise" if fam == "jpeg" else fam
    return [k for k, d in DATASETS.items() if d.task == fam and d.role == role]


def ratio(task: str, ratios: dict | None = None) -> int:
    """The expansion ratio of a task (``ratios`` overrides ``EXPANSION_RATIOS`` per family)."""
    table = {**EXPANSION_RATIOS, **(ratios or {})}
    return int(table[family(task)])


def task_samples(task: str, size: int | None = None, ratios: dict | None = None) -> int:
    """Samples one task contributes per epoch: training-set size x ratio. ``size`` defaults to the full
    releases (``DATASETS[...].expected``; CDD-11 counts per type)."""
    if size is None:
        size = sum(DATASETS[k].expected or 0 for k in dataset_keys(task, "train"))
    return int(size) * ratio(task, ratios)


def samples_per_epoch(tasks: list[str], sizes: dict[str, int] | None = None, ratios: dict | None = None) -> int:
    """Samples per epoch of a task list: the sum of ``task_samples`` (``sizes``: ``{task: training-set size}``
    as found on disk; default: the full releases)."""
    sizes = sizes or {}
    return sum(task_samples(t, sizes.get(t), ratios) for t in tasks)


#: samples per epoch each task contributes with the full releases and the default ratios
PAPER_SAMPLES: dict[str, int] = {t: task_samples(t) for t in TASKS}


def paper_config(setting: str) -> Path | None:
    """The config in ``configs/paper/`` (of the repository holding this package) that trains ``setting``."""
    base = Path(__file__).resolve().parents[2] / "configs" / "paper"
    for p in sorted(base.rglob("*.yaml")):
        data = yaml.safe_load(p.read_text()) or {}
        if (data.get("data") or {}).get("setting") == setting:
            return p
    return None


def paper_crop(setting: str) -> tuple[int, str]:
    """``(crop, where it comes from)``: the training crop of the setting's paper config, else §4.1's 128."""
    p = paper_config(setting)
    if p is not None:
        crop = (yaml.safe_load(p.read_text()).get("data") or {}).get("crop")
        if crop:
            return int(crop), f"the training crop of {p.parent.name}/{p.name}"
    return PAPER_CROP, "the paper's training crop (§4.1)"
