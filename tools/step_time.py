"""Training-step time of several training configs, interleaved, on this machine (docs/benchmarks.md).

    python tools/step_time.py configs/miniaio/nhr_nano.yaml configs/miniaio/anyir_nano.yaml --rounds 5

Each config's own model, optimiser and loss (clusir.train.recipe) on a fixed random batch of its
``batch_size`` × ``data.crop``² (no data loading). Rounds alternate between the configs so that a change in the
machine's load hits all of them alike; per config it prints the median over rounds of the wall time and of the
process CPU time of one step (forward, loss, backward, optimiser step) after one warm-up step, plus the
forward MACs per sample at the crop (clusir.model.count_macs) and the 6·MACs training-FLOP estimate the
experiment engine uses. CPU time is the figure to compare on a shared machine: wall time includes waiting.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from clusir.model import build_model, count_macs, count_parameters
from clusir.train.config import load_config
from clusir.train.recipe import build_criterion, build_optimizer


def _setup(path: str):
    cfg = load_config(path)
    model = build_model(cfg.model).train()
    opt, crit = build_optimizer(cfg, model.parameters()), build_criterion(cfg)
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(cfg.batch_size, 3, cfg.data.crop, cfg.data.crop, generator=g)
    x = (gt + 0.1 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    return cfg, model, opt, crit, x, gt


def _step(model, opt, crit, x, gt) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = model(x)
    loss = crit(out.image, gt)[0] + out.aux_loss
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    runs = [_setup(p) for p in args.configs]
    for _, model, opt, crit, x, gt in runs:
        _step(model, opt, crit, x, gt)                                  # warm-up
    times: list[list[tuple[float, float]]] = [[] for _ in runs]
    for _ in range(args.rounds):
        for i, (_, model, opt, crit, x, gt) in enumerate(runs):
            times[i].append(_step(model, opt, crit, x, gt))
    print(f"threads {torch.get_num_threads()}, rounds {args.rounds}, torch {torch.__version__}")
    print("| config | preset | params | batch × crop² | loss | wall s/step | CPU s/step | MACs/sample "
          "| 6·MACs/sample |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path, (cfg, model, _, crit, _, _), t in zip(args.configs, runs, times):
        macs = count_macs(model, cfg.data.crop)
        print(f"| {path} | {cfg.model_preset} | {count_parameters(model) / 1e6:.3f} M "
              f"| {cfg.batch_size} × {cfg.data.crop}² | {crit.describe()} "
              f"| {statistics.median(w for w, _ in t):.3f} | {statistics.median(c for _, c in t):.3f} "
              f"| {macs / 1e9:.4f} G | {6 * macs / 1e9:.4f} G |")


if __name__ == "__main__":
    main()
