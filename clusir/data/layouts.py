"""Where the real data sets of the ClusIR paper sit on disk: one registry entry per data set.

Each entry of ``DATASETS`` says what the data set is (title, task, train or test, size of the full release,
where to download it) and lists its ``layouts``: the folder it has in each code base people already use,
tried in order under ``root`` and under ``root/data``; the first folder that exists (and that the layout's
``accept`` test takes) wins, and its ``read`` function pairs the files. Accepted layouts:

* **AdaIR / PromptIR** (``root`` = their ``data/`` folder): ``Train/{Denoise,Derain,Dehaze,Deblur,Enhance}``
  and ``test/{denoise/{bsd68,kodak24,urban100},derain/Rain100L,dehaze,deblur/gopro,enhance/lol}``, plus the
  optional list files ``data_dir/noisy/denoise.txt``, ``data_dir/rainy/rainTrain.txt`` and
  ``data_dir/hazy/hazy_outside.txt``;
* **MoCE-IR** (``root`` = its ``data_file_dir``): ``denoising/{BSD400,WaterlooED,cBSD68/original_png}``,
  ``deraining/{RainTrainL,Rain100L}/{rainy,gt}``, ``dehazing/RESIDE/{part1..4,clear}``,
  ``dehazing/SOTS/outdoor/{hazy,gt}``, ``deblurring/GoPro/{crop/train/{input_crops,target_crops},test/{input,target}}``,
  ``llie/LOLv1/{Train,Test}/{input,target}``, ``cdd11/{train,test}/{clear,<type>}``;
* **original releases**: ``GOPRO_Large/{train,test}/<sequence>/{blur,blur_gamma,sharp}/``,
  ``LOLdataset/{our485,eval15}/{low,high}``, ``CDD-11_train``/``CDD-11_test`` (OneRestore), PReNet-style
  ``RainTrainL``/``Rain100L`` folders holding ``rain-N.png`` next to ``norain-N.png``, ``SOTS/outdoor/{hazy,gt}``,
  and plain ``BSD400``, ``WED``, ``CBSD68``, ``Kodak24``, ``Urban100`` folders.

Adding a data set = one ``register(DatasetInfo(...))`` call below (its layouts built from the readers in this
module) and one test with a fake tree in ``tests/test_data_real.py``; see docs/data.md.

OS junk files (``.DS_Store``, ``Thumbs.db``, ``._*``, ``desktop.ini``) are ignored with a warning; any other
non-image file in an image folder is a problem.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from clusir.data.degradations import CDD11_TYPES
from clusir.data.io import is_image_file

# ----------------------------------------------------------------------------------------------------------
# what a finder returns
# ----------------------------------------------------------------------------------------------------------


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
    base: Path | None = None                             # the root (or root/data) the layout matched under

    def problem(self, msg: str) -> None:
        if msg not in self.problems:
            self.problems.append(msg)

    def warn(self, msg: str) -> None:
        if msg not in self.warnings:
            self.warnings.append(msg)


@dataclass(frozen=True)
class Layout:
    """One place a data set can sit: ``rel`` under the root, read by ``read(found)`` (which fills
    ``found.items``/``problems``/``warnings`` from ``found.where[0]``). ``accept(folder)`` may refuse a folder
    that exists but is not this layout; ``list_file`` is an AdaIR/PromptIR list under ``data_dir/`` whose
    entries are paths relative to ``rel``."""
    name: str
    rel: str
    read: Callable[[Found], None]
    accept: Callable[[Path], bool] | None = None
    list_file: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    title: str
    task: str                 # task family: "denoise" | "rain" | "haze" | "blur" | "lowlight" | "cdd11"
    role: str                 # "train" | "test"
    expected: int | None      # number of images / pairs in the full release (CDD-11: per type)
    source: str               # where to download
    layouts: tuple[Layout, ...] = ()
    download: str | None = None  # "kodak24": `clusir data download` can fetch it
    optional: bool = False
    note: str = ""
    label: str = ""           # short name in result tables (test sets)
    rule: str = "identical file names"   # how inputs are paired with their ground truth


DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    """Add a data set to the registry (``find``, ``clusir data check`` and the loaders read it from here)."""
    if info.key in DATASETS:
        raise ValueError(f"data set {info.key!r} is registered twice")
    DATASETS[info.key] = info
    return info


# ----------------------------------------------------------------------------------------------------------
# folder helpers
# ----------------------------------------------------------------------------------------------------------

OS_JUNK = (".DS_Store", "Thumbs.db", "desktop.ini", "ehthumbs.db")
_LIST_SUFFIXES = (".txt", ".md", ".csv", ".json", ".mat")


def is_os_junk(name: str) -> bool:
    """Files an operating system leaves in folders (Finder, Explorer, AppleDouble ``._*`` forks)."""
    return name in OS_JUNK or name.lower() in (j.lower() for j in OS_JUNK) or name.startswith("._")


def _natural(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def images(d: Path, exts: tuple[str, ...] | None = None) -> list[Path]:
    """Image files of a folder (no hidden files, no OS junk), in natural order."""
    if not d.is_dir():
        return []
    out = [p for p in d.iterdir() if p.is_file() and not p.name.startswith(".") and not is_os_junk(p.name)
           and is_image_file(p)]
    if exts:
        out = [p for p in out if p.suffix.lower() in exts]
    return sorted(out, key=lambda p: _natural(p.name))


def scan_folder(f: Found, d: Path) -> None:
    """Report what does not belong in an image folder: OS junk (a warning: ignored) and any other non-image
    file (a problem)."""
    if not d.is_dir():
        return
    files = [p.name for p in d.iterdir() if p.is_file()]
    junk = sorted(n for n in files if is_os_junk(n))
    stray = sorted(n for n in files if not n.startswith(".") and not is_os_junk(n) and not is_image_file(n)
                   and Path(n).suffix.lower() not in _LIST_SUFFIXES)
    if junk:
        f.warn(f"ignored {len(junk)} OS junk file(s) in {d} ({', '.join(junk[:5])}); harmless, delete them if "
               "you like")
    if stray:
        f.problem(f"{len(stray)} non-image file(s) in {d} (e.g. {', '.join(stray[:5])}); remove them or move "
                  "them elsewhere")


def _nested(d: Path, names: list[str]) -> Path | None:
    """A sub-folder of ``d`` that holds all of ``names`` (the data set was unpacked one level too deep)."""
    if not d.is_dir():
        return None
    for s in sorted(p for p in d.iterdir() if p.is_dir()):
        if all((s / n).is_dir() for n in names):
            return s
    return None


def need_dirs(f: Found, d: Path, names: list[str]) -> bool:
    """Check that ``d`` has the sub-folders ``names``; say which folder was found instead, and name a nested
    folder that holds them. True when all are present."""
    missing = [n for n in names if not (d / n).is_dir()]
    if not missing:
        return True
    present = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
    nest = _nested(d, names)
    hint = (f"; they are one level deeper, in {nest}: move the contents of {nest} up into {d}" if nest else "")
    for n in missing:
        f.problem(f"missing folder {d / n} (found: {', '.join(present) or 'no sub-folders'}); the {f.layout} "
                  f"layout of {DATASETS[f.key].title} needs {d}/{{{','.join(names)}}}{hint}")
    return False


def pair_by_name(f: Found, lq_dir: Path, gt_dir: Path, *, lq_to_gt=None, label: str = "",
                 orphans: str = "error") -> None:
    """Pair files of two folders by a name rule (default: identical stem, any image extension).

    ``orphans``: what a ground-truth file that no input uses is: ``"error"``, ``"warn"`` or ``"ignore"``
    (OTS and CDD-11 share one clean folder between many degraded folders)."""
    gt_by_stem: dict[str, Path] = {}
    gts = images(gt_dir)
    for g in gts:
        gt_by_stem.setdefault(g.stem, g)
    used, unpaired = set(), []
    for q in images(lq_dir):
        g = gt_by_stem.get(lq_to_gt(q.stem) if lq_to_gt else q.stem)
        if g is None:
            unpaired.append(q.name)
            continue
        used.add(g.stem)
        f.items.append(Pair(name=q.stem, gt=g, lq=q, kind=label))
    if unpaired:
        f.problem(f"{len(unpaired)} input(s) in {lq_dir} have no ground truth in {gt_dir} "
                  f"(e.g. {', '.join(unpaired[:5])}); expected names: {DATASETS[f.key].rule}")
    lonely = [g.name for g in gts if g.stem not in used]
    if lonely and orphans != "ignore":
        msg = (f"{len(lonely)} ground-truth file(s) in {gt_dir} have no input in {lq_dir} "
               f"(e.g. {', '.join(lonely[:5])})")
        if orphans == "error":
            f.problem(msg)
        else:
            f.warn(msg)
    scan_folder(f, lq_dir)
    scan_folder(f, gt_dir)


def rain_gt(stem: str) -> str:
    m = re.fullmatch(r"rain-(\d+)", stem)
    return f"norain-{m.group(1)}" if m else stem


def haze_gt(stem: str) -> str:
    return stem.split("_")[0]


# ----------------------------------------------------------------------------------------------------------
# readers: one per folder shape, shared by the layouts below
# ----------------------------------------------------------------------------------------------------------


def clean_images(exts: tuple[str, ...] | None = None) -> Callable[[Found], None]:
    """A folder of clean images (denoising sets)."""
    def read(f: Found) -> None:
        d = f.where[0]
        f.items += [Pair(name=p.stem, gt=p) for p in images(d, exts)]
        scan_folder(f, d)
        if not f.items:
            deeper = [s for s in sorted(d.iterdir()) if s.is_dir() and images(s, exts)]
            if deeper:
                f.problem(f"{d} holds no images, but its sub-folder {deeper[0]} holds {len(images(deeper[0], exts))}:"
                          f" the data set is nested one level too deep; move the images of {deeper[0]} up into {d}")
    return read


def two_folders(lq: str, gt: str, *, lq_to_gt=None, orphans: str = "error") -> Callable[[Found], None]:
    """Inputs in ``<folder>/<lq>``, ground truth in ``<folder>/<gt>``, paired by a name rule."""
    def read(f: Found) -> None:
        d = f.where[0]
        if need_dirs(f, d, [lq, gt]):
            pair_by_name(f, d / lq, d / gt, lq_to_gt=lq_to_gt, orphans=orphans)
    return read


def _same_folder_rain(f: Found, d: Path) -> None:
    """PReNet: ``rain-N.png`` and ``norain-N.png`` side by side."""
    files = images(d)
    rain = [p for p in files if re.fullmatch(r"rain-\d+", p.stem)]
    norain = {p.stem: p for p in files if re.fullmatch(r"norain-\d+", p.stem)}
    if not rain and not norain:
        f.problem(f"{d}: no rain-N / norain-N images (PReNet layout) and no input/target or rainy/gt sub-folders")
        return
    used, unpaired = set(), []
    for p in rain:
        g = norain.get(rain_gt(p.stem))
        if g is None:
            unpaired.append(p.name)
        else:
            used.add(g.stem)
            f.items.append(Pair(name=p.stem, gt=g, lq=p))
    orphans = [n for n in norain if n not in used]
    if unpaired:
        f.problem(f"{len(unpaired)} rainy image(s) in {d} have no norain-N partner (e.g. {unpaired[0]})")
    if orphans:
        f.problem(f"{len(orphans)} norain image(s) in {d} have no rain-N partner (e.g. {orphans[0]}.png)")
    scan_folder(f, d)


def rain_pairs(*subdirs: tuple[str, str]) -> Callable[[Found], None]:
    """Rain pairs in the first present pair of sub-folders (``rainy``/``gt``, ``input``/``target``), else
    ``rain-N``/``norain-N`` files side by side (PReNet)."""
    def read(f: Found) -> None:
        d = f.where[0]
        for lq, gt in subdirs:
            if (d / lq).is_dir() or (d / gt).is_dir() or (not images(d) and _nested(d, [lq, gt])):
                if need_dirs(f, d, [lq, gt]):
                    pair_by_name(f, d / lq, d / gt, lq_to_gt=rain_gt)
                return
        _same_folder_rain(f, d)
    return read


def hazy_parts(hazy: Callable[[Path], list[Path]], clear: str) -> Callable[[Found], None]:
    """OTS: many hazy folders (``part1..4``) sharing one clean folder; ``<id>_<A>_<beta>`` -> ``<id>``."""
    def read(f: Found) -> None:
        d = f.where[0]
        dirs = hazy(d)
        if not dirs:
            f.problem(f"no folders of hazy images (part1..part4, hazy/ or synthetic/) in {d}")
        if need_dirs(f, d, [clear]) and dirs:
            for h in dirs:
                pair_by_name(f, h, d / clear, lq_to_gt=haze_gt, label=h.name, orphans="ignore")
            used = {it.gt for it in f.items}
            unused = [p.name for p in images(d / clear) if p not in used]
            if unused:
                f.warn(f"{len(unused)} clean image(s) in {d / clear} have no hazy version "
                       f"(e.g. {', '.join(unused[:3])})")
    return read


def _parts(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("part*") if p.is_dir())


def _adair_hazy(d: Path) -> list[Path]:
    syn = d / "synthetic"
    return (_parts(syn) or [syn]) if syn.is_dir() else []


def _reside_hazy(d: Path) -> list[Path]:
    tops = [p for p in (d / "hazy", d / "haze") if p.is_dir()]
    return sorted(q for h in tops for q in [h, *_parts(h)])


def sots_reside(f: Found) -> None:
    """RESIDE's own SOTS release: ``hazy`` with ``gt`` (or ``clear``)."""
    gt = "clear" if not (f.where[0] / "gt").is_dir() and (f.where[0] / "clear").is_dir() else "gt"
    two_folders("hazy", gt, lq_to_gt=haze_gt, orphans="warn")(f)


