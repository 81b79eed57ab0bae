"""Data for clusir: degradations, the offline MiniAIO benchmark, settings, and loaders for the real data sets.

Public API (stable; the trainer and the book code against it):

* ``SETTINGS``: ``{setting: [task labels]}``, e.g. ``SETTINGS["nhr"] == ["noise15", "noise25", "noise50",
  "haze", "rain"]``.
* ``load_clean(split)``: ``[(name, float32 (H, W, 3) in [0, 1])]`` for ``"train" | "val" | "test" | "ci"``.
* ``TrainPairs(setting, crop=64, split="train", length=None, seed=0, synthetic=False)``: a torch
  ``Dataset`` of ``{"lq", "gt", "task", "name"}`` made on the fly, deterministic in ``(seed, index)``.
* ``test_set(setting, split="test")``: ``[{"name", "task", "lq", "gt", "params"}]``, deterministic and
  verified against ``data/miniaio/test_inputs.json``.
* ``degradations``: the degradation functions and ``degrade(img, task, rng)``.
* ``real``: loaders for BSD400/WED, CBSD68, Kodak24, Urban100, Rain100L, RESIDE-OTS/SOTS, GoPro, LOL-v1,
  CDD-11 in their usual folder layouts (``layouts``: the registry, ``loaders``, ``check``);
  ``check_tree(setting, root)`` validates such a tree (or MiniAIO); ``recipe``: expansion ratios and
  samples per epoch.
* ``io.read_image(path)``: the one image reader, with every conversion documented.

``torch`` is imported only when ``TrainPairs`` or ``test_set`` is used.
"""

from __future__ import annotations

from clusir.data import degradations, io
from clusir.data.settings import SETTING_DESCRIPTIONS, SETTINGS, load_clean

__all__ = ["SETTINGS", "SETTING_DESCRIPTIONS", "load_clean", "TrainPairs", "test_set", "degradations", "io",
           "real", "check_tree", "miniaio"]


def test_set(setting: str, split: str = "test", *, verify: str = "warn", root=None) -> list[dict]:
    from clusir.data.settings import test_set as _test_set

    return _test_set(setting, split, verify=verify, root=root)


test_set.__doc__ = """See ``clusir.data.settings.test_set``."""
test_set.__test__ = False  # not a pytest test when imported into a test module


def check_tree(setting: str, root=None, **kw):
    """Validate a data tree for ``setting`` (``root=None``: MiniAIO). See ``clusir.data.check.check_tree``."""
    from clusir.data.check import check_tree as _check_tree

    return _check_tree(setting, root, **kw)


def __getattr__(name: str):
    if name == "TrainPairs":
        from clusir.data.train import TrainPairs

        return TrainPairs
    if name in ("real", "miniaio", "miniaio_build", "deadleaves", "train", "settings", "layouts", "check",
                "loaders", "recipe"):
        import importlib

        return importlib.import_module(f"clusir.data.{name}")
    raise AttributeError(f"module 'clusir.data' has no attribute {name!r}")
