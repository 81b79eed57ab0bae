"""`clusir data`: check data trees, download what has a stable URL, rebuild MiniAIO, run classical baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

KODAK_URL = "http://r0k.us/graphics/kodak/kodak/kodim{:02d}.png"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="data sets: check a tree, download, rebuild MiniAIO, classical baselines")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    c = dsub.add_parser("check", help="validate a data tree for a setting (default: the committed MiniAIO)")
    c.add_argument("--setting", default="nhr", help="setting to check (default nhr); see `clusir data info`")
    c.add_argument("--root", default=None, help="folder holding the real data sets (default: check MiniAIO)")
    c.add_argument("--deep", action="store_true", help="decode every image fully (slow on OTS)")
    c.add_argument("--split", choices=("train", "test", "both"), default="both",
                   help="check only the training or only the test data sets")
    c.add_argument("--min-size", type=int, default=None,
                   help="warn about training images smaller than this (default: the training crop of the "
                        "setting's paper config, 128; 0: off)")
    c.add_argument("--strict", action="store_true", help="treat warnings (counts, list files) as errors")
    c.set_defaults(func=_check)

    d = dsub.add_parser("download", help="download data sets that have a stable URL (Kodak24)")
    d.add_argument("--dataset", default="kodak24", help="data set key (only kodak24 has a stable URL)")
    d.add_argument("--root", required=True, help="destination data folder (AdaIR layout: <root>/test/denoise/kodak24)")
    d.add_argument("--timeout", type=float, default=5.0, help="network timeout in seconds (default 5)")
    d.set_defaults(func=_download)

    b = dsub.add_parser("build", help="rebuild MiniAIO from the installed packages (data/build_miniaio.py)")
    b.add_argument("--check", action="store_true", help="rebuild in memory and compare with the committed files")
    b.add_argument("--out", default=None, help="output folder (default: data/miniaio of this repository)")
    b.add_argument("--inputs-only", action="store_true", help="only regenerate test_inputs.json")
    b.set_defaults(func=_build)

    r = dsub.add_parser("baselines", help="PSNR/SSIM of the classical baselines on the MiniAIO test split")
    r.add_argument("--setting", default=None, help="only the tasks of this setting (default: every task)")
    r.add_argument("--split", default="test", choices=("test", "val", "ci"))
    r.add_argument("--out", default="docs/baselines.json", help="JSON output (default docs/baselines.json)")
    r.add_argument("--md", default=None, help="markdown table (default: next to --out, .md)")
    r.set_defaults(func=_baselines)

    i = dsub.add_parser("info", help="list settings, tasks, real data sets and MiniAIO counts")
    i.set_defaults(func=_info)


def _check(args) -> int:
    from clusir.cli import CLIError
    from clusir.data import SETTINGS
    from clusir.data.check import check_tree

    if args.setting not in SETTINGS:
        raise CLIError(f"unknown setting {args.setting!r}; choose from: {', '.join(SETTINGS)}")
    splits = ("train", "test") if args.split == "both" else (args.split,)
    if args.root is not None and not Path(args.root).is_dir():
        raise CLIError(f"--root {args.root}: no such folder")
    rep = check_tree(args.setting, args.root, deep=True if args.deep else None, splits=splits,
                     min_size=args.min_size, strict=args.strict)
    print(rep.format())
    return 0 if rep.ok else 1


def _download(args) -> int:
    import socket
    import urllib.error
    import urllib.request
    from urllib.parse import urlparse

    from clusir.cli import CLIError
    from clusir.data.real import DATASETS

    key = args.dataset.lower()
    if key not in DATASETS:
        raise CLIError(f"unknown data set {args.dataset!r}; known: {', '.join(DATASETS)}")
    info = DATASETS[key]
    if info.download != "kodak24":
        raise CLIError(f"{info.title} has no stable direct URL (Google Drive / OneDrive / project pages); "
                       f"download it by hand from {info.source}, unpack it under --root and run "
                       f"`clusir data check --root {args.root}`. See data/README.md.")
    host = urlparse(KODAK_URL).hostname
    try:  # fail at once when offline, before any download starts
        socket.create_connection((host, 80), timeout=args.timeout).close()
    except OSError as exc:
        raise CLIError(f"cannot reach {host} ({exc}); this machine looks offline. Download Kodak24 by hand from "
                       f"{info.source} into {Path(args.root) / 'test/denoise/kodak24'} (kodim01.png ... kodim24.png)")
    dest = Path(args.root) / "test" / "denoise" / "kodak24"
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(1, 25):
        out = dest / f"kodim{i:02d}.png"
        if out.is_file() and out.stat().st_size > 0:
            continue
        url = KODAK_URL.format(i)
        try:
            with urllib.request.urlopen(url, timeout=args.timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise CLIError(f"download of {url} failed: {exc}") from exc
        tmp = out.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(out)
        print(f"  {out}")
    print(f"Kodak24 in {dest}; check it with `clusir data check --setting denoise --root {args.root} --split test`")
    return 0


def _build(args) -> int:
    """Rebuild MiniAIO in two steps: the images (``miniaio_build.build``), then the test-input hashes."""
    from clusir.cli import CLIError
    from clusir.data import miniaio, miniaio_build
    from clusir.data.settings import write_input_manifest

    out = Path(args.out) if args.out else miniaio.repo_data_dir() / "miniaio"
    if args.inputs_only:
        write_input_manifest(out)
        return 0
    try:
        if args.check:
            res = miniaio_build.build(out, check=True, log=lambda *a: None)
            for m in res["missing_sources"]:
                print(f"MISSING {m}")
            for n in res["mismatched"]:
                print(f"DIFFERS {n}: rebuilt pixels differ from the committed manifest")
            ok = not res["mismatched"] and not res["missing_sources"]
            print(f"{res['checked']} images rebuilt; " + ("all identical to the committed MiniAIO" if ok else
                                                          "MiniAIO is NOT reproduced exactly (see above)"))
            return 0 if ok else 1
        miniaio_build.build(out)
    except miniaio_build.MissingSourceError as exc:
        raise CLIError(str(exc)) from exc
    write_input_manifest(out)
    return 0


def _baselines(args) -> int:
    import json
    import platform
    import time

    from clusir.baselines import markdown_table, run_baselines
    from clusir.cli import CLIError
    from clusir.data import SETTINGS

    if args.setting is not None and args.setting not in SETTINGS:
        raise CLIError(f"unknown setting {args.setting!r}; choose from: {', '.join(SETTINGS)}")
    t0 = time.perf_counter()
    rep = run_baselines(args.setting, args.split)
    secs = time.perf_counter() - t0
    cmd = "clusir data baselines" + (f" --setting {args.setting}" if args.setting else "") + \
        (f" --split {args.split}" if args.split != "test" else "")
    import os

    from clusir.runtime import cpu_model

    threads, ncpu = os.environ.get("OMP_NUM_THREADS", "unset"), os.cpu_count()
    machine = f"{platform.system()} {platform.machine()} ({cpu_model()}), {ncpu} CPU cores, OMP_NUM_THREADS={threads}"
    rep["command"] = cmd
    rep["machine"] = machine
    rep["seconds"] = round(secs, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=1) + "\n")
    md = Path(args.md) if args.md else out.with_suffix(".md")
    md.write_text(markdown_table(rep, cmd, machine, secs))
    print(f"wrote {out} and {md} ({secs:.0f} s)")
    return 0


def _info(args) -> int:
    from clusir.data import SETTING_DESCRIPTIONS, SETTINGS
    from clusir.data.degradations import TASK_DESCRIPTIONS
    from clusir.data.real import DATASETS

    print("settings:")
    for k, v in SETTINGS.items():
        print(f"  {k:10s} {', '.join(v)}\n             {SETTING_DESCRIPTIONS[k]}")
    print("tasks:")
    for k, v in TASK_DESCRIPTIONS.items():
        print(f"  {k:18s} {v}")
    print("real data sets (clusir data check --root DIR):")
    for k, d in DATASETS.items():
        print(f"  {k:15s} {d.title} ({d.expected}); {d.source}")
    try:
        from clusir.data import miniaio

        man = miniaio.load_manifest()
        print(f"MiniAIO: {man['photos']} photographs, {man['counts']}, ci {len(man['ci'])} "
              f"({miniaio.default_dir()})")
    except FileNotFoundError as exc:
        print(f"MiniAIO: {exc}")
    return 0