def gopro_sequences(f: Found) -> None:
    """GOPRO_Large: ``<split>/<sequence>/{blur,sharp}``; items are named ``<sequence>_<frame>``."""
    d = f.where[0]
    seqs = sorted(p for p in d.iterdir() if p.is_dir())
    if not seqs:
        f.problem(f"no sequence folders (GOPRxxxx_yy_zz) in {d}")
    for s in seqs:
        if need_dirs(f, s, ["blur", "sharp"]):
            before = len(f.items)
            pair_by_name(f, s / "blur", s / "sharp", label=s.name)
            for it in f.items[before:]:
                it.name = f"{s.name}_{it.name}"


def moce_gopro_crops(f: Found) -> None:
    two_folders("input_crops", "target_crops")(f)
    f.warn("MoCE-IR's GoPro training crops: the count differs from the 2,103 full frames")


def cdd11_types(f: Found) -> None:
    """CDD-11: ``clear/`` plus one folder per degradation type, same file names."""
    d = f.where[0]
    need_dirs(f, d, ["clear"])
    missing = [t for t in CDD11_TYPES if not (d / t).is_dir()]
    if missing:
        f.problem(f"{d}: missing degradation folder(s) {', '.join(missing)} (CDD-11 has 11: {', '.join(CDD11_TYPES)})")
    extra = sorted(p.name for p in d.iterdir() if p.is_dir() and p.name not in CDD11_TYPES and p.name != "clear")
    if extra:
        f.warn(f"{d}: unknown folder(s) ignored: {', '.join(extra)}")
    if (d / "clear").is_dir():
        for t in CDD11_TYPES:
            if (d / t).is_dir():
                before = len(f.items)
                pair_by_name(f, d / t, d / "clear", label=t, orphans="ignore")
                f.per_kind[t] = len(f.items) - before


