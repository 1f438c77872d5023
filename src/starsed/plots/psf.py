"""Figures of the PSF-model step (paper figure 9)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..report.published import PSF_ERROR
from . import OKABE_ITO

#: PSF error of the paper's models S1..S6 (relative pixel RMSE, %; docs/reference.md, Published numbers)
PAPER_STARS = tuple(PSF_ERROR)
PAPER_ERROR_PCT = tuple(v[0] for v in PSF_ERROR.values())


def psf_error_vs_stars(n_train: Sequence[int], error_pct: Sequence[float],
                       error_std_pct: Sequence[float] | None = None,
                       sr_error_pct: Sequence[float] | None = None,
                       label: str = "this work", show_paper: bool = True):
    """Figure 9: relative pixel RMSE [%] of the PSF models vs number of training stars.

    Our models (mean over test stars; the band is +-1 std over stars when
    given), optionally the super-resolved error, and the paper's values.
    Log-log axes. Returns the Figure.
    """
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    n = np.asarray(n_train, dtype=float)
    e = np.asarray(error_pct, dtype=float)
    ax.plot(n, e, "o-", color=OKABE_ITO[5], label=f"{label} (pixel)")
    if error_std_pct is not None:
        s = np.asarray(error_std_pct, dtype=float)
        ax.fill_between(n, np.maximum(e - s, 1e-3), e + s, color=OKABE_ITO[5], alpha=0.15, lw=0)
    if sr_error_pct is not None and all(v is not None for v in sr_error_pct):
        ax.plot(n, sr_error_pct, "^--", color=OKABE_ITO[3], label=f"{label} (super-resolved)")
    if show_paper:
        ax.plot(PAPER_STARS, PAPER_ERROR_PCT, "s:", color=OKABE_ITO[6], label="Centofanti et al. 2025")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of training stars")
    ax.set_ylabel("relative pixel RMSE [%]")
    ax.set_xticks(PAPER_STARS)
    ax.set_xticklabels([str(v) for v in PAPER_STARS])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "1235" else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
