"""Loaders for the real data sets of the ClusIR paper, in the folder layouts their users already have,
and ``check_tree``: a validator that tells a person what is wrong with a tree and how to fix it.

Accepted layouts (``root`` is the folder you pass; each data set is searched at every candidate path, the
first one that exists wins, and the report says which layout it recognised):

* **AdaIR / PromptIR** (``root`` = their ``data/`` folder): ``Train/{Denoise,Derain,Dehaze,Deblur,Enhance}``
  and ``test/{denoise/{bsd68,kodak24,urban100},derain/Rain100L,dehaze,deblur/gopro,enhance/lol}``, plus the
  optional list files ``data_dir/noisy/denoise.txt`` and ``data_dir/rainy/rainTrain.txt``;
* **MoCE-IR** (``root`` = its ``data_file_dir``): ``denoising/{BSD400,WaterlooED,cBSD68/original_png}``,
  ``deraining/{RainTrainL,Rain100L}/{rainy,gt}``, ``dehazing/RESIDE/{part1..4,clear}``,
  ``dehazing/SOTS/outdoor/{hazy,gt}``, ``deblurring/GoPro/{crop/train/{input_crops,target_crops},test/{input,target}}``,
  ``llie/LOLv1/{Train,Test}/{input,target}``, ``cdd11/{train,test}/{clear,<type>}``;
* **original releases**: ``GOPRO_Large/{train,test}/<sequence>/{blur,blur_gamma,sharp}/``,
  ``LOLdataset/{our485,eval15}/{low,high}``, ``CDD-11_train``/``CDD-11_test`` (OneRestore), PReNet-style
  ``RainTrainL``/``Rain100L`` folders holding ``rain-N.png`` next to ``norain-N.png``, ``SOTS/outdoor/{hazy,gt}``,
  and plain ``BSD400``, ``WED``, ``CBSD68``, ``Kodak24``, ``Urban100`` folders.

Where each is downloaded from is in ``data/README.md`` and in ``DATASETS`` below.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clusir.data.io import IMAGE_EXTENSIONS, ImageReadError, ImageSizeError, dihedral, is_image_file

# ----------------------------------------------------------------------------------------------------------
# what exists
# ----------------------------------------------------------------------------------------------------------

CDD11_TYPES = ("low", "haze", "rain", "snow", "low_haze", "low_rain", "low_snow", "haze_rain", "haze_snow",
               "low_haze_rain", "low_haze_snow")


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    title: str
    task: str
    role: str                 # "train" | "test"
    expected: int | None      # number of images / pairs in the full release
    source: str               # where to download
    download: str | None = None  # "kodak24": `clusir data download` can fetch it
    optional: bool = False
    note: str = ""


DATASETS: dict[str, DatasetInfo] = {d.key: d for d in (
    DatasetInfo("bsd400", "BSD400 (clean, denoising train)", "denoise", "train", 400,
                "PromptIR/AdaIR Google-Drive link (AdaIR INSTALL.md); the 400 BSDS500 train+test images minus BSD68",
                note="file names like 117025.jpg; AdaIR's denoise.txt calls them a117025.jpg (c-yn/AdaIR#4)"),
    DatasetInfo("wed", "Waterloo Exploration Database (clean, denoising train)", "denoise", "train", 4744,
                "https://ece.uwaterloo.ca/~k29ma/exploration/ (or the AdaIR Google-Drive copy)"),
    DatasetInfo("cbsd68", "CBSD68 (denoising test)", "denoise", "test", 68,
                "e.g. github.com/cszn/IRCNN testsets/CBSD68, or the PromptIR/AdaIR test archive"),
    DatasetInfo("kodak24", "Kodak24 (denoising test)", "denoise", "test", 24, "http://r0k.us/graphics/kodak/",
                download="kodak24", optional=True),
    DatasetInfo("urban100", "Urban100 (denoising test, supplement)", "denoise", "test", 100,
                "the AdaIR Google-Drive folder (AdaIR INSTALL.md)", optional=True),
    DatasetInfo("rain100l_train", "Rain100L train (RainTrainL)", "rain", "train", 200,
                "PromptIR/AdaIR Google-Drive folder 'Train100L&Rain100L'; originally Yang et al. (JORDER)"),
    DatasetInfo("rain100l_test", "Rain100L test", "rain", "test", 100, "same folder as Rain100L train"),
    DatasetInfo("ots", "RESIDE-beta OTS (outdoor training set)", "haze", "train", 72135,
                "https://sites.google.com/view/reside-dehaze-datasets/reside-%CE%B2",
                note="2,061 clean images x 35 (A, beta) combinations"),
    DatasetInfo("sots_outdoor", "SOTS-outdoor (dehazing test)", "haze", "test", 500,
                "https://sites.google.com/view/reside-dehaze-datasets/reside-v0"),
    DatasetInfo("gopro_train", "GoPro train", "blur", "train", 2103,
                "Nah et al.: seungjunnah.github.io/Datasets/gopro (GOPRO_Large); AdaIR Google-Drive copy"),
    DatasetInfo("gopro_test", "GoPro test", "blur", "test", 1111, "same as GoPro train"),
    DatasetInfo("lol_train", "LOL-v1 our485", "lowlight", "train", 485,
                "https://daooshee.github.io/BMVC2018website/"),
    DatasetInfo("lol_test", "LOL-v1 eval15", "lowlight", "test", 15, "same as LOL-v1 our485"),
    DatasetInfo("cdd11_train", "CDD-11 train (OneRestore)", "cdd11", "train", 1183,
                "OneRestore README (OneDrive link), github.com/gy65896/OneRestore", note="per degradation type"),
    DatasetInfo("cdd11_test", "CDD-11 test (OneRestore)", "cdd11", "test", 200, "same as CDD-11 train",
                note="per degradation type"),
)}

# setting -> data set keys it needs (jpeg reuses the denoising clean sets and compresses on the fly)
SETTING_DATASETS: dict[str, list[str]] = {
    "denoise": ["bsd400", "wed", "cbsd68", "kodak24", "urban100"],
    "jpeg": ["bsd400", "wed", "cbsd68", "kodak24"],
    "derain": ["rain100l_train", "rain100l_test"],
    "dehaze": ["ots", "sots_outdoor"],
    "deblur": ["gopro_train", "gopro_test"],
    "lowlight": ["lol_train", "lol_test"],
    "cdd11": ["cdd11_train", "cdd11_test"],
}
for _s in ("denoise15", "denoise25", "denoise50"):
    SETTING_DATASETS[_s] = SETTING_DATASETS["denoise"]
SETTING_DATASETS["nhr"] = SETTING_DATASETS["denoise"] + SETTING_DATASETS["derain"] + SETTING_DATASETS["dehaze"]
SETTING_DATASETS["nhrbl"] = SETTING_DATASETS["nhr"] + SETTING_DATASETS["deblur"] + SETTING_DATASETS["lowlight"]


@dataclass
class Pair:
    """One item of a real data set: ``lq`` is None for clean-only sets (denoising)."""
    name: str
    gt: Path
    lq: Path | None = None
    kind: str = ""   # CDD-11 type, GoPro sequence, ...


@dataclass
class Found:
    key: str
    layout: str
    where: list[Path]
    items: list[Pair]
    problems: list[str] = field(default_factory=list)   # errors (unpaired, ...)
    warnings: list[str] = field(default_factory=list)
    per_kind: dict[str, int] = field(default_factory=dict)


def _images(d: Path, exts: tuple[str, ...] | None = None) -> list[Path]:
    if not d.is_dir():
        return []
    out = [p for p in d.iterdir() if p.is_file() and not p.name.startswith(".") and is_image_file(p)]
    if exts:
        out = [p for p in out if p.suffix.lower() in exts]
    return sorted(out, key=lambda p: _natural(p.name))


def _natural(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _stray(d: Path) -> list[str]:
    """Non-image files in a folder (ignoring hidden files and list/readme files)."""
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_file() and not p.name.startswith(".")
                  and not is_image_file(p) and p.suffix.lower() not in (".txt", ".md", ".csv", ".json", ".mat"))


def _first_dir(root: Path, cands: list[tuple[str, str]]) -> tuple[str, Path] | None:
    for layout, rel in cands:
        p = root / rel
        if p.is_dir():
            return layout, p
    return None


def _pair_by_name(lq_dir: Path, gt_dir: Path, *, lq_to_gt=None, found: Found, label: str,
                  orphans: str = "error") -> None:
    """Pair files of two folders by a name rule (default: identical stem, any image extension).

    ``orphans``: what a ground-truth file that no input uses is: ``"error"``, ``"warn"`` or ``"ignore"``
    (OTS and CDD-11 share one clean folder between many degraded folders)."""
    lqs = _images(lq_dir)
    gts = _images(gt_dir)
    gt_by_stem: dict[str, Path] = {}
    for g in gts:
        gt_by_stem.setdefault(g.stem, g)
    used = set()
    unpaired = []
    for q in lqs:
        key = lq_to_gt(q.stem) if lq_to_gt else q.stem
        g = gt_by_stem.get(key)
        if g is None:
            unpaired.append(q.name)
            continue
        used.add(g.stem)
        found.items.append(Pair(name=q.stem, gt=g, lq=q, kind=label))
    if unpaired:
        found.problems.append(
            f"{len(unpaired)} input(s) in {lq_dir} have no ground truth in {gt_dir} "
            f"(e.g. {', '.join(unpaired[:5])}); expected names: {_rule_text(found.key)}")
    lonely = [g.name for g in gts if g.stem not in used]
    if lonely and orphans != "ignore":
        msg = (f"{len(lonely)} ground-truth file(s) in {gt_dir} have no input in {lq_dir} "
               f"(e.g. {', '.join(lonely[:5])})")
        (found.problems if orphans == "error" else found.warnings).append(msg)
    for d in (lq_dir, gt_dir):
        s = _stray(d)
        msg = f"{len(s)} non-image file(s) in {d} (e.g. {', '.join(s[:5])}); remove them or move them elsewhere"
        if s and msg not in found.problems:
            found.problems.append(msg)


def _rule_text(key: str) -> str:
    return {
        "rain100l_train": "rain-N.png <-> norain-N.png",
        "rain100l_test": "same file name in input/ and target/ (AdaIR) or rain-N.png <-> norain-N.png",
        "ots": "<id>_<A>_<beta>.jpg <-> <id>.<ext>",
        "sots_outdoor": "<id>_<A>_<beta>.jpg <-> <id>.png",
    }.get(key, "identical file names")


def _rain_gt(stem: str) -> str:
    m = re.fullmatch(r"rain-(\d+)", stem)
    return f"norain-{m.group(1)}" if m else stem


def _haze_gt(stem: str) -> str:
    return stem.split("_")[0]


# ----------------------------------------------------------------------------------------------------------
# finders, one per data set
# ----------------------------------------------------------------------------------------------------------


def _roots(root: Path) -> list[Path]:
    """``root`` itself, plus ``root/data`` (people often point at the repository, not its data/ folder)."""
    out = [root]
    if (root / "data").is_dir():
        out.append(root / "data")
    return out


def _find_clean(key: str, root: Path) -> Found | None:
    cands = {
        "bsd400": [("AdaIR/PromptIR", "Train/Denoise", (".jpg", ".jpeg", ".png")),
                   ("MoCE-IR", "denoising/BSD400", None), ("plain", "BSD400", None),
                   ("plain", "Train/BSD400", None)],
        "wed": [("AdaIR/PromptIR", "Train/Denoise", (".bmp",)), ("MoCE-IR", "denoising/WaterlooED", None),
                ("plain", "WED", None), ("plain", "WaterlooED", None), ("plain", "Train/WED", None)],
        "cbsd68": [("AdaIR/PromptIR", "test/denoise/bsd68", None), ("AdaIR/PromptIR", "test/denoise/cbsd68", None),
                   ("MoCE-IR", "denoising/cBSD68/original_png", None), ("plain", "CBSD68", None),
                   ("plain", "cbsd68", None), ("plain", "BSD68", None)],
        "kodak24": [("AdaIR/PromptIR", "test/denoise/kodak24", None), ("AdaIR/PromptIR", "test/denoise/Kodak24", None),
                    ("MoCE-IR", "denoising/Kodak24", None), ("plain", "Kodak24", None), ("plain", "kodak24", None)],
        "urban100": [("AdaIR/PromptIR", "test/denoise/urban100", None), ("AdaIR/PromptIR", "test/denoise/Urban100", None),
                     ("MoCE-IR", "denoising/Urban100", None), ("plain", "Urban100", None), ("plain", "urban100", None)],
    }[key]
    for base in _roots(root):
        for layout, rel, exts in cands:
            d = base / rel
            if not d.is_dir():
                continue
            files = _images(d, exts)
            if key == "bsd400" and layout == "AdaIR/PromptIR" and not files and _images(d, (".bmp",)):
                continue
            f = Found(key, layout, [d], [Pair(name=p.stem, gt=p) for p in files])
            s = _stray(d)
            if s:
                f.problems.append(f"{len(s)} non-image file(s) in {d} (e.g. {', '.join(s[:5])})")
            if key == "bsd400" and layout == "AdaIR/PromptIR":
                _check_denoise_list(base, d, f)
            return f
    return None


def _list_file(base: Path, rel: str) -> Path | None:
    for cand in (base / "data_dir" / rel, base.parent / "data_dir" / rel, base / rel):
        if cand.is_file():
            return cand
    return None


def _check_denoise_list(base: Path, d: Path, found: Found) -> None:
    """AdaIR/PromptIR keep only the files of Train/Denoise whose names are in data_dir/noisy/denoise.txt; a
    mismatch silently drops images (the BSD400 'a' prefix issue, c-yn/AdaIR#4)."""
    lst = _list_file(base, "noisy/denoise.txt")
    if lst is None:
        return
    names = {ln.strip() for ln in lst.read_text().splitlines() if ln.strip()}
    files = {p.name for p in d.iterdir() if p.is_file()}
    missing = sorted(names - files)
    pref = [n for n in missing if n.startswith("a") and n[1:] in files]
    unpref = [n for n in missing if ("a" + n) in files]
    if pref:
        found.warnings.append(
            f"{lst} lists {len(pref)} BSD400 file(s) with an 'a' prefix that the folder has without it "
            f"(e.g. {pref[0]} vs {pref[0][1:]}): AdaIR/PromptIR's loader would silently skip them "
            f"(c-yn/AdaIR#4). Fix: rename the files, e.g. `cd {d} && for f in [0-9]*.jpg; do mv \"$f\" \"a$f\"; done`, "
            "or strip the 'a' from the list. (clusir's own loader reads the folder and does not need the list.)")
    if unpref:
        found.warnings.append(
            f"{lst} lists {len(unpref)} file(s) without the 'a' prefix the folder has (e.g. {unpref[0]} vs "
            f"a{unpref[0]}); rename one side so that they agree")
    other = [n for n in missing if n not in pref and n not in unpref]
    if other:
        found.warnings.append(f"{lst} lists {len(other)} file(s) not present in {d} (e.g. {', '.join(other[:3])})")


def _find_pairs(key: str, root: Path) -> Found | None:
    for base in _roots(root):
        f = _find_pairs_in(key, base)
        if f is not None:
            return f
    return None


def _pair_rain_dirs(f: Found, d: Path, lq: str, gt: str) -> None:
    """Rain pairs in two sub-folders of ``d`` (``rainy``/``gt`` or ``input``/``target``), matched by name."""
    _need_dirs(f, d, [lq, gt])
    if not f.problems:
        _pair_by_name(d / lq, d / gt, lq_to_gt=_rain_gt, found=f, label="")


def _find_pairs_in(key: str, base: Path) -> Found | None:
    if key == "rain100l_train":
        hit = _first_dir(base, [("AdaIR/PromptIR", "Train/Derain"), ("MoCE-IR", "deraining/RainTrainL"),
                                ("PReNet", "RainTrainL"), ("PReNet", "train/RainTrainL"),
                                ("plain", "Rain100L/train")])
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        if (d / "rainy").is_dir() or (d / "gt").is_dir():
            _pair_rain_dirs(f, d, "rainy", "gt")
            lst = _list_file(base, "rainy/rainTrain.txt")
            if lst is not None and layout == "AdaIR/PromptIR":
                bad = [ln.strip() for ln in lst.read_text().splitlines()
                       if ln.strip() and not (d / ln.strip()).is_file()]
                if bad:
                    f.warnings.append(
                        f"{lst}: {len(bad)} entr(y/ies) do not exist under {d} (e.g. {bad[0]}); AdaIR/PromptIR "
                        "expect entries of the form 'rainy/rain-N.png' (va1shn9v/PromptIR#13)")
        else:  # PReNet: rain-N.png and norain-N.png side by side
            _pair_same_folder(f, d)
        return f
    if key == "rain100l_test":
        hit = _first_dir(base, [("AdaIR/PromptIR", "test/derain/Rain100L"), ("MoCE-IR", "deraining/Rain100L"),
                                ("PReNet", "Rain100L"), ("plain", "Rain100L/test")])
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        if (d / "input").is_dir() or (d / "target").is_dir():
            _pair_rain_dirs(f, d, "input", "target")
        elif (d / "rainy").is_dir() or (d / "gt").is_dir():
            _pair_rain_dirs(f, d, "rainy", "gt")
        elif (d / "train").is_dir() and not _images(d):
            return None
        else:
            _pair_same_folder(f, d)
        return f
    if key == "ots":
        hit = _first_dir(base, [("AdaIR/PromptIR", "Train/Dehaze"), ("MoCE-IR", "dehazing/RESIDE"),
                                ("RESIDE", "OTS"), ("RESIDE", "OTS_BETA")])
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        if layout == "AdaIR/PromptIR":
            hazy_dirs = sorted(p for p in (d / "synthetic").glob("part*") if p.is_dir()) if (d / "synthetic").is_dir() else []
            if not hazy_dirs and (d / "synthetic").is_dir():
                hazy_dirs = [d / "synthetic"]
            clear = d / "original"
            need = ["original", "synthetic"]
        elif layout == "MoCE-IR":
            hazy_dirs = sorted(p for p in d.glob("part*") if p.is_dir())
            clear = d / "clear"
            need = ["clear"]
            if not hazy_dirs:
                f.problems.append(f"no part1..part4 folders of hazy images in {d}")
        else:
            hazy_dirs = [p for p in (d / "hazy", d / "haze") if p.is_dir()]
            hazy_dirs = sorted(q for h in hazy_dirs for q in ([h] + [x for x in h.glob("part*") if x.is_dir()]))
            clear = d / "clear"
            need = ["clear"]
            if not hazy_dirs:
                f.problems.append(f"no hazy/ (or haze/) folder in {d}")
        _need_dirs(f, d, need)
        if not f.problems:
            for h in hazy_dirs:
                _pair_by_name(h, clear, lq_to_gt=_haze_gt, found=f, label=h.name, orphans="ignore")
            _dedupe_orphan_warnings(f)
        return f
    if key == "sots_outdoor":
        hit = _first_dir(base, [("AdaIR/PromptIR", "test/dehaze"), ("MoCE-IR", "dehazing/SOTS/outdoor"),
                                ("RESIDE", "SOTS/outdoor"), ("RESIDE", "SOTS-outdoor"), ("RESIDE", "outdoor")])
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        lq, gt = ("input", "target") if layout == "AdaIR/PromptIR" else ("hazy", "gt")
        if layout == "RESIDE" and not (d / "gt").is_dir() and (d / "clear").is_dir():
            gt = "clear"
        _need_dirs(f, d, [lq, gt])
        if not f.problems:
            _pair_by_name(d / lq, d / gt, lq_to_gt=_haze_gt, found=f, label="", orphans="warn")
        return f
    if key in ("gopro_train", "gopro_test"):
        split = key.split("_")[1]
        cands = [("AdaIR/PromptIR", "Train/Deblur" if split == "train" else "test/deblur/gopro"),
                 ("MoCE-IR", "deblurring/GoPro/crop/train" if split == "train" else "deblurring/GoPro/test"),
                 ("GOPRO_Large", f"GOPRO_Large/{split}"), ("GOPRO_Large", f"GoPro/{split}")]
        hit = _first_dir(base, cands)
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        if layout == "GOPRO_Large":
            seqs = sorted(p for p in d.iterdir() if p.is_dir())
            if not seqs:
                f.problems.append(f"no sequence folders (GOPRxxxx_yy_zz) in {d}")
            for s in seqs:
                _need_dirs(f, s, ["blur", "sharp"])
                if (s / "blur").is_dir() and (s / "sharp").is_dir():
                    before = len(f.items)
                    _pair_by_name(s / "blur", s / "sharp", found=f, label=s.name)
                    for it in f.items[before:]:
                        it.name = f"{s.name}_{it.name}"
        else:
            lq, gt = {"AdaIR/PromptIR": ("blur", "sharp") if split == "train" else ("input", "target"),
                      "MoCE-IR": ("input_crops", "target_crops") if split == "train" else ("input", "target")}[layout]
            _need_dirs(f, d, [lq, gt])
            if not f.problems:
                _pair_by_name(d / lq, d / gt, found=f, label="")
            if layout == "MoCE-IR" and split == "train":
                f.warnings.append("MoCE-IR's GoPro training crops: the count differs from the 2,103 full frames")
        return f
    if key in ("lol_train", "lol_test"):
        split = key.split("_")[1]
        cands = [("AdaIR/PromptIR", "Train/Enhance" if split == "train" else "test/enhance/lol"),
                 ("MoCE-IR", "llie/LOLv1/Train" if split == "train" else "llie/LOLv1/Test"),
                 ("LOLdataset", "LOLdataset/our485" if split == "train" else "LOLdataset/eval15"),
                 ("LOLdataset", "our485" if split == "train" else "eval15")]
        hit = _first_dir(base, cands)
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        lq, gt = {"AdaIR/PromptIR": ("low", "gt") if split == "train" else ("input", "target"),
                  "MoCE-IR": ("input", "target"), "LOLdataset": ("low", "high")}[layout]
        _need_dirs(f, d, [lq, gt])
        if not f.problems:
            _pair_by_name(d / lq, d / gt, found=f, label="")
        return f
    if key in ("cdd11_train", "cdd11_test"):
        split = key.split("_")[1]
        cands = [("MoCE-IR", f"cdd11/{split}"), ("OneRestore", f"CDD-11_{split}"), ("OneRestore", f"CDD11_{split}"),
                 ("OneRestore", f"CDD-11/{split}"), ("OneRestore", split)]
        hit = None
        for layout, rel in cands:
            d = base / rel
            if d.is_dir() and ((d / "clear").is_dir() or any((d / t).is_dir() for t in CDD11_TYPES)):
                hit = (layout, d)
                break
        if not hit:
            return None
        layout, d = hit
        f = Found(key, layout, [d], [])
        _need_dirs(f, d, ["clear"])
        missing = [t for t in CDD11_TYPES if not (d / t).is_dir()]
        if missing:
            f.problems.append(f"{d}: missing degradation folder(s) {', '.join(missing)} "
                              f"(CDD-11 has 11: {', '.join(CDD11_TYPES)})")
        extra = sorted(p.name for p in d.iterdir() if p.is_dir() and p.name not in CDD11_TYPES and p.name != "clear")
        if extra:
            f.warnings.append(f"{d}: unknown folder(s) ignored: {', '.join(extra)}")
        if (d / "clear").is_dir():
            for t in CDD11_TYPES:
                if (d / t).is_dir():
                    before = len(f.items)
                    _pair_by_name(d / t, d / "clear", found=f, label=t, orphans="ignore")
                    f.per_kind[t] = len(f.items) - before
        return f
    raise KeyError(key)


def _dedupe_orphan_warnings(f: Found) -> None:
    """For OTS each clean image serves many hazy parts; report clean images unused by *all* parts once."""
    used = {it.gt for it in f.items}
    for c in sorted({it.gt.parent for it in f.items}):
        unused = [p.name for p in _images(c) if p not in used]
        if unused:
            f.warnings.append(f"{len(unused)} clean image(s) in {c} have no hazy version (e.g. {', '.join(unused[:3])})")


def _need_dirs(f: Found, d: Path, names: list[str]) -> None:
    for n in names:
        if not (d / n).is_dir():
            present = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
            f.problems.append(f"missing folder {d / n} (found: {', '.join(present) or 'no sub-folders'}); "
                              f"the {f.layout} layout of {DATASETS[f.key].title} needs {d}/{{{','.join(names)}}}")


def _pair_same_folder(f: Found, d: Path) -> None:
    files = _images(d)
    rain = [p for p in files if re.fullmatch(r"rain-\d+", p.stem)]
    norain = {p.stem: p for p in files if re.fullmatch(r"norain-\d+", p.stem)}
    if not rain and not norain:
        f.problems.append(f"{d}: no rain-N / norain-N images (PReNet layout) and no input/target or rainy/gt "
                          "sub-folders")
        return
    used = set()
    unpaired = []
    for p in rain:
        g = norain.get(_rain_gt(p.stem))
        if g is None:
            unpaired.append(p.name)
        else:
            used.add(g.stem)
            f.items.append(Pair(name=p.stem, gt=g, lq=p))
    orphans = [n for n in norain if n not in used]
    if unpaired:
        f.problems.append(f"{len(unpaired)} rainy image(s) in {d} have no norain-N partner (e.g. {unpaired[0]})")
    if orphans:
        f.problems.append(f"{len(orphans)} norain image(s) in {d} have no rain-N partner (e.g. {orphans[0]}.png)")


def find(key: str, root: str | os.PathLike) -> Found | None:
    """Locate one data set (a key of ``DATASETS``) under ``root``; ``None`` if no known layout is present."""
    root = Path(root)
    if key in ("bsd400", "wed", "cbsd68", "kodak24", "urban100"):
        return _find_clean(key, root)
    return _find_pairs(key, root)


# ----------------------------------------------------------------------------------------------------------
# the check
# ----------------------------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    setting: str
    root: str
    ok: bool = True
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    found: dict[str, dict] = field(default_factory=dict)

    def error(self, msg: str) -> None:
        self.ok = False
        self.errors.append(msg)

    def __bool__(self) -> bool:
        return self.ok

    def format(self) -> str:
        out = [f"clusir data check --setting {self.setting} " +
               (f"--root {self.root}" if not self.root.endswith("(MiniAIO)") else f"(no --root: {self.root})")]
        out += ["  " + ln for ln in self.lines]
        if self.warnings:
            out.append("warnings:")
            out += [f"  - {w}" for w in self.warnings]
        if self.errors:
            out.append("errors (fix these):")
            out += [f"  - {e}" for e in self.errors]
        out.append("RESULT: OK" if self.ok else f"RESULT: FAILED ({len(self.errors)} error(s))")
        return "\n".join(out)

    __str__ = format


def _probe(path: Path, deep: bool) -> tuple[tuple[int, int] | None, str | None]:
    """(size (H, W), error) by reading the header, or decoding fully when ``deep``."""
    from PIL import Image

    from clusir.data.io import read_image

    try:
        if deep:
            a = read_image(path, alpha="drop")
            return (a.shape[0], a.shape[1]), None
        with Image.open(path) as im:
            w, h = im.size
        return (h, w), None
    except (ImageReadError, ImageSizeError, ValueError) as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - report anything Pillow raises, naming the file
        return None, f"{path}: unreadable ({type(exc).__name__}: {exc})"


def check_tree(setting: str, root: str | os.PathLike | None = None, *, deep: bool | None = None,
               splits: tuple[str, ...] = ("train", "test"), min_size: int = 0, strict: bool = False) -> CheckReport:
    """Validate the data for ``setting`` under ``root`` (``None``: the committed MiniAIO) and return a
    :class:`CheckReport` (``report.ok``, ``print(report)``).

    Checked: each data set the setting needs is found in a known layout (else: the folders that were
    looked for); counts against the full releases (a shortfall is a warning: subsets are allowed);
    inputs without ground truth and vice versa, non-image files, list files that disagree with the
    folders (BSD400 'a' prefix, rainTrain.txt entries); every image opens (header only, or a full decode
    when ``deep`` is True; default: full decode when a data set has at most 2,000 files, else the first 50
    fully and the rest by header); paired images have equal sizes; images smaller than ``min_size``.

    List files that disagree with the folders (AdaIR/PromptIR's ``denoise.txt``, ``rainTrain.txt``) are
    warnings, because clusir's loaders read the folders; ``strict=True`` turns every warning into an error."""
    from clusir.data.settings import SETTINGS

    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose from: {', '.join(SETTINGS)}")
    if root is None:
        return check_miniaio(setting)
    root = Path(root)
    rep = CheckReport(setting, str(root))
    if not root.is_dir():
        rep.error(f"{root} is not a folder")
        return rep
    for key in SETTING_DATASETS[setting]:
        info = DATASETS[key]
        if info.role not in splits:
            continue
        f = find(key, root)
        if f is None:
            msg = (f"{info.title}: not found under {root} (looked for {', '.join(_looked_for(key))}); "
                   f"download: {info.source}")
            if info.optional:
                rep.warnings.append(msg + " [optional]")
                rep.lines.append(f"--    {key:15s} not present (optional)")
            else:
                rep.error(msg)
                rep.lines.append(f"MISS  {key:15s} not found")
            continue
        for p in f.problems:
            rep.error(f"{info.title}: {p}")
        for w in f.warnings:
            rep.warnings.append(f"{info.title}: {w}")
        n = len(f.items)
        if n == 0 and not f.problems:
            rep.error(f"{info.title}: {f.where[0]} holds no images ({_rule_text(key)})")
        _check_files(rep, info, f, deep, min_size)
        exp = info.expected
        if key.startswith("cdd11") and f.per_kind:
            counts = ", ".join(f"{k} {v}" for k, v in f.per_kind.items())
            short = [k for k, v in f.per_kind.items() if exp and v < exp]
            if short:
                rep.warnings.append(f"{info.title}: fewer than the released {exp} per type for "
                                    f"{', '.join(short)} (a subset?)")
            detail = f"{n} pairs ({counts})"
        else:
            if exp and n and n != exp:
                rep.warnings.append(f"{info.title}: {n} {'pairs' if f.items and f.items[0].lq else 'images'} found, "
                                    f"the full release has {exp} (a subset or an incomplete download?)")
            detail = f"{n} {'pairs' if f.items and f.items[0].lq else 'images'}"
        status = "OK  " if not f.problems else "BAD "
        rep.lines.append(f"{status}  {key:15s} {detail:>12s}  [{f.layout}] {f.where[0]}")
        rep.found[key] = {"layout": f.layout, "path": str(f.where[0]), "count": n}
    if strict and rep.warnings:
        for w in rep.warnings:
            rep.error(f"(strict) {w}")
    return rep


def _looked_for(key: str) -> list[str]:
    return {
        "bsd400": ["Train/Denoise/*.jpg", "denoising/BSD400", "BSD400"],
        "wed": ["Train/Denoise/*.bmp", "denoising/WaterlooED", "WED"],
        "cbsd68": ["test/denoise/bsd68", "denoising/cBSD68/original_png", "CBSD68"],
        "kodak24": ["test/denoise/kodak24", "Kodak24"],
        "urban100": ["test/denoise/urban100", "Urban100"],
        "rain100l_train": ["Train/Derain/{rainy,gt}", "deraining/RainTrainL", "RainTrainL"],
        "rain100l_test": ["test/derain/Rain100L/{input,target}", "deraining/Rain100L", "Rain100L"],
        "ots": ["Train/Dehaze/{original,synthetic}", "dehazing/RESIDE/{part*,clear}", "OTS/{hazy,clear}"],
        "sots_outdoor": ["test/dehaze/{input,target}", "dehazing/SOTS/outdoor/{hazy,gt}", "SOTS/outdoor"],
        "gopro_train": ["Train/Deblur/{blur,sharp}", "deblurring/GoPro/crop/train", "GOPRO_Large/train"],
        "gopro_test": ["test/deblur/gopro/{input,target}", "deblurring/GoPro/test", "GOPRO_Large/test"],
        "lol_train": ["Train/Enhance/{low,gt}", "llie/LOLv1/Train", "LOLdataset/our485"],
        "lol_test": ["test/enhance/lol/{input,target}", "llie/LOLv1/Test", "LOLdataset/eval15"],
        "cdd11_train": ["cdd11/train", "CDD-11_train"],
        "cdd11_test": ["cdd11/test", "CDD-11_test"],
    }[key]


def _check_files(rep: CheckReport, info: DatasetInfo, f: Found, deep: bool | None, min_size: int) -> None:
    files = []
    for it in f.items:
        files.append(it.gt)
        if it.lq is not None:
            files.append(it.lq)
    files = list(dict.fromkeys(files))
    full_all = deep if deep is not None else len(files) <= 2000
    sizes: dict[Path, tuple[int, int] | None] = {}
    bad = []
    for i, p in enumerate(files):
        size, err = _probe(p, full_all or i < 50)
        sizes[p] = size
        if err:
            bad.append(err)
    for b in bad[:10]:
        rep.error(f"{info.title}: {b}")
    if len(bad) > 10:
        rep.error(f"{info.title}: ... and {len(bad) - 10} more unreadable file(s)")
    mism = [it for it in f.items if it.lq is not None and sizes.get(it.lq) and sizes.get(it.gt)
            and sizes[it.lq] != sizes[it.gt]]
    for it in mism[:5]:
        rep.error(f"{info.title}: mismatched pair: {it.lq} is {sizes[it.lq][0]}x{sizes[it.lq][1]} but {it.gt} is "
                  f"{sizes[it.gt][0]}x{sizes[it.gt][1]} (HxW)")
    if len(mism) > 5:
        rep.error(f"{info.title}: ... and {len(mism) - 5} more mismatched pairs")
    if min_size:
        small = [p for p, s in sizes.items() if s and min(s) < min_size]
        if small:
            rep.warnings.append(f"{info.title}: {len(small)} image(s) smaller than {min_size} px "
                                f"(e.g. {small[0]}); they cannot give a {min_size} crop and will raise in training")
    if not full_all and len(files) > 50:
        rep.lines.append(f"      ({info.key}: {len(files) - 50} files checked by header only; --deep decodes all)")


def check_miniaio(setting: str) -> CheckReport:
    """Check the committed MiniAIO for a setting: files present, pixel hashes, splits disjoint by
    photograph, attribution complete, and every test input of the setting's tasks reproduces its hash."""
    from clusir.data import miniaio
    from clusir.data.io import pixel_sha256, read_image
    from clusir.data.settings import SETTINGS, load_input_manifest, make_input

    base = miniaio.default_dir()
    rep = CheckReport(setting, f"{base} (MiniAIO)")
    try:
        man = miniaio.load_manifest(base)
    except FileNotFoundError as exc:
        rep.error(str(exc))
        return rep
    photos: dict[str, str] = {}
    counts = {s: 0 for s in miniaio.SPLITS}
    for rec in man["images"]:
        p = base / rec["file"]
        if not p.is_file():
            rep.error(f"missing {p} (listed in manifest.json); restore it with git or `clusir data build`")
            continue
        try:
            img = read_image(p)
        except ValueError as exc:
            rep.error(str(exc))
            continue
        if pixel_sha256(img) != rec["sha256"]:
            rep.error(f"{p}: pixels differ from manifest.json")
        other = photos.setdefault(rec["photo"], rec["split"])
        if other != rec["split"]:
            rep.error(f"photograph {rec['photo']} appears in two splits ({other}, {rec['split']})")
        counts[rec["split"]] += 1
    attribution = base.parent / "ATTRIBUTION.md"
    text = attribution.read_text() if attribution.is_file() else ""
    if not text:
        rep.error(f"{attribution} is missing")
    else:
        no_attr = [r["file"] for r in man["images"] if f"`{r['file']}`" not in text]
        if no_attr:
            rep.error(f"{len(no_attr)} image(s) without an entry in {attribution}: {', '.join(no_attr[:5])}")
    rep.lines.append(f"OK    clean images  {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
                     f"{len(photos)} photographs")
    try:
        ref = load_input_manifest(base)["inputs"]["test"]
    except (FileNotFoundError, KeyError) as exc:
        rep.error(f"test-input hashes unavailable: {exc}")
        return rep
    from clusir.data.settings import load_clean

    clean = load_clean("test", base)
    for task in SETTINGS[setting]:
        bad = 0
        for name, img in clean:
            lq, _ = make_input(task, name, img, base)
            if ref.get(task, {}).get(name, {}).get("sha256") != pixel_sha256(lq):
                bad += 1
        if bad:
            rep.error(f"task {task}: {bad} of {len(clean)} test inputs do not reproduce their hash in test_inputs.json")
        rep.lines.append(f"{'OK  ' if not bad else 'BAD '}  {task:18s} {len(clean)} test inputs "
                         f"{'reproduce their hashes' if not bad else 'differ'}")
    rep.found["miniaio"] = {"path": str(base), "count": sum(counts.values())}
    return rep


# ----------------------------------------------------------------------------------------------------------
# loaders
# ----------------------------------------------------------------------------------------------------------


def _require(key: str, root) -> Found:
    f = find(key, root)
    info = DATASETS[key]
    if f is None:
        raise FileNotFoundError(f"{info.title} not found under {root} (looked for {', '.join(_looked_for(key))}); "
                                f"download: {info.source}. Run `clusir data check --root {root}` for details.")
    if f.problems:
        raise ValueError(f"{info.title} under {root} has problems:\n  " + "\n  ".join(f.problems))
    if not f.items:
        raise FileNotFoundError(f"{info.title}: no images in {f.where[0]}")
    return f


def pairs(key: str, root: str | os.PathLike) -> list[Pair]:
    """All items of one data set (a key of ``DATASETS``), paired, sorted naturally; raises with a clear
    message when the data set is missing or broken (see ``check_tree``)."""
    return _require(key, root).items


TEST_SETS: dict[str, list[tuple[str, str]]] = {
    # task -> [(test data set key, label)]
    "denoise": [("cbsd68", "CBSD68"), ("kodak24", "Kodak24"), ("urban100", "Urban100")],
    "rain": [("rain100l_test", "Rain100L")],
    "haze": [("sots_outdoor", "SOTS-outdoor")],
    "blur": [("gopro_test", "GoPro")],
    "lowlight": [("lol_test", "LOL-v1")],
}


class RealTestSet:
    """Lazy test set over real data: ``len()``, indexing and iteration give dicts like
    ``clusir.data.test_set`` (``name``, ``task``, ``lq``, ``gt`` as ``Tensor[3, H, W]``, plus ``dataset``),
    cropped to a multiple of 16 (AdaIR/PromptIR ``crop_img``). Noise is added with
    ``RandomState(seed_from_name(file name))``, so results do not depend on directory order.

    ``testsets``: restrict the denoising test sets (default: all present of CBSD68, Kodak24, Urban100)."""

    def __init__(self, setting: str, root: str | os.PathLike, *, testsets: list[str] | None = None,
                 crop: int = 16):
        from clusir.data.degradations import CDD11_TASKS, JPEG_TASKS, NOISE_TASKS
        from clusir.data.settings import SETTINGS

        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}")
        self.root, self.crop = Path(root), crop
        self.entries: list[tuple[str, str, Pair]] = []
        for task in SETTINGS[setting]:
            if task in NOISE_TASKS or task in JPEG_TASKS:
                keys = [k for k, _ in TEST_SETS["denoise"] if testsets is None or k in testsets]
                for k in keys:
                    f = find(k, self.root)
                    if f is None:
                        if DATASETS[k].optional:
                            continue
                        _require(k, self.root)
                    for it in _require(k, self.root).items:
                        self.entries.append((task, k, it))
            elif task in CDD11_TASKS:
                for it in pairs("cdd11_test", self.root):
                    if it.kind == task[4:]:
                        self.entries.append((task, "cdd11_test", it))
            else:
                for k, _ in TEST_SETS[task]:
                    for it in pairs(k, self.root):
                        self.entries.append((task, k, it))

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> dict:
        import torch

        from clusir.data import degradations as D
        from clusir.data.io import crop_to_multiple, read_image, read_pair

        task, key, it = self.entries[i]
        if it.lq is None:
            gt = crop_to_multiple(read_image(it.gt), self.crop) if self.crop else read_image(it.gt)
            lq, _ = D.degrade(gt, task, np.random.RandomState(D.seed_from_name(it.gt.name)))
        else:
            lq, gt = read_pair(it.lq, it.gt)
            if self.crop:
                lq, gt = crop_to_multiple(lq, self.crop), crop_to_multiple(gt, self.crop)

        def t(a):
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1).contiguous()

        return {"name": it.name, "task": task, "dataset": key, "lq": t(lq), "gt": t(gt)}


