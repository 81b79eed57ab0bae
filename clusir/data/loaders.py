"""Loaders over the real data sets (found by ``clusir.data.layouts``): ``RealTestSet`` and ``RealTrainPairs``.

Both give the same dicts as the MiniAIO loaders (``lq``/``gt`` as ``Tensor[3, H, W]`` in [0, 1], ``task``,
``name``), so the trainer and ``evaluate`` do not care where the pixels come from.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import clusir.data.degradations as D
import clusir.data.recipe as recipe
from clusir.data.io import crop_to_multiple, dihedral, read_image, read_pair
from clusir.data.layouts import DATASETS, Found, Pair, find, found_elsewhere, looked_for
from clusir.data.settings import SETTINGS, task_weights


def _require(key: str, root) -> Found:
    f = find(key, root)
    info = DATASETS[key]
    if f is None:
        raise FileNotFoundError(f"{info.title} not found under {root} (looked for {', '.join(looked_for(key))})"
                                f"{found_elsewhere(key, Path(root))}; download: {info.source}. "
                                f"Run `clusir data check --root {root}` for details.")
    if f.problems:
        raise ValueError(f"{info.title} under {root} has problems:\n  " + "\n  ".join(f.problems))
    if not f.items:
        raise FileNotFoundError(f"{info.title}: no images in {f.where[0]}")
    return f


def pairs(key: str, root: str | os.PathLike) -> list[Pair]:
    """All items of one data set (a key of ``DATASETS``), paired, sorted naturally; raises with a clear
    message when the data set is missing or broken (see ``check_tree``)."""
    return _require(key, root).items


def _task_items(task: str, root: Path, role: str, only: list[str] | None = None) -> list[tuple[str, Pair]]:
    """``[(data set key, item)]`` of one task; optional data sets that are absent are skipped, CDD-11 keeps
    the items of the task's degradation type."""
    out = []
    for k in recipe.dataset_keys(task, role):
        if only is not None and k not in only:
            continue
        if DATASETS[k].optional and find(k, root) is None:
            continue
        out += [(k, it) for it in pairs(k, root) if task not in D.CDD11_TASKS or it.kind == task[4:]]
    return out


def _tensor(a):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1).contiguous()


class RealTestSet:
    """Lazy test set over real data: ``len()``, indexing and iteration give dicts like
    ``clusir.data.test_set`` (``name``, ``task``, ``lq``, ``gt`` as ``Tensor[3, H, W]``, plus ``dataset``),
    cropped to a multiple of ``crop`` (AdaIR/PromptIR ``crop_img``). Noise is added with
    ``RandomState(seed_from_name(file name))``, so results do not depend on directory order.

    ``testsets``: restrict the denoising test sets (default: all present of CBSD68, Kodak24, Urban100)."""

    def __init__(self, setting: str, root: str | os.PathLike, *, testsets: list[str] | None = None,
                 crop: int = 16):
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}")
        self.root, self.crop = Path(root), crop
        self.entries: list[tuple[str, str, Pair]] = []
        for task in SETTINGS[setting]:
            only = testsets if recipe.family(task) in ("denoise", "jpeg") else None
            self.entries += [(task, k, it) for k, it in _task_items(task, self.root, "test", only)]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> dict:
        task, key, it = self.entries[i]
        if it.lq is None:
            gt = crop_to_multiple(read_image(it.gt), self.crop)
            lq, _ = D.degrade(gt, task, np.random.RandomState(D.seed_from_name(it.gt.name)))
        else:
            lq, gt = read_pair(it.lq, it.gt)
            lq, gt = crop_to_multiple(lq, self.crop), crop_to_multiple(gt, self.crop)
        return {"name": it.name, "task": task, "dataset": key, "lq": _tensor(lq), "gt": _tensor(gt)}


class RealTrainPairs:
    """Training pairs from real data sets (a torch ``Dataset``-compatible class): random crops + the 8
    flips/rotations, noise/JPEG added on the fly to the clean denoising images, paired crops otherwise.
    Item ``i`` is deterministic in ``(seed, i)``.

    One epoch is the AdaIR training list (``clusir.data.recipe``): ``samples_per_epoch`` = the sum over the
    setting's tasks of (images found x expansion ratio), e.g. 142,431 for N+H+R on the full releases;
    ``length=None`` gives one epoch. ``ratios`` overrides ratios per task family (``{"lowlight": 200}``: the
    paper text's low-light value). ``mix="paper"`` (default) samples tasks in proportion to those per-epoch
    counts, i.e. uniformly over the expanded list; ``"uniform"`` or a ``{task: weight}`` dict as ``TrainPairs``."""

    def __init__(self, setting: str, root: str | os.PathLike, crop: int = 128, length: int | None = None,
                 seed: int = 0, *, mix: str | dict = "paper", ratios: dict | None = None):
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}")
        self.tasks = list(SETTINGS[setting])
        self.crop, self.seed = int(crop), int(seed)
        root = Path(root)
        self.items: dict[str, list[Pair]] = {t: [it for _, it in _task_items(t, root, "train")] for t in self.tasks}
        sizes = {t: len(v) for t, v in self.items.items()}
        self.samples_per_epoch = recipe.samples_per_epoch(self.tasks, sizes, ratios)
        if mix == "paper":
            mix = {t: recipe.task_samples(t, sizes[t], ratios) for t in self.tasks}
        self.weights = task_weights(self.tasks, mix)
        self.length = int(length) if length is not None else self.samples_per_epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = np.random.RandomState(D.stable_seed("real-train", self.seed, int(index)))
        task = self.tasks[int(np.searchsorted(np.cumsum(self.weights), rng.random() * 0.999999999, side="right"))]
        lst = self.items[task]
        it = lst[min(int(rng.random() * len(lst)), len(lst) - 1)]
        c = self.crop
        if it.lq is None:
            gt, lq = read_image(it.gt, min_size=c), None
        else:
            lq, gt = read_pair(it.lq, it.gt, min_size=c)
        t = int(rng.random() * (gt.shape[0] - c + 1))
        l = int(rng.random() * (gt.shape[1] - c + 1))
        gt = gt[t: t + c, l: l + c]
        lq = lq[t: t + c, l: l + c] if lq is not None else None
        mode = int(rng.random() * 8)
        gt = dihedral(gt, mode)
        lq = dihedral(lq, mode) if lq is not None else D.degrade(gt, task, rng)[0]
        return {"lq": _tensor(lq), "gt": _tensor(gt), "task": task, "name": it.name}
