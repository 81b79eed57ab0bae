"""``torch.compile`` on the real model (CPU inductor): a compiled training step matches eager.

Slow (one cold compile, about 1-2 minutes on 2 cores). Found by this test's first version: with torch's
default automatic dynamic shapes the compile fails inside inductor, hence ``compile_model``'s static shapes."""

from __future__ import annotations

import copy

import pytest
import torch

from clusir.model import build_model
from clusir.train.trainer import compile_model


@pytest.mark.slow
def test_compiled_training_step_matches_eager(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a cold, private cache
    torch.manual_seed(0)
    eager = build_model("nano", prompt_noise=False).train()  # no sampling: eager and compiled see the same graph
    compiled_src = copy.deepcopy(eager)
    x = torch.rand(2, 3, 32, 32)
    target = (x * 0.8 + 0.1).detach()

    def step(net, params_of):
        out = net(x)
        loss = (out.image - target).abs().mean() + out.aux_loss
        loss.backward()
        return loss.detach(), {n: p.grad for n, p in params_of.named_parameters()}

    loss_e, grads_e = step(eager, eager)
    loss_c, grads_c = step(compile_model(compiled_src), compiled_src)
    assert torch.allclose(loss_c, loss_e, rtol=1e-4, atol=1e-6), (loss_c.item(), loss_e.item())
    assert {n for n, g in grads_e.items() if g is not None} == {n for n, g in grads_c.items() if g is not None}
    for n, g in grads_e.items():
        if g is not None:
            assert torch.allclose(grads_c[n], g, rtol=1e-3, atol=1e-5), n
