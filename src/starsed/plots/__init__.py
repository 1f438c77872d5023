"""One function per paper figure, each returning a matplotlib Figure; saving is separate.

:func:`save` writes PDF and PNG without timestamps, so reruns are byte-stable.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: colour-blind-safe qualitative palette (Okabe & Ito 2008)
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
#: perceptually uniform colour map for the 13 classes: hot stars dark blue-violet,
#: cool stars orange (the light yellow end is cut so every class reads on white)
CLASS_CMAP = "plasma"


def class_colours(n: int = 13):
    """n colours from hot (O5, blue-violet) to cool (M5, orange) stars."""
    cmap = plt.get_cmap(CLASS_CMAP)
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


def save(fig, stem: str | Path, folder: str | Path = "figures") -> list[Path]:
    """Write ``<folder>/<stem>.pdf`` and ``.png`` with no timestamps; close the figure."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.pdf", folder / f"{stem}.png"]
    fig.savefig(paths[0], metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                    "Creator": None}, bbox_inches="tight")
    fig.savefig(paths[1], metadata={"Software": None}, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths
