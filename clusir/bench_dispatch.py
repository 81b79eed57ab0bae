"""``clusir bench --dispatch``: the sparse expert dispatch of Eq. (3) against a dense feed-forward of the same
active FLOPs, and where the dispatch's time goes.

One MoE stage of a preset (``C_s = dim·2^s`` channels at ``(crop/2^s)²``, ``N·E`` GDFN experts of width
``h = int(C_s·expert_expansion)``, ``J = K1·K2`` chosen per image, distinct, drawn at random), forward +
backward of ``(y · g).sum()`` under the training autocast, for three implementations:

* ``sparse``  — :func:`clusir.model.routing.dispatch` (the model's): one sub-batch per chosen expert, found
  with ``torch.unique(index).tolist()`` and ``nonzero`` (host reads on CUDA), gathered and ``index_add``-ed;
* ``batched`` — :func:`clusir.model.routing.dispatch_batched`: the chosen experts' weights gathered per image,
  two batched matmuls and one grouped depth-wise convolution, no host read;
* ``dense``   — one GDFN of hidden width ``J·h`` over the whole batch: the same multiply–accumulates as the
  ``J`` experts an image runs (checked with ``torch.utils.flop_counter`` and printed as ``GFLOP``).

The ratio ``sparse / dense`` is the issue's "within 1.3× of dense at equal active FLOPs" figure. For
``sparse`` a ``torch.profiler`` pass splits the time into *routing bookkeeping* (unique, nonzero, item, index,
index_add, zeros), *expert compute* (convolutions, matmuls, GELU, products) and the rest, and counts the
device kernels (CUDA) or aten calls (CPU) of one step.
"""

from __future__ import annotations

import time
from datetime import date

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from clusir.bench import machine
from clusir.model.common import GDFN
from clusir.model.config import model_config
from clusir.model.routing import dispatch, dispatch_batched
from clusir.runtime import default_threads
from clusir.train.trainer import resolve_amp

__all__ = ["bench_dispatch", "run_dispatch_bench", "markdown_dispatch", "BOOKKEEPING_OPS"]

#: aten ops that belong to the routing bookkeeping of ``dispatch`` (sub-batch discovery, gather, scatter)
BOOKKEEPING_OPS = ("aten::unique", "aten::_unique", "aten::nonzero", "aten::item", "aten::_local_scalar_dense",
                   "aten::eq", "aten::index", "aten::index_add", "aten::zeros_like", "aten::zero_",
                   "aten::index_put_", "aten::_index_put_impl_", "aten::stack", "aten::cat", "aten::fill_",
                   "aten::copy_", "aten::to", "aten::_to_copy", "aten::view", "aten::reshape")
COMPUTE_OPS = ("aten::convolution", "aten::_convolution", "aten::conv2d", "aten::mkldnn_convolution",
               "aten::cudnn_convolution", "aten::convolution_backward", "aten::bmm", "aten::mm", "aten::gelu",
               "aten::gelu_backward", "aten::mul", "aten::_slow_conv2d_forward", "aten::_slow_conv2d_backward")


def _case(preset: str, stage: int, batch: int, crop: int, device, seed: int = 0):
    """Experts, the dense equivalent, input, routing and cotangent of one MoE stage."""
    cfg = model_config(preset)
    c = cfg.stage_dims[stage]
    side = crop // 2**stage
    m = cfg.prototypes[stage] * cfg.experts_per_cluster
    j = cfg.k1_at(stage) * cfg.k2
    torch.manual_seed(seed)
    experts = nn.ModuleList(GDFN(c, cfg.expert_expansion, cfg.bias) for _ in range(m)).to(device)
    hidden = experts[0].project_out.in_channels
    dense = GDFN(c, (j * hidden + 0.5) / c, cfg.bias).to(device)          # hidden width J·h exactly
    assert dense.project_out.in_channels == j * hidden
    u = torch.randn(batch, c, side, side, device=device, requires_grad=True)
    index = torch.stack([torch.randperm(m)[:j] for _ in range(batch)]).to(device)       # (B, J) distinct
    weight = torch.rand(batch, j, device=device).softmax(-1)                          # (B, J)
    cot = torch.randn(batch, c, side, side, device=device)
    shape = {"preset": preset, "stage": stage, "batch": batch, "channels": c, "side": side, "experts": m,
             "chosen": j, "hidden": hidden}
    return experts, dense, u, index, weight, cot, shape


def _runner(kind: str, experts, dense, u, index, weight, cot, autocast):
    fn = {"sparse": lambda: dispatch(experts, u, index, weight),
          "batched": lambda: dispatch_batched(experts, u, index, weight),
          "dense": lambda: dense(u)}[kind]

    def step():
        with autocast():
            y = fn()
        (y.float() * cot).sum().backward()
    return step


def _flops(step_fwd) -> float:
    with FlopCounterMode(display=False) as counter:
        step_fwd()
    return counter.get_total_flops()


