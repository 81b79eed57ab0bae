"""The notebook facade: everything a chapter needs beyond the model API.

Every chapter has a ``parameters`` cell with plain values (papermill injects overrides after it) and then one
setup cell::

    cfg = clusir.book.setup(QUICK, DEVICE, SEED, quick=dict(steps=40), full=dict(steps=4000))

:func:`setup` resolves the profile (``quick`` = offline, CPU, minutes; ``full`` = the GPU recipe), picks the
device, seeds every generator, fixes the torch thread count, detects Colab, and returns a :class:`BookConfig`
whose attributes hold the derived settings of the chosen profile. Derived values never live in the
parameters cell, because papermill does not recompute them.

The **smoke run** (``CLUSIR_SMOKE=N`` in the environment, N ≥ 1) is the full profile on a CPU in CI: with
``QUICK=False`` every full-profile branch and size is kept, but each count setting (a whole number whose
key ends in ``steps`` or ``per_photo``, :data:`SMOKE_COUNT_SUFFIXES`) is capped at N, so a chapter whose
full profile breaks fails ``make test`` without a GPU (``tests/test_full_profile_smoke.py``). Chapters name
their step and crop counts accordingly. It has no effect on the quick profile.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import clusir
from clusir.bookcheck import set_smoke_run
from clusir.bookshow import configure_figures
from clusir.runtime import default_threads, repo_root, resolve_device, seed_everything

__all__ = [
    "REPOSITORY_URL", "BookConfig", "setup", "on_colab", "colab_install_source",
    "SMOKE_ENV", "SMOKE_COUNT_SUFFIXES", "smoke_cap", "smoke_settings",
    # re-exported from clusir.runtime for the chapters
    "repo_root", "default_threads", "resolve_device", "seed_everything",
]

#: Where the book's repository lives. The Colab install cell of every chapter and the launch buttons in
#: `_config.yml` must agree with this (tests/test_notebooks.py checks both).
REPOSITORY_URL = "https://github.com/clusir-book/clusir-book"


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


SMOKE_ENV = "CLUSIR_SMOKE"
SMOKE_COUNT_SUFFIXES = ("steps", "per_photo")   # training/fit steps, crops drawn per photograph


def smoke_cap() -> int | None:
    """The count cap of the smoke run: ``$CLUSIR_SMOKE`` as a positive whole number, or None when unset/0."""
    env = os.environ.get(SMOKE_ENV, "").strip()
    if env in ("", "0"):
        return None
    try:
        cap = int(env)
    except ValueError as exc:
        raise ValueError(f"${SMOKE_ENV} must be a whole number of steps (0 = off), got {env!r}") from exc
    if cap < 0:
        raise ValueError(f"${SMOKE_ENV} must be ≥ 0, got {cap}")
    return cap or None


def smoke_settings(settings: dict, cap: int) -> dict:
    """``settings`` with every whole-number count (:data:`SMOKE_COUNT_SUFFIXES`) capped at ``cap``."""
    def is_count(k, v):
        return k.endswith(SMOKE_COUNT_SUFFIXES) and isinstance(v, int) and not isinstance(v, bool)

    return {k: min(v, cap) if is_count(k, v) else v for k, v in settings.items()}


@dataclass
class BookConfig:
    """What :func:`setup` derived for a chapter. Profile settings are reachable as attributes."""

    quick: bool
    device: Any
    seed: int
    threads: int
    colab: bool
    root: Path
    settings: dict = field(default_factory=dict)
    smoke: bool = False        # the full profile with its counts capped (CLUSIR_SMOKE)

    @property
    def profile(self) -> str:
        return "quick" if self.quick else "full"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def __getattr__(self, name: str):
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(f"BookConfig has no setting {name!r} (settings: {sorted(settings)})")


def setup(
    QUICK: bool = True,
    DEVICE: str = "auto",
    SEED: int = 0,
    *,
    quick: dict | None = None,
    full: dict | None = None,
    deterministic: bool | None = None,
    verbose: bool = True,
) -> BookConfig:
    """Resolve a chapter's parameters into a :class:`BookConfig`.

    Args:
        QUICK, DEVICE, SEED: the chapter's parameters cell values.
        quick, full: the chapter's derived settings for each profile; keys must agree between the two.
        deterministic: use deterministic algorithms (default: in the quick profile).
    """
    quick = dict(quick or {})
    full = dict(full or {})
    if set(quick) != set(full):
        raise ValueError(f"quick and full profiles must define the same settings: {sorted(quick)} vs {sorted(full)}")
    if not isinstance(QUICK, bool):
        raise TypeError(f"QUICK must be True or False, got {QUICK!r}")
    threads = default_threads()
    torch.set_num_threads(threads)
    device = resolve_device(DEVICE)
    seed_everything(int(SEED))
    if deterministic is None:
        deterministic = QUICK
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    configure_figures()   # retina PNGs, fonts legible at the page width (clusir.bookshow)
    cap = None if QUICK else smoke_cap()
    settings = quick if QUICK else full
    cfg = BookConfig(
        quick=QUICK,
        device=device,
        seed=int(SEED),
        threads=threads,
        colab=on_colab(),
        root=repo_root(),
        settings=settings if cap is None else smoke_settings(settings, cap),
        smoke=cap is not None,
    )
    set_smoke_run(cfg.smoke)        # claims about trained behaviour are not checked in a smoke run
    if verbose:
        print(
            f"clusir {clusir.__version__} | torch {torch.__version__} | profile {cfg.profile} | "
            f"device {device} | threads {threads} | seed {cfg.seed}" + (" | Colab" if cfg.colab else "")
            + (f" | smoke run: counts capped at {cap}" if cap is not None else "")
        )
    return cfg


def colab_install_source(url: str = REPOSITORY_URL) -> str:
    """The text of every chapter's Colab install cell (a no-op outside Colab).

    On Colab it clones the repository (the chapters need ``data/``), installs ``clusir`` with ``--no-deps``
    so that Colab's CUDA torch is kept, adds the few dependencies Colab lacks, and moves into ``book/``.
    """
    return (
        "# Colab only: get the repository (chapters read data/ from it) and install clusir without touching\n"
        "# Colab's own torch. Everywhere else this cell does nothing.\n"
        "import os, subprocess, sys\n"
        "if \"google.colab\" in sys.modules and not os.path.isdir(\"/content/clusir-book\"):\n"
        f"    subprocess.run([\"git\", \"clone\", \"--depth\", \"1\", \"{url}\", \"/content/clusir-book\"], check=True)\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"--no-deps\", \"-e\", \"/content/clusir-book\"], check=True)\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"pywavelets\", \"pytorch-msssim\"], check=True)\n"
        "    sys.path.insert(0, \"/content/clusir-book\")\n"
        "    os.chdir(\"/content/clusir-book/book\")"
    )
