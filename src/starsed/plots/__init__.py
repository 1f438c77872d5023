"""One function per paper figure, each returning a matplotlib Figure; saving is separate.

Every figure is drawn at its print size, so the paper includes it with no scaling:
single-column figures :data:`COLUMN_WIDTH` wide (``width=\\columnwidth``), full-width
ones :data:`TEXT_WIDTH` wide (``width=\\textwidth``; 10 pt two-column A4 article,
1.8 cm margins). Fonts are in real points: :data:`FONT_SIZE` for labels and titles,
:data:`SMALL_FONT_SIZE` for tick labels, legends and annotations, nothing below
:data:`MIN_FONT_SIZE`, so no mathtext super- or subscripts (matplotlib draws them at 70 %
of the font): exponents are Unicode superscripts in the regular font (``nm⁻¹``, ``10⁻³``;
:func:`pow10_label`, :func:`pow10_colorbar` for log colour bars). Figure functions are wrapped in :func:`figure_function`,
which draws them in the shared :data:`STYLE`.

:func:`save` writes PDF and PNG at that size, without timestamps, so reruns are
byte-stable; it returns a :class:`SavedFigure`, which a notebook shows as the
saved PNG.
"""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

__all__ = [
    "COLUMN_WIDTH", "TEXT_WIDTH", "FONT_SIZE", "SMALL_FONT_SIZE", "MIN_FONT_SIZE", "PNG_DPI", "STYLE",
    "OKABE_ITO", "LINE_COLOURS", "MARKERS", "LINESTYLES", "CLASS_CMAP", "DIVERGING_CMAP",
    "class_colours", "style", "text_width", "wrap", "figure_function", "new_figure", "finish", "nice_log_values", "log_limits", "log_ticks",
    "superscript", "pow10_label", "pow10_colorbar", "STAR_TICKS", "star_ticks", "diagram_axes", "diagram_box", "diagram_arrow", "save", "SavedFigure",
]

#: width of one column of the paper, inches (85 mm): ``width=\columnwidth``
COLUMN_WIDTH = 3.35
#: width of the text block, inches (174 mm): ``width=\textwidth``
TEXT_WIDTH = 6.85
#: base font size (axis labels, titles), pt
FONT_SIZE = 8.0
#: tick labels, legends, colour-bar ticks, annotations, pt
SMALL_FONT_SIZE = 7.0
#: no text of any figure is smaller, pt
MIN_FONT_SIZE = 7.0
#: resolution of the PNG copies (the PDF is vector)
PNG_DPI = 200

#: colour-blind-safe qualitative palette (Okabe & Ito 2008)
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
#: Okabe-Ito for lines: without yellow (too pale on white), the strongest first
LINE_COLOURS = [OKABE_ITO[i] for i in (5, 6, 3, 1, 7, 2, 0)]
#: a marker per series, so lines differ by more than colour
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
#: and a line style per series
LINESTYLES = ["-", "--", "-.", (0, (5, 1.5, 1, 1.5, 1, 1.5)), ":", (0, (1, 1))]
#: perceptually uniform colour map for the 13 classes: hot stars dark blue-violet,
#: cool stars orange (the light yellow end is cut so every class reads on white)
CLASS_CMAP = "plasma"
#: diverging map of signed images (wavefronts, PCA components, residuals)
DIVERGING_CMAP = "RdBu_r"

