"""Figures of the PSF-impact experiment: the scheme (fig. 13, :func:`impact_scheme`) and the
error curves (fig. 14, :func:`psf_impact`), both full width."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..report.published import IMPACT as PAPER_IMPACT
from ..report.published import IMPACT_REFERENCE_2000 as PAPER_REFERENCE_2000
from . import (OKABE_ITO, TEXT_WIDTH, diagram_arrow, diagram_axes, diagram_box, figure_function, log_limits,
               log_ticks, new_figure, star_ticks)

__all__ = ["STYLE", "impact_scheme", "psf_impact"]

STYLE = {  # variant -> (label, colour, marker, line style)
    "predicted": ("predicted SEDs (SVM, argmax)", OKABE_ITO[5], "o", "-"),
    "soft": ("soft SEDs (SVM posterior mixture)", OKABE_ITO[3], "s", "-."),
    "likelihood": ("predicted SEDs (likelihood, argmax)", OKABE_ITO[7], "D", "-"),
    "likelihood_soft": ("soft SEDs (likelihood posterior)", OKABE_ITO[2], "v", "-."),
    "oracle": ("oracle: true SEDs", OKABE_ITO[0], "^", "--"),
    "ignorant": ("ignorant: mean SED", OKABE_ITO[6], "X", ":"),
}


@figure_function
def impact_scheme(base: int = 50, n_labelled: int = 8000, n_extra: int = 2000):
    """Fig. 13 (full width): how classified stars improve the PSF model (drawn from the
    numbers given)."""
    fig = new_figure(TEXT_WIDTH, 1.95, layout=None)
    ax = diagram_axes(fig)
    w0, w1, w2 = 1.5, 1.65, 1.75
    x0, x1, x2 = 0.04, 2.45, TEXT_WIDTH - 0.04 - w2
    h = 0.5
    y_top, y_mid, y_bot = 1.4, 0.75, 0.1              # lower edges of the three input rows
    y_clf = 0.42                                      # classifier: between the lower two rows
    model = dict(edgecolor=OKABE_ITO[5], facecolor="#e8f1f8")
    y_fin, h_fin = 0.32, 0.82                         # final model: tall, beside the classifier
    diagram_box(ax, x0, y_top, w0, h, f"{base:,} stars", "known SEDs (base set)")
    diagram_box(ax, x0, y_mid, w0, h, f"{n_labelled:,} stars", "known classes")
    diagram_box(ax, x0, y_bot, w0, h, f"{n_extra:,} stars", "no SEDs")
    diagram_box(ax, x1, y_top, w1, h, "base PSF model", f"trained on the {base:,}", **model)
    diagram_box(ax, x1, y_clf, w1, h, "PSF-aware classifier", "SVM or likelihood")
    diagram_box(ax, x2, y_fin, w2, h_fin, "improved PSF model",
                f"trained on the {base:,}\n+ {n_extra:,} stars\nwith predicted SEDs", **model)
    cy = lambda y: y + h / 2                                                  # noqa: E731
    diagram_arrow(ax, [(x0 + w0, cy(y_top)), (x1, cy(y_top))], "train")
    diagram_arrow(ax, [(x0 + w0, cy(y_mid)), (x1, y_clf + 0.7 * h)], "train",
                  at=(x0 + w0 + 0.45, cy(y_mid) + 0.01), ha="center", va="bottom")
    diagram_arrow(ax, [(x0 + w0, cy(y_bot)), (x1, y_clf + 0.3 * h)], "classify",
                  at=(x0 + w0 + 0.45, cy(y_bot) - 0.01), ha="center", va="top")
    xm = x1 + w1 / 2
    diagram_arrow(ax, [(xm, y_top), (xm, y_clf + h)], "PSF at each star",
                  at=(xm + 0.06, (y_top + y_clf + h) / 2), ha="left", va="center")
    xf = x2 + w2 / 2
    diagram_arrow(ax, [(x1 + w1, cy(y_top)), (xf, cy(y_top)), (xf, y_fin + h_fin)], "warm start",
                  at=((x1 + w1 + x2) / 2, cy(y_top) + 0.03))
    diagram_arrow(ax, [(x1 + w1, cy(y_clf)), (x2, cy(y_clf))], "predicted SEDs",
                  at=((x1 + w1 + x2) / 2, cy(y_clf) + 0.03))
    return fig


@figure_function
def psf_impact(summary: Mapping, bases: Sequence[int], variants: Sequence[str], reference_2000: float | None,
               reference_2000_std: float | None = None, paper: bool = True):
    """Fig. 14 (full width): test PSF error vs number of added classified stars, one panel
    per base, log-log, the legend on the right.

    ``summary[f'base{B}'][variant][str(E)]`` holds rel_rmse_pct_mean/std
    (E = 0: the base alone, drawn as a horizontal line). The 2000-true-SED reference is a
    line (with a band of +- the std over seeds if given).
    """
    fig = new_figure(TEXT_WIDTH, 2.45)
    axes = np.atleast_1d(fig.subplots(1, len(bases), sharey=True))
    xs_all, ys_all = [], []
    for ax, base in zip(axes, bases):
        block = summary[f"base{base}"]
        for variant in variants:
            if variant not in block:
                continue
            label, colour, marker, ls = STYLE.get(variant, (variant, "0.5", "o", "-"))
            pts = sorted((int(e), v) for e, v in block[variant].items() if int(e) > 0)
            xs = [e for e, _ in pts]
            ys = [v["rel_rmse_pct_mean"] for _, v in pts]
            err = [v.get("rel_rmse_pct_std", 0.0) for _, v in pts]
            ax.errorbar(xs, ys, yerr=err if any(err) else None, color=colour, marker=marker, ls=ls,
                        mfc="white" if variant in ("oracle",) else colour, label=label)
            xs_all += xs
            ys_all += ys
        any_variant = next(v for v in variants if v in block)
        base_err = block[any_variant]["0"]["rel_rmse_pct_mean"]
        ax.axhline(base_err, color="0.35", lw=0.9, ls=(0, (6, 2, 1, 2, 1, 2)), label="base model alone")
        ys_all.append(base_err)
        if reference_2000 is not None:
            lo = reference_2000 - (reference_2000_std or 0.0)
            hi = reference_2000 + (reference_2000_std or 0.0)
            if hi > lo:
                ax.axhspan(lo, hi, color=OKABE_ITO[1], alpha=0.3, lw=0)
            ax.axhline(reference_2000, color=OKABE_ITO[1], lw=1.4, label="2,000 true-SED stars (S6)")
            ys_all += [lo, hi]
        if paper and base in PAPER_IMPACT:
            p = PAPER_IMPACT[base]
            ax.plot([e for e in p if e > 0], [p[e] for e in p if e > 0], color="0.5", marker="o", mfc="none",
                    lw=0.8, ls="--", label="paper: predicted SEDs")
            ax.axhline(PAPER_REFERENCE_2000, color="0.5", lw=0.8, ls=":", label="paper: 2,000 true-SED stars")
            ys_all += list(p.values()) + [PAPER_REFERENCE_2000]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("added classified stars $E$")
        ax.set_title(f"base set: {base:,} true-SED stars")
        ax.grid(True, which="major", alpha=0.4)
        ax.grid(True, which="minor", alpha=0.15)
    xs_all = np.asarray(xs_all or [50, 2000], float)
    ys_all = np.asarray([v for v in ys_all if v > 0], float)
    for ax in axes:
        ax.set_xlim(xs_all.min() / 1.3, xs_all.max() * 1.3)
        star_ticks(ax.xaxis)
    axes[0].set_ylim(*log_limits(ys_all))
    log_ticks(axes[0].yaxis)
    axes[0].set_ylabel("relative pixel RMSE\non test stars [%]")
    handles, labels = axes[-1].get_legend_handles_labels()
    ours = [STYLE[v][0] for v in variants if v in STYLE]
    order = sorted(range(len(labels)), key=lambda i: (labels[i] not in ours, i))
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right center")
    return fig
