"""The notebook facade: everything a chapter needs beyond the model API.

Every chapter has a ``parameters`` cell with plain values (papermill injects overrides after it) and then one
setup cell::

    cfg = clusir.book.setup(QUICK, DEVICE, SEED, quick=dict(steps=40), full=dict(steps=4000))

:func:`setup` resolves the profile (``quick`` = offline, CPU, minutes; ``full`` = the GPU recipe), picks the
device, seeds every generator, fixes the torch thread count, detects Colab, and returns a :class:`BookConfig`
whose attributes hold the derived settings of the chosen profile. Derived values never live in the
parameters cell, because papermill does not recompute them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import clusir
from clusir.bookshow import configure_figures
from clusir.runtime import default_threads, repo_root, resolve_device, seed_everything

__all__ = [
    "REPOSITORY_URL", "BookConfig", "setup", "on_colab", "colab_install_source",
    # re-exported from clusir.runtime for the chapters
    "repo_root", "default_threads", "resolve_device", "seed_everything",
]

#: Where the book's repository lives. The Colab install cell of every chapter and the launch buttons in
#: `_config.yml` must agree with this (tests/test_notebooks.py checks both).
REPOSITORY_URL = "https://github.com/clusir-book/clusir-book"


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


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
    cfg = BookConfig(
        quick=QUICK,
        device=device,
        seed=int(SEED),
        threads=threads,
        colab=on_colab(),
        root=repo_root(),
        settings=quick if QUICK else full,
    )
    if verbose:
        print(
            f"clusir {clusir.__version__} | torch {torch.__version__} | profile {cfg.profile} | "
            f"device {device} | threads {threads} | seed {cfg.seed}" + (" | Colab" if cfg.colab else "")
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