#: the shared rcParams of every figure
STYLE = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "figure.titlesize": FONT_SIZE,
    "figure.labelsize": FONT_SIZE,
    "xtick.labelsize": SMALL_FONT_SIZE,
    "ytick.labelsize": SMALL_FONT_SIZE,
    "legend.fontsize": SMALL_FONT_SIZE,
    "legend.title_fontsize": SMALL_FONT_SIZE,
    "legend.frameon": False,
    "legend.handlelength": 2.2,
    "legend.handletextpad": 0.5,
    "legend.borderaxespad": 0.3,
    "legend.borderpad": 0.3,
    "legend.columnspacing": 1.2,
    "legend.labelspacing": 0.3,
    "axes.titlepad": 3.0,
    "axes.labelpad": 2.0,
    "axes.linewidth": 0.6,
    "axes.prop_cycle": cycler(color=LINE_COLOURS),
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "patch.linewidth": 0.6,
    "errorbar.capsize": 2.0,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
    "xtick.major.size": 3.0, "ytick.major.size": 3.0,
    "xtick.minor.size": 1.8, "ytick.minor.size": 1.8,
    "xtick.major.pad": 2.0, "ytick.major.pad": 2.0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.constrained_layout.h_pad": 0.03,
    "figure.constrained_layout.w_pad": 0.03,
    "figure.constrained_layout.hspace": 0.02,
    "figure.constrained_layout.wspace": 0.02,
    "image.interpolation": "nearest",
    "pdf.fonttype": 42,           # TrueType in the PDF (journals refuse Type 3)
    "ps.fonttype": 42,
    "svg.hashsalt": "starsed",
}


def class_colours(n: int = 13):
    """n colours from hot (O5, blue-violet) to cool (M5, orange) stars."""
    cmap = plt.get_cmap(CLASS_CMAP)
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


def style():
    """Context manager: the shared :data:`STYLE`."""
    return plt.rc_context(STYLE)


def new_figure(width: float, height: float, **kw):
    """A constrained-layout figure of ``width`` x ``height`` inches (width: :data:`COLUMN_WIDTH`
    or :data:`TEXT_WIDTH`)."""
    if width not in (COLUMN_WIDTH, TEXT_WIDTH):
        raise ValueError(f"figure width must be {COLUMN_WIDTH} or {TEXT_WIDTH} in, got {width}")
    kw.setdefault("layout", "constrained")
    return plt.figure(figsize=(width, height), **kw)


def finish(fig):
    """Fix tick-label sizes on every axes (colour bars included; ticks are created lazily, at
    draw time, possibly outside :func:`style`), then lay the figure out once and freeze it.

    Constrained layout of fixed-aspect images with colour bars does not always converge: each
    draw moves the axes a little. Its first pass (from the default positions, so the same on
    every run) is kept, which makes the saved files independent of how often the figure
    was drawn before (notebook display, tests). Artists added afterwards are not re-laid out.
    """
    for ax in fig.get_axes():
        ax.tick_params(which="both", labelsize=SMALL_FONT_SIZE)
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    return fig


def text_width(text: str, fontsize: float = FONT_SIZE, weight: str = "normal") -> float:
    """Width of one line of ``text`` in inches, in the current font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    w, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize, weight=weight), ismath=False)
    return w / 72.0


def wrap(text: str, width_in: float, fontsize: float = FONT_SIZE) -> str:
    """``text`` broken at spaces into lines at most ``width_in`` inches wide at ``fontsize``."""
    lines, cur = [], ""
    for word in text.split(" "):
        trial = f"{cur} {word}" if cur else word
        if cur and text_width(trial, fontsize) > width_in:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    lines.append(cur)
    return "\n".join(lines)


def figure_function(func):
    """Decorator of the figure functions: draw inside :func:`style`, then :func:`finish`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            fig = func(*args, **kwargs)
            finish(fig)
        return fig
    return wrapper


def nice_log_values(lo: float, hi: float, steps=(1, 2, 3, 5)) -> list[float]:
    """The values ``steps`` x 10^k inside [lo, hi] (for the labelled ticks of a log axis)."""
    import numpy as np

    if not (0 < lo < hi):
        raise ValueError(f"need 0 < lo < hi, got {lo}, {hi}")
    out = []
    for k in range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1):
        for s in steps:
            v = float(f"{s * 10.0 ** k:.12g}")
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append(v)
    return out


