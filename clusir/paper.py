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

#: Table 3: one-by-one (single-task) training. Each column group compares its own methods, so the table is
#: kept per group: Kodak24 denoising holds PSNR only at sigma 15/25/50; the others hold (PSNR, SSIM).
TABLE3 = {
    "Kodak24": {
        "DnCNN": (34.60, 32.14, 28.95), "FFDNet": (34.63, 32.13, 28.98), "ADFNNet": (34.77, 32.22, 29.06),
        "MIRNet-v2": (34.29, 31.81, 28.55), "Restormer": (34.78, 32.37, 29.08),
        "NAFNet": (34.27, 31.80, 28.62), "AirNet": (34.81, 32.44, 29.10), "IDR": (34.78, 32.42, 29.13),
        "Perceive-IR": (34.84, 32.50, 29.16), "ClusIR": (35.06, 32.60, 29.49),
    },
    "SOTS": {
        "DehazeNet": (22.46, .851), "FDGAN": (23.15, .921), "DehazeFormer": (31.78, .977),
        "Restormer": (30.87, .969), "NAFNet": (30.98, .970), "FSNet": (31.11, .971), "AirNet": (23.18, .900),
        "PromptIR": (31.31, .973), "Perceive-IR": (31.65, .977), "ClusIR": (32.67, .983),
    },
    "Rain100L": {
        "UMR": (32.39, .921), "LPNet": (33.61, .958), "DRSformer": (38.14, .983), "Restormer": (36.74, .978),
        "NAFNet": (36.63, .977), "FSNet": (37.27, .980), "AirNet": (34.90, .977), "PromptIR": (37.04, .979),
        "Perceive-IR": (38.41, .984), "ClusIR": (37.52, .980),
    },
    "GoPro": {
        "DeblurGAN": (28.70, .858), "Stripformer": (33.08, .962), "HI-Diff": (33.33, .964),
        "MPRNet": (32.66, .959), "Restormer": (32.92, .961), "FSNet": (33.29, .963), "AirNet": (31.64, .945),
        "PromptIR": (32.41, .956), "Perceive-IR": (32.83, .960), "ClusIR": (30.07, .904),
    },
    "LOL": {
        "URetinex": (21.33, .835), "SMG": (23.81, .809), "Retinexformer": (25.16, .845),
        "MIRNet": (24.14, .835), "Restormer": (22.43, .823), "DiffIR": (23.15, .828), "AirNet": (21.52, .832),
        "PromptIR": (22.97, .834), "Perceive-IR": (23.79, .841), "ClusIR": (23.82, .852),
    },
}
#: which clusir task labels each Table 3 group corresponds to
TABLE3_TASKS = {"Kodak24": ("noise15", "noise25", "noise50"), "SOTS": ("haze",), "Rain100L": ("rain",),
                "GoPro": ("blur",), "LOL": ("lowlight",)}

#: Table 6: composite degradations (CDD-11). Columns in the paper's order, then the average; "params_M" as
#: printed (rounded to whole millions). ClusIR's SSIM has four decimals in some cells, as printed.
TABLE6_COLUMNS = ("L", "H", "R", "S", "L+H", "L+R", "L+S", "H+R", "H+S", "L+H+R", "L+H+S", "Average")
TABLE6_TASKS = ("cdd_low", "cdd_haze", "cdd_rain", "cdd_snow", "cdd_low_haze", "cdd_low_rain", "cdd_low_snow",
                "cdd_haze_rain", "cdd_haze_snow", "cdd_low_haze_rain", "cdd_low_haze_snow")
TABLE6_PARAMS_M = {"AirNet": 9, "PromptIR": 36, "WGWSNet": 26, "WeatherDiff": 83, "ClusIR": 55}
TABLE6 = {
    "AirNet": [(24.83, .778), (24.21, .951), (26.55, .891), (26.79, .919), (23.23, .779), (22.82, .710),
               (23.29, .723), (22.21, .868), (23.29, .901), (21.80, .708), (22.24, .725), (23.75, .814)],
    "PromptIR": [(26.32, .805), (26.10, .969), (31.56, .946), (31.53, .960), (24.49, .789), (25.05, .771),
                 (24.51, .761), (24.54, .924), (27.05, .925), (23.74, .752), (23.33, .747), (25.90, .850)],
    "WGWSNet": [(24.39, .774), (27.90, .982), (33.15, .964), (34.43, .973), (24.27, .800), (25.06, .772),
                (24.60, .765), (27.23, .955), (27.65, .960), (23.90, .772), (23.97, .771), (26.96, .863)],
    "WeatherDiff": [(23.58, .763), (21.99, .904), (24.85, .885), (24.80, .888), (21.83, .756), (22.69, .730),
                    (22.12, .707), (21.25, .868), (21.99, .868), (21.23, .716), (21.04, .698), (22.49, .799)],
    "ClusIR": [(26.62, .825), (28.58, .982), (32.59, .964), (33.52, .9749), (24.87, .8144), (25.60, .7989),
               (25.41, .795), (27.52, .955), (27.48, .960), (24.31, .780), (24.18, .782), (27.33, .878)],
}
#: the sentence of §4.2 that Table 6 is quoted for (chapter 14 checks it against the table)
TABLE6_CLAIM = ("ClusIR outperforms existing methods in terms of both PSNR and SSIM across all degradation "
                "combinations.")

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
