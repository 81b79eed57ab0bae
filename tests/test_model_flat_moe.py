"""Flat MoE, Eqs. (1)–(2) (clusir.model.flat_moe)."""

import torch
import torch.nn.functional as F

from clusir.model.flat_moe import FlatMoE, FlatRouter


def test_eq1_router_rows_sum_to_one_and_topk_is_renormalised():
    router = FlatRouter(dim=8, num_experts=6, top_k=2)
    p, index, weight = router(torch.randn(5, 8))
    torch.testing.assert_close(p.sum(-1), torch.ones(5))
    torch.testing.assert_close(weight.sum(-1), torch.ones(5))
    torch.testing.assert_close(weight, p.gather(-1, index) / p.gather(-1, index).sum(-1, keepdim=True))


def test_eq2_dense_flat_moe_equals_the_weighted_sum_of_all_experts():
    torch.manual_seed(0)
    moe = FlatMoE(dim=8, num_experts=4, top_k=4).double().eval()
    x = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    out = moe(x)
    u = moe.norm(x)
    p = out.routing.posterior                                                   # (B, M) Eq. (1)
    ref = x + sum(p[:, e, None, None, None] * moe.experts[e](u) for e in range(4))
    torch.testing.assert_close(out.x, ref)


def test_one_expert_gives_that_expert():
    moe = FlatMoE(dim=8, num_experts=1, top_k=1).eval()
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(moe(x).x, x + moe.experts[0](moe.norm(x)))


def test_routing_record_reads_as_a_single_cluster():
    moe = FlatMoE(dim=8, num_experts=6, top_k=3)
    r = moe(torch.randn(2, 8, 4, 4)).routing
    assert r.posterior.shape == (2, 6) and r.clusters.shape == (2, 1) and r.experts.shape == (2, 1, 3)
    assert torch.equal(r.cluster_weights, torch.ones(2, 1)) and r.affinity is None


def test_both_routers_read_the_same_routing_token():
    from clusir.model.pcgrm import PCGRMMoE
    from clusir.model.routing import RoutingToken

    flat = FlatMoE(dim=8, num_experts=4, top_k=2)
    pcgrm = PCGRMMoE(dim=8, prototypes=2, k1=1, experts_per_cluster=2, k2=2)
    assert type(flat.token) is RoutingToken and type(pcgrm.token) is RoutingToken
    tok = flat.token.double()
    u = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    lin, norm = tok[0], tok[1]                                                  # keys token.0.*, token.1.*
    ref = F.layer_norm(F.linear(u.mean((2, 3)), lin.weight, lin.bias), (8,), norm.weight, norm.bias)
    torch.testing.assert_close(tok(u), ref)                                     # z = LN(Linear(GAP(u)))
    flat.double()
    r = flat(u).routing
    torch.testing.assert_close(r.routing_token, tok(flat.norm(u)))               # from the pre-norm features
    assert r.degradation_prompt is None                                          # no Eq. (7) in a flat router
