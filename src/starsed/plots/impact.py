"""Figures of the PSF-impact experiment: the scheme (fig. 13) and the error curves (fig. 14)."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..report.published import IMPACT as PAPER_IMPACT
from ..report.published import IMPACT_REFERENCE_2000 as PAPER_REFERENCE_2000
from . import OKABE_ITO

STYLE = {  # variant -> (label, colour, marker, line style)
    "predicted": ("predicted SEDs (SVM, argmax)", OKABE_ITO[5], "o", "-"),
    "soft": ("soft SEDs (SVM posterior mixture)", OKABE_ITO[3], "s", "-"),
    "likelihood": ("predicted SEDs (likelihood, argmax)", OKABE_ITO[7], "D", "-"),
    "likelihood_soft": ("soft SEDs (likelihood posterior)", OKABE_ITO[2], "v", "-"),
    "oracle": ("oracle: true SEDs", OKABE_ITO[0], "^", "--"),
    "ignorant": ("ignorant: mean SED", OKABE_ITO[6], "x", ":"),
}


def fig_impact_scheme(base: int = 50, n_labelled: int = 8000, n_extra: int = 2000):
    """Fig. 13: how classified stars improve the PSF model (drawn from the numbers given)."""
    fig, ax = plt.subplots(figsize=(7.2, 2.4))
    ax.set_axis_off()
    ax.set_xlim(0, 12.8)
    ax.set_ylim(-0.1, 3.3)
    w, h = 2.6, 0.95
    boxes = {  # key: (column x, row y, text)
        "base": (0.1, 2.3, f"{base} stars,\nknown SEDs"),
        "labelled": (0.1, 1.15, f"{n_labelled:,} stars,\nknown classes"),
        "extra": (0.1, 0.0, f"{n_extra:,} stars,\nno SEDs"),
        "model0": (3.4, 2.3, "base PSF model"),
        "clf": (6.7, 1.15, "PSF-aware classifier\n(SVM or likelihood)"),
        "model1": (10.0, 1.15, f"PSF model trained on\nbase + E stars with\npredicted SEDs"),
    }
    for key, (x, y, text) in boxes.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc="#f4f4f4",
                                    ec=OKABE_ITO[5] if key.startswith("model") else "0.35", lw=1.2))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=6.5)

    def edge(key, side, frac=0.5):
        x, y, _ = boxes[key]
        return {"right": (x + w, y + frac * h), "left": (x, y + frac * h),
                "bottom": (x + frac * w, y), "top": (x + frac * w, y + h)}[side]

    def arrow(start, end, label=None, dy=0.07):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=1.0, color="0.2",
                                     shrinkA=1, shrinkB=1))
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + dy, label, fontsize=6,
                    ha="center", va="bottom", color="0.2")

    arrow(edge("base", "right"), edge("model0", "left"), "train")
    arrow(edge("model0", "right", 0.5), edge("clf", "top", 0.4), "PSF at each star", dy=0.08)
    arrow(edge("labelled", "right"), edge("clf", "left"), "train the classifier")
    arrow(edge("extra", "right"), edge("clf", "left", 0.15), "classify", dy=-0.3)
    arrow(edge("clf", "right"), edge("model1", "left"), "SEDs")
    arrow(edge("model0", "right", 0.8), edge("model1", "top", 0.5), "warm start", dy=0.05)
    return fig


def fig_impact(summary: Mapping, bases: Sequence[int], variants: Sequence[str], reference_2000: float | None,
               reference_2000_std: float | None = None, paper: bool = True):
    """Fig. 14: test PSF error vs number of added classified stars, one panel per base.

    ``summary[f'base{B}'][variant][str(E)]`` holds rel_rmse_pct_mean/std
    (E = 0: the base alone). The 2000-true-SED reference is a band (its
    spread over test stars is not shown; the band is +- the std over seeds if given).
    """
    fig, axes = plt.subplots(1, len(bases), figsize=(3.6 * len(bases), 3.0), sharey=True, squeeze=False)
    for ax, base in zip(axes[0], bases):
        block = summary[f"base{base}"]
        for variant in variants:
            if variant not in block:
                continue
            label, colour, marker, ls = STYLE.get(variant, (variant, "0.5", "o", "-"))
            pts = sorted((int(e), v) for e, v in block[variant].items() if int(e) > 0)
            xs = [e for e, _ in pts]
            ys = [v["rel_rmse_pct_mean"] for _, v in pts]
            err = [v["rel_rmse_pct_std"] for _, v in pts]
            ax.errorbar(xs, ys, yerr=err if any(err) else None, color=colour, marker=marker, ls=ls, ms=4,
                        lw=1.2, capsize=2, label=label)
        any_variant = next(v for v in variants if v in block)
        base_err = block[any_variant]["0"]["rel_rmse_pct_mean"]
        ax.axhline(base_err, color="0.4", lw=1.0, ls="-.", label="base model alone (panel title)")
        if reference_2000 is not None:
            lo = reference_2000 - (reference_2000_std or 0.0)
            hi = reference_2000 + (reference_2000_std or 0.0)
            ax.axhspan(lo, hi if hi > lo else lo + 1e-3, color=OKABE_ITO[1], alpha=0.35, lw=0)
            ax.axhline(reference_2000, color=OKABE_ITO[1], lw=1.0, label="S6: 2000 true-SED stars, fully trained")
        if paper and base in PAPER_IMPACT:
            p = PAPER_IMPACT[base]
            ax.plot([e for e in p if e > 0], [p[e] for e in p if e > 0], color="0.55", marker="o", mfc="none",
                    ms=4, lw=0.8, ls="--", label="paper: predicted SEDs")
            ax.axhline(PAPER_REFERENCE_2000, color="0.55", lw=0.8, ls=":", label="paper: 2000 true-SED stars")
        ax.set_xscale("log")
        ax.set_xlabel("added classified stars E")
        ax.set_title(f"base set: {base} true-SED stars", fontsize=9)
        ax.grid(alpha=0.3, which="both", lw=0.5)
    axes[0][0].set_ylabel("relative pixel RMSE on test stars [%]")
    fig.tight_layout(rect=(0, 0.22, 1, 1))
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=6.5, frameon=False)
    return fig