class RealTrainPairs:
    """Training pairs from real data sets (a torch ``Dataset``-compatible class): random crops + the 8
    flips/rotations, noise/JPEG added on the fly to the clean denoising images, paired crops otherwise.
    Item ``i`` is deterministic in ``(seed, i)``; ``mix`` as ``TrainPairs`` (default ``"paper"``)."""

    def __init__(self, setting: str, root: str | os.PathLike, crop: int = 128, length: int | None = None,
                 seed: int = 0, *, mix: str | dict = "paper"):
        from clusir.data.degradations import CDD11_TASKS, JPEG_TASKS, NOISE_TASKS
        from clusir.data.settings import SETTINGS, task_weights

        self.tasks = list(SETTINGS[setting])
        self.weights = task_weights(self.tasks, mix)
        self.crop, self.seed = int(crop), int(seed)
        self.items: dict[str, list[Pair]] = {}
        root = Path(root)
        clean = None
        for task in self.tasks:
            if task in NOISE_TASKS or task in JPEG_TASKS:
                if clean is None:
                    clean = pairs("bsd400", root) + pairs("wed", root)
                self.items[task] = clean
            elif task in CDD11_TASKS:
                self.items[task] = [p for p in pairs("cdd11_train", root) if p.kind == task[4:]]
            else:
                key = {"rain": "rain100l_train", "haze": "ots", "blur": "gopro_train", "lowlight": "lol_train"}[task]
                self.items[task] = pairs(key, root)
        self.length = int(length) if length is not None else sum(len(v) for v in self.items.values())

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        import torch

        from clusir.data import degradations as D
        from clusir.data.io import read_image, read_pair

        rng = np.random.RandomState(D.stable_seed("real-train", self.seed, int(index)))
        task = self.tasks[int(np.searchsorted(np.cumsum(self.weights), rng.random() * 0.999999999, side="right"))]
        lst = self.items[task]
        it = lst[min(int(rng.random() * len(lst)), len(lst) - 1)]
        c = self.crop
        if it.lq is None:
            gt = read_image(it.gt, min_size=c)
            lq = None
        else:
            lq, gt = read_pair(it.lq, it.gt, min_size=c)
        t = int(rng.random() * (gt.shape[0] - c + 1))
        l = int(rng.random() * (gt.shape[1] - c + 1))
        gt = gt[t: t + c, l: l + c]
        lq = lq[t: t + c, l: l + c] if lq is not None else None
        mode = int(rng.random() * 8)
        gt = dihedral(gt, mode)
        lq = dihedral(lq, mode) if lq is not None else D.degrade(gt, task, rng)[0]

        def ten(a):
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1).contiguous()

        return {"lq": ten(lq), "gt": ten(gt), "task": task, "name": it.name}


__all__ = ["DATASETS", "SETTING_DATASETS", "CheckReport", "Pair", "RealTestSet", "RealTrainPairs", "check_tree",
           "find", "pairs", "IMAGE_EXTENSIONS"]