def log_limits(values, pad: float = 1.04, steps=(1, 2, 3, 5)) -> tuple[float, float]:
    """Limits of a log axis showing the positive ``values``, widened by the factor ``pad``
    and then out to the nearest :func:`nice_log_values`, so both ends carry labelled ticks."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = float(v.min()) / pad, float(v.max()) * pad
    nice = nice_log_values(lo / 10.0, hi * 10.0, steps)
    return max(x for x in nice if x <= lo), min(x for x in nice if x >= hi)


def log_ticks(axis, values=None, steps=(1, 2, 3, 5)):
    """Labelled ticks on a log ``axis`` (``ax.xaxis`` or ``ax.yaxis``), written plainly
    (0.2, 0.5, 1, 2, 50, 2000), at ``values`` or else at :func:`nice_log_values` of the
    current view; unlabelled minor ticks at the other 1..9 x 10^k."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, LogLocator, NullFormatter

    if values is None:
        lo, hi = sorted(axis.get_view_interval())
        values = nice_log_values(lo, hi, steps)
    values = [float(v) for v in values]
    axis.set_major_locator(FixedLocator(values))
    axis.set_major_formatter(FixedFormatter([f"{v:g}" for v in values]))
    axis.set_minor_locator(LogLocator(base=10.0, subs=tuple(range(1, 10)), numticks=50))
    axis.set_minor_formatter(NullFormatter())


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def superscript(n: int) -> str:
    """The integer ``n`` in Unicode superscript digits (``-3`` -> ``⁻³``): an exponent drawn in
    the regular font at the label's own size, unlike a mathtext script (70 % of it)."""
    return str(int(n)).translate(_SUPERSCRIPT)


def pow10_label(v: float) -> str:
    """``10⁻³``, ``−10²``, ``0``: a power of ten (or its negative) in the regular font. Other
    values are written plainly (``{:g}``)."""
    import numpy as np

    if v == 0:
        return "0"
    p = float(np.log10(abs(v)))
    if abs(p - round(p)) > 1e-6:
        return f"{v:g}".replace("-", "−")
    return ("−" if v < 0 else "") + "10" + superscript(round(p))


