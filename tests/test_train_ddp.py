"""Distributed training: synchronised BatchNorm on CPU (gloo) and sparse experts under DDP.

The mechanism tests use a toy network with the two features that make ClusIR awkward for DDP — a BatchNorm on
globally pooled features (like the FSB) and per-image top-1 experts (some unused on a rank) — so that they run
in seconds. tests/test_train_ddp_model.py repeats the check with the real network through ``torchrun``.
"""

from __future__ import annotations

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from clusir.train.distributed import GlobalBatchNorm, convert_sync_batchnorm, wrap_ddp, DistEnv

pytestmark = pytest.mark.slow


class ToyMoE(nn.Module):
    """conv → GAP → BatchNorm (FSB-like) → route each image to 1 of 4 experts."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm1d(8)
        self.router = nn.Linear(8, 4)
        self.experts = nn.ModuleList(nn.Conv2d(8, 8, 1) for _ in range(4))
        self.head = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x):
        h = self.stem(x)                                   # (B, 8, H, W)
        z = self.bn(h.mean((2, 3)))                        # (B, 8) batch statistics
        gate = self.router(z).softmax(-1)                  # (B, 4)
        w, idx = gate.max(-1)
        out = torch.zeros_like(h)
        for e, expert in enumerate(self.experts):
            rows = (idx == e).nonzero(as_tuple=True)[0]
            if rows.numel():
                out[rows] += w[rows, None, None, None] * expert(h[rows])
        return self.head(h + out * z[:, :, None, None])


def _data(steps=4, batch=4):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(steps, batch, 3, 8, 8, generator=g)
    # make images differ a lot so that routing differs within a batch
    x = x * torch.linspace(0.2, 3.0, batch)[None, :, None, None, None]
    return x, x.flip(-1) * 0.5


def _run(rank: int, world: int, init: str, out: str, steps: int):
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.manual_seed(0)
    model = ToyMoE()
    if world > 1:
        model = convert_sync_batchnorm(model, torch.device("cpu"))
    net = wrap_ddp(model, DistEnv(rank=rank, world_size=world))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xs, ys = _data(steps)
    b = xs.shape[1] // world
    used = []
    for s in range(steps):
        x, y = xs[s, rank * b:(rank + 1) * b], ys[s, rank * b:(rank + 1) * b]
        loss = (net(x) - y).abs().mean()
        loss.backward()
        used.append([p.grad is not None for p in model.experts.parameters()])
        opt.step()
        opt.zero_grad(set_to_none=True)
    if rank == 0:
        torch.save({"state": model.state_dict(), "used": used}, out)
    if world > 1:
        dist.destroy_process_group()


def _launch(world: int, tmp: str, steps: int = 4) -> dict:
    out = os.path.join(tmp, f"w{world}.pt")
    if world == 1:
        _run(0, 1, "", out, steps)
    else:
        init = "file://" + os.path.join(tmp, "store")
        mp.spawn(_run, args=(world, init, out, steps), nprocs=world, join=True)
    return torch.load(out, weights_only=True)


def test_ddp_two_gloo_processes_equal_one_process_toy_moe():
    with tempfile.TemporaryDirectory() as tmp:
        one = _launch(1, tmp)
        two = _launch(2, tmp)
    for k, v in one["state"].items():
        torch.testing.assert_close(two["state"][k], v, rtol=1e-4, atol=1e-5, msg=f"parameter {k} differs")
    assert not all(all(u) for u in one["used"]), "toy data should leave some experts unused"


def _bn_worker(rank, world, init, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.manual_seed(0)
    x = torch.randn(6, 5, 3, 3, dtype=torch.float64) * 2 + 1
    bn = GlobalBatchNorm(5).double()
    xs = x[rank * 3:(rank + 1) * 3].clone().requires_grad_()
    y = bn(xs)
    (y * torch.arange(5.0, dtype=torch.float64)[None, :, None, None]).square().sum().backward()
    # DDP would average parameter grads; do it by hand here
    for p in bn.parameters():
        dist.all_reduce(p.grad)
    gx = [torch.zeros_like(xs) for _ in range(world)]
    dist.all_gather(gx, xs.grad)
    ys = [torch.zeros_like(y) for _ in range(world)]
    dist.all_gather(ys, y.detach())
    if rank == 0:
        torch.save({"y": torch.cat(ys), "gx": torch.cat(gx), "gw": bn.weight.grad, "gb": bn.bias.grad,
                    "rm": bn.running_mean, "rv": bn.running_var}, out)
    dist.destroy_process_group()


def test_global_batchnorm_equals_batchnorm_on_the_whole_batch():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bn.pt")
        mp.spawn(_bn_worker, args=(2, "file://" + os.path.join(tmp, "store"), out), nprocs=2, join=True)
        got = torch.load(out, weights_only=True)
    torch.manual_seed(0)
    x = (torch.randn(6, 5, 3, 3, dtype=torch.float64) * 2 + 1).requires_grad_()
    bn = nn.BatchNorm2d(5).double()
    y = bn(x)
    (y * torch.arange(5.0, dtype=torch.float64)[None, :, None, None]).square().sum().backward()
    torch.testing.assert_close(got["y"], y.detach())
    torch.testing.assert_close(got["gx"], x.grad)
    torch.testing.assert_close(got["gw"], bn.weight.grad)
    torch.testing.assert_close(got["gb"], bn.bias.grad)
    torch.testing.assert_close(got["rm"], bn.running_mean)
    torch.testing.assert_close(got["rv"], bn.running_var)
