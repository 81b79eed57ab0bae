r"""Capacity-matched dense stand-in for a routed block (``moe="dense"``, the controlled Table 4 (a)).

    y = x + GDFN_h(LN(x)),   h = A · h_e

``moe="none"`` (the literal Table 4 (a), "WTB only") removes the experts' capacity along with the routing, so
(a) → (b) mixes "routing" with "size". This block keeps the capacity and drops only the routing: one dense
GDFN whose hidden width ``h`` equals the hidden width an image *activates* in the routed block it replaces,
``A`` experts (``A = K1·K2`` for PCGRM) of hidden width ``h_e = int(expert_expansion · C)`` each. Its
parameters are then A × one expert's (exactly so without bias), i.e. the active expert parameters per image of
PCGRM. The router's own parameters (routing token, prototypes, σ, gate attention, gates: about 5·C² per
stage, 12–14 % of PCGRM's active parameters per block) are not replaced, so the whole network has a few %
fewer parameters than PCGRM's active ones per image (compare ``clusir info --set moe=dense`` with plain
``clusir info``). The stage prompt is the parameter-free GAP of the output, as for :class:`UnroutedBlock`.
Book: chapter 09 (ablations).
"""

from __future__ import annotations

from torch import Tensor, nn

from clusir.model.common import GDFN, LayerNorm2d
from clusir.model.routing import RoutedOutput, unrouted_output


class DenseBlock(nn.Module):
    r"""``x + GDFN(LN(x))`` with the hidden width of ``active_experts`` experts, no routing.

    Args: dim C, active_experts A (experts an image runs in the replaced block), expert_expansion (GDFN width
    of one expert), bias (convs).
    Shapes: x (B, C, H, W) -> RoutedOutput(x (B, C, H, W), routing None, stage_prompt (B, C), tokens (B, 1, C))
    """

    def __init__(self, dim: int, active_experts: int, expert_expansion: float = 2.7, bias: bool = False) -> None:
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.ffn = GDFN(dim, bias=bias, hidden=active_experts * int(dim * expert_expansion))

    def forward(self, x: Tensor, return_affinity: bool = False) -> RoutedOutput:
        return unrouted_output(x + self.ffn(self.norm(x)))                      # (B, C, H, W), GAP stage prompt
