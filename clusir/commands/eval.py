"""`clusir eval`: score a checkpoint per task and print tables shaped like the paper's (Tables 1, 2, 3, 6).

    clusir eval --checkpoint checkpoints/nhr_nano.pt                   # MiniAIO test set of its setting
    clusir eval --checkpoint runs/x/best.pt --setting nhrbl --json out.json
    clusir eval --checkpoint runs/x/best.pt --setting nhr --root /data/aio   # the paper's real test sets

PSNR is RGB with data range 1; SSIM is printed in both conventions (skimage7 = uniform 7×7 window as
PromptIR/AdaIR; gaussian11 = Wang et al.), each table saying which. Images are centre-cropped to a multiple of
16 (AdaIR protocol). Rows: the degraded input, the best classical baseline per task (MiniAIO, from
docs/baselines.json) and the checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint; print paper-shaped tables and write JSON",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="training or released checkpoint (default: the released one for --setting)")
    p.add_argument("--setting", help="nhr, nhrbl, cdd11 or a single task (default: the checkpoint's)")
    p.add_argument("--root", help="evaluate on the paper's real datasets under DIR instead of MiniAIO")
    p.add_argument("--split", default="test", help="test (default) or val")
    p.add_argument("--tile", type=int, default=0, help="tiled inference with this tile side (0: whole images)")
    p.add_argument("--limit", type=int, help="only the first N images of each task (smoke tests)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--json", metavar="PATH", help="results file (default: runs/eval/<checkpoint>_<setting>.json)")
    p.add_argument("--no-baselines", action="store_true", help="omit the input and classical-baseline rows")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import torch

    from clusir.runtime import default_threads, resolve_device
    from clusir.cli import CLIError
    from clusir.commands.restore import default_checkpoint
    from clusir.evaluate import (IdentityRestorer, evaluate_model, format_table, load_baselines, load_samples,
                                 write_json)
    from clusir.train.checkpoint import load_model, sha256_file
    from clusir.train.config import model_name

    torch.set_num_threads(default_threads())
    ckpt = Path(args.checkpoint) if args.checkpoint else default_checkpoint(args.setting)
    device = resolve_device(args.device)
    try:
        model, meta = load_model(ckpt, device=device)
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    setting = args.setting or ((meta.get("config") or {}).get("data") or {}).get("setting")
    if not setting:
        raise CLIError("the checkpoint does not record its setting: pass --setting")
    try:
        samples = load_samples(setting, args.split, args.root, args.limit)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise CLIError(f"cannot load the {args.split} set of {setting!r}: {exc}") from exc
    name = model_name(meta.get("config") or {})
    label = f"{'' if name.startswith('anyir') else 'ClusIR-'}{name} ({ckpt.name})"   # anyir_*: AnyIR
    res = evaluate_model(model, samples, device=device, tile=args.tile or None, progress=True)
    rows = {}
    if not args.no_baselines:
        rows["Input (degraded)"] = evaluate_model(IdentityRestorer(), samples, device="cpu")
        if not args.root:
            base = load_baselines(setting)
            if base:
                rows["Best classical*"] = {"tasks": base}
    rows[label] = res
    source = f"real data under {args.root}" if args.root else "MiniAIO"
    for conv in ("skimage7", "gaussian11"):
        print(format_table(rows, setting, convention=conv,
                           title=None if conv == "skimage7" else "same, other SSIM convention").replace(
                               "MiniAIO/real", source))
        print()
    if "Best classical*" in rows:
        methods = ", ".join(f"{t}: {v.get('method', '?')}" for t, v in rows["Best classical*"]["tasks"].items())
        print(f"* best classical method per task (docs/baselines.json): {methods}")
    out = Path(args.json) if args.json else Path("runs") / "eval" / f"{ckpt.stem}_{setting}_{args.split}.json"
    write_json({"checkpoint": str(ckpt), "sha256": sha256_file(ckpt), "setting": setting, "split": args.split,
                "source": source, "model": res, **{k: v for k, v in rows.items() if k != label}}, out)
    print(f"wrote {out}")
    return 0
