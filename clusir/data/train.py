"""``TrainPairs``: on-the-fly (degraded, clean) training crops from MiniAIO."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

import clusir.data.degradations as D
from clusir.data.io import dihedral
from clusir.data.settings import SETTINGS, load_clean, task_weights

#: extra context cut around a crop before degrading it, so that blur does not see the crop border
#: (only when degrading the crop itself, ``scene=None``)
MARGIN = {"blur": 16}

#: side of the window that is degraded before cropping: the size of MiniAIO's test photographs, so that
#: scale-dependent degradations (rain streak length and density, the haze depth ramp) look as they do at test
SCENE = 256


class TrainPairs(Dataset):
    """Training pairs for a setting, made on the fly from clean MiniAIO images.

    Item ``i`` is a dict ``{"lq": Tensor[3, crop, crop], "gt": Tensor[3, crop, crop], "task": str,
    "name": str}``. It is a pure function of ``(seed, i)``: a ``RandomState(stable_seed("train", seed, i))``
    picks the task (``mix``), the clean image, the crop position, one of the 8 flips/rotations (as PromptIR's
    ``random_augmentation``) and the degradation parameters. A resumed or re-run training therefore sees
    exactly the same samples in the same order (given the sampler's order).

    Degrade, then crop: a ``scene`` × ``scene`` window of the photograph (256, the size of the test
    photographs) is degraded and the training crop is cut from it, as the paper's data sets are made (whole
    degraded images, random crops for training). Degrading the crop itself would change scale-dependent
    degradations: rain streaks are a fraction of the image side long and the haze depth ramp spans the
    image, so a 64-pixel crop would see streaks four times shorter than the test photographs have.

    Args:
        setting: a key of ``SETTINGS`` (e.g. ``"nhr"``).
        crop: square crop size (the paper uses 128; CPU demos 48-64).
        split: clean images to draw from (``"train"``; ``"val"``/``"test"``/``"ci"`` for experiments).
        length: items per epoch (default ``8 x images x tasks``).
        seed: changes every sample.
        scene: side of the degraded window (``None``: degrade the crop plus a margin, the old behaviour;
            clamped to the photograph's size and to at least the crop).
        synthetic: if True, a fraction ``synthetic_fraction`` of items uses a freshly generated dead-leaves
            image instead of a photograph (``clusir.data.deadleaves``).
        mix: task sampling, ``"uniform"`` (default), ``"paper"`` (the AdaIR/ClusIR expansion ratios applied
            to the real data set sizes, see ``settings.PAPER_SAMPLES``) or a dict of weights.
    """

    def __init__(self, setting: str, crop: int = 64, split: str = "train", length: int | None = None,
                 seed: int = 0, synthetic: bool = False, *, mix: str | dict = "uniform",
                 synthetic_fraction: float = 0.5, root=None, scene: int | None = SCENE):
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}; choose from: {', '.join(SETTINGS)}")
        self.setting = setting
        self.tasks = list(SETTINGS[setting])
        self.weights = task_weights(self.tasks, mix)
        self.crop = int(crop)
        if self.crop < 8:
            raise ValueError(f"crop must be at least 8, got {crop}")
        self.images = load_clean(split, root)
        small = [f"{n} ({a.shape[0]}x{a.shape[1]})" for n, a in self.images if min(a.shape[:2]) < self.crop]
        if small:
            raise ValueError(f"crop {self.crop} is larger than these {split} images: {', '.join(small)}")
        self.length = int(length) if length is not None else 8 * len(self.images) * len(self.tasks)
        self.seed = int(seed)
        self.synthetic = bool(synthetic)
        self.synthetic_fraction = float(synthetic_fraction)
        if scene is not None and int(scene) < 8:
            raise ValueError(f"scene must be at least 8 (or None), got {scene}")
        self.scene = None if scene is None else int(scene)

    def __len__(self) -> int:
        return self.length

    def _patch(self, rng, img: np.ndarray, size: int) -> np.ndarray:
        h, w = img.shape[:2]
        if h >= size and w >= size:
            t = int(rng.random() * (h - size + 1))
            l = int(rng.random() * (w - size + 1))
            return img[t: t + size, l: l + size]
        # not enough room for the margin: crop what there is and reflect-pad
        c = min(h, w, size)
        t = int(rng.random() * (h - c + 1))
        l = int(rng.random() * (w - c + 1))
        p = img[t: t + c, l: l + c]
        ph, pw = size - c, size - c
        return np.pad(p, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="reflect")

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.RandomState(D.stable_seed("train", self.seed, int(index)))
        task = self.tasks[int(np.searchsorted(np.cumsum(self.weights), rng.random() * 0.999999999, side="right"))]
        if self.synthetic and rng.random() < self.synthetic_fraction:
            from clusir.data.deadleaves import dead_leaves

            name = f"deadleaves_{self.seed}_{index}"
            img = None
        else:
            name, img = self.images[min(int(rng.random() * len(self.images)), len(self.images) - 1)]
        if self.scene is None:  # degrade the crop (plus a margin for blur)
            margin = MARGIN.get(task, 0)
            size = self.crop + 2 * margin
        else:  # degrade a scene-sized window, then crop
            margin = 0
            size = self.scene if img is None else min(self.scene, *img.shape[:2])
            size = max(size, self.crop)
        patch = dead_leaves(size, rng) if img is None else self._patch(rng, img, size)
        patch = np.ascontiguousarray(dihedral(patch, int(rng.random() * 8)), dtype=np.float32)
        lq, _ = D.degrade(patch, task, rng)
        if margin:
            lq = lq[margin: margin + self.crop, margin: margin + self.crop]
            patch = patch[margin: margin + self.crop, margin: margin + self.crop]
        elif size > self.crop:
            t = int(rng.random() * (size - self.crop + 1))
            l = int(rng.random() * (size - self.crop + 1))
            lq = lq[t: t + self.crop, l: l + self.crop]
            patch = patch[t: t + self.crop, l: l + self.crop]
        return {
            "lq": torch.from_numpy(np.ascontiguousarray(lq)).permute(2, 0, 1).contiguous(),
            "gt": torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).contiguous(),
            "task": task,
            "name": name,
        }
