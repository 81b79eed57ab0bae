"""MiniAIO: the offline mini benchmark of real photographs, read from the committed files.

The clean images are real photographs that install offline with a redistribution licence (the sample images
of scikit-image, scikit-learn, PyWavelets and Matplotlib, and four Debian wallpaper packages). Each lives in
exactly one split under ``data/miniaio/<split>/<name>.png``; ``manifest.json`` records, for each image, its
split, source, downscale factor, crop box and the SHA-256 of the **decoded pixels**
(``clusir.data.io.pixel_sha256``); the tiny ``ci`` subset is four 96 x 96 centre crops of test images.

This module only *reads* the committed set (locations, manifest, ``ci`` crops, the real depth map of one
photograph). How the set is made (sources, licences, downscale and crop rules, attribution) is the build
recipe in ``clusir.data.miniaio_build``; ``clusir data build`` runs it and then writes the test-input hashes
(``clusir.data.settings.write_input_manifest``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

VERSION = 1
EVAL_SIZE = 256
TRAIN_SIZE = (256, 384)
CI_SIZE = 96
TARGET_SHORT = 288
SPLITS = ("train", "val", "test")

# ----------------------------------------------------------------------------------------------------------
# locations
# ----------------------------------------------------------------------------------------------------------

def default_dir() -> Path:
    """Where MiniAIO lives: ``$CLUSIR_MINIAIO`` if set, else ``data/miniaio`` in the repository holding this
    package, else ``data/miniaio`` under ``clusir.runtime.repo_root()``."""
    env = os.environ.get("CLUSIR_MINIAIO")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2] / "data" / "miniaio"
    if (here / "manifest.json").is_file():
        return here
    from clusir.runtime import repo_root

    return repo_root() / "data" / "miniaio"


def repo_data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "data"


# ----------------------------------------------------------------------------------------------------------
# reading the committed set
# ----------------------------------------------------------------------------------------------------------

_MANIFEST_CACHE: dict[str, dict] = {}


def load_manifest(root: str | os.PathLike | None = None) -> dict:
    root = Path(root) if root else default_dir()
    key = str(root.resolve())
    if key not in _MANIFEST_CACHE:
        p = root / "manifest.json"
        if not p.is_file():
            raise FileNotFoundError(
                f"MiniAIO manifest not found at {p}. MiniAIO ships in the repository under data/miniaio; "
                "set $CLUSIR_MINIAIO to its folder, or rebuild it with `clusir data build`.")
        _MANIFEST_CACHE[key] = json.loads(p.read_text())
    return _MANIFEST_CACHE[key]


def images_of(split: str, root=None) -> list[dict]:
    man = load_manifest(root)
    return [r for r in man["images"] if r["split"] == split]


def ci_crop(img: np.ndarray, size: int = CI_SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    t, l = (h - size) // 2, (w - size) // 2
    return img[t: t + size, l: l + size]


def motorcycle_depth_full() -> np.ndarray:
    """Metric depth (metres) of skimage's motorcycle_left from its ground-truth disparity:
    ``Z = f B / (d + doffs)`` with the calibration in ``skimage.data.stereo_motorcycle``'s docstring
    (f = 994.978 px, B = 0.193001 m, doffs = 31.086 px). Pixels with no disparity (inf) take the value of the
    nearest valid pixel."""
    from scipy import ndimage
    from skimage import data as skdata

    _, _, disp = skdata.stereo_motorcycle()
    disp = np.asarray(disp, dtype=np.float64)
    bad = ~np.isfinite(disp)
    if bad.any():
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        disp = disp[tuple(idx)]
    return 994.978 * 0.193001 / (disp + 31.086)


def depth_for(name: str, root=None) -> np.ndarray | None:
    """Normalised depth (0 = nearest, 1 = farthest in the crop) for MiniAIO images that have a real one
    (only ``skimage_motorcycle_left``, also its ``ci_`` crop if any); ``None`` otherwise."""
    base = name[3:] if name.startswith("ci_") else name
    if base != "skimage_motorcycle_left":
        return None
    rec = next(r for r in load_manifest(root)["images"] if r["name"] == base)
    z = motorcycle_depth_full()
    f = rec["factor"]
    if f > 1:
        h, w = (z.shape[0] // f) * f, (z.shape[1] // f) * f
        z = z[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    t, l, ch, cw = rec["box"]
    z = z[t: t + ch, l: l + cw]
    if name.startswith("ci_"):
        z = ci_crop(z[..., None])[..., 0]
    return ((z - z.min()) / max(float(np.ptp(z)), 1e-12)).astype(np.float32)



def forget_manifest(root: str | os.PathLike | None = None) -> None:
    """Drop the cached manifest of ``root`` (after the build recipe rewrote it)."""
    _MANIFEST_CACHE.pop(str((Path(root) if root else default_dir()).resolve()), None)
