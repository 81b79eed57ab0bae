"""Distributed data parallel (DDP) helpers: one process per device, launched by ``torchrun``.

``torchrun --standalone --nproc_per_node=4 -m clusir train --config configs/paper/nhr.yaml`` sets ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`setup_distributed` reads them (nanoGPT's pattern) and initialises NCCL on
GPUs or gloo on CPUs. Without them it returns a single-process environment and nothing else changes.

Two things make ClusIR need more than ``DDP(model)``:

* **Batch statistics.** The FSB normalises globally pooled features with BatchNorm (architecture.md §7). With a
  per-process batch of 12 (or 2 in our CPU test) the statistics would differ from the single-process batch of
  48, so every BatchNorm is replaced by a synchronised one: torch's ``SyncBatchNorm`` on CUDA, and on CPU (which
  ``SyncBatchNorm`` refuses) :class:`GlobalBatchNorm`, ~30 readable lines that all-reduce the sums with a
  differentiable ``all_reduce``.
* **Sparse experts.** Each image uses K1·K2 = 4 of 21 experts per stage; an expert no image of *this* process
  chose has no gradient here, and plain DDP then stops with "Expected to have finished reduction in the prior
  iteration". We pass ``find_unused_parameters=True``: after the backward pass DDP walks the autograd graph,
  marks the parameters that did not take part and reduces them with a zero contribution, so the averaged
  gradient equals the single-process one (an expert chosen on one rank only gets half its local gradient,
  exactly its share of the global-batch mean). The alternative "zero-contribution trick" (add
  ``0 · expert(x)`` for every unselected expert) would run all 21 experts on every image and defeat sparsity.
  The graph walk costs a little time per step; it is measured by ``clusir bench``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from clusir.runtime import resolve_device

__all__ = [
    "DistEnv",
    "setup_distributed",
    "cleanup_distributed",
    "GlobalBatchNorm",
    "convert_sync_batchnorm",
    "wrap_ddp",
    "all_reduce_sum",
    "broadcast_object",
    "gather_objects",
    "barrier",
]


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands: ``rank`` of ``world_size`` processes, on ``device``."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> DistEnv:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1), else a single process.

    ``device="auto"`` picks ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU. The backend follows the
    device: NCCL for CUDA, gloo for CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local if world > 1 else (dev.index or 0))
        torch.cuda.set_device(dev)
    if world == 1:
        return DistEnv(device=dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistEnv(rank=rank, local_rank=local, world_size=world, device=dev, backend=backend)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes whose backward is again a sum over processes (the gradient of a sum that every
    process uses is the sum of every process's gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics cover the batch of *all* processes (works with gloo on CPU).

    mean = Σ_ranks Σ x / n,  var = Σ_ranks Σ (x − mean)² / n,  n = Σ_ranks count; the sums go through
    a differentiable all-reduce whose backward all-reduces the gradients, so the gradient
    equals that of one process holding the whole batch. Two passes (mean, then centred squares) match the
    single-process numerics more closely than E[x²] − E[x]². Eval mode uses the running statistics, as usual.
    Every process must call it in the same order (true for the FSB, which runs on every image).
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x if x.dtype in (torch.float32, torch.float64) else x.float()  # statistics never in bf16/fp16
        count = torch.tensor([x.numel() / x.shape[1]], dtype=xf.dtype, device=x.device)
        dist.all_reduce(count)                                   # n over all processes
        mean = all_reduce(xf.sum(dims)) / count                  # (C,)
        var = all_reduce((xf - mean.view(shape)).square().sum(dims)) / count  # biased, (C,)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - m).add_(m * mean.to(self.running_mean.dtype))
                self.running_var.mul_(1 - m).add_(m * unbiased.to(self.running_var.dtype))
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm by a synchronised one (torch SyncBatchNorm on CUDA, GlobalBatchNorm on CPU)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _convert_global(model)


def _convert_global(module: nn.Module) -> nn.Module:
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        out = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        tensors = list(module.state_dict().values())
        if tensors:
            out.to(tensors[0].device)
        out.load_state_dict(module.state_dict())
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, _convert_global(child))
    return out


def wrap_ddp(model: nn.Module, env: DistEnv) -> nn.Module:
    """``DistributedDataParallel`` with ``find_unused_parameters=True`` (sparse experts, see the module doc)."""
    if not env.distributed:
        return model
    ids = [env.device.index] if env.device.type == "cuda" else None
    return DDP(model, device_ids=ids, find_unused_parameters=True)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """In-place sum over processes (no-op in a single process); returns ``t``."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


def broadcast_object(obj, src: int = 0):
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj) -> list:
    """Every process's ``obj`` on every process (a one-element list in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
