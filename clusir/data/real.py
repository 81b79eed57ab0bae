"""The real data sets of the ClusIR paper, in the folder layouts their users already have.

This module gathers the public names of three modules, one concept each:

* ``clusir.data.layouts``: the registry ``DATASETS`` (what each data set is and where it can sit on disk),
  ``find(key, root)``, ``Pair``, ``Found``;
* ``clusir.data.check``: ``check_tree(setting, root)`` and ``CheckReport`` (what is wrong with a tree, and how
  to fix it), ``SETTING_DATASETS``;
* ``clusir.data.loaders``: ``RealTestSet``, ``RealTrainPairs`` and ``pairs(key, root)``.

The expansion ratios and samples per epoch are in ``clusir.data.recipe``. Where each data set is downloaded
from is in ``data/README.md`` and in ``DATASETS``.
"""

from __future__ import annotations

from clusir.data.check import SETTING_DATASETS, CheckReport, check_miniaio, check_tree
from clusir.data.degradations import CDD11_TYPES
from clusir.data.io import IMAGE_EXTENSIONS
from clusir.data.layouts import DATASETS, DatasetInfo, Found, Layout, Pair, find, looked_for, register
from clusir.data.loaders import RealTestSet, RealTrainPairs, pairs

__all__ = ["DATASETS", "SETTING_DATASETS", "CDD11_TYPES", "CheckReport", "DatasetInfo", "Found", "Layout", "Pair",
           "RealTestSet", "RealTrainPairs", "check_miniaio", "check_tree", "find", "looked_for", "pairs",
           "register", "IMAGE_EXTENSIONS"]
