"""The MiniAIO build recipe: which photographs, under which licence, and how each becomes one image.

Sources are real photographs that install offline with a redistribution licence: the sample images inside
scikit-image, scikit-learn, PyWavelets and Matplotlib, and four Debian wallpaper packages
(``lomiri-wallpapers-16.04``, ``mate-backgrounds``, ``plasma-workspace-wallpapers``, ``lxqt-themes``;
photographs only, no illustrations). ``make_image`` turns each source into exactly one image:

1. decode to 8-bit RGB (grey photographs are replicated into three channels, an opaque alpha is dropped);
2. downscale by an integer factor ``f = max(1, short_side // 288)`` with an exact box average
   (integer sums, round half to even), which hides the sources' JPEG blocks (f >= 3 for every wallpaper) and is
   bit-reproducible everywhere;
3. crop: 256 x 256 for ``val`` and ``test``, 256 x 384 (or 384 x 256 for portrait) for ``train``, at a fixed
   anchor (the centre unless the table says otherwise);
4. write an 8-bit PNG under ``data/miniaio/<split>/<name>.png``.

``build`` runs the steps in turn: ``build_images`` (make and write every image), ``write_manifest``
(``manifest.json`` with pixel hashes and the ``ci`` crops) and ``write_attribution`` (``data/ATTRIBUTION.md``,
from the same table). The test-input hashes are a separate step that needs the settings
(``clusir.data.settings.write_input_manifest``); ``clusir data build`` calls it after ``build``.

Run ``python data/build_miniaio.py`` (or ``clusir data build``) to rebuild; ``--check`` only compares.
Reading the committed set is ``clusir.data.miniaio``; this module is needed only to rebuild it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path

import numpy as np

import clusir.data.miniaio as miniaio
from clusir.data.io import pixel_sha256, read_image, write_png
from clusir.data.miniaio import CI_SIZE, EVAL_SIZE, SPLITS, TARGET_SHORT, TRAIN_SIZE, VERSION, ci_crop

# ----------------------------------------------------------------------------------------------------------
# sources
# ----------------------------------------------------------------------------------------------------------

_LOMIRI = "lomiri-wallpapers-16.04"
_MATE = "mate-backgrounds"
_PLASMA = "plasma-workspace-wallpapers"
_LXQT = "lxqt-themes"

_LXQT_LIC = ("CC-BY-SA-3.0 (wallpapers/License in the package: \"Copyright 2022: LXQt Project Team, licensed under "
             "CC BY-SA 3.0\"); debian/copyright lists the package files as LGPL-2.1+")
_MATE_LIC = "GPL-2+ (debian/copyright)"


def _plasma_lic(upstream: str) -> str:
    return f"GPL-2+ (debian/copyright, Files: *, KDE Visual Design Group); upstream metadata: {upstream}"


@dataclass(frozen=True)
class Source:
    name: str        # image name in MiniAIO (also the file stem)
    package: str     # pip or Debian package that ships it
    path: str        # file path (Debian: absolute; pip: relative to the package directory)
    author: str
    licence: str
    split: str
    anchor: tuple[float, float] = (0.5, 0.5)  # crop position (fraction of the free range; 0.5 = centre)
    factor: int | None = None                 # downscale override
    note: str = ""


def _bg(f: str) -> str:
    return f"/usr/share/backgrounds/{f}"


def _mate(f: str) -> str:
    return f"/usr/share/backgrounds/mate/nature/{f}"


def _kde(d: str, f: str = "2560x1600.jpg") -> str:
    return f"/usr/share/wallpapers/{d}/contents/images/{f}"


def _lxqt(f: str) -> str:
    return f"/usr/share/lxqt/wallpapers/{f}"


SOURCES: tuple[Source, ...] = (
    # --- scikit-image (files inside the wheel: skimage/data/) ---
    Source("skimage_astronaut", "scikit-image", "data/astronaut.png", "NASA (Eileen Collins portrait)",
           "public domain (no known copyright restrictions; skimage docstring)", "test", factor=2),
    Source("skimage_coffee", "scikit-image", "data/coffee.png", "Rachel Michetti (courtesy of Pikolo Espresso Bar)",
           "CC0 (skimage docstring)", "test"),
    Source("skimage_chelsea", "scikit-image", "data/chelsea.png", "Stefan van der Walt", "CC0 (skimage docstring)",
           "test"),
    Source("skimage_motorcycle_left", "scikit-image", "data/motorcycle_left.png",
           "Middlebury 2014 stereo (N. Nesic, P. Westling, X. Wang, Y. Kitajima, G. Krathwohl, D. Scharstein)",
           "no licence stated in skimage's docstring (Middlebury 2014 stereo data, redistributed inside "
           "scikit-image, a BSD-3-Clause package); see skimage.data.stereo_motorcycle", "test",
           note="real ground-truth disparity (motorcycle_disp.npz) gives the haze test a real depth map"),
    Source("skimage_rocket", "scikit-image", "data/rocket.jpg", "SpaceX", "public domain (skimage docstring)",
           "train", note="640x427 JPEG, not downscaled: faint source JPEG artefacts may remain"),
    Source("skimage_hubble_deep_field", "scikit-image", "data/hubble_deep_field.jpg", "NASA / ESA (HubbleSite)",
           "public domain (skimage docstring)", "train"),
    Source("skimage_camera", "scikit-image", "data/camera.png", "Lav Varshney", "CC0 (skimage docstring)", "train",
           note="grey photograph, replicated to RGB"),
    Source("skimage_coins", "scikit-image", "data/coins.png", "Brooklyn Museum (Greek coins from Pompeii)",
           "no known copyright restrictions (skimage docstring)", "train", note="grey photograph, replicated to RGB"),
    Source("skimage_brick", "scikit-image", "data/brick.png", "CC0Textures (Bricks25)", "CC0 (skimage docstring)",
           "train", note="grey photograph, replicated to RGB"),
    Source("skimage_grass", "scikit-image", "data/grass.png", "linolafett (DeviantArt, Grass-01)",
           "CC0 (skimage docstring)", "train", note="grey photograph, replicated to RGB"),
    Source("skimage_gravel", "scikit-image", "data/gravel.png", "CC0Textures (Gravel04)", "CC0 (skimage docstring)",
           "train", note="grey photograph, replicated to RGB"),
    # --- scikit-learn, PyWavelets, Matplotlib ---
    Source("sklearn_china", "scikit-learn", "datasets/images/china.jpg", "danielbuechele (Flickr)",
           "CC-BY-2.0 (sklearn/datasets/images/README.txt)", "train",
           note="640x427 JPEG, not downscaled: faint source JPEG artefacts may remain"),
    Source("sklearn_flower", "scikit-learn", "datasets/images/flower.jpg", "vultilion (Flickr)",
           "CC-BY-2.0 (sklearn/datasets/images/README.txt)", "train",
           note="640x427 JPEG, not downscaled: faint source JPEG artefacts may remain"),
    Source("pywt_ascent", "PyWavelets", "data/ascent.npz", "public-domain-image.com (accent-to-the-top.jpg)",
           "public domain (pywt.data.ascent docstring)", "train", note="grey photograph, replicated to RGB"),
    Source("pywt_aero", "PyWavelets", "data/aero.npz", "not stated (PyWavelets sample data)",
           "shipped in PyWavelets under its MIT licence; no separate image licence stated", "train",
           note="grey aerial photograph, replicated to RGB"),
    Source("mpl_grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
           "U.S. Navy (official portrait of Grace Hopper)",
           "public domain as a work of the U.S. federal government (not stated in the package); shipped as "
           "Matplotlib sample data", "train",
           note="512x600 JPEG, not downscaled: faint source JPEG artefacts may remain"),
    # --- lomiri-wallpapers-16.04 (licence per file in debian/copyright) ---
    Source("lomiri_bridge", _LOMIRI, _bg("Bridge_by_Sander_Klootwijk.jpg"), "Sander Klootwijk", "CC-BY-SA-4.0",
           "train"),
    Source("lomiri_dragonfly", _LOMIRI, _bg("Dragonfly_by_Bolly.jpg"), "\"Bolly\"", "CC-BY-SA-4.0", "train"),
    Source("lomiri_picture_0b", _LOMIRI, _bg("Picture_0B_by_freespace.jpg"), "Trevor \"Freespace\"", "CC-BY-4.0",
           "test"),
    Source("lomiri_picture_1a", _LOMIRI, _bg("Picture_1A_by_freespace.jpg"), "Trevor \"Freespace\"", "CC-BY-4.0",
           "train"),
    Source("lomiri_wine", _LOMIRI, _bg("Wine_by_Jakkub_Mede.jpg"), "Jakub Mede", "CC-BY-4.0", "val",
           anchor=(0.6, 0.5)),
    Source("lomiri_aitzgorri", _LOMIRI, _bg("aitzgorri_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi",
           "CC-BY-4.0", "val"),
    Source("lomiri_analogpattern", _LOMIRI, _bg("analogpattern_by_Peter_Nerlich.jpg"), "Peter Nerlich",
           "CC-BY-SA-4.0", "train"),
    Source("lomiri_free", _LOMIRI, _bg("free_by_Peter_Nerlich.jpg"), "Peter Nerlich", "CC-BY-SA-4.0", "train"),
    Source("lomiri_friends", _LOMIRI, _bg("friends_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0",
           "test", anchor=(0.35, 0.5)),
    Source("lomiri_greentock", _LOMIRI, _bg("greentock_by_Peter_Nerlich.jpg"), "Peter Nerlich", "CC-BY-SA-4.0",
           "train"),
    Source("lomiri_life", _LOMIRI, _bg("life_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0", "test"),
    Source("lomiri_picosdeeuropa", _LOMIRI, _bg("picosdeeuropa_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi",
           "CC-BY-4.0", "test"),
    Source("lomiri_seeding", _LOMIRI, _bg("seeding_by_Clements_Engelhardt.jpg"), "Clemens Engelhardt", "CC0-1.0",
           "train"),
    Source("lomiri_sunset", _LOMIRI, _bg("sunset_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0",
           "train"),
    # --- mate-backgrounds (nature/) ---
    Source("mate_aqua", _MATE, _mate("Aqua.jpg"), "Charles Barbin", _MATE_LIC, "train"),
    Source("mate_blinds", _MATE, _mate("Blinds.jpg"), "Lennart Poettering, Andrea Cimitan", _MATE_LIC, "train"),
    Source("mate_dune", _MATE, _mate("Dune.jpg"), "Marco Cogoni, Hylke Bons", _MATE_LIC, "test"),
    Source("mate_freshflower", _MATE, _mate("FreshFlower.jpg"), "Jens Ansorg", _MATE_LIC, "train"),
    Source("mate_garden", _MATE, _mate("Garden.jpg"), "Charles Barbin", _MATE_LIC, "train"),
    Source("mate_greenmeadow", _MATE, _mate("GreenMeadow.jpg"), "Timothy Schellhase, Lapo Calamandrei", _MATE_LIC,
           "val"),
    Source("mate_ladybird", _MATE, _mate("LadyBird.jpg"), "Charles Barbin", _MATE_LIC, "test", anchor=(0.5, 0.75)),
    Source("mate_raindrops", _MATE, _mate("RainDrops.jpg"), "\"blackcombwhistler07\"", _MATE_LIC, "train"),
    Source("mate_storm", _MATE, _mate("Storm.jpg"), "Sergey Nazarov", _MATE_LIC, "train"),
    Source("mate_twowings", _MATE, _mate("TwoWings.jpg"), "Charles Barbin, Hylke Bons", _MATE_LIC, "train"),
    Source("mate_wood", _MATE, _mate("Wood.jpg"), "Jean-Francois Fortin Tam", _MATE_LIC, "train"),
    Source("mate_yellowflower", _MATE, _mate("YellowFlower.jpg"), "Charles Barbin", _MATE_LIC, "test",
           anchor=(0.5, 0.7)),
    # --- plasma-workspace-wallpapers (photographs only) ---
    Source("plasma_bythewater", _PLASMA, _kde("BytheWater"), "Maciej Wiklo", _plasma_lic("LGPLv3"), "val"),
    Source("plasma_coldripple", _PLASMA, _kde("ColdRipple"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "train"),
    Source("plasma_colorfulcups", _PLASMA, _kde("ColorfulCups"), "Dmitri Popov", _plasma_lic("LGPLv3"), "test"),
    Source("plasma_darkesthour", _PLASMA, _kde("DarkestHour"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "train"),
    Source("plasma_eveningglow", _PLASMA, _kde("EveningGlow"), "Ian Hex", _plasma_lic("LGPLv3"), "test",
           anchor=(0.75, 0.3)),
    Source("plasma_fallenleaf", _PLASMA, _kde("FallenLeaf"), "Martin Klapetek", _plasma_lic("LGPLv3"), "val"),
    Source("plasma_grey", _PLASMA, _kde("Grey"), "Sigi Sagi", _plasma_lic("LGPLv3"), "train",
           note="grey photograph, replicated to RGB"),
    Source("plasma_kite", _PLASMA, _kde("Kite"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "train"),
    Source("plasma_onestandsout", _PLASMA, _kde("OneStandsOut"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "train"),
    Source("plasma_path", _PLASMA, _kde("Path"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "test"),
    Source("plasma_summer_1am", _PLASMA, _kde("summer_1am"), "Risto Saukonpaa", _plasma_lic("LGPLv3"), "train"),
    # --- lxqt-themes (wallpapers/; credits from wallpapers/License) ---
    Source("lxqt_butterfly_kenneth_wimer", _LXQT, _lxqt("Butterfly-Kenneth-Wimer.jpg"),
           "Kenneth Wimer (named in the file name)", _LXQT_LIC, "train"),
    Source("lxqt_valendas", _LXQT, _lxqt("Valendas.png"), "not named (LXQt Project Team)", _LXQT_LIC, "train",
           note="RGBA file with a fully opaque alpha channel (dropped)"),
    Source("lxqt_after_the_rain", _LXQT, _lxqt("after-the-rain.jpg"), "stefonarch", _LXQT_LIC, "train"),
    Source("lxqt_appleflower", _LXQT, _lxqt("appleflower.png"), "stefonarch", _LXQT_LIC, "val"),
    Source("lxqt_beam", _LXQT, _lxqt("beam.png"), "stefonarch", _LXQT_LIC, "train"),
    Source("lxqt_butterfly", _LXQT, _lxqt("butterfly.png"), "stefonarch", _LXQT_LIC, "train"),
    Source("lxqt_cloud", _LXQT, _lxqt("cloud.png"), "not named (LXQt Project Team)", _LXQT_LIC, "train"),
    Source("lxqt_drop", _LXQT, _lxqt("drop.png"), "stefonarch", _LXQT_LIC, "train"),
    Source("lxqt_flowers", _LXQT, _lxqt("flowers.png"), "stefonarch", _LXQT_LIC, "test"),
    Source("lxqt_fog", _LXQT, _lxqt("fog.jpg"), "stefonarch", _LXQT_LIC, "train"),
    Source("lxqt_this_is_not_windows", _LXQT, _lxqt("this-is-not-windows.jpg"), "stefonarch", _LXQT_LIC, "test"),
)

#: test images whose 96x96 centre crops form the ``ci`` subset
CI_FROM = ("skimage_coffee", "mate_ladybird", "plasma_colorfulcups", "lxqt_flowers")

def _package_dir(package: str) -> Path:
    mod = {"scikit-image": "skimage", "scikit-learn": "sklearn", "PyWavelets": "pywt",
           "matplotlib": "matplotlib"}[package]
    return Path(import_module(mod).__file__).parent


def _package_version(package: str) -> str:
    if package.startswith("/") or package in (_LOMIRI, _MATE, _PLASMA, _LXQT):
        try:
            r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                               timeout=10)
            return r.stdout.strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            return "unknown"
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def source_path(src: Source) -> Path:
    if src.path.startswith("/"):
        return Path(src.path)
    return _package_dir(src.package) / src.path


class MissingSourceError(FileNotFoundError):
    pass


def load_source(src: Source) -> np.ndarray:
    """The source photograph as uint8 (H, W, 3)."""
    from PIL import Image

    p = source_path(src)
    if not p.is_file():
        hint = (f"sudo apt-get install {src.package}" if src.path.startswith("/")
                else f"pip install {src.package}")
        raise MissingSourceError(f"MiniAIO source {src.name}: {p} not found (install it: {hint})")
    if p.suffix == ".npz":
        with np.load(p) as z:
            arr = z[list(z.keys())[0]]
    else:
        with Image.open(p) as im:
            if im.mode == "RGBA":
                a = np.asarray(im)
                if a[..., 3].min() < 255:
                    raise ValueError(f"{p}: unexpected transparency in a MiniAIO source")
                arr = a[..., :3]
            else:
                arr = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError(f"{p}: expected 8-bit pixels, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def box_downscale(arr: np.ndarray, f: int) -> np.ndarray:
    """Exact integer box average by ``f`` (top-left aligned; remainder rows/columns dropped), rounded half to
    even. Pure integer arithmetic before the final division: identical on every machine."""
    if f == 1:
        return arr
    h, w = (arr.shape[0] // f) * f, (arr.shape[1] // f) * f
    s = arr[:h, :w].astype(np.int64).reshape(h // f, f, w // f, f, 3).sum(axis=(1, 3))
    return np.rint(s / float(f * f)).astype(np.uint8)


def crop_box(shape: tuple[int, int], size: tuple[int, int], anchor: tuple[float, float]) -> tuple[int, int, int, int]:
    h, w = shape
    ch, cw = min(size[0], h), min(size[1], w)
    ch, cw = ch - ch % 16, cw - cw % 16
    top = int(round((h - ch) * anchor[0]))
    left = int(round((w - cw) * anchor[1]))
    return top, left, ch, cw


def make_image(src: Source) -> tuple[np.ndarray, dict]:
    """The MiniAIO image for one source (uint8) and its provenance record."""
    arr = load_source(src)
    short = min(arr.shape[:2])
    f = src.factor or max(1, short // TARGET_SHORT)
    small = box_downscale(arr, f)
    if src.split == "train":
        size = TRAIN_SIZE if small.shape[1] >= small.shape[0] else TRAIN_SIZE[::-1]
    else:
        size = (EVAL_SIZE, EVAL_SIZE)
    top, left, ch, cw = crop_box(small.shape[:2], size, src.anchor)
    if min(ch, cw) < 128:
        raise ValueError(f"{src.name}: only {ch}x{cw} after downscaling; source too small")
    out = np.ascontiguousarray(small[top: top + ch, left: left + cw])
    rec = {"source_shape": list(arr.shape), "source_sha256": pixel_sha256(arr), "factor": f,
           "box": [top, left, ch, cw]}
    return out, rec


def _attribution_md(records: list[dict]) -> str:
    lines = [
        "# Attribution of the MiniAIO photographs",
        "",
        "Written by `clusir data build` (`clusir/data/miniaio_build.py`, table `SOURCES`); do not edit by hand.",
        "",
        "Every image in `data/miniaio/` is a downscaled (integer box average) and cropped copy of one photograph "
        "shipped by the package named below; the crop box and factor are in `data/miniaio/manifest.json`. "
        "The derived images keep the licence of their source. Share-alike (CC-BY-SA) sources stay under that "
        "licence; GPL/LGPL sources are redistributed under those licences (the full texts are in "
        "`/usr/share/common-licenses/` on Debian and at https://www.gnu.org/licenses/). "
        "Debian package licences are quoted from `/usr/share/doc/<package>/copyright`; where the upstream "
        "metadata shipped in the package states another licence, both are given.",
        "",
        "| image | split | source file | package (version) | author | licence | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s = r["source"]
        lines.append(f"| `{r['file']}` | {r['split']} | `{s['path']}` | {s['package']} ({s['version']}) | "
                     f"{s['author']} | {s['licence']} | {s.get('note', '')} |")
    lines += ["", f"{len(records)} images from {len({r['photo'] for r in records})} distinct photographs.", ""]
    return "\n".join(lines)


def _record(src: Source, img: np.ndarray, rec: dict) -> dict:
    """The manifest record of one built image."""
    path = src.path if src.path.startswith("/") else f"{src.package}: {Path(_package_dir(src.package).name) / src.path}"
    grey = bool(np.all(img[..., 0] == img[..., 1]) and np.all(img[..., 1] == img[..., 2]))
    return {"name": src.name, "split": src.split, "file": f"{src.split}/{src.name}.png", "photo": src.name,
            "shape": list(img.shape), "sha256": pixel_sha256(img), "grey": grey,
            "source": {"package": src.package, "version": _package_version(src.package), "path": path,
                       "author": src.author, "licence": src.licence, "note": src.note}, **rec}


def build_images(out: Path, *, check: bool = False, log=print) -> tuple[list[dict], list[str], list[str]]:
    """Step 1: make every image of ``SOURCES``; write its PNG under ``out`` unless ``check``.

    Returns ``(records, missing_sources, mismatched)``; ``mismatched`` (only with ``check``) names the images
    whose rebuilt pixels differ from the committed manifest."""
    names = [s.name for s in SOURCES]
    if len(set(names)) != len(names):
        raise ValueError("duplicate MiniAIO names")
    committed = {r["name"]: r for r in miniaio.load_manifest(out)["images"]} if check else {}
    records, missing, mismatched = [], [], []
    for src in SOURCES:
        try:
            img, rec = make_image(src)
        except MissingSourceError as exc:
            missing.append(str(exc))
            continue
        r = _record(src, img, rec)
        records.append(r)
        if check:
            old = committed.get(src.name)
            if old is None or old["sha256"] != r["sha256"]:
                mismatched.append(src.name)
        else:
            write_png(out / r["file"], img)
        log(f"  {src.split:5s} {src.name:34s} f={rec['factor']} box={rec['box']} {r['sha256'][:12]}")
    return records, missing, mismatched


def remove_stale(out: Path, records: list[dict]) -> None:
    """Delete PNGs under ``out/<split>/`` that no record names (a source removed from the table)."""
    keep = {out / r["file"] for r in records}
    for split in SPLITS:
        for p in sorted((out / split).glob("*.png")):
            if p not in keep:
                p.unlink()


def write_manifest(out: Path, records: list[dict]) -> dict:
    """Step 2: ``manifest.json`` (records, counts, the ``ci`` crops read back from the written PNGs)."""
    by_name = {r["name"]: r for r in records}
    ci = []
    for n in CI_FROM:
        c = ci_crop(read_image(out / by_name[n]["file"]))
        ci.append({"name": f"ci_{n}", "from": n, "shape": list(c.shape), "sha256": pixel_sha256(c)})
    manifest = {
        "name": "MiniAIO",
        "version": VERSION,
        "description": "Clean real photographs for the offline clusir benchmark; degradations are synthesised "
                       "deterministically by clusir.data (see docs/data.md). Hashes are SHA-256 of decoded uint8 "
                       "pixels (clusir.data.io.pixel_sha256), never of file bytes.",
        "rule": {"downscale": f"integer box average, factor max(1, short_side // {TARGET_SHORT}) unless overridden",
                 "eval_size": EVAL_SIZE, "train_size": list(TRAIN_SIZE), "ci_size": CI_SIZE},
        "counts": {s: sum(r["split"] == s for r in records) for s in SPLITS},
        "photos": len({r["photo"] for r in records}),
        "images": records,
        "ci": ci,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    miniaio.forget_manifest(out)
    return manifest


def write_attribution(out: Path, records: list[dict]) -> Path:
    """Step 3: ``ATTRIBUTION.md`` next to the MiniAIO folder, from the same records."""
    p = out.parent / "ATTRIBUTION.md"
    p.write_text(_attribution_md(records))
    return p


def build(out_dir: str | os.PathLike | None = None, *, check: bool = False, log=print) -> dict:
    """Rebuild MiniAIO from the installed packages: ``build_images``, ``write_manifest``, ``write_attribution``.

    ``check=True`` writes nothing: it rebuilds in memory and reports images whose pixels differ from the
    committed manifest (``{"mismatched": [...], "missing_sources": [...], "checked": n}``). Otherwise it writes
    the PNGs, ``manifest.json`` and ``../ATTRIBUTION.md`` and returns the manifest. The test-input hashes
    are not written here: call ``clusir.data.settings.write_input_manifest(out_dir)`` next (``clusir data build``
    does)."""
    out = Path(out_dir) if out_dir else miniaio.repo_data_dir() / "miniaio"
    records, missing, mismatched = build_images(out, check=check, log=log)
    if check:
        return {"mismatched": mismatched, "missing_sources": missing, "checked": len(records)}
    if missing:
        raise MissingSourceError("cannot build MiniAIO, sources missing:\n  " + "\n  ".join(missing))
    remove_stale(out, records)
    manifest = write_manifest(out, records)
    write_attribution(out, records)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"MiniAIO: {len(records)} images ({manifest['counts']}), {manifest['photos']} photographs, "
        f"{total / 1e6:.1f} MB in {out}")
    return manifest
