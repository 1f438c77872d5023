"""Numbers with the precision their uncertainty supports (tables, README, paper macros).

A value is rounded to the decimal of its uncertainty's first significant digit
(two digits when that digit is 1, as 0.014 -> 0.014, 0.16 -> 0.16, 0.06 -> 0.06),
and the uncertainty to the same decimal.
"""
from __future__ import annotations

import math


def decimals_for(uncertainty: float, most: int = 4) -> int:
    """Decimals that keep one significant digit of ``uncertainty`` (two if it starts with 1)."""
    if not (uncertainty and math.isfinite(uncertainty)) or uncertainty <= 0:
        return 3
    exponent = math.floor(math.log10(uncertainty))
    leading = int(f"{uncertainty:.1e}"[0])
    return int(min(most, max(0, -exponent + (1 if leading == 1 else 0))))


def rounded(value: float, uncertainty: float) -> str:
    """``value`` to the precision of ``uncertainty``."""
    return f"{value:.{decimals_for(uncertainty)}f}"


def format_pm(value: float, uncertainty: float, pm: str = " ± ") -> str:
    """'value ± uncertainty', both to the uncertainty's precision."""
    d = decimals_for(uncertainty)
    return f"{value:.{d}f}{pm}{uncertainty:.{d}f}"
