"""Numbers reported in the ClusIR paper (Hu et al., arXiv 2512.10948), transcribed as data.

These are the paper's figures, not results computed by this project; every chapter that shows them labels
them "as reported in the paper". Values are PSNR (dB) / SSIM pairs unless noted.
"""

from __future__ import annotations

SOURCE = "Hu et al., ClusIR: Towards Cluster-Guided All-in-One Image Restoration, arXiv 2512.10948 (2025)"

#: Table 1: three-task all-in-one setting (N+H+R). Columns: CBSD68 sigma 15/25/50, SOTS, Rain100L, average.
TABLE1_COLUMNS = ("CBSD68 σ=15", "CBSD68 σ=25", "CBSD68 σ=50", "SOTS", "Rain100L", "Average")
TABLE1 = {
    "AirNet": [(33.92, .932), (31.26, .888), (28.00, .797), (27.94, .962), (34.90, .967), (31.20, .910)],
    "IDR": [(33.89, .931), (31.32, .884), (28.04, .798), (29.87, .970), (36.03, .971), (31.83, .911)],
    "ProRes": [(32.10, .907), (30.18, .863), (27.58, .779), (28.38, .938), (33.68, .954), (30.38, .888)],
    "PromptIR": [(33.98, .933), (31.31, .888), (28.06, .799), (30.58, .974), (36.37, .972), (32.06, .913)],
    "NDR": [(34.01, .932), (31.36, .887), (28.10, .798), (28.64, .962), (35.42, .969), (31.51, .910)],
    "Gridformer": [(33.93, .931), (31.37, .887), (28.11, .801), (30.37, .970), (37.15, .972), (32.19, .912)],
    "InstructIR": [(34.15, .933), (31.52, .890), (28.30, .804), (30.22, .959), (37.98, .978), (32.43, .913)],
    "Up-Restorer": [(33.99, .933), (31.33, .888), (28.07, .799), (30.68, .977), (36.74, .978), (32.16, .915)],
    "Perceive-IR": [(34.13, .934), (31.53, .890), (28.31, .804), (30.87, .975), (38.29, .980), (32.63, .917)],
    "AdaIR": [(34.12, .935), (31.45, .892), (28.19, .802), (31.06, .980), (38.64, .983), (32.69, .918)],
    "MoCE-IR": [(34.11, .932), (31.45, .888), (28.18, .800), (31.34, .979), (38.57, .984), (32.73, .917)],
    "DFPIR": [(34.14, .935), (31.47, .893), (28.25, .806), (31.87, .980), (38.65, .982), (32.88, .919)],
    "ClusIR": [(34.10, .938), (31.45, .897), (28.19, .814), (32.85, .983), (38.71, .984), (33.06, .923)],
}

#: Table 2: five-task setting (N+H+R+B+L). Columns: CBSD68 sigma 25, SOTS, Rain100L, GoPro, LOL, average.
TABLE2_COLUMNS = ("CBSD68 σ=25", "SOTS", "Rain100L", "GoPro", "LOL", "Average")
TABLE2 = {
    "AirNet": [(30.91, .882), (21.04, .884), (32.98, .951), (24.35, .781), (18.18, .735), (25.49, .846)],
    "IDR": [(31.60, .887), (25.24, .943), (35.63, .965), (27.87, .846), (21.34, .826), (28.34, .893)],
    "PromptIR": [(31.47, .886), (26.54, .949), (36.37, .970), (28.71, .881), (22.68, .832), (29.15, .904)],
    "AdaIR": [(31.35, .889), (30.53, .978), (38.02, .981), (28.12, .858), (23.00, .845), (30.20, .910)],
    "MoCE-IR": [(31.34, .887), (30.48, .974), (38.04, .982), (30.05, .899), (23.00, .852), (30.58, .919)],
    "DFPIR": [(31.29, .889), (31.64, .979), (37.62, .978), (28.82, .873), (23.82, .843), (30.64, .913)],
    "ClusIR": [(31.35, .894), (31.94, .982), (37.28, .980), (28.54, .872), (23.78, .865), (30.58, .919)],
}

#: Table 4: component ablation under N+H+R (average PSNR, SSIM).
TABLE4 = {
    "(a) WTB": {"wtb": True, "pcgrm_moe": False, "dafmm": False, "psnr": 32.68, "ssim": 0.922},
    "(b) WTB + PCGRM-MoE": {"wtb": True, "pcgrm_moe": True, "dafmm": False, "psnr": 32.95, "ssim": 0.922},
    "(c) WTB + PCGRM-MoE + DAFMM": {"wtb": True, "pcgrm_moe": True, "dafmm": True, "psnr": 33.06, "ssim": 0.923},
}

#: Table 5: cluster prototypes per encoder stage (average PSNR, SSIM under N+H+R).
TABLE5 = {
    (3, 3, 3, 3): (33.06, 0.923),
    (2, 3, 4, 6): (32.27, 0.912),
    (6, 4, 3, 2): (32.40, 0.912),
}

#: Table 7: model sizes. FLOPs on a 128x128 input as the paper reports them (counter not stated).
TABLE7 = {
    "base": {"dim": 48, "params_M": 54.66, "flops_G": 28.85},
    "small": {"dim": 32, "params_M": 25.03, "flops_G": 13.42},
    "tiny": {"dim": 16, "params_M": 6.89, "flops_G": 3.79},
}

#: Table 8: N+H+R results per model size. Columns: sigma 15/25/50, derain, dehaze, average.
TABLE8_COLUMNS = ("σ=15", "σ=25", "σ=50", "Derain", "Dehaze", "Average")
TABLE8 = {
    "tiny": [(33.70, .933), (31.06, .890), (27.77, .806), (35.44, .970), (31.92, .981), (31.98, .916)],
    "small": [(34.07, .937), (31.41, .896), (29.11, .813), (37.38, .980), (33.06, .981), (32.21, .921)],
    "base": [(34.10, .938), (31.45, .897), (28.19, .814), (38.71, .984), (32.85, .983), (33.06, .923)],
}

#: Table 9: prototype initialisation. Same columns as Table 8.
TABLE9 = {
    "orthogonal": [(34.10, .938), (31.45, .897), (28.19, .814), (38.71, .984), (32.85, .983), (33.06, .923)],
    "random": [(34.12, .937), (31.45, .897), (28.17, .813), (38.28, .983), (32.16, .982), (32.84, .922)],
}


def markdown_table(table: dict, columns: tuple, title: str = "") -> str:
    """A Markdown table of PSNR/SSIM pairs, marked as the paper's numbers."""
    head = "| Method | " + " | ".join(columns) + " |"
    sep = "|" + "---|" * (len(columns) + 1)
    rows = [f"| {name} | " + " | ".join(f"{p:.2f} / {s:.3f}" for p, s in vals) + " |" for name, vals in table.items()]
    caption = f"**{title}** (as reported in the paper, not computed here)\n\n" if title else ""
    return caption + "\n".join([head, sep, *rows])
