"""A resumable, distributed batch sampler: the data position is a pure function of (seed, epoch, batch).

Epoch ``e`` shuffles ``range(n)`` with a generator seeded by ``(seed, e)``; global batch ``b`` is the slice
``perm[b·G : (b+1)·G]`` and process ``r`` of ``W`` takes its ``r``-th contiguous part of size ``G / W``. Hence

* the union of the processes' batches is exactly the single-process batch (the DDP test relies on it), and
* resuming at optimiser step ``s`` only needs ``epoch = s // steps_per_epoch``, ``batch = s % steps_per_epoch``:
  no sampler state to save, nothing consumed from the global RNG (torch's ``DistributedSampler`` would need
  ``set_epoch`` *and* a way to skip the batches already seen).

With ``fresh_every_epoch`` the indices of epoch ``e`` are offset by ``e·n``: datasets whose items are a
deterministic function of the index (``clusir.data.TrainPairs``) then draw new crops, flips and degradations
every epoch instead of replaying epoch 0.
"""

from __future__ import annotations

import torch
from torch.utils.data import Sampler

__all__ = ["EpochBatchSampler"]


class EpochBatchSampler(Sampler[list[int]]):
    """Yields this process's index lists, one per global batch, from batch ``start`` of epoch ``epoch``."""

    def __init__(self, n: int, global_batch: int, *, rank: int = 0, world_size: int = 1, seed: int = 0,
                 shuffle: bool = True, fresh_every_epoch: bool = False):
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} is not divisible by {world_size} processes")
        if n < global_batch:
            raise ValueError(f"dataset has {n} samples, fewer than one global batch of {global_batch}")
        self.n, self.global_batch, self.rank, self.world = n, global_batch, rank, world_size
        self.local_batch = global_batch // world_size
        self.seed, self.shuffle, self.fresh = seed, shuffle, fresh_every_epoch
        self.epoch, self.start = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.global_batch           # the last incomplete batch is dropped

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select epoch ``epoch`` and skip its first ``start`` global batches (resume)."""
        self.epoch, self.start = epoch, start

    def permutation(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch - self.start)

    def __iter__(self):
        perm = self.permutation(self.epoch)
        offset = self.epoch * self.n if self.fresh else 0
        for b in range(self.start, self.batches_per_epoch):
            lo = b * self.global_batch + self.rank * self.local_batch
            yield (perm[lo:lo + self.local_batch] + offset).tolist()
