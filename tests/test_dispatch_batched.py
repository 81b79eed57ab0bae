"""``routing.dispatch_batched`` against the sub-batch ``routing.dispatch``: same sum of Eq. (3) and same
gradients in float64, for expert GDFNs with and without bias, and routing that leaves experts unselected."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clusir.model.common import GDFN
from clusir.model.routing import dispatch, dispatch_batched


def _case(bias: bool, seed: int = 0, B: int = 5, C: int = 6, HW: tuple = (7, 9), M: int = 8, J: int = 3):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    experts = nn.ModuleList(GDFN(C, 2.7, bias) for _ in range(M)).double()
    if bias:                                   # conv biases start at small random values; make them matter
        for e in experts:
            for m in (e.project_in, e.dwconv, e.project_out):
                nn.init.normal_(m.bias, std=0.5)
    u = torch.randn(B, C, *HW, generator=g, dtype=torch.float64, requires_grad=True)
    # J distinct experts per image (as top-k picks them), drawn from the first M - 2: two never run
    index = torch.stack([torch.randperm(M - 2, generator=g)[:J] for _ in range(B)])       # (B, J)
    weight = torch.rand(B, J, generator=g, dtype=torch.float64).softmax(-1).requires_grad_()
    return experts, u, index, weight


@pytest.mark.parametrize("bias", [False, True])
def test_batched_dispatch_equals_sub_batch_dispatch_in_float64(bias):
    experts, u, index, weight = _case(bias)
    cot = torch.randn(u.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    grads = []
    for fn in (dispatch, dispatch_batched):
        experts.zero_grad(set_to_none=True)
        u.grad = weight.grad = None
        y = fn(experts, u, index, weight)
        (y * cot).sum().backward()
        grads.append((y.detach(), u.grad.clone(), weight.grad.clone(),
                      [[None if p.grad is None else p.grad.clone() for p in e.parameters()] for e in experts]))
    (y0, gu0, gw0, ge0), (y1, gu1, gw1, ge1) = grads
    assert y0.dtype == y1.dtype == torch.float64 and y0.shape == y1.shape == u.shape
    torch.testing.assert_close(y1, y0, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gu1, gu0, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw1, gw0, rtol=1e-12, atol=1e-12)
    chosen = set(index.flatten().tolist())
    for e, (p0, p1) in enumerate(zip(ge0, ge1)):
        for a, b in zip(p0, p1):
            if e in chosen:
                torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
            else:                              # the documented difference: zero instead of no gradient
                assert a is None and b is not None and not b.any()
    assert len(chosen) < len(experts)          # the case really has unselected experts


def test_batched_dispatch_inside_a_pcgrm_block_matches():
    """A real PCGRM block's routing (top-K1 clusters × top-K2 experts, global ids) through both dispatches."""
    from clusir.model.pcgrm import PCGRMMoE

    torch.manual_seed(0)
    block = PCGRMMoE(8, prototypes=3, k1=2, experts_per_cluster=3, k2=2).double().eval()
    x = torch.randn(4, 8, 6, 6, dtype=torch.float64)
    out = block(x)
    u = block.norm(x)
    index = out.routing.experts.flatten(1)                                             # (B, K1·K2)
    weight = (out.routing.cluster_weights.unsqueeze(-1) * out.routing.expert_weights).flatten(1)
    torch.testing.assert_close(dispatch_batched(block.experts, u, index, weight),
                               dispatch(block.experts, u, index, weight), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x + dispatch_batched(block.experts, u, index, weight), out.x, rtol=1e-12, atol=1e-12)
