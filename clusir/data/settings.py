"""Settings (which tasks are trained and tested together), the clean MiniAIO images, and the deterministic,
hash-verified MiniAIO test inputs.

Settings mirror the ClusIR paper (Sec. 4.1 and the supplement):

* one-by-one: ``denoise`` (sigma 15/25/50 as three tasks, one model), ``denoise15/25/50`` (one sigma),
  ``derain``, ``dehaze``, ``deblur``, ``lowlight``, plus ``jpeg`` (quality 10-40; not in the paper);
* ``nhr``: three-degradation all-in-one N+H+R (sigma 15/25/50 + haze + rain);
* ``nhrbl``: five-degradation all-in-one N+H+R+B+L (sigma 25 only, as the paper's Tab. 2);
* ``cdd11``: the 11 CDD-11 composite types.

Test inputs are generated from the committed clean PNGs with a per-(task, image) seed
``stable_seed("MiniAIO-v1", task, name)`` and compared with the SHA-256 of their decoded pixels stored in
``data/miniaio/test_inputs.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import clusir.data.degradations as D
import clusir.data.miniaio as miniaio
import clusir.data.recipe as recipe
from clusir.data.io import pixel_sha256, read_image, to_uint8

SETTINGS: dict[str, list[str]] = {
    "denoise": ["noise15", "noise25", "noise50"],
    "denoise15": ["noise15"],
    "denoise25": ["noise25"],
    "denoise50": ["noise50"],
    "derain": ["rain"],
    "dehaze": ["haze"],
    "deblur": ["blur"],
    "lowlight": ["lowlight"],
    "jpeg": list(D.JPEG_TASKS),
    "nhr": ["noise15", "noise25", "noise50", "haze", "rain"],
    "nhrbl": ["noise25", "haze", "rain", "blur", "lowlight"],
    "cdd11": list(D.CDD11_TASKS),
}

SETTING_DESCRIPTIONS = {
    "denoise": "one-by-one denoising, sigma 15/25/50 (BSD400+WED -> CBSD68/Kodak24/Urban100 in the paper)",
    "denoise15": "denoising at sigma 15 only",
    "denoise25": "denoising at sigma 25 only",
    "denoise50": "denoising at sigma 50 only",
    "derain": "one-by-one deraining (Rain100L in the paper)",
    "dehaze": "one-by-one dehazing (RESIDE-OTS -> SOTS-outdoor in the paper)",
    "deblur": "one-by-one deblurring (GoPro in the paper)",
    "lowlight": "one-by-one low-light enhancement (LOL-v1 in the paper)",
    "jpeg": "JPEG artefact removal, quality 10/20/30/40 (extra; not in the paper)",
    "nhr": "three-degradation all-in-one N+H+R (paper Tab. 1)",
    "nhrbl": "five-degradation all-in-one N+H+R+B+L, sigma 25 (paper Tab. 2)",
    "cdd11": "composite degradations, 11 CDD-11 types (paper Tab. 6)",
}

#: Samples per epoch each task contributes on the real data (training-set size x AdaIR expansion ratio,
#: ``clusir.data.recipe``); ``TrainPairs(mix="paper")`` samples tasks in these proportions.
PAPER_SAMPLES = recipe.PAPER_SAMPLES


def paper_samples_per_epoch(setting: str, ratios: dict | None = None) -> int:
    """Samples per epoch of a setting on the full real releases: the sum over its tasks of training-set size x
    expansion ratio (``clusir.data.recipe``; N+H+R: 142,431). ``RealTrainPairs`` computes the same from the
    files actually found."""
    return recipe.samples_per_epoch(_check_setting(setting), ratios=ratios)


INPUT_SEED_PREFIX = "MiniAIO-v1"


def _check_setting(setting: str) -> list[str]:
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose from: {', '.join(SETTINGS)}")
    return SETTINGS[setting]


def task_weights(tasks: list[str], mix: str | dict = "uniform") -> np.ndarray:
    """Sampling probabilities over ``tasks``: ``"uniform"``, ``"paper"`` (``PAPER_SAMPLES``; tasks it does
    not cover get the mean weight) or an explicit ``{task: weight}`` dict."""
    if isinstance(mix, dict):
        w = np.array([float(mix.get(t, 0.0)) for t in tasks])
    elif mix == "uniform":
        w = np.ones(len(tasks))
    elif mix == "paper":
        known = [PAPER_SAMPLES[t] for t in tasks if t in PAPER_SAMPLES]
        fill = float(np.mean(known)) if known else 1.0
        w = np.array([float(PAPER_SAMPLES.get(t, fill)) for t in tasks])
    else:
        raise ValueError(f"mix must be 'uniform', 'paper' or a dict of task weights, not {mix!r}")
    if w.sum() <= 0 or (w < 0).any():
        raise ValueError(f"task weights must be non-negative and not all zero: {dict(zip(tasks, w))}")
    return w / w.sum()


# ----------------------------------------------------------------------------------------------------------
# clean images
# ----------------------------------------------------------------------------------------------------------

_CLEAN_CACHE: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {}


def load_clean(split: str = "test", root=None) -> list[tuple[str, np.ndarray]]:
    """The clean MiniAIO images of a split, as ``[(name, float32 (H, W, 3) in [0, 1])]`` sorted by name.

    ``split``: ``"train"`` (256x384 or 384x256), ``"val"``, ``"test"`` (256x256) or ``"ci"`` (96x96 centre
    crops of four test images). Pixels are verified against the manifest's SHA-256 (a mismatch raises:
    the committed files were modified). Arrays are cached and read-only; copy before editing in place."""
    if split not in ("train", "val", "test", "ci"):
        raise ValueError(f"split must be 'train', 'val', 'test' or 'ci', not {split!r}")
    base = Path(root) if root else miniaio.default_dir()
    key = (str(base), split)
    if key in _CLEAN_CACHE:
        return list(_CLEAN_CACHE[key])
    man = miniaio.load_manifest(base)
    out = []
    if split == "ci":
        test = dict(load_clean("test", base))
        for rec in man["ci"]:
            img = miniaio.ci_crop(test[rec["from"]]).copy()
            if pixel_sha256(img) != rec["sha256"]:
                raise RuntimeError(f"MiniAIO ci crop {rec['name']} does not match its manifest hash")
            out.append((rec["name"], img))
    else:
        for rec in man["images"]:
            if rec["split"] != split:
                continue
            p = base / rec["file"]
            img = read_image(p)
            if pixel_sha256(img) != rec["sha256"]:
                raise RuntimeError(
                    f"{p}: pixels differ from data/miniaio/manifest.json (sha256). The committed MiniAIO files "
                    "were modified; restore them from git or rebuild with `clusir data build`.")
            out.append((rec["name"], img))
    out.sort(key=lambda t: t[0])
    for _, a in out:
        a.flags.writeable = False
    _CLEAN_CACHE[key] = out
    return list(out)


# ----------------------------------------------------------------------------------------------------------
# deterministic test inputs
# ----------------------------------------------------------------------------------------------------------

_INPUT_CACHE: dict[tuple[str, str, str, str], tuple[np.ndarray, dict]] = {}


def input_seed(task: str, name: str) -> int:
    return D.stable_seed(INPUT_SEED_PREFIX, task, name)


def make_input(task: str, name: str, clean: np.ndarray, root=None) -> tuple[np.ndarray, dict]:
    """The deterministic degraded input of one MiniAIO image for one task, as uint8, and its parameters."""
    base = str(Path(root) if root else miniaio.default_dir())
    key = (base, task, name, "v1")
    if key not in _INPUT_CACHE:
        depth = None
        if task == "haze" or (task.startswith("cdd_") and "haze" in task):
            depth = miniaio.depth_for(name, root)
        lq, params = D.degrade(np.asarray(clean), task, np.random.RandomState(input_seed(task, name)),
                               depth=depth)
        params["seed"] = input_seed(task, name)
        params["real_depth"] = depth is not None
        _INPUT_CACHE[key] = (to_uint8(lq), params)
    return _INPUT_CACHE[key]


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items() if k != "kernel"}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def input_manifest_path(root=None) -> Path:
    return (Path(root) if root else miniaio.default_dir()) / "test_inputs.json"


_INPUT_MANIFEST: dict[str, dict] = {}


def load_input_manifest(root=None) -> dict:
    p = input_manifest_path(root)
    key = str(p)
    if key not in _INPUT_MANIFEST:
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: rebuild it with `clusir data build --inputs-only`")
        _INPUT_MANIFEST[key] = json.loads(p.read_text())
    return _INPUT_MANIFEST[key]


def all_tasks() -> list[str]:
    seen: list[str] = []
    for tasks in SETTINGS.values():
        for t in tasks:
            if t not in seen:
                seen.append(t)
    return seen


def write_input_manifest(root=None, *, splits=("test", "val", "ci"), log=print) -> dict:
    """Generate every (split, task, image) test input and store its pixel hash, input PSNR/SSIM and
    parameters in ``test_inputs.json``."""
    from clusir import metrics

    data: dict[str, Any] = {
        "description": "SHA-256 of the decoded uint8 pixels of every MiniAIO test input, regenerated by "
                       "clusir.data.test_set from the clean PNGs with seed stable_seed('MiniAIO-v1', task, name); "
                       "psnr/ssim (skimage7) of the input against the clean image.",
        "seed_rule": "clusir.data.degradations.stable_seed('MiniAIO-v1', task, name) -> numpy RandomState",
        "inputs": {},
    }
    for split in splits:
        data["inputs"][split] = {}
        clean = load_clean(split, root)
        for task in all_tasks():
            rows = {}
            for name, img in clean:
                lq, params = make_input(task, name, img, root)
                lqf = lq.astype(np.float32) / 255.0
                rows[name] = {"sha256": pixel_sha256(lq), "psnr": round(metrics.psnr(lqf, img), 4),
                              "ssim": round(metrics.ssim(lqf, img), 4), "params": _jsonable(params)}
            data["inputs"][split][task] = rows
            log(f"  inputs {split:4s} {task:18s} mean input PSNR "
                f"{np.mean([r['psnr'] for r in rows.values()]):6.2f} dB")
    p = input_manifest_path(root)
    p.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    _INPUT_MANIFEST.pop(str(p), None)
    return data


def test_set(setting: str, split: str = "test", *, verify: str = "warn", root=None) -> list[dict]:
    """The MiniAIO test set of a setting: for each task of the setting and each clean image of ``split``
    (``"test"``, ``"val"`` or ``"ci"``), a dict ``{"name", "task", "lq": Tensor[3,H,W], "gt": Tensor[3,H,W],
    "params"}`` (tasks in setting order, images sorted by name).

    Inputs are regenerated deterministically and their pixel hashes compared with ``test_inputs.json``:
    ``verify="raise"`` raises on any mismatch, ``"warn"`` (default) emits a ``RuntimeWarning`` naming the
    mismatched items (a different NumPy/SciPy/libjpeg build can flip a rare pixel by one level), ``"off"``
    skips the check. The ``gt`` tensor of an image is shared by all its tasks: do not modify it in place."""
    import torch

    tasks = _check_setting(setting)
    if verify not in ("raise", "warn", "off"):
        raise ValueError(f"verify must be 'raise', 'warn' or 'off', not {verify!r}")
    ref = None
    if verify != "off":
        ref = load_input_manifest(root)["inputs"].get(split)
        if ref is None:
            raise ValueError(f"test_inputs.json has no hashes for split {split!r}")
    items, bad = [], []
    clean = load_clean(split, root)
    gts = {name: torch.from_numpy(np.array(img, dtype=np.float32)).permute(2, 0, 1).contiguous()
           for name, img in clean}  # one clean tensor per image, shared by its tasks (do not edit in place)
    for task in tasks:
        for name, img in clean:
            lq, params = make_input(task, name, img, root)
            if ref is not None:
                want = ref.get(task, {}).get(name, {}).get("sha256")
                if want != pixel_sha256(lq):
                    bad.append(f"{split}/{task}/{name}")
            items.append({
                "name": name, "task": task,
                "lq": torch.from_numpy(lq.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous(),
                "gt": gts[name],
                "params": params,
            })
    if bad:
        msg = (f"{len(bad)} MiniAIO test input(s) differ from data/miniaio/test_inputs.json: "
               f"{', '.join(bad[:8])}{' ...' if len(bad) > 8 else ''}. Results on them are not comparable "
               "bit for bit with the committed numbers (library versions differ?).")
        if verify == "raise":
            raise RuntimeError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return items


test_set.__test__ = False  # not a pytest test, even when imported into a test module
