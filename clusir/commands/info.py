"""`clusir info`: parameters and MACs of a model preset (and an optional tiled-inference memory benchmark).

    clusir info --model base --size 128 --json
    clusir info --model nano --tiled 2048x1536 --tile 256 --overlap 32     # time + peak RSS of tiled inference

MACs follow ``clusir.model.info``: ``torch.utils.flop_counter`` FLOPs / 2, matrix products only (conv, linear,
bmm, attention). Peak memory is the process's peak resident set size (``resource.getrusage``), so run one
``--tiled`` measurement per process.
"""

from __future__ import annotations

import argparse
import json

PRESET_NAMES = ("base", "small", "tiny", "nano")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="parameters and MACs of a model preset")
    p.add_argument("--model", default="base", help=f"preset: {', '.join(PRESET_NAMES)} (default base)")
    p.add_argument("--size", default="128", help="input size for the MAC count: N or HxW (default 128)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="ModelConfig overrides, e.g. --set moe=flat dafmm=False")
    p.add_argument("--tiled", metavar="WxH", help="also run tiled inference on a random WxH image (CPU benchmark)")
    p.add_argument("--tile", type=int, default=256, help="tile size for --tiled (default 256)")
    p.add_argument("--overlap", type=int, default=32, help="tile overlap for --tiled (default 32)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: clusir.runtime.default_threads)")
    p.set_defaults(func=_info)


def _size(text: str) -> tuple[int, int]:
    from clusir.cli import CLIError

    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) <= 0:
        raise CLIError(f"bad size {text!r}: use N or WxH with positive integers")
    return parts[0], parts[1]


def _overrides(items: list[str]) -> dict:
    import ast

    from clusir.cli import CLIError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"bad --set item {item!r}: use FIELD=VALUE")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value                       # a bare word, e.g. moe=flat
    return out


def _info(args) -> int:
    import resource
    import time

    import torch

    from clusir.runtime import default_threads
    from clusir.cli import CLIError
    from clusir.model import build_model, count_parameters, tiled_forward
    from clusir.model.info import TABLE7, count_active_parameters, macs_by_kind, macs_by_op

    torch.set_num_threads(args.threads or default_threads())
    w, h = _size(args.size)
    try:
        model = build_model(args.model, **_overrides(args.set))
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    by_op = macs_by_op(model, (h, w))
    macs = sum(by_op.values())
    result = {
        "model": args.model,
        "overrides": _overrides(args.set),
        "size": [h, w],
        "params": count_parameters(model),
        "active_params": count_active_parameters(model),
        "macs": macs,
        "macs_by_kind": macs_by_kind(by_op),
        "macs_by_op": by_op,
        "convention": "MACs = torch.utils.flop_counter FLOPs / 2; counted: conv, linear (mm/addmm), bmm, "
                      "scaled-dot-product attention; not counted: element-wise, norms, softmax, DWT, FFT",
    }
    if args.model in TABLE7:
        p_m, g = TABLE7[args.model]
        result["table7"] = {"params_M": p_m, "flops_G_128": g,
                            "params_rel_err": count_parameters(model) / (p_m * 1e6) - 1}
        if (h, w) == (128, 128):
            result["table7"]["macs_rel_err"] = macs / (g * 1e9) - 1
    if args.tiled:
        tw, th = _size(args.tiled)
        model.eval()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        x = torch.rand(1, 3, th, tw, generator=torch.Generator().manual_seed(0))
        t0 = time.perf_counter()
        y = tiled_forward(model, x, tile=args.tile, overlap=args.overlap)
        seconds = time.perf_counter() - t0
        result["tiled"] = {
            "image": [th, tw], "tile": args.tile, "overlap": args.overlap, "seconds": round(seconds, 2),
            "peak_rss_MiB_before": round(rss_before), "finite": bool(torch.isfinite(y).all()),
            "peak_rss_MiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model      {args.model} {result['overrides'] or ''}")
    print(f"params     {result['params'] / 1e6:.3f} M  (used per image: {result['active_params'] / 1e6:.3f} M)")
    kinds = result["macs_by_kind"]
    print(f"MACs       {macs / 1e9:.3f} G at {h}x{w}  (conv+linear {kinds['conv_linear'] / 1e9:.3f} G, "
          f"attention {kinds['attention'] / 1e9:.3f} G)")
    if "table7" in result:
        t7 = result["table7"]
        line = f"Table 7    {t7['params_M']} M params ({t7['params_rel_err']:+.1%}), {t7['flops_G_128']} G at 128x128"
        if "macs_rel_err" in t7:
            line += f" ({t7['macs_rel_err']:+.1%})"
        print(line)
    if "tiled" in result:
        t = result["tiled"]
        print(f"tiled      {t['image'][1]}x{t['image'][0]} tile {t['tile']} overlap {t['overlap']}: "
              f"{t['seconds']} s, peak RSS {t['peak_rss_MiB']} MiB (before: {t['peak_rss_MiB_before']} MiB)")
    print(f"({result['convention']})")
    return 0
