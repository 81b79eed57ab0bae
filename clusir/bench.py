"""``clusir bench``: training-step and inference throughput and peak memory per preset (CPU or CUDA).

Per preset, in a fresh subprocess (so that peak memory is that preset's alone):

* **inference**: eval mode, ``torch.no_grad``, batch 1 at ``infer_size``² → images/s, ms/image;
* **training step**: Adam + ℓ1/MS-SSIM loss + aux losses, ``batch`` × ``crop``² → samples/s, s/step;
* **peak memory**: CUDA ``max_memory_allocated``; CPU peak resident set (``VmHWM``) minus the resident set after
  building the model and optimiser, i.e. what activations, gradients and Adam state add;
* **CUDA only**: model-FLOP utilisation (MFU) = 3 × 2 × MACs(crop) × samples/s ÷ the GPU's dense bf16 peak
  (MACs from ``clusir.model.count_macs``, the experts an image actually runs), and the projected wall time of
  the paper's N+H+R recipe: 142,431 samples/epoch (clusir.data.recipe) × 150 epochs ÷ samples/s (one GPU; divide by N for ideal
  DDP scaling over N GPUs).

MFU counts the forward as 2·MACs FLOPs and the backward as twice the forward (the usual 3× rule).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date

import torch

from clusir.model import build_model, count_macs, count_parameters
from clusir.data.settings import paper_samples_per_epoch
from clusir.runtime import cpu_model, default_threads
from clusir.train.losses import RestorationLoss, ms_ssim_window
from clusir.train.trainer import compile_model, resolve_amp

__all__ = ["bench_preset", "run_bench", "format_bench", "markdown_bench", "PAPER_NHR_SAMPLES", "PEAK_BF16_TFLOPS"]

PAPER_NHR_SAMPLES = paper_samples_per_epoch("nhr") * 150   # N+H+R: sizes × expansion ratios, × 150 epochs
#: dense bf16 tensor-core peaks (TFLOP/s) by a substring of the CUDA device name; `--peak-tflops` overrides.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0,
                    "L40S": 362.0, "L4": 121.0, "A10": 125.0, "RTX 4090": 165.0, "RTX 3090": 71.0,
                    "V100": 125.0, "T4": 65.0}


def _rss_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # peak only (Linux: KiB)


def _peak_tflops(name: str) -> float | None:
    for key, v in PEAK_BF16_TFLOPS.items():
        if key in name:
            return v
    return None


def bench_preset(preset: str, *, device: str = "cpu", batch: int = 4, crop: int = 64, infer_size: int = 256,
                 train_steps: int = 3, infer_steps: int = 3, warmup: int = 1, amp: str = "auto",
                 compile: bool = False, threads: int | None = None, peak_tflops: float | None = None) -> dict:
    """Measure one preset in this process (see the module docstring). Returns a flat dict of figures."""
    torch.set_num_threads(threads or default_threads())
    torch.manual_seed(0)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    amp_dtype = resolve_amp(amp, dev)
    model = build_model(preset).to(dev)
    net = compile_model(model) if compile else model
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    crit = RestorationLoss(ms_ssim_weight=0.2 if ms_ssim_window(crop) else 0.0, crop=crop)  # ℓ1 only below 33 px
    res = {"preset": preset, "params_M": count_parameters(model) / 1e6, "device": str(dev), "batch": batch,
           "crop": crop, "infer_size": infer_size, "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
           "compile": compile, "threads": torch.get_num_threads(), "loss": crit.describe()}

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def autocast():
        return torch.autocast(dev.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)

    base_kb = _rss_kb("VmRSS")
    # -- inference ---------------------------------------------------------------------------------------
    model.eval()
    x = torch.rand(1, 3, infer_size, infer_size, device=dev)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        for i in range(warmup + infer_steps):
            if i == warmup:
                sync()
                t0 = time.perf_counter()
            with autocast():
                net(x)
        sync()
    dt = (time.perf_counter() - t0) / infer_steps
    res |= {"infer_ms": dt * 1e3, "infer_img_s": 1 / dt}
    res["infer_peak_MB"] = (torch.cuda.max_memory_allocated() / 2**20 if cuda
                            else (_rss_kb("VmHWM") - base_kb) / 1024)
    # -- training step -------------------------------------------------------------------------------------
    model.train()
    xb = torch.rand(batch, 3, crop, crop, device=dev)
    yb = torch.rand(batch, 3, crop, crop, device=dev)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for i in range(warmup + train_steps):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
        with autocast():
            out = net(xb)
            loss = crit(out.image, yb)[0] + out.aux_loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync()
    dt = (time.perf_counter() - t0) / train_steps
    res |= {"train_s_step": dt, "train_samples_s": batch / dt}
    res["train_peak_MB"] = (torch.cuda.max_memory_allocated() / 2**20 if cuda
                            else (_rss_kb("VmHWM") - base_kb) / 1024)
    res["rss_model_MB"] = base_kb / 1024
    # -- CUDA: MFU and the paper's wall time ----------------------------------------------------------------
    res["train_hours_paper_nhr"] = PAPER_NHR_SAMPLES / res["train_samples_s"] / 3600
    if cuda:
        name = torch.cuda.get_device_name(dev)
        peak = peak_tflops or _peak_tflops(name)
        macs = count_macs(model, crop)
        res |= {"gpu": name, "macs_G_per_sample": macs / 1e9, "peak_tflops": peak}
        res["mfu"] = 6 * macs * res["train_samples_s"] / (peak * 1e12) if peak else None
    return res


def _worker_command(preset: str, kw: dict) -> list[str]:
    return [sys.executable, "-m", "clusir.bench", "--worker", json.dumps({"preset": preset, **kw})]


def run_bench(presets: list[str], *, isolate: bool = True, **kw) -> list[dict]:
    """Bench each preset, each in its own subprocess when ``isolate`` (clean peak-memory figures)."""
    out = []
    for p in presets:
        if not isolate:
            out.append(bench_preset(p, **kw))
            continue
        proc = subprocess.run(_worker_command(p, kw), capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"bench worker for {p} failed:\n{proc.stderr[-3000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores visible, torch {torch.__version__}, Python {platform.python_version()}"


def format_bench(rows: list[dict]) -> str:
    """Fixed-width text table."""
    cuda = any("gpu" in r for r in rows)
    head = ["preset", "params", "infer ms/img", "infer MB", "train s/step", "samples/s", "train MB"]
    if cuda:
        head += ["MFU", "N+H+R h (1 GPU)"]
    lines = ["  ".join(f"{h:>14}" for h in head)]
    for r in rows:
        cells = [r["preset"], f"{r['params_M']:.2f} M", f"{r['infer_ms']:.1f}", f"{r['infer_peak_MB']:.0f}",
                 f"{r['train_s_step']:.3f}", f"{r['train_samples_s']:.2f}", f"{r['train_peak_MB']:.0f}"]
        if cuda:
            cells += [f"{100 * r['mfu']:.1f} %" if r.get("mfu") else "–", f"{r['train_hours_paper_nhr']:.1f}"]
        lines.append("  ".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)


def markdown_bench(rows: list[dict], command: str) -> str:
    """A markdown table with the command, machine and date (for docs/benchmarks.md)."""
    cuda = any("gpu" in r for r in rows)
    r0 = rows[0]
    lines = [f"Command: `{command}`  ", f"Machine: {machine()}; device {r0['device']}"
             + (f" ({r0['gpu']})" if cuda else f", {r0['threads']} torch threads") + "  ", f"Date: {date.today().isoformat()}", ""]
    head = "| preset | params | train batch × crop² | train s/step | train samples/s | train peak MB | infer size² | infer ms/img | infer peak MB |"
    if cuda:
        head += " MFU | N+H+R recipe, h on 1 GPU |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        line = (f"| {r['preset']} | {r['params_M']:.2f} M | {r['batch']} × {r['crop']}² | {r['train_s_step']:.3f} | "
                f"{r['train_samples_s']:.2f} | {r['train_peak_MB']:.0f} | {r['infer_size']}² | {r['infer_ms']:.0f} | "
                f"{r['infer_peak_MB']:.0f} |")
        if cuda:
            line += f" {100 * r['mfu']:.1f} % |" if r.get("mfu") else " – |"
            line += f" {r['train_hours_paper_nhr']:.1f} |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":  # the isolated worker: `python -m clusir.bench --worker JSON`
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        kw = json.loads(sys.argv[2])
        print(json.dumps(bench_preset(kw.pop("preset"), **kw)))
    else:
        print("use `clusir bench`", file=sys.stderr)
        raise SystemExit(2)
