r"""The Degradation Adaptation Block (DAB), AnyIR's only block type (anyir.md §3.2).

    x ← x + W_out · Fusion( MDTA′(x_even), GatedDA(x_odd) )   with (x_even, x_odd) = skip_split(LN(x))
    x ← x + GDFN(LN(x))

MDTA′ is Restormer's transposed channel attention (:class:`clusir.model.common.MDTA`) on C/2 channels
*without* its own output projection: AnyIR projects once, after the fusion (1×1, C → C). LayerNorm and GDFN
are the project's shared blocks (Restormer "WithBias" LayerNorm, GDFN with expansion 2).
"""

from __future__ import annotations

from torch import Tensor, nn

from clusir.model.anyir.fusion import SpatialFrequencyFusion, skip_split
from clusir.model.anyir.gated_da import GatedDA
from clusir.model.common import GDFN, MDTA, LayerNorm2d


class ProjectionFreeMDTA(MDTA):
    """:class:`MDTA` whose output projection is the identity. Shapes: (B, h, H, W) -> (B, h, H, W)."""

    def __init__(self, dim: int, heads: int, bias: bool = False) -> None:
        super().__init__(dim, heads, bias)
        self.project_out = nn.Identity()


class DABMixer(nn.Module):
    """Token mixer of a DAB: split → attention ∥ GatedDA → spatial–frequency fusion → 1×1.

    Args:
        dim: C (even).   heads: attention heads on C/2 channels.   gda_expansion, gda_kernel: GatedDA.
        freq_mode: "fft" | "sum" (see :mod:`clusir.model.anyir.fusion`).   bias: conv bias.
    Shapes: (B, C, H, W) -> (B, C, H, W)
    """

    def __init__(self, dim: int, heads: int, gda_expansion: float = 8 / 3, gda_kernel: int = 7,
                 freq_mode: str = "fft", bias: bool = False) -> None:
        super().__init__()
        half = dim // 2
        self.attention = ProjectionFreeMDTA(half, heads, bias)
        self.gated = GatedDA(half, gda_expansion, gda_kernel, bias)
        self.fusion = SpatialFrequencyFusion(freq_mode)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        x_att, x_gate = skip_split(x)                                       # 2 × (B, C/2, H, W)
        fused = self.fusion(self.attention(x_att), self.gated(x_gate))      # (B, C, H, W)
        return self.project_out(fused)


class DAB(nn.Module):
    """Pre-norm block ``x + Mixer(LN(x))``, ``x + GDFN(LN(x))``. Shapes: (B, C, H, W) -> same."""

    def __init__(self, dim: int, heads: int, ffn_expansion: float = 2.0, gda_expansion: float = 8 / 3,
                 gda_kernel: int = 7, freq_mode: str = "fft", bias: bool = False) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.mixer = DABMixer(dim, heads, gda_expansion, gda_kernel, freq_mode, bias)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GDFN(dim, ffn_expansion, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.ffn(self.norm2(x))
