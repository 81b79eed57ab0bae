"""SIGKILL mid-epoch, resume, and end with bit-identical weights (CPU, deterministic mode, nano model).

The run is the real command (`python -m clusir train`) in a subprocess on MiniAIO with tiny crops; it is killed
with SIGKILL as soon as its log shows a few steps (mid-epoch, possibly mid-checkpoint-write), resumed with
``--resume``, and compared with an uninterrupted run of the same config: model weights and Adam moments equal
bit for bit. Everything the resumed run needs comes from ``last.pt``: weights, optimiser, scheduler, grad
scaler, every RNG state, and the step from which the sampler recomputes the data position.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from clusir.train.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STEPS_PER_EPOCH = 6
SETTINGS = ["model=nano", "model.prompt_noise=true", "data.setting=nhr", "data.crop=48",
            f"data.samples_per_epoch={2 * STEPS_PER_EPOCH}", "batch_size=2", "epochs=2", "lr=1e-3",
            "deterministic=true", "threads=1", "save_every=1", "log_every=1", "data.val_split=null",
            "progress=false"]


def _cmd(run_dir: Path, resume: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "clusir", "train", "--set", *SETTINGS, f"run_dir={str(run_dir)!r}", "name=resume_test"]
    return cmd + (["--resume"] if resume else [])


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def _logged_step(run_dir: Path) -> int:
    log = run_dir / "log.jsonl"
    if not log.exists():
        return 0
    steps = [json.loads(line).get("step", 0) for line in log.read_text().splitlines() if '"train"' in line]
    return max(steps, default=0)


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_cmd(ref_dir), cwd=ROOT, env=_env(), check=True, capture_output=True, timeout=300)

    proc = subprocess.Popen(_cmd(run_dir), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _logged_step(run_dir) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    killed_at = load_checkpoint(run_dir / "last.pt")["step"]
    assert 1 <= killed_at < 2 * STEPS_PER_EPOCH, killed_at

    out = subprocess.run(_cmd(run_dir, resume=True), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]

    ref, got = load_checkpoint(ref_dir / "last.pt"), load_checkpoint(run_dir / "last.pt")
    assert got["step"] == ref["step"] == 2 * STEPS_PER_EPOCH
    for k, v in ref["model"].items():
        assert torch.equal(got["model"][k], v), f"{k} differs after resume (killed at step {killed_at})"
    for i, st in ref["optimizer"]["state"].items():
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(got["optimizer"]["state"][i][name], st[name])
    events = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if '"event"' in line]
    assert any(e["message"] == "resume" and e["step"] == killed_at for e in events)
    print(f"killed at step {killed_at} (epoch 1, batch {killed_at % STEPS_PER_EPOCH}); resumed to step {got['step']}")