def _is_cdd(d: Path) -> bool:
    return (d / "clear").is_dir() or any((d / t).is_dir() for t in CDD11_TYPES)


def _bsd_jpgs(d: Path) -> bool:
    """AdaIR's Train/Denoise mixes BSD400 (.jpg) and WED (.bmp): BSD400 is there unless only .bmp files are."""
    return bool(images(d, _JPG)) or not images(d, (".bmp",))


def _rain_test_folder(d: Path) -> bool:
    """``Rain100L`` holding only ``train/`` (and ``test/``) is the plain layout's parent, not the test set."""
    return (d / "input").is_dir() or (d / "rainy").is_dir() or not ((d / "train").is_dir() and not images(d))


_JPG = (".jpg", ".jpeg", ".png")
A, M, P = "AdaIR/PromptIR", "MoCE-IR", "plain"   # layout names


def _plain(*rels: str, read=None) -> tuple[Layout, ...]:
    return tuple(Layout(P, r, read or clean_images()) for r in rels)


# ----------------------------------------------------------------------------------------------------------
# the registry
# ----------------------------------------------------------------------------------------------------------

register(DatasetInfo(
    "bsd400", "BSD400 (clean, denoising train)", "denoise", "train", 400,
    "PromptIR/AdaIR Google-Drive link (AdaIR INSTALL.md); the 400 BSDS500 train+test images minus BSD68",
    (Layout(A, "Train/Denoise", clean_images(_JPG), accept=_bsd_jpgs, list_file="noisy/denoise.txt"),
     Layout(M, "denoising/BSD400", clean_images()), *_plain("BSD400", "Train/BSD400")),
    note="file names like 117025.jpg; AdaIR's denoise.txt calls them a117025.jpg (c-yn/AdaIR#4)"))
