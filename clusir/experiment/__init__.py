"""Experiments as data: sweeps of named variants × seeds at a fixed budget, and paired reports.

``configs/experiments/NAME.yaml`` → :func:`load_spec`; :func:`run_sweep` trains and scores every run not done
yet (resumable, ``jobs`` processes side by side); :func:`build_report` reads the committed result files and
compares each variant with the reference, image by image (``clusir experiment list|run|report``).
"""

from clusir.experiment.report import build_report, format_markdown, load_results
from clusir.experiment.runner import SweepError, planned_runs, run_sweep
from clusir.experiment.spec import (
    Budget,
    ExperimentSpec,
    Variant,
    list_specs,
    load_spec,
    resolve_config,
    spec_from_dict,
    spec_to_dict,
)
from clusir.experiment.stats import PairedDifference, paired_arrays, paired_difference

__all__ = [
    "Budget", "ExperimentSpec", "Variant", "list_specs", "load_spec", "resolve_config", "spec_from_dict",
    "spec_to_dict", "run_sweep", "planned_runs", "SweepError", "build_report", "format_markdown",
    "load_results", "PairedDifference", "paired_arrays", "paired_difference",
]