def _breakdown(step, cuda: bool) -> dict:
    """Profile one step: time in bookkeeping / compute / other ops, and the number of kernels or aten calls."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        step()
        if cuda:
            torch.cuda.synchronize()
    parts = {"bookkeeping": 0.0, "compute": 0.0, "other": 0.0}
    calls = 0
    for ev in prof.key_averages():
        t = (ev.self_device_time_total if cuda else ev.self_cpu_time_total) / 1e3        # ms
        key = ("bookkeeping" if ev.key in BOOKKEEPING_OPS else "compute" if ev.key in COMPUTE_OPS else "other")
        if ev.key.startswith("aten::"):
            parts[key] += t
            calls += ev.count if not cuda else 0
    if cuda:   # device kernels launched, and host time blocked in synchronising copies (the .tolist()/nonzero)
        calls = sum(1 for e in prof.events() if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
        sync = sum(e.self_cpu_time_total for e in prof.key_averages()
                   if e.key in ("cudaStreamSynchronize", "cudaMemcpyAsync", "cudaDeviceSynchronize")) / 1e3
        parts["host_sync_ms"] = sync
    return {f"{k}_ms" if not k.endswith("_ms") else k: v for k, v in parts.items()} | {"calls": calls}


def bench_dispatch(preset: str = "tiny", stage: int = 0, *, batch: int = 12, crop: int = 128, device: str = "cpu",
                   amp: str = "auto", steps: int = 5, warmup: int = 2, threads: int | None = None) -> dict:
    """Time sparse / batched / dense at one stage (see the module docstring). Returns one flat dict."""
    torch.set_num_threads(threads or default_threads())
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    amp_dtype = resolve_amp(amp, dev)
    experts, dense, u, index, weight, cot, row = _case(preset, stage, batch, crop, dev)

    def autocast():
        return torch.autocast(dev.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    row |= {"device": str(dev), "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
            "threads": torch.get_num_threads()}
    for kind in ("sparse", "batched", "dense"):
        step = _runner(kind, experts, dense, u, index, weight, cot, autocast)
        for _ in range(warmup):
            step()
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        sync()
        row[f"{kind}_ms"] = (time.perf_counter() - t0) / steps * 1e3
        if not cuda:   # CPU time of this process: the figure that survives a shared, loaded machine
            row[f"{kind}_cpu_ms"] = (time.process_time() - c0) / steps * 1e3
        if kind == "sparse":
            row |= {f"sparse_{k}": v for k, v in _breakdown(step, cuda).items()}
    with torch.no_grad():
        row["sparse_gflop_fwd"] = _flops(lambda: dispatch(experts, u, index, weight)) / 1e9
        row["batched_gflop_fwd"] = _flops(lambda: dispatch_batched(experts, u, index, weight)) / 1e9
        row["dense_gflop_fwd"] = _flops(lambda: dense(u)) / 1e9
    t = "cpu_ms" if not cuda else "ms"                   # ratios from CPU time on the CPU, wall time on CUDA
    row["sparse_over_dense"] = row[f"sparse_{t}"] / row[f"dense_{t}"]
    row["batched_over_dense"] = row[f"batched_{t}"] / row[f"dense_{t}"]
    return row


def run_dispatch_bench(presets, stages, **kw) -> list[dict]:
    return [bench_dispatch(p, s, **kw) for p in presets for s in stages]


def _ms(r: dict, kind: str) -> str:
    """Wall ms, and on the CPU "wall (CPU)" ms."""
    cpu = f" ({r[kind + '_cpu_ms']:.0f})" if kind + "_cpu_ms" in r else ""
    return f"{r[kind + '_ms']:.0f}{cpu}"


def markdown_dispatch(rows: list[dict], command: str) -> str:
    """A markdown table with command, machine and date (for docs/benchmarks.md)."""
    r0 = rows[0]
    lines = [f"Command: `{command}`  ", f"Machine: {machine()}; device {r0['device']}, amp {r0['amp']}, "
             f"{r0['threads']} torch threads  ", f"Date: {date.today().isoformat()}", "",
             "| preset | stage | B × C × side² | experts (chosen) | GFLOP fwd sparse / dense | sparse ms "
             "| batched ms | dense ms | sparse ÷ dense | batched ÷ dense "
             "| sparse: bookkeeping / compute / other ms | calls |",
             "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['stage']} | {r['batch']} × {r['channels']} × {r['side']}² | {r['experts']} "
            f"({r['chosen']}) | {r['sparse_gflop_fwd']:.2f} / {r['dense_gflop_fwd']:.2f} | {_ms(r, 'sparse')} | "
            f"{_ms(r, 'batched')} | {_ms(r, 'dense')} | {r['sparse_over_dense']:.2f} | "
            f"{r['batched_over_dense']:.2f} | {r['sparse_bookkeeping_ms']:.1f} / {r['sparse_compute_ms']:.1f} / "
            f"{r['sparse_other_ms']:.1f}" + (f"; host sync {r['sparse_host_sync_ms']:.1f}" if "sparse_host_sync_ms" in r
                                             else "") + f" | {r['sparse_calls']} |")
    cuda = r0["device"].startswith("cuda")
    lines += ["", "Times: forward + backward of one call, mean of the timed steps. Breakdown: one profiled sparse "
              "step, self " + ("device time by op class, and host time blocked in synchronising copies; calls = "
                               "device kernels" if cuda else "CPU time by op class (profiler overhead included); "
                               "calls = aten calls. On the CPU each time is wall (process CPU time) and the "
                               "ratios use CPU time") + "."]
    return "\n".join(lines)
