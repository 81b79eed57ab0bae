"""Released teaching checkpoints (checkpoints/manifest.json): integrity, size, reproducibility of the recorded
MiniAIO test PSNR (within 0.05 dB), and the bar — better than the best classical baseline on every task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusir.train.checkpoint import load_checkpoint, sha256_file

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "checkpoints" / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text())["checkpoints"] if MANIFEST.is_file() else []
IDS = [e["name"] for e in ENTRIES]


def test_manifest_exists_with_an_nhr_nano_checkpoint():
    assert ENTRIES, "checkpoints/manifest.json is missing or empty"
    assert any(e["setting"] == "nhr" and e["model"] == "nano" for e in ENTRIES)
    assert sum(1 for e in ENTRIES if e.get("default")) == 1
    total = sum((ROOT / "checkpoints" / e["file"]).stat().st_size for e in ENTRIES)
    assert total <= 15 * 2**20, f"released checkpoints take {total / 2**20:.1f} MB (> 15 MB)"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_manifest_entry_is_complete_and_hash_matches(entry):
    path = ROOT / "checkpoints" / entry["file"]
    assert sha256_file(path) == entry["sha256"]
    for key in ("config", "model_config", "command", "git_commit", "data_manifests", "metrics", "best_classical"):
        assert entry.get(key), key
    assert entry["command"].startswith("clusir train --config configs/")
    for rel, digest in entry["data_manifests"].items():
        assert sha256_file(ROOT / rel) == digest, f"{rel} changed since {entry['name']} was released"
    ck = load_checkpoint(path)                               # weights_only=True
    assert ck["format"] == "clusir-release/1" and ck["metrics"]["tasks"] == entry["metrics"]["tasks"]


_EVALS: dict[str, dict] = {}


def _evaluate(entry) -> dict:
    """Evaluate a released checkpoint on the MiniAIO test split of its setting (cached per test session)."""
    if entry["name"] not in _EVALS:
        from clusir.evaluate import evaluate_model, load_samples
        from clusir.train.checkpoint import load_model

        model, _ = load_model(ROOT / "checkpoints" / entry["file"])
        _EVALS[entry["name"]] = evaluate_model(model, load_samples(entry["setting"], "test"), ssim=False)
    return _EVALS[entry["name"]]


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_release_reproduces_its_recorded_psnr(entry):
    res = _evaluate(entry)
    assert set(res["tasks"]) == set(entry["metrics"]["tasks"])
    for task, rec in entry["metrics"]["tasks"].items():
        got = res["tasks"][task]["psnr"]
        assert abs(got - rec["psnr"]) <= 0.05, f"{task}: {got:.3f} dB, recorded {rec['psnr']:.3f} dB"


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_release_beats_the_best_classical_baseline_on_every_task(entry):
    from clusir.evaluate import load_baselines

    res = _evaluate(entry)
    base = load_baselines(entry["setting"])
    assert set(base) == set(res["tasks"]), "docs/baselines.json lacks tasks of this setting"
    losing = [t for t in res["tasks"] if res["tasks"][t]["psnr"] <= base[t]["psnr"]]
    assert not losing, "does not beat the best classical baseline on: " + ", ".join(
        f"{t} ({res['tasks'][t]['psnr']:.2f} dB vs {base[t]['method']} {base[t]['psnr']:.2f} dB)" for t in losing)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_markdown_table_has_a_row_per_task_with_the_recorded_margin(entry):
    from clusir.train.release import markdown_table

    rows = markdown_table(entry).splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == list(entry["metrics"]["tasks"])
    for row, (task, m) in zip(rows, entry["metrics"]["tasks"].items()):
        margin = m["psnr"] - entry["best_classical"][task]["psnr"]
        assert row.rstrip(" |").endswith(f"{margin:+.2f} dB")
