"""clusir experiment: specs round-trip, a sweep killed and resumed equals an uninterrupted one, the report's
paired interval on hand-made numbers, and the committed specs and results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from clusir.experiment import (
    build_report,
    format_markdown,
    list_specs,
    load_spec,
    paired_arrays,
    paired_difference,
    planned_runs,
    resolve_config,
    run_sweep,
    spec_from_dict,
    spec_to_dict,
)
from clusir.experiment.record import measured, result_path
from clusir.train.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]

MINI = {
    "name": "mini",
    "title": "two variants, two seeds, a few steps",
    "base_config": "configs/miniaio/nhr_nano.yaml",
    "budget": {"steps": 6, "batch_size": 2, "crop": 32, "val_limit": 1, "test_limit": 2, "save_every": 2},
    "seeds": [0, 1],
    "train": {"data": {"setting": "denoise25", "mix": "uniform"}, "warmup_steps": 2},
    "reference": "full",
    "variants": [
        {"name": "full", "label": "the nano model"},
        {"name": "wtb", "label": "no experts", "model": {"moe": "none", "dafmm": False},
         "paper": {"avg": [32.68, 0.922]}},
    ],
}


def _write_spec(tmp_path: Path) -> Path:
    p = tmp_path / "mini.yaml"
    p.write_text(yaml.safe_dump(MINI, sort_keys=False))
    return p


def test_spec_yaml_round_trip(tmp_path):
    spec = load_spec(_write_spec(tmp_path))
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(spec_to_dict(spec), sort_keys=False))
    assert load_spec(again) == spec
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert spec.variant("wtb").paper["avg"] == [32.68, 0.922]


def test_spec_errors_name_the_file_and_key(tmp_path):
    bad = dict(MINI, budgt={"steps": 3})
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=r"bad\.yaml.*budgt"):
        load_spec(p)
    with pytest.raises(ConfigError, match="reference"):
        spec_from_dict(dict(MINI, reference="nope"))
    with pytest.raises(ConfigError, match="unknown ablation"):
        resolve_config(spec_from_dict(dict(MINI, variants=[{"name": "full", "ablation": "nope"}])), "full", 0,
                       runs_dir=tmp_path)


def test_budget_is_one_epoch_of_steps_times_batch(tmp_path):
    spec = load_spec(_write_spec(tmp_path))
    cfg = resolve_config(spec, "wtb", 1, runs_dir=tmp_path / "runs")
    assert (cfg.epochs, cfg.batch_size, cfg.data.samples_per_epoch, cfg.data.crop) == (1, 2, 12, 32)
    assert cfg.seed == 1 and cfg.eval_every == 0 and cfg.deterministic
    assert cfg.run_path == tmp_path / "runs" / "mini" / "wtb" / "seed1"


def test_committed_specs_load_and_resolve(tmp_path):
    names = list_specs(ROOT)
    assert {"table4", "table5", "table8", "table9", "routing"} <= set(names)
    for name in names:
        spec = load_spec(name, ROOT)
        for v, s in planned_runs(spec):
            resolve_config(spec, v, s, runs_dir=tmp_path)
        # a shared variant is the very run it points to: same resolved config
        for v in spec.variants:
            if v.same_as:
                exp, var = v.same_as.split("/")
                other = load_spec(exp, ROOT)
                assert var in [w.name for w in other.variants]
                assert min(spec.seeds) in other.seeds


def _kill_when_checkpointed(cmd: list[str], runs: Path, timeout: float = 300) -> None:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    try:
        while time.time() - t0 < timeout:
            if any(runs.rglob("last.pt")):
                break
            if proc.poll() is not None:
                raise AssertionError("the sweep ended before it could be killed")
            time.sleep(0.05)
        else:
            raise AssertionError("no checkpoint appeared")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)                  # the sweep and every training process it started
        proc.wait()


@pytest.mark.slow
def test_killed_and_resumed_sweep_equals_uninterrupted(tmp_path):
    spec_file = _write_spec(tmp_path)
    spec = load_spec(spec_file)
    a_res, a_runs = tmp_path / "a" / "results", tmp_path / "a" / "runs"
    run_sweep(spec, jobs=2, results_dir=a_res, runs_dir=a_runs, poll=0.2, log=lambda *_: None)

    b_res, b_runs = tmp_path / "b" / "results", tmp_path / "b" / "runs"
    code = ("import sys; from pathlib import Path; from clusir.experiment import run_sweep, load_spec; "
            f"run_sweep(load_spec({str(spec_file)!r}), jobs=2, results_dir=Path({str(b_res)!r}), "
            f"runs_dir=Path({str(b_runs)!r}), poll=0.2)")
    _kill_when_checkpointed([sys.executable, "-c", code], b_runs)
    assert not all(result_path(b_res, "mini", v, s).exists() for v, s in planned_runs(spec))
    run_sweep(spec, jobs=2, results_dir=b_res, runs_dir=b_runs, poll=0.2, log=lambda *_: None)

    resumed = 0
    for v, s in planned_runs(spec):
        a = json.loads(result_path(a_res, "mini", v, s).read_text())
        b = json.loads(result_path(b_res, "mini", v, s).read_text())
        assert measured(a) == measured(b), f"{v} seed{s} differs after kill + resume"
        resumed += b["train"]["resumes"]
        assert a["test"]["tasks"]["noise25"]["per_image_psnr"] and a["git_commit"] and a["hardware"]["cpu"]
    assert resumed >= 1, "no run was resumed: the kill came too late to test anything"

    # idempotent: a finished sweep starts nothing
    lines = []
    run_sweep(spec, jobs=2, results_dir=b_res, runs_dir=b_runs, poll=0.2, log=lines.append)
    assert "0 to run" in lines[0]
    report = build_report(spec, results_dir=b_res)
    assert [r["name"] for r in report["variants"]] == ["full", "wtb"] and report["complete"]
    assert report["variants"][1]["vs_reference"]["seeds"] == 2
    assert "paper avg (as reported)" in format_markdown(report)
    # editing a variant after it ran makes its results stale, and the report says so
    edited = spec_from_dict(dict(MINI, variants=[MINI["variants"][0], dict(MINI["variants"][1], model={"moe": "none"})]))
    stale = build_report(edited, results_dir=b_res)
    assert stale["variants"][1]["stale_seeds"] == [0, 1] and not stale["complete"]
    assert "STALE" in format_markdown(stale)


def _fake(seeds_tasks: dict[int, dict[str, list[float]]]) -> dict[int, dict]:
    return {s: {"test": {"tasks": {t: {"images": [f"im{i}" for i in range(len(v))], "per_image_psnr": v}
                                   for t, v in tasks.items()}}} for s, tasks in seeds_tasks.items()}


def test_paired_interval_of_a_constant_shift_is_that_shift():
    ref = _fake({0: {"a": [30.0, 31.0], "b": [20.0, 22.0, 24.0, 26.0]}, 1: {"a": [29.0, 33.0], "b": [21.0] * 4}})
    var = _fake({s: {t: [x + 0.5 for x in v] for t, v in tasks.items()}
                 for s, tasks in {0: {"a": [30.0, 31.0], "b": [20.0, 22.0, 24.0, 26.0]},
                                  1: {"a": [29.0, 33.0], "b": [21.0] * 4}}.items()})
    d = paired_difference(paired_arrays(var, ref))
    assert d.mean == pytest.approx(0.5) and d.low == pytest.approx(0.5) and d.high == pytest.approx(0.5)
    assert d.resolved and d.verdict() == "better" and d.seeds == 2 and d.images == {"a": 2, "b": 4}


def test_paired_interval_averages_tasks_not_images_and_sees_seed_spread():
    # task a: +1 dB on its 2 images; task b: 0 on its 4 images -> the paper's avg is 0.5, not 1/3
    ref = _fake({0: {"a": [30.0, 30.0], "b": [20.0] * 4}})
    var = _fake({0: {"a": [31.0, 31.0], "b": [20.0] * 4}})
    assert paired_difference(paired_arrays(var, ref)).mean == pytest.approx(0.5)
    # seed 0 gains 1 dB everywhere, seed 1 loses 1 dB: the interval spans both, so not resolved
    ref = _fake({0: {"a": [30.0] * 3}, 1: {"a": [30.0] * 3}})
    var = _fake({0: {"a": [31.0] * 3}, 1: {"a": [29.0] * 3}})
    d = paired_difference(paired_arrays(var, ref), n_boot=2000)
    assert d.mean == pytest.approx(0.0)
    assert d.low == pytest.approx(-1.0) and d.high == pytest.approx(1.0)
    assert not d.resolved and "not resolved at this scale (2 seeds × 3 images" in d.verdict()


def test_paired_arrays_refuse_mismatched_images():
    ref = _fake({0: {"a": [30.0, 30.0]}})
    var = {0: {"test": {"tasks": {"a": {"images": ["im0", "other"], "per_image_psnr": [1.0, 2.0]}}}}}
    with pytest.raises(ValueError, match="different images"):
        paired_arrays(var, ref)
    with pytest.raises(ValueError, match="no seed"):
        paired_arrays(_fake({1: {"a": [1.0]}}), ref)


def test_bootstrap_is_deterministic():
    diffs = {"a": np.arange(6.0).reshape(2, 3)}
    assert paired_difference(diffs, seed=3) == paired_difference(diffs, seed=3)


COMMITTED = {"table4": 3, "table5": 2, "table8": 2, "table9": 2, "routing": 2}


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_results_report_every_variant(name):
    """The bar of the experiments issue: the report works on the committed results alone, every variant has
    its seeds, and every result file says what produced it."""
    spec = load_spec(name, ROOT)
    assert len(spec.seeds) >= COMMITTED[name]
    report = build_report(spec, results_dir=ROOT / "results")
    assert report["complete"], format_markdown(report)
    for row in report["variants"]:
        assert len(row["seeds"]) >= COMMITTED[name] and not row["stale_seeds"], row["name"]
        if row["name"] != spec.reference:
            assert set(row["vs_reference"]["ci95"]) and row["vs_reference"]["seeds"] >= COMMITTED[name]
    for f in (ROOT / "results" / name).rglob("seed*.json"):
        r = json.loads(f.read_text())
        assert r["config"] and r["model_config"] and r["git_commit"] and r["hardware"]["cpu"], f
        assert all(len(t["per_image_psnr"]) == len(t["images"]) > 0 for t in r["test"]["tasks"].values()), f
    json.dumps(report)                                  # the --json output is plain data


def test_anyir_compute_matched_steps_equal_training_flops():
    from clusir.model import build_model
    from clusir.model.info import count_macs

    spec = load_spec("anyir_vs_clusir", ROOT)
    crop, steps = spec.budget.crop, spec.budget.steps
    ratio = count_macs(build_model("nano"), size=crop) / count_macs(build_model("anyir_nano"), size=crop)
    assert spec.variant("anyir_nano_flops").steps == round(steps * ratio)
