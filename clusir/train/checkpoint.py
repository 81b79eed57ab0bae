"""Checkpoints: atomic writes, ``last``/``best``, ``weights_only=True`` loads, every RNG state.

A training checkpoint is nanoGPT's dict, completed so that a resumed run continues *bit for bit*::

    {"format": "clusir-train/1", "model", "optimizer", "scheduler", "scaler", "step", "epoch",
     "data_position": {"epoch", "batch"}, "best_metric", "config", "model_config", "rng": [per rank],
     "world_size", "clusir_version", "torch_version"}

Everything in it is a tensor or plain Python data (dicts, lists, tuples, numbers, strings), so
``torch.load(path, weights_only=True)`` reads it without executing pickled code. A released (teaching)
checkpoint keeps only ``model`` (optionally in float16), ``config``, ``model_config`` and ``metrics``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clusir.model import build_model, config_from_dict

__all__ = [
    "CheckpointError",
    "atomic_save",
    "load_checkpoint",
    "strip_prefixes",
    "unwrap_model",
    "rng_state",
    "set_rng_state",
    "sha256_file",
    "export_release",
    "load_model",
]

FORMAT = "clusir-train/1"
RELEASE_FORMAT = "clusir-release/1"


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``.

    A process killed mid-write (SIGKILL, a Colab disconnect) leaves the previous file intact: readers see the
    old checkpoint or the new one, never half of one. ``os.replace`` is atomic on POSIX and Windows when source
    and target are on the same file system, hence the temporary file next to the target.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())          # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class CheckpointError(ValueError):
    """A file that is not a readable clusir checkpoint (one line naming the file and what is wrong)."""


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code from the file).

    A corrupt, truncated or foreign file raises :class:`CheckpointError` naming the file; torch's own
    message (which suggests ``weights_only=False``, unsafe for a file of unknown origin) is not passed on."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        why = ("it stores Python objects other than tensors and plain containers, which clusir refuses to load "
               "because unpickling them could run code from the file" if "Weights only load failed" in str(exc)
               else "not a PyTorch checkpoint (corrupt, or another file format)")
        raise CheckpointError(f"{path}: {why}") from None
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, struct.error, ... on bad bytes
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (corrupt or truncated: "
                              f"{str(exc).splitlines()[0][:120]})") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: holds a {type(ckpt).__name__}, not a clusir checkpoint (a dict)")
    return ckpt


def strip_prefixes(state: dict) -> dict:
    """Remove ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes from state-dict keys."""
    out = {}
    for key, value in state.items():
        while key.startswith(("module.", "_orig_mod.")):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside DDP and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def rng_state() -> dict:
    """Every random state of this process: Python, NumPy (legacy global), torch CPU and CUDA.

    NumPy's state is stored as a list of ints so that ``weights_only=True`` accepts it.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state`."""
    random.setstate(_as_tuple(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_release(ckpt: dict, path: str | Path, *, half: bool = True, metrics: dict | None = None) -> Path:
    """Write a small inference-only checkpoint: model weights (float16 if ``half``), configs, metrics.

    Buffers that are not floating point (e.g. BatchNorm's ``num_batches_tracked``) keep their dtype.
    """
    model = {
        k: (v.to(torch.float16) if half and v.is_floating_point() else v).contiguous()
        for k, v in strip_prefixes(ckpt["model"]).items()
    }
    out = {
        "format": RELEASE_FORMAT,
        "model": model,
        "config": ckpt.get("config"),
        "model_config": ckpt.get("model_config"),
        "step": ckpt.get("step"),
        "metrics": metrics or {},
        "clusir_version": ckpt.get("clusir_version"),
    }
    return atomic_save(out, path)


def load_model(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
    """Rebuild the model stored in a training or release checkpoint, in eval mode, weights in ``dtype``.

    Returns ``(model, checkpoint_dict)``. The model is rebuilt from ``model_config`` (a plain dict of
    :class:`clusir.model.ModelConfig` fields) and loaded with ``strict=True``.
    """
    ckpt = load_checkpoint(path, map_location="cpu")
    mcfg = ckpt.get("model_config")
    if not mcfg or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(f"{path}: no model_config/model in the checkpoint (not written by clusir?)")
    try:
        model = build_model(config_from_dict(mcfg))
        state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in strip_prefixes(ckpt["model"]).items()}
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError, AttributeError, KeyError) as exc:
        raise CheckpointError(f"{path}: its weights do not fit the model its config describes "
                              f"({str(exc).splitlines()[0][:160]})") from None
    return model.to(device=device, dtype=dtype).eval(), ckpt

