"""``check_tree``: tell a person what is wrong with a data tree, and how to fix it.

Checked for each data set a setting needs (``SETTING_DATASETS``): it is found in a known layout (else: the
folders looked for, and the parent or child folder where it was found instead); counts against the full
releases (a shortfall is a warning: subsets are allowed); inputs without ground truth and vice versa;
non-image files (OS junk such as ``.DS_Store``/``Thumbs.db`` is ignored with a warning); list files that
name files missing on disk; every image opens; paired images have equal sizes; images smaller than the
training crop (default: the crop of the setting's paper config) are warned about.

Without a root, the committed MiniAIO is checked instead (``check_miniaio``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

import clusir.data.miniaio as miniaio
import clusir.data.recipe as recipe
from clusir.data.io import ImageReadError, ImageSizeError, pixel_sha256, read_image
from clusir.data.layouts import DATASETS, DatasetInfo, Found, find, found_elsewhere, looked_for
from clusir.data.settings import SETTINGS, load_clean, load_input_manifest, make_input


def _setting_datasets(setting: str) -> list[str]:
    keys: list[str] = []
    for task in SETTINGS[setting]:
        for role in ("train", "test"):
            keys += [k for k in recipe.dataset_keys(task, role) if k not in keys]
    return keys


#: setting -> the registered data sets it reads (from the tasks of the setting)
SETTING_DATASETS: dict[str, list[str]] = {s: _setting_datasets(s) for s in SETTINGS}


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
               splits: tuple[str, ...] = ("train", "test"), min_size: int | None = None,
               strict: bool = False) -> CheckReport:
    """Validate the data for ``setting`` under ``root`` (``None``: the committed MiniAIO) and return a
    :class:`CheckReport` (``report.ok``, ``print(report)``); see the module docstring for what is checked.

    ``deep``: decode every image (default: fully when a data set has at most 2,000 files, else the first 50
    and the rest by header). ``min_size``: warn about images smaller than this (default ``None``: the
    training crop of the setting's paper config, ``recipe.paper_crop``; 0 turns it off). List files that
    disagree with the folders are warnings, because clusir's loaders read the folders; ``strict=True``
    turns every warning into an error."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose from: {', '.join(SETTINGS)}")
    if root is None:
        return check_miniaio(setting)
    root = Path(root)
    rep = CheckReport(setting, str(root))
    if not root.is_dir():
        rep.error(f"{root} is not a folder")
        return rep
    crop, crop_why = (min_size, "--min-size") if min_size is not None else recipe.paper_crop(setting)
    for key in SETTING_DATASETS[setting]:
        info = DATASETS[key]
        if info.role in splits:
            _check_dataset(rep, info, root, deep, crop, crop_why)
    if strict and rep.warnings:
        for w in rep.warnings:
            rep.error(f"(strict) {w}")
    return rep


def _check_dataset(rep: CheckReport, info: DatasetInfo, root: Path, deep: bool | None, crop: int,
                   crop_why: str) -> None:
    """Find one data set under ``root`` and add what is wrong with it to ``rep``."""
    key = info.key
    f = find(key, root)
    if f is None:
        msg = (f"{info.title}: not found under {root} (looked for {', '.join(looked_for(key))})"
               f"{found_elsewhere(key, root)}; download: {info.source}")
        if info.optional:
            rep.warnings.append(msg + " [optional]")
            rep.lines.append(f"--    {key:15s} not present (optional)")
        else:
            rep.error(msg)
            rep.lines.append(f"MISS  {key:15s} not found")
        return
    for p in f.problems:
        rep.error(f"{info.title}: {p}")
    for w in f.warnings:
        rep.warnings.append(f"{info.title}: {w}")
    n = len(f.items)
    if n == 0 and not f.problems:
        rep.error(f"{info.title}: {f.where[0]} holds no images ({info.rule})")
    _check_files(rep, info, f, deep, crop, crop_why)
    unit = "pairs" if f.items and f.items[0].lq else "images"
    exp = info.expected
    if f.per_kind:
        short = [k for k, v in f.per_kind.items() if exp and v < exp]
        if short:
            rep.warnings.append(f"{info.title}: fewer than the released {exp} per type for {', '.join(short)} "
                                "(a subset?)")
        detail = f"{n} pairs ({', '.join(f'{k} {v}' for k, v in f.per_kind.items())})"
    else:
        if exp and n and n != exp:
            rep.warnings.append(f"{info.title}: {n} {unit} found, the full release has {exp} (a subset or an "
                                "incomplete download?)")
        detail = f"{n} {unit}"
    rep.lines.append(f"{'OK  ' if not f.problems else 'BAD '}  {key:15s} {detail:>12s}  [{f.layout}] {f.where[0]}")
    rep.found[key] = {"layout": f.layout, "path": str(f.where[0]), "count": n}


def _check_files(rep: CheckReport, info: DatasetInfo, f: Found, deep: bool | None, min_size: int,
                 why: str) -> None:
    files = list(dict.fromkeys(p for it in f.items for p in (it.gt, it.lq) if p is not None))
    full_all = deep if deep is not None else len(files) <= 2000
    sizes: dict[Path, tuple[int, int] | None] = {}
    bad = []
    for i, p in enumerate(files):
        sizes[p], err = _probe(p, full_all or i < 50)
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
    small = [p for p, s in sizes.items() if s and min_size and min(s) < min_size]
    if small and info.role == "train":
        rep.warnings.append(f"{info.title}: {len(small)} image(s) smaller than {min_size} px, {why} (e.g. "
                            f"{small[0]}); they cannot give a {min_size}x{min_size} crop and will raise in training")
    if not full_all and len(files) > 50:
        rep.lines.append(f"      ({info.key}: {len(files) - 50} files checked by header only; --deep decodes all)")


# ----------------------------------------------------------------------------------------------------------
# MiniAIO
# ----------------------------------------------------------------------------------------------------------


def check_miniaio(setting: str) -> CheckReport:
    """Check the committed MiniAIO for a setting: files present, pixel hashes, splits disjoint by
    photograph, attribution complete, and every test input of the setting's tasks reproduces its hash."""
    base = miniaio.default_dir()
    rep = CheckReport(setting, f"{base} (MiniAIO)")
    try:
        man = miniaio.load_manifest(base)
    except FileNotFoundError as exc:
        rep.error(str(exc))
        return rep
    _check_miniaio_images(rep, base, man)
    try:
        ref = load_input_manifest(base)["inputs"]["test"]
    except (FileNotFoundError, KeyError) as exc:
        rep.error(f"test-input hashes unavailable: {exc}")
        return rep
    clean = load_clean("test", base)
    for task in SETTINGS[setting]:
        bad = sum(ref.get(task, {}).get(name, {}).get("sha256") != pixel_sha256(make_input(task, name, img, base)[0])
                  for name, img in clean)
        if bad:
            rep.error(f"task {task}: {bad} of {len(clean)} test inputs do not reproduce their hash in test_inputs.json")
        rep.lines.append(f"{'OK  ' if not bad else 'BAD '}  {task:18s} {len(clean)} test inputs "
                         f"{'reproduce their hashes' if not bad else 'differ'}")
    rep.found["miniaio"] = {"path": str(base), "count": len(man["images"])}
    return rep


def _check_miniaio_images(rep: CheckReport, base: Path, man: dict) -> None:
    """Files present, pixel hashes, one split per photograph, an attribution entry per image."""
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
    rep.lines.append(f"OK    clean images  {sum(counts.values())} "
                     f"({', '.join(f'{k} {v}' for k, v in counts.items())}), "
                     f"{len(photos)} photographs")
