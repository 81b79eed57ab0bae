"""`clusir bench`: training-step / inference throughput and peak memory per preset.

    clusir bench                                         # every preset on this machine's default device
    clusir bench --presets nano tiny --batch 4 --crop 64 --infer-size 256
    clusir bench --batch nano=8,tiny=4,small=2,base=1 --crop 64    # per-preset batch (CPU-friendly)
    clusir bench --device cuda --amp bf16 --compile --batch 12 --crop 128   # + MFU and N+H+R wall time
    clusir bench --dispatch --presets tiny --stages 0 1 2 3 --batch 12 --crop 128  # sparse vs dense experts
"""

from __future__ import annotations

import argparse
import sys

PRESETS = ("base", "small", "tiny", "nano")
CHOICES = PRESETS + ("anyir", "anyir_nano")    # the comparison model (clusir.model.anyir): on request only


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="throughput and peak memory per model preset (CPU/CUDA)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=CHOICES)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--batch", default="4", help="training batch: N, or per preset: nano=8,base=1")
    p.add_argument("--crop", default="64", help="training crop: N, or per preset: nano=64,base=32")
    p.add_argument("--infer-size", default="256", help="inference image side: N, or per preset")
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--infer-steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp16", "off"))
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: clusir.runtime.default_threads())")
    p.add_argument("--peak-tflops", type=float, help="GPU dense bf16 peak for MFU (default: looked up by name)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table with command, machine, date")
    p.add_argument("--dispatch", action="store_true",
                   help="bench the sparse expert dispatch against a dense FFN of equal FLOPs (clusir.bench_dispatch)")
    p.add_argument("--stages", nargs="+", type=int, default=[0, 1, 2, 3], choices=range(4),
                   help="--dispatch: the encoder stages to bench")
    p.set_defaults(func=_run)


def _per_preset(value: str, preset: str, name: str) -> int:
    from clusir.cli import CLIError

    try:
        if "=" not in value:
            return int(value)
        table = dict(item.split("=") for item in value.split(","))
        return int(table[preset])
    except (ValueError, KeyError) as exc:
        raise CLIError(f"--{name} {value!r}: give N or preset=N for every benched preset ({exc})") from exc


def _command() -> str:
    return "clusir bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])


def _run_dispatch(args, device: str) -> int:
    from clusir.bench_dispatch import markdown_dispatch, run_dispatch_bench
    from clusir.evaluate import write_json

    rows = []
    for preset in args.presets:
        rows += run_dispatch_bench([preset], args.stages, batch=_per_preset(args.batch, preset, "batch"),
                                   crop=_per_preset(args.crop, preset, "crop"), device=device, amp=args.amp,
                                   steps=args.train_steps, warmup=args.warmup, threads=args.threads)
        print(f"benched the dispatch of {preset}", file=sys.stderr, flush=True)
    print(markdown_dispatch(rows, _command()))
    if args.json:
        write_json({"rows": rows}, args.json)
    return 0


def _run(args) -> int:
    from clusir.bench import format_bench, markdown_bench, run_bench
    from clusir.runtime import resolve_device
    from clusir.evaluate import write_json

    device = str(resolve_device(args.device))
    if args.dispatch:
        return _run_dispatch(args, device)
    rows = []
    for preset in args.presets:
        rows += run_bench([preset], device=device, batch=_per_preset(args.batch, preset, "batch"),
                          crop=_per_preset(args.crop, preset, "crop"),
                          infer_size=_per_preset(args.infer_size, preset, "infer-size"),
                          train_steps=args.train_steps, infer_steps=args.infer_steps, warmup=args.warmup,
                          amp=args.amp, compile=args.compile, threads=args.threads, peak_tflops=args.peak_tflops)
        print(f"benched {preset}", file=sys.stderr, flush=True)
    print(format_bench(rows))
    if args.markdown:
        print()
        print(markdown_bench(rows, _command()))
    if args.json:
        write_json({"rows": rows}, args.json)
    return 0
