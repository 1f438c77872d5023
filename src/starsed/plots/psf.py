"""Figures of the PSF-model step (paper figure 9, :func:`psf_error_vs_stars`)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..report.published import PSF_ERROR
from . import COLUMN_WIDTH, OKABE_ITO, figure_function, log_ticks, new_figure, star_ticks

__all__ = ["PAPER_STARS", "PAPER_ERROR_PCT", "psf_error_vs_stars"]

#: PSF error of the paper's models S1..S6 (relative pixel RMSE, %; docs/reference.md, Published numbers)
PAPER_STARS = tuple(PSF_ERROR)
PAPER_ERROR_PCT = tuple(v[0] for v in PSF_ERROR.values())
@figure_function
def psf_error_vs_stars(n_train: Sequence[int], error_pct: Sequence[float],
                       error_std_pct: Sequence[float] | None = None,
                       sr_error_pct: Sequence[float] | None = None,
                       label: str = "this work", show_paper: bool = True):
    """Figure 9 (one column): relative pixel RMSE [%] of the PSF models vs number of
    training stars, log-log.

    Our models (mean over test stars; the band is +-1 std over stars when given),
    optionally the super-resolved error, and the paper's values; lines in this order
    (``ax.lines``), told apart by marker and line style as well as colour.
    """
    fig = new_figure(COLUMN_WIDTH, 2.6)
    ax = fig.subplots()
    n = np.asarray(n_train, dtype=float)
    e = np.asarray(error_pct, dtype=float)
    ax.plot(n, e, "o-", color=OKABE_ITO[5], label=f"{label}, pixel")
    shown = [e]
    if error_std_pct is not None:
        s = np.asarray(error_std_pct, dtype=float)
        ax.fill_between(n, np.maximum(e - s, 0.5 * e), e + s, color=OKABE_ITO[5], alpha=0.15, lw=0,
                        label="pixel: ±1 std over test stars")
        shown += [np.maximum(e - s, 0.5 * e), e + s]
    if sr_error_pct is not None and all(v is not None for v in sr_error_pct):
        sr = np.asarray(sr_error_pct, dtype=float)
        ax.plot(n, sr, "^--", color=OKABE_ITO[3], label=f"{label}, super-resolved")
        shown.append(sr)
    if show_paper:
        ax.plot(PAPER_STARS, PAPER_ERROR_PCT, "s:", color=OKABE_ITO[6], mfc="white",
                label="Centofanti et al. (2025)")
        shown.append(np.asarray(PAPER_ERROR_PCT))
    ax.set_xscale("log")
    ax.set_yscale("log")
    xs = np.concatenate([n] + ([np.asarray(PAPER_STARS, float)] if show_paper else []))
    ax.set_xlim(xs.min() / 1.25, xs.max() * 1.25)
    allv = np.concatenate(shown)
    ax.set_ylim(allv.min() / 1.2, allv.max() * 1.6)   # room for the legend
    star_ticks(ax.xaxis, *ax.get_xlim())
    log_ticks(ax.yaxis)
    ax.set_xlabel("number of training stars")
    ax.set_ylabel("relative pixel RMSE [%]")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    ax.legend(loc="upper right", handlelength=2.4)
    return fig