register(DatasetInfo(
    "wed", "Waterloo Exploration Database (clean, denoising train)", "denoise", "train", 4744,
    "https://ece.uwaterloo.ca/~k29ma/exploration/ (or the AdaIR Google-Drive copy)",
    (Layout(A, "Train/Denoise", clean_images((".bmp",))), Layout(M, "denoising/WaterlooED", clean_images()),
     *_plain("WED", "WaterlooED", "Train/WED"))))
register(DatasetInfo(
    "cbsd68", "CBSD68 (denoising test)", "denoise", "test", 68,
    "e.g. github.com/cszn/IRCNN testsets/CBSD68, or the PromptIR/AdaIR test archive",
    (Layout(A, "test/denoise/bsd68", clean_images()), Layout(A, "test/denoise/cbsd68", clean_images()),
     Layout(M, "denoising/cBSD68/original_png", clean_images()), *_plain("CBSD68", "cbsd68", "BSD68")),
    label="CBSD68"))
register(DatasetInfo(
    "kodak24", "Kodak24 (denoising test)", "denoise", "test", 24, "http://r0k.us/graphics/kodak/",
    (Layout(A, "test/denoise/kodak24", clean_images()), Layout(A, "test/denoise/Kodak24", clean_images()),
     Layout(M, "denoising/Kodak24", clean_images()), *_plain("Kodak24", "kodak24")),
    download="kodak24", optional=True, label="Kodak24"))
