"""MAC counting convention and `clusir info` (clusir.model.info, clusir.commands.info)."""

import json

import torch
import torch.nn.functional as F
from torch import nn

from clusir.cli import main
from clusir.model import build_model, count_macs, count_parameters


def test_a_convolution_counts_its_multiply_accumulates():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert count_macs(conv, 16) == 8 * 3 * 9 * 16 * 16


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        q = x.flatten(2).transpose(1, 2)[:, None]                           # (B, 1, HW, 3)
        return F.scaled_dot_product_attention(q, q, q)


def test_cpu_attention_is_counted():
    assert count_macs(_Attention(), 4) == 2 * 16 * 16 * 3                    # QKᵀ and AV, HW = 16, d = 3


def test_info_command_json(capsys):
    assert main(["info", "--model", "nano", "--size", "32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model = build_model("nano")
    assert result["params"] == count_parameters(model)
    assert result["macs"] == count_macs(model, 32) > 0
    assert result["macs"] == sum(result["macs_by_kind"].values())


def test_info_command_errors(capsys):
    assert main(["info", "--model", "huge"]) == 2
    assert "unknown model preset" in capsys.readouterr().err
    assert main(["info", "--model", "nano", "--size", "abc"]) == 2


def test_active_parameters_leave_out_the_unchosen_experts():
    from clusir.model.info import count_active_parameters

    model = build_model("nano")
    cfg = model.config
    per_expert = [count_parameters(m.experts[0]) for m in model.moe]
    unused = sum((n * cfg.experts_per_cluster - cfg.k1 * cfg.k2) * p for n, p in zip(cfg.prototypes, per_expert))
    assert count_active_parameters(model) == count_parameters(model) - unused
    assert count_active_parameters(build_model("nano", moe="none")) == count_parameters(build_model("nano", moe="none"))
