"""The process the package runs in: where the repository is, which device, how many threads, the seeds.

Package code (trainer, DDP helpers, release, evaluation, benchmarks, data) takes these from here; the
notebook façade :mod:`clusir.book` re-exports them for the chapters. This module imports nothing from
``clusir``, so every part of the package may depend on it without a cycle.
"""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

import numpy as np
import torch

__all__ = ["repo_root", "default_threads", "resolve_device", "seed_everything", "cpu_model"]


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root: ``$CLUSIR_ROOT`` if set, else the nearest folder above ``start`` (default: the
    working directory) that holds ``_toc.yml`` and ``clusir/``. Chapters use it to find ``data/``."""
    env = os.environ.get("CLUSIR_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "_toc.yml").is_file() and (cand / "clusir").is_dir():
            return cand
    # installed without the repository (a wheel): fall back to the package's parent
    return Path(__file__).resolve().parent.parent


def default_threads() -> int:
    """``$CLUSIR_THREADS`` if set, else ``$OMP_NUM_THREADS`` if set, else ``min(2, cpu_count)``: more threads
    than cores makes torch crawl."""
    for var in ("CLUSIR_THREADS", "OMP_NUM_THREADS"):
        env = os.environ.get(var)
        if env:
            try:
                return max(1, int(env))
            except ValueError as exc:
                raise ValueError(f"${var} must be a whole number of threads, got {env!r}") from exc
    return max(1, min(2, os.cpu_count() or 1))


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else CPU. An explicit ``"cuda"`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "DEVICE='cuda' was requested but torch sees no GPU; use DEVICE='auto' or 'cpu' "
            "(on Colab: Runtime > Change runtime type > GPU)"
        )
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