register(DatasetInfo(
    "urban100", "Urban100 (denoising test, supplement)", "denoise", "test", 100,
    "the AdaIR Google-Drive folder (AdaIR INSTALL.md)",
    (Layout(A, "test/denoise/urban100", clean_images()), Layout(A, "test/denoise/Urban100", clean_images()),
     Layout(M, "denoising/Urban100", clean_images()), *_plain("Urban100", "urban100")),
    optional=True, label="Urban100"))
register(DatasetInfo(
    "rain100l_train", "Rain100L train (RainTrainL)", "rain", "train", 200,
    "PromptIR/AdaIR Google-Drive folder 'Train100L&Rain100L'; originally Yang et al. (JORDER)",
    (Layout(A, "Train/Derain", rain_pairs(("rainy", "gt")), list_file="rainy/rainTrain.txt"),
     Layout(M, "deraining/RainTrainL", rain_pairs(("rainy", "gt"))),
     Layout("PReNet", "RainTrainL", rain_pairs(("rainy", "gt"))),
     Layout("PReNet", "train/RainTrainL", rain_pairs(("rainy", "gt"))),
     Layout(P, "Rain100L/train", rain_pairs(("rainy", "gt")))),
    rule="rain-N.png <-> norain-N.png"))
register(DatasetInfo(
    "rain100l_test", "Rain100L test", "rain", "test", 100, "same folder as Rain100L train",
    tuple(Layout(name, rel, rain_pairs(("input", "target"), ("rainy", "gt")), accept=_rain_test_folder)
          for name, rel in ((A, "test/derain/Rain100L"), (M, "deraining/Rain100L"), ("PReNet", "Rain100L"),
                            (P, "Rain100L/test"))),
    label="Rain100L", rule="same file name in input/ and target/ (AdaIR) or rain-N.png <-> norain-N.png"))
