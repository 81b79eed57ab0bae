"""``clusir bench --dispatch`` figures: the three implementations do equal FLOPs and every figure is filled."""

from __future__ import annotations

import pytest

from clusir.bench_dispatch import bench_dispatch, markdown_dispatch


def test_dispatch_bench_nano_stage_figures():
    r = bench_dispatch("nano", 1, batch=3, crop=16, steps=1, warmup=0, threads=1)
    assert (r["side"], r["chosen"], r["batch"]) == (8, 4, 3)
    assert r["sparse_gflop_fwd"] == pytest.approx(r["dense_gflop_fwd"], rel=1e-6)
    assert r["batched_gflop_fwd"] == pytest.approx(r["dense_gflop_fwd"], rel=1e-6)
    for kind in ("sparse", "batched", "dense"):
        assert r[f"{kind}_ms"] > 0 and r[f"{kind}_cpu_ms"] > 0
    assert r["sparse_over_dense"] == pytest.approx(r["sparse_cpu_ms"] / r["dense_cpu_ms"])
    assert r["sparse_calls"] > 0 and r["sparse_compute_ms"] > 0
    md = markdown_dispatch([r], "clusir bench --dispatch --presets nano")
    assert "Command: `clusir bench --dispatch --presets nano`" in md and "| nano | 1 | 3 × " in md
