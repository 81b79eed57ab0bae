r"""Auxiliary losses owned by the model (returned, unweighted, in ``ClusIROutput.aux``).

* Prototype near-orthogonality (paper §3.2 "spherical normalisation and near-orthogonality constraints";
  the form is ours, architecture.md §4.6):  ``‖P̂ P̂ᵀ − I‖²_F`` with ``P̂`` the unit-norm prototypes.
* Optional load balance (off by default, weight 0): Shazeer-style squared coefficient of variation
  ``CV²(v) = Var(v) / Mean(v)²`` of the batch importance of clusters and of experts.

``ModelConfig.orth_weight`` / ``balance_weight`` turn them into ``ClusIROutput.aux_loss``. (The file is not
called ``aux.py``: ``AUX`` is a reserved device name on Windows and such a file cannot be checked out there.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def prototype_orthogonality(unit_prototypes: Tensor) -> Tensor:
    """``‖P̂P̂ᵀ − I‖²_F`` for unit-norm prototypes (N, D); 0 iff they are orthonormal (needs N ≤ D)."""
    gram = unit_prototypes @ unit_prototypes.T                         # (N, N)
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    return (gram - eye).square().sum()


def cv_squared(v: Tensor, eps: float = 1e-10) -> Tensor:
    """Squared coefficient of variation of a 1-D tensor (0 when all entries are equal)."""
    v = v.float()
    if v.numel() <= 1:
        return v.new_zeros(())
    return v.var(unbiased=False) / (v.mean().square() + eps)


def expert_importance(index: Tensor, weight: Tensor, num_experts: int) -> Tensor:
    """Total routing weight each expert received over the batch: (B, J) indices/weights -> (num_experts,)."""
    out = weight.new_zeros(num_experts)
    return out.index_add(0, index.reshape(-1), weight.reshape(-1))