register(DatasetInfo(
    "ots", "RESIDE-beta OTS (outdoor training set)", "haze", "train", 72135,
    "https://sites.google.com/view/reside-dehaze-datasets/reside-%CE%B2",
    (Layout(A, "Train/Dehaze", hazy_parts(_adair_hazy, "original"), list_file="hazy/hazy_outside.txt"),
     Layout(M, "dehazing/RESIDE", hazy_parts(_parts, "clear")),
     Layout("RESIDE", "OTS", hazy_parts(_reside_hazy, "clear")),
     Layout("RESIDE", "OTS_BETA", hazy_parts(_reside_hazy, "clear"))),
    note="2,061 clean images x 35 (A, beta) combinations", rule="<id>_<A>_<beta>.jpg <-> <id>.<ext>"))
register(DatasetInfo(
    "sots_outdoor", "SOTS-outdoor (dehazing test)", "haze", "test", 500,
    "https://sites.google.com/view/reside-dehaze-datasets/reside-v0",
    (Layout(A, "test/dehaze", two_folders("input", "target", lq_to_gt=haze_gt, orphans="warn")),
     Layout(M, "dehazing/SOTS/outdoor", two_folders("hazy", "gt", lq_to_gt=haze_gt, orphans="warn")),
     *(Layout("RESIDE", rel, sots_reside) for rel in ("SOTS/outdoor", "SOTS-outdoor", "outdoor"))),
    label="SOTS-outdoor", rule="<id>_<A>_<beta>.jpg <-> <id>.png"))
for _split, _n in (("train", 2103), ("test", 1111)):
    register(DatasetInfo(
        f"gopro_{_split}", f"GoPro {_split}", "blur", _split, _n,
        "Nah et al.: seungjunnah.github.io/Datasets/gopro (GOPRO_Large); AdaIR Google-Drive copy",
        (Layout(A, "Train/Deblur", two_folders("blur", "sharp")) if _split == "train" else
         Layout(A, "test/deblur/gopro", two_folders("input", "target")),
         Layout(M, "deblurring/GoPro/crop/train", moce_gopro_crops) if _split == "train" else
         Layout(M, "deblurring/GoPro/test", two_folders("input", "target")),
         Layout("GOPRO_Large", f"GOPRO_Large/{_split}", gopro_sequences),
         Layout("GOPRO_Large", f"GoPro/{_split}", gopro_sequences)),
        label="GoPro" if _split == "test" else ""))
for _split, _n, _lol in (("train", 485, "our485"), ("test", 15, "eval15")):
    register(DatasetInfo(
        f"lol_{_split}", f"LOL-v1 {_lol}", "lowlight", _split, _n, "https://daooshee.github.io/BMVC2018website/",
        (Layout(A, "Train/Enhance", two_folders("low", "gt")) if _split == "train" else
         Layout(A, "test/enhance/lol", two_folders("input", "target")),
         Layout(M, f"llie/LOLv1/{_split.title()}", two_folders("input", "target")),
         Layout("LOLdataset", f"LOLdataset/{_lol}", two_folders("low", "high")),
         Layout("LOLdataset", _lol, two_folders("low", "high"))),
        label="LOL-v1" if _split == "test" else ""))
for _split, _n in (("train", 1183), ("test", 200)):
    register(DatasetInfo(
        f"cdd11_{_split}", f"CDD-11 {_split} (OneRestore)", "cdd11", _split, _n,
        "OneRestore README (OneDrive link), github.com/gy65896/OneRestore",
        (Layout(M, f"cdd11/{_split}", cdd11_types, accept=_is_cdd),
         *(Layout("OneRestore", rel, cdd11_types, accept=_is_cdd)
           for rel in (f"CDD-11_{_split}", f"CDD11_{_split}", f"CDD-11/{_split}", _split))),
        note="per degradation type", label="CDD-11" if _split == "test" else ""))


# ----------------------------------------------------------------------------------------------------------
# AdaIR/PromptIR list files
# ----------------------------------------------------------------------------------------------------------

_LIST_HINTS = {
    "noisy/denoise.txt": "its entries are file names in Train/Denoise; AdaIR/PromptIR's loader silently skips "
                         "the images the list and the folder disagree on",
    "rainy/rainTrain.txt": "AdaIR/PromptIR expect entries of the form 'rainy/rain-N.png' (va1shn9v/PromptIR#13) "
                           "and fail when one is missing",
    "hazy/hazy_outside.txt": "AdaIR/PromptIR expect entries of the form 'synthetic/part1/0025_0.8_0.04.jpg' "
                             "and fail when one is missing",
}


