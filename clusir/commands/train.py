"""`clusir train`: run :func:`clusir.train.train` from a YAML config plus overrides.

    clusir train --config configs/miniaio/nhr_nano.yaml
    clusir train --config configs/miniaio/nhr_nano.yaml --resume          # continue runs/<name>/last.pt
    clusir train --config configs/paper/nhr.yaml --root /data/aio --set epochs=2 batch_size=8
    torchrun --standalone --nproc_per_node=4 -m clusir train --config configs/paper/nhr.yaml --root /data/aio
"""

from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a ClusIR model (paper recipe by default; DDP under torchrun)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="YAML", help="a config under configs/ (default: the paper recipe)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <run_dir>/last.pt (model, optimiser, scheduler, RNG, data position)")
    p.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                   help="dotted overrides, e.g. epochs=2 data.crop=64 model.moe=none model.dim=8")
    p.add_argument("--preset", help="model preset (base/small/tiny/nano), keeping the model fields the config "
                                    "changed; same as --set model.preset=NAME")
    p.add_argument("--ablation", help="a clusir.model.ABLATIONS entry: its fields set on the model")
    p.add_argument("--root", help="dataset root for data.source=real")
    p.add_argument("--run-dir", help="where checkpoints and logs go (default: runs/<name>)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=_run)


def resolve(args) -> "object":
    from clusir.cli import CLIError
    from clusir.model import ABLATIONS
    from clusir.train.config import ConfigError, apply_overrides, load_config, merge_config

    items = list(args.overrides)
    if args.root:
        items.append(f"data.root={args.root!r}")
    if args.run_dir:
        items.append(f"run_dir={args.run_dir!r}")
    if args.max_steps is not None:
        items.append(f"max_steps={args.max_steps}")
    try:
        cfg = load_config(args.config, [])
        if args.preset:
            cfg = merge_config(cfg, {"model": {"preset": args.preset}})
        if args.ablation:
            if args.ablation not in ABLATIONS:
                raise ConfigError(f"unknown ablation {args.ablation!r}; choose from {sorted(ABLATIONS)}")
            cfg = merge_config(cfg, {"model": ABLATIONS[args.ablation]})
        return apply_overrides(cfg, items)
    except ConfigError as exc:
        raise CLIError(str(exc)) from exc


def _run(args) -> int:
    from clusir.cli import CLIError
    from clusir.train.config import dump_yaml

    cfg = resolve(args)
    main = int(os.environ.get("RANK", "0")) == 0
    if args.dry_run:
        print(dump_yaml(cfg), end="")
        return 0
    from clusir.train.trainer import TrainingDiverged, train

    try:
        result = train(cfg, resume=args.resume)
    except TrainingDiverged as exc:
        if main:
            print(f"clusir train: {exc}", flush=True)
        return 3
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    if main:
        best = f", best {result.best} (val PSNR {result.best_metric:.2f} dB)" if result.best else ""
        print(f"done: {result.step} steps; last {result.last}{best}; log {result.run_dir / 'log.jsonl'}")
    return 0