def pow10_colorbar(cb) -> None:
    """Ticks of a log colour bar ``cb`` labelled ``10⁻³`` (at the powers of ten only, in the
    regular font) instead of matplotlib's mathtext ``$10^{-3}$``, whose exponent is a 70 %
    script; the minor ticks stay unlabelled."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    cb.formatter = FuncFormatter(lambda v, pos=None: pow10_label(v))   # the colour bar re-applies
    cb.minorformatter = NullFormatter()                                # these at every draw


#: labelled ticks of star-count axes
STAR_TICKS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def star_ticks(axis, lo: float | None = None, hi: float | None = None) -> None:
    """Labelled ticks of a log star-count ``axis`` at the :data:`STAR_TICKS` inside [lo, hi]
    (default: the current view)."""
    if lo is None or hi is None:
        lo, hi = sorted(axis.get_view_interval())
    log_ticks(axis, [v for v in STAR_TICKS if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)])


# --------------------------------------------------------------------------- diagrams

def diagram_axes(fig):
    """An invisible axes over the whole figure whose data coordinates are inches from the
    lower-left corner (for box-and-arrow diagrams)."""
    w, h = fig.get_size_inches()
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, w)
    ax.set_ylim(0.0, h)
    ax.set_axis_off()
    return ax


def diagram_box(ax, x: float, y: float, w: float, h: float, title: str, detail: str | None = None,
                edgecolor="0.3", facecolor="#f2f2f2", lw: float = 0.8, weight: str = "bold", stack: int = 0):
    """A rounded box with its lower-left corner at (x, y), ``w`` x ``h`` inches: ``title``
    (:data:`FONT_SIZE`) over ``detail`` (:data:`SMALL_FONT_SIZE`), both centred; ``stack``
    > 0 draws that many offset copies behind it (a stage run once per configuration)."""
    from matplotlib.patches import FancyBboxPatch

    pad, d = 0.03, 0.035
    if stack:                        # the copies stay inside x..x+w, y..y+h
        w, h, y = w - d * stack, h - d * stack, y + d * stack
    for k in range(stack, 0, -1):
        ax.add_patch(FancyBboxPatch((x + pad + d * k, y + pad - d * k), w - 2 * pad, h - 2 * pad,
                                    boxstyle=f"round,pad={pad}", fc=facecolor, ec=edgecolor, lw=lw))
    ax.add_patch(FancyBboxPatch((x + pad, y + pad), w - 2 * pad, h - 2 * pad, boxstyle=f"round,pad={pad}",
                                fc=facecolor, ec=edgecolor, lw=lw))
    cx = x + w / 2
    if detail:
        n_title, n_detail = title.count("\n") + 1, detail.count("\n") + 1
        line = 1.2 / 72.0
        total = n_title * FONT_SIZE * line + n_detail * SMALL_FONT_SIZE * line + 0.02
        top = y + h / 2 + total / 2
        ax.text(cx, top, title, ha="center", va="top", fontsize=FONT_SIZE, weight=weight, linespacing=1.1)
        ax.text(cx, top - n_title * FONT_SIZE * line - 0.02, detail, ha="center", va="top",
                fontsize=SMALL_FONT_SIZE, linespacing=1.1, color="0.2")
    else:
        ax.text(cx, y + h / 2, title, ha="center", va="center", fontsize=FONT_SIZE, weight=weight,
                linespacing=1.15)


def diagram_arrow(ax, points, label: str | None = None, at: tuple[float, float] | None = None,
                  ha: str = "center", va: str = "bottom", color="0.15", lw: float = 0.9, rad: float = 0.0):
    """An arrow along ``points`` [(x, y), ...] (inches; a polyline, the head at the last point;
    two points with ``rad`` != 0: an arc), with ``label`` (:data:`SMALL_FONT_SIZE`) at ``at``
    (default: above the middle of the first segment) on a white background."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MPath

    points = [tuple(map(float, p)) for p in points]
    if len(points) == 2:
        patch = FancyArrowPatch(points[0], points[1], arrowstyle="-|>", mutation_scale=8, lw=lw,
                                color=color, shrinkA=0, shrinkB=0, connectionstyle=f"arc3,rad={rad}")
    else:
        path = MPath(points, [MPath.MOVETO] + [MPath.LINETO] * (len(points) - 1))
        patch = FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=8, lw=lw, color=color,
                                shrinkA=0, shrinkB=0)
    ax.add_patch(patch)
    if label:
        if at is None:
            (x0, y0), (x1, y1) = points[0], points[1]
            at = ((x0 + x1) / 2, (y0 + y1) / 2 + 0.03)
        ax.text(*at, label, ha=ha, va=va, fontsize=SMALL_FONT_SIZE, color=color, linespacing=1.1,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9})
    return patch


class SavedFigure:
    """The files written by :func:`save`: ``paths`` (PDF, PNG). In a notebook it shows
    as the saved PNG (``_repr_png_``), so the executed notebook holds exactly the file.
    Iterates over ``paths`` like the list :func:`save` used to return."""

    def __init__(self, paths):
        self.paths = tuple(Path(p) for p in paths)

    @property
    def pdf(self) -> Path:
        return self.paths[0]

    @property
    def png(self) -> Path:
        return self.paths[1]

    def _repr_png_(self) -> bytes:
        return self.png.read_bytes()

    def __iter__(self):
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        return self.paths[i]

    def __repr__(self) -> str:
        return f"SavedFigure({', '.join(str(p) for p in self.paths)})"


def save(fig, stem: str | Path, folder: str | Path = "figures") -> SavedFigure:
    """Write ``<folder>/<stem>.pdf`` and ``.png`` at the figure's own (print) size, with no
    timestamps; close the figure. Returns a :class:`SavedFigure` (shown inline as the PNG)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.pdf", folder / f"{stem}.png"]
    with style():
        fig.savefig(paths[0], metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                        "Creator": None})
        fig.savefig(paths[1], metadata={"Software": None}, dpi=PNG_DPI)
    plt.close(fig)
    return SavedFigure(paths)