def _list_path(base: Path, rel: str) -> Path | None:
    for cand in (base / "data_dir" / rel, base.parent / "data_dir" / rel, base / rel):
        if cand.is_file():
            return cand
    return None


def check_list(f: Found, rel: str) -> None:
    """Compare an AdaIR/PromptIR list file (``data_dir/<rel>``) with the folder: every entry it names but the
    disk lacks is reported (a warning: clusir's loaders read the folders and do not need the list)."""
    lst = _list_path(f.base or f.where[0], rel)
    if lst is None:
        return
    d = f.where[0]
    entries = [ln.strip() for ln in lst.read_text().splitlines() if ln.strip()]
    missing = [e for e in entries if not (d / e).is_file()]
    if rel == "noisy/denoise.txt":
        missing = _bsd_prefix(f, lst, d, missing)
    if missing:
        f.warn(f"{lst} names {len(missing)} file(s) missing on disk under {d} (e.g. {', '.join(missing[:3])}); "
               f"{_LIST_HINTS[rel]}. (clusir reads the folder and does not need the list.)")


def _bsd_prefix(f: Found, lst: Path, d: Path, missing: list[str]) -> list[str]:
    """The BSD400 'a' prefix mismatch (c-yn/AdaIR#4): AdaIR's list says a117025.jpg, the folder 117025.jpg.
    Warns about it and returns the missing entries it does not explain."""
    files = {p.name for p in d.iterdir() if p.is_file()}
    pref = [n for n in missing if n.startswith("a") and n[1:] in files]
    unpref = [n for n in missing if ("a" + n) in files]
    if pref:
        f.warn(f"{lst} lists {len(pref)} BSD400 file(s) with an 'a' prefix that the folder has without it "
               f"(e.g. {pref[0]} vs {pref[0][1:]}): AdaIR/PromptIR's loader would silently skip them "
               f"(c-yn/AdaIR#4). Fix: rename the files, e.g. `cd {d} && for f in [0-9]*.jpg; do mv \"$f\" "
               "\"a$f\"; done`, or strip the 'a' from the list. (clusir's own loader reads the folder.)")
    if unpref:
        f.warn(f"{lst} lists {len(unpref)} file(s) without the 'a' prefix the folder has (e.g. {unpref[0]} vs "
               f"a{unpref[0]}); rename one side so that they agree")
    return [n for n in missing if n not in pref and n not in unpref]


# ----------------------------------------------------------------------------------------------------------
# finding
# ----------------------------------------------------------------------------------------------------------


def _roots(root: Path) -> list[Path]:
    """``root`` itself, plus ``root/data`` (people often point at the repository, not its data/ folder)."""
    return [root, root / "data"] if (root / "data").is_dir() else [root]


def find(key: str, root: str | os.PathLike) -> Found | None:
    """Locate one data set (a key of ``DATASETS``) under ``root``; ``None`` if no known layout is present."""
    info = DATASETS[key]
    for base in _roots(Path(root)):
        for lay in info.layouts:
            d = base / lay.rel
            if not d.is_dir() or (lay.accept is not None and not lay.accept(d)):
                continue
            f = Found(key, lay.name, [d], [], base=base)
            lay.read(f)
            if lay.list_file:
                check_list(f, lay.list_file)
            return f
    return None


def looked_for(key: str) -> list[str]:
    """The folders ``find`` tries for a data set, in order (for "not found" messages)."""
    return list(dict.fromkeys(lay.rel for lay in DATASETS[key].layouts))


def found_elsewhere(key: str, root: Path) -> str:
    """A hint when a data set is not under ``root`` but is under its parent (PromptIR keeps ``test/`` at the
    repository root, next to ``data/``) or one folder deeper; "" otherwise."""
    root = Path(root)
    if root.parent != root and find(key, root.parent) is not None:
        return (f"; it is under the parent folder {root.parent} (PromptIR keeps test/ at the repository root, "
                f"next to data/): pass --root {root.parent}")
    if root.is_dir():
        for child in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "data"):
            if find(key, child) is not None:
                return f"; it is one folder deeper, in {child}: pass --root {child} or move its contents up"
    return ""
