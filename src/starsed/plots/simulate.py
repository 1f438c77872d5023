"""Figures of the simulated data (paper Figs. 1-4) and the wavefront-error map.

One function per figure, named like its saved file (:func:`wavefront_star`,
:func:`monochromatic`, :func:`seds`, :func:`degeneracy`, :func:`wfe_field`), each
returning a :class:`matplotlib.figure.Figure` drawn at print size; write it with
:func:`starsed.plots.save`. Inputs are plain arrays with units in their names
(``opd_um``, ``wavelengths_nm``, positions in field units 0..1000).

Conventions: stamps are drawn with ``origin='lower'`` (x along columns, y along
rows, as in the simulator and the pupil), on axes in arcsec from the stamp
centre; widths are :data:`starsed.plots.COLUMN_WIDTH` or :data:`~starsed.plots.TEXT_WIDTH`.

:func:`find_degenerate_pair` (the pair shown in Fig. 4) is pure array logic and
is kept at the top of this module.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import matplotlib.pyplot as plt
from matplotlib import colors
from matplotlib.ticker import MaxNLocator

from . import (COLUMN_WIDTH, DIVERGING_CMAP, OKABE_ITO, SMALL_FONT_SIZE, TEXT_WIDTH, class_colours,
               figure_function, new_figure, pow10_colorbar, pow10_label)
from ..physics.field import monomial_powers, wfe_rms_um, zernike_coefficients

__all__ = [
    "pair_distances", "find_degenerate_pair",
    "wavefront_star", "monochromatic", "seds", "degeneracy", "wfe_field",
]

#: colour range of the wavefront maps, um (docs/reference.md, Figures and tables: figure 1)
OPD_RANGE_UM = 0.2
#: the log stretch of monochromatic PSFs shows this many decades below the peak
LOG_DECADES = 4.0
#: linear part of the asinh stretch of stamps, as a fraction of the peak
ASINH_WIDTH = 5e-3
#: colour map of stamps (flux)
STAMP_CMAP = "magma"


# --------------------------------------------------------------------------- pure helpers

def pair_distances(a: np.ndarray, b: np.ndarray, normalise: bool = True) -> np.ndarray:
    """L2 distances between every image of ``a`` (Na, ...) and of ``b`` (Nb, ...).

    With ``normalise`` each image is first scaled to unit L2 norm, so the
    distance is sqrt(2 - 2 cos(angle)): it compares shapes, not brightness or
    noise amplitude. Computed with one matrix product (||a||^2 + ||b||^2 - 2 a.b),
    in float64. Returns (Na, Nb).
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"image sizes differ: {a.shape[1]} vs {b.shape[1]} values")
    if normalise:
        na = np.linalg.norm(a, axis=1, keepdims=True)
        nb = np.linalg.norm(b, axis=1, keepdims=True)
        if np.any(na == 0) or np.any(nb == 0):
            raise ValueError("an all-zero image cannot be normalised")
        a, b = a / na, b / nb
    sq = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))


def find_degenerate_pair(images: np.ndarray, labels: np.ndarray, class_a: int = 12,
                         class_b: int = 0, normalise: bool = True,
                         block: int = 2048) -> tuple[int, int]:
    """Indices (i, j) of the most alike class-``class_a`` / class-``class_b`` stars.

    ``images`` (N, 32, 32), noisy or noiseless stamps; ``labels`` (N,) class
    indices (default: an M5V star, label 12, and an O5V star, label 0).
    Minimises the (unit-L2-)normalised L2 distance of :func:`pair_distances`
    over all pairs with ``labels[i] == class_a`` and ``labels[j] == class_b``;
    vectorised in blocks of ``block`` class-a stars (memory block x N_b).
    Ties go to the smallest i, then the smallest j. Indices refer to ``images``.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
    ia = np.flatnonzero(labels == class_a)
    ib = np.flatnonzero(labels == class_b)
    if ia.size == 0 or ib.size == 0:
        raise ValueError(f"need stars of both classes: {ia.size} of class {class_a}, "
                         f"{ib.size} of class {class_b}")
    if class_a == class_b:
        raise ValueError("class_a and class_b must differ")
    best = (np.inf, -1, -1)
    for start in range(0, ia.size, block):
        rows = ia[start:start + block]
        d = pair_distances(images[rows], images[ib], normalise)
        k = int(np.argmin(d))            # first minimum in row-major order
        r, c = divmod(k, d.shape[1])
        if d[r, c] < best[0]:
            best = (d[r, c], int(rows[r]), int(ib[c]))
    return best[1], best[2]


def _stamp_extent(n: int, pixel_arcsec: float) -> tuple[float, float, float, float]:
    """imshow extent of an n x n stamp in arcsec from the stamp centre (pixel edges)."""
    h = 0.5 * n * pixel_arcsec
    return (-h, h, -h, h)


def _edges_from_centres(centres: np.ndarray) -> np.ndarray:
    """Bin edges halfway between centres, the outer ones mirrored."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _degree_of(n_monomials: int) -> int:
    for d in range(32):
        if len(monomial_powers(d)) == n_monomials:
            return d
    raise ValueError(f"{n_monomials} is not the number of monomials of any total degree")


def _wavelength_label(nm: float) -> str:
    return f"{nm:.1f} nm"


# --------------------------------------------------------------------------- styling helpers

def _star_norm(images: Sequence[np.ndarray]) -> colors.Normalize:
    """Shared asinh stretch for stamps (linear near 0, logarithmic in the wings; allows
    the negative pixels of noisy stamps)."""
    vmax = float(max(np.max(im) for im in images))
    vmin = float(min(np.min(im) for im in images))
    vmin = min(vmin, 0.0)
    if vmax <= 0:
        raise ValueError("stamps must have a positive maximum")
    return colors.AsinhNorm(linear_width=ASINH_WIDTH * vmax, vmin=vmin, vmax=vmax)


def _asinh_colorbar(fig_or_sub, mappable, ax, label: str, **kw):
    """Colour bar of an asinh-stretched image with ticks at 0 and at +-powers of ten
    no smaller than half the linear width (smaller ones would crowd the 0 label)."""
    norm = mappable.norm
    cb = fig_or_sub.colorbar(mappable, ax=ax, label=label, **kw)
    lw = norm.linear_width
    pos = [10.0 ** p for p in range(int(np.ceil(np.log10(0.5 * lw))),
                                     int(np.floor(np.log10(norm.vmax))) + 1)]
    neg = [-v for v in pos if -v >= norm.vmin]
    ticks = sorted(neg + [0.0] + pos)
    cb.set_ticks(ticks, labels=[pow10_label(t) for t in ticks])       # 10⁻³: no mathtext script
    cb.ax.minorticks_off()
    return cb


def _log_norm(images: Sequence[np.ndarray], decades: float = LOG_DECADES) -> colors.LogNorm:
    vmax = float(max(np.max(im) for im in images))
    if vmax <= 0:
        raise ValueError("monochromatic PSFs must have a positive maximum")
    return colors.LogNorm(vmin=vmax * 10.0 ** (-decades), vmax=vmax, clip=True)


def _show_stamp(ax, image, norm, pixel_arcsec, cmap=STAMP_CMAP):
    image = np.asarray(image)
    return ax.imshow(image, origin="lower", cmap=cmap, norm=norm, interpolation="nearest",
                     extent=_stamp_extent(image.shape[-1], pixel_arcsec))


def _label_stamp_axes(ax, x=True, y=True):
    if x:
        ax.set_xlabel("x [arcsec]")
    else:
        ax.tick_params(labelbottom=False)
    if y:
        ax.set_ylabel("y [arcsec]")
    else:
        ax.tick_params(labelleft=False)


def _stamp_ticks(ax, image, pixel_arcsec):
    """Ticks at whole (or half) arcsec, 3 to 5 per axis, so small stamps stay uncluttered."""
    half = 0.5 * np.asarray(image).shape[-1] * pixel_arcsec
    step = next(s for s in (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0) if half / s <= 2.5)
    t = np.arange(-np.floor(half / step), np.floor(half / step) + 1) * step + 0.0
    ax.set_xticks(t)
    ax.set_yticks(t)
    ax.xaxis.set_major_formatter("{x:g}")
    ax.yaxis.set_major_formatter("{x:g}")


def _extend(data_min: float, data_max: float, vmin: float, vmax: float) -> str:
    lo, hi = data_min < vmin, data_max > vmax
    return {(False, False): "neither", (True, False): "min", (False, True): "max",
            (True, True): "both"}[(lo, hi)]


# --------------------------------------------------------------------------- Fig. 1

@figure_function
def wavefront_star(opd_um: np.ndarray, pupil: np.ndarray, noiseless: np.ndarray,
                   noisy: np.ndarray, pixel_arcsec: float = 0.101,
                   diameter_m: float = 1.2, snr: float | None = None,
                   opd_range_um: float = OPD_RANGE_UM):
    """Fig. 1 (full width): wavefront (OPD, um, colour range +-``opd_range_um``, masked
    outside the pupil), the noiseless star and the noisy star (shared asinh stretch).

    ``opd_um`` and ``pupil`` (P, P) on the pupil grid (x along columns, y along
    rows, spanning the ``diameter_m`` aperture); ``noiseless``, ``noisy`` (n, n)
    stamps of ``pixel_arcsec`` pixels; ``snr`` only annotates the noisy panel.
    """
    opd = np.asarray(opd_um, dtype=np.float64)
    pupil = np.asarray(pupil)
    if opd.shape != pupil.shape or opd.ndim != 2:
        raise ValueError(f"opd_um {opd.shape} and pupil {pupil.shape} must be the same 2-D shape")
    masked = np.ma.masked_where(pupil <= 0, opd)
    inside = opd[pupil > 0]
    half = 0.5 * diameter_m * opd.shape[0] / (opd.shape[0] - 1)   # sample-edge extent
    fig = new_figure(TEXT_WIDTH, 2.15)
    axs = fig.subplots(1, 3)
    cmap = plt.get_cmap(DIVERGING_CMAP).with_extremes(bad="white")
    im = axs[0].imshow(masked, origin="lower", cmap=cmap, vmin=-opd_range_um,
                       vmax=opd_range_um, interpolation="nearest",
                       extent=(-half, half, -half, half))
    pt = np.arange(-np.floor(half / 0.5), np.floor(half / 0.5) + 1) * 0.5 + 0.0
    axs[0].set_xticks(pt)
    axs[0].set_yticks(pt)
    axs[0].xaxis.set_major_formatter("{x:g}")
    axs[0].yaxis.set_major_formatter("{x:g}")
    axs[0].set_xlabel("pupil x [m]")
    axs[0].set_ylabel("pupil y [m]")
    rms_nm = 1000.0 * float(np.sqrt(np.mean(inside ** 2))) if inside.size else 0.0
    axs[0].set_title(f"Wavefront (RMS {rms_nm:.0f} nm)")
    ext = _extend(inside.min(), inside.max(), -opd_range_um, opd_range_um) if inside.size else "neither"
    cb = fig.colorbar(im, ax=axs[0], label="OPD [µm]", extend=ext)
    cb.set_ticks(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]).tick_values(-opd_range_um, opd_range_um))

    norm = _star_norm([noiseless, noisy])
    _show_stamp(axs[1], noiseless, norm, pixel_arcsec)
    axs[1].set_title("Noiseless star")
    im2 = _show_stamp(axs[2], noisy, norm, pixel_arcsec)
    axs[2].set_title("Noisy star" + (f" (SNR {snr:.0f})" if snr is not None else ""))
    for ax in axs[1:]:
        _stamp_ticks(ax, noisy, pixel_arcsec)
    _label_stamp_axes(axs[1])
    _label_stamp_axes(axs[2], y=False)
    _asinh_colorbar(fig, im2, axs[1:], "flux fraction per pixel (asinh scale)")
    return fig


# --------------------------------------------------------------------------- Fig. 2

@figure_function
def monochromatic(mono: np.ndarray, wavelengths_nm: np.ndarray, pixel_arcsec: float = 0.101,
                  ncols: int = 4, decades: float = LOG_DECADES):
    """Fig. 2 (full width): the monochromatic PSFs (L, n, n) of one star, one panel per
    wavelength (nm), on a shared logarithmic colour scale of ``decades`` decades."""
    mono = np.asarray(mono)
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    if mono.ndim != 3 or mono.shape[0] != wl.size:
        raise ValueError(f"mono must be (L, n, n) with L = {wl.size}, got {mono.shape}")
    nrows = -(-wl.size // ncols)
    norm = _log_norm(list(mono), decades)
    fig = new_figure(TEXT_WIDTH, 0.5 + 1.25 * nrows)
    axs = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for k, ax in enumerate(axs.flat):
        if k >= wl.size:
            ax.set_visible(False)
            continue
        im = _show_stamp(ax, mono[k], norm, pixel_arcsec)
        _stamp_ticks(ax, mono[k], pixel_arcsec)
        ax.set_title(_wavelength_label(wl[k]))
        r, c = divmod(k, ncols)
        ax.tick_params(labelbottom=(r == nrows - 1) or (k + ncols >= wl.size), labelleft=(c == 0))
    fig.supxlabel("x [arcsec]")
    fig.supylabel("y [arcsec]")
    pow10_colorbar(fig.colorbar(im, ax=axs, label="flux fraction per pixel (log scale)", extend="min"))
    return fig


# --------------------------------------------------------------------------- Fig. 3

@figure_function
def seds(wavelength_nm: np.ndarray, seds_1nm: np.ndarray, classes: Sequence[str],
         bin_edges_nm: np.ndarray | None = None, weights: np.ndarray | None = None):
    """Fig. 3 (one column): the SEDs (K, M) sampled at ``wavelength_nm`` (M,), each
    normalised to unit integral over the band (flux per nm), coloured hot -> cool with
    :func:`class_colours`; ``bin_edges_nm`` as faint vertical lines; ``weights``
    (K, n_bins), if given, drawn as the binned SEDs (per nm) in thin dashed steps."""
    wl = np.asarray(wavelength_nm, dtype=np.float64)
    s = np.asarray(seds_1nm, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != wl.size or s.shape[0] != len(classes):
        raise ValueError(f"seds_1nm must be ({len(classes)}, {wl.size}), got {s.shape}")
    dl = np.gradient(wl) if wl.size > 1 else np.ones(1)
    s = s / np.sum(s * dl, axis=1, keepdims=True)
    cols = class_colours(len(classes))
    fig = new_figure(COLUMN_WIDTH, 2.55)
    ax = fig.subplots()
    if bin_edges_nm is not None:
        for e in np.asarray(bin_edges_nm, dtype=np.float64):
            ax.axvline(e, color="0.85", lw=0.5, zorder=0)
    for k, name in enumerate(classes):
        ax.plot(wl, s[k], color=cols[k], lw=1.0, label=name)
    if weights is not None:
        if bin_edges_nm is None:
            raise ValueError("weights need bin_edges_nm")
        e = np.asarray(bin_edges_nm, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(classes), e.size - 1):
            raise ValueError(f"weights must be ({len(classes)}, {e.size - 1}), got {w.shape}")
        dens = w / w.sum(axis=1, keepdims=True) / np.diff(e)[None, :]
        for k in range(len(classes)):
            ax.stairs(dens[k], e, color=cols[k], lw=0.6, ls="--", alpha=0.9, baseline=None)
    ax.set_xlim(wl[0] - 0.5 * dl[0], wl[-1] + 0.5 * dl[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("normalised flux density [nm⁻¹]")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=1.2, labelspacing=0.2,
              borderaxespad=0.0, title="class")
    return fig


# --------------------------------------------------------------------------- Fig. 4

@figure_function
def degeneracy(noisy_a: np.ndarray, noisy_b: np.ndarray, weights_a: np.ndarray,
               weights_b: np.ndarray, mono_a: np.ndarray, mono_b: np.ndarray,
               label_a: str, label_b: str, wavelengths_nm: np.ndarray,
               bin_edges_nm: np.ndarray | None = None, pixel_arcsec: float = 0.101,
               show: Sequence[int] | None = None, decades: float = LOG_DECADES):
    """Fig. 4 (full width): two stars of different classes whose noisy images look alike.

    Top: the two noisy stamps (shared asinh stretch), their difference a - b and
    their binned SEDs ``weights`` (n_bins,) as steps over ``bin_edges_nm``
    (default: halfway between ``wavelengths_nm``); bottom: their monochromatic
    PSFs ``mono`` (n_bins, n, n) at the wavelength indices ``show`` (default: four,
    evenly spaced from the shortest to the longest), on a shared log scale, one row
    per star. The difference panel quotes the distance of :func:`pair_distances`
    (stamps scaled to unit L2 norm). The redder SED is drawn in vermillion, the
    bluer in blue (Okabe-Ito), solid for a and dashed for b.
    """
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    wa, wb = (np.asarray(w, dtype=np.float64) for w in (weights_a, weights_b))
    mono_a, mono_b = np.asarray(mono_a), np.asarray(mono_b)
    for name, w in (("weights_a", wa), ("weights_b", wb)):
        if w.shape != wl.shape:
            raise ValueError(f"{name} must have shape {wl.shape}, got {w.shape}")
    for name, m in (("mono_a", mono_a), ("mono_b", mono_b)):
        if m.ndim != 3 or m.shape[0] != wl.size:
            raise ValueError(f"{name} must be ({wl.size}, n, n), got {m.shape}")
    edges = _edges_from_centres(wl) if bin_edges_nm is None else np.asarray(bin_edges_nm, float)
    if show is None:      # four wavelengths from the shortest to the longest
        show = sorted(set(np.round(np.linspace(0, wl.size - 1, min(4, wl.size))).astype(int).tolist()))
    show = [int(k) for k in show]
    red, blue = OKABE_ITO[6], OKABE_ITO[5]
    a_redder = np.dot(wa, wl) / wa.sum() >= np.dot(wb, wl) / wb.sum()
    col_a, col_b = (red, blue) if a_redder else (blue, red)

    fig = new_figure(TEXT_WIDTH, 4.45)
    top, bot = fig.subfigures(2, 1, height_ratios=[2.1, 2.35], hspace=0.0)
    left, right = bot.subfigures(1, 2, width_ratios=[1.0, 2.4], wspace=0.0)

    # top: the noisy stamps and their difference
    axs = top.subplots(1, 3)
    norm = _star_norm([noisy_a, noisy_b])
    _show_stamp(axs[0], noisy_a, norm, pixel_arcsec)
    im = _show_stamp(axs[1], noisy_b, norm, pixel_arcsec)
    axs[0].set_title(f"{label_a}, noisy", color=col_a)
    axs[1].set_title(f"{label_b}, noisy", color=col_b)
    _asinh_colorbar(top, im, axs[:2], "flux fraction per pixel\n(asinh scale)")
    diff = 100.0 * (np.asarray(noisy_a, dtype=np.float64) - np.asarray(noisy_b, dtype=np.float64))
    lim = float(np.max(np.abs(diff))) or 1.0
    im = axs[2].imshow(diff, origin="lower", cmap=DIVERGING_CMAP, vmin=-lim, vmax=lim,
                       interpolation="nearest",
                       extent=_stamp_extent(diff.shape[-1], pixel_arcsec))
    dist = float(pair_distances(np.asarray(noisy_a)[None], np.asarray(noisy_b)[None])[0, 0])
    axs[2].set_title(f"Difference {label_a} − {label_b}")
    axs[2].text(0.03, 0.97, f"normalised distance {dist:.3f}", transform=axs[2].transAxes,
                fontsize=SMALL_FONT_SIZE, ha="left", va="top",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0})
    top.colorbar(im, ax=axs[2], label="difference\n[% of the flux per pixel]")
    for ax in axs:
        _stamp_ticks(ax, noisy_a, pixel_arcsec)
    _label_stamp_axes(axs[0])
    _label_stamp_axes(axs[1], y=False)
    _label_stamp_axes(axs[2], y=False)

    # bottom left: the binned SEDs
    ax = left.subplots()
    ax.stairs(wa / wa.sum(), edges, color=col_a, lw=1.4, label=label_a, baseline=None)
    ax.stairs(wb / wb.sum(), edges, color=col_b, lw=1.4, ls="--", label=label_b, baseline=None)
    for k in show:
        ax.axvline(wl[k], color="0.55", lw=0.6, ls=":", zorder=0)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1.3 * max((wa / wa.sum()).max(), (wb / wb.sum()).max()))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("flux fraction per bin")
    ax.set_title("Binned SEDs")
    ax.legend(loc="upper center", ncols=2)

    # bottom right: monochromatic PSFs (dotted wavelengths on the left), one row per star
    axs = right.subplots(2, len(show), sharex=True, sharey=True, squeeze=False)
    lnorm = _log_norm([m[k] for m in (mono_a, mono_b) for k in show], decades)
    for r, (m, lab, col) in enumerate(((mono_a, label_a, col_a), (mono_b, label_b, col_b))):
        for c, k in enumerate(show):
            im = _show_stamp(axs[r, c], m[k], lnorm, pixel_arcsec)
            _stamp_ticks(axs[r, c], m[k], pixel_arcsec)
            if r == 0:
                axs[r, c].set_title(_wavelength_label(wl[k]))
            axs[r, c].tick_params(labelbottom=(r == 1), labelleft=(c == 0))
        axs[r, 0].set_ylabel(f"{lab}: y [arcsec]", color=col)
    right.supxlabel("x [arcsec]")
    pow10_colorbar(right.colorbar(im, ax=axs, label="monochromatic flux fraction\nper pixel (log scale)",
                                  extend="min"))
    return fig


# --------------------------------------------------------------------------- WFE map

@figure_function
def wfe_field(positions: np.ndarray | None = None, wfe_rms_nm: np.ndarray | None = None, *,
              C_um: np.ndarray | None = None, degree: int | None = None,
              size: float = 1000.0, n_grid: int = 50, show_positions: bool = True,
              cmap: str = "viridis"):
    """Wavefront RMS error (nm) over the field (one column).

    With ``C_um`` (n_zernikes, n_monomials), the field is evaluated with
    :func:`starsed.physics.field.zernike_coefficients` at the centres of an
    ``n_grid`` x ``n_grid`` grid over [0, size]^2 (``degree`` inferred from the
    number of monomials if not given) and drawn as an image; ``positions`` (N, 2),
    field units, are overplotted (coloured by ``wfe_rms_nm`` on the same scale if
    given). Without ``C_um``, ``positions`` and ``wfe_rms_nm`` (N,) are drawn as
    filled contours of their triangulation, with the positions on top.
    """
    if C_um is None and (positions is None or wfe_rms_nm is None):
        raise ValueError("give C_um, or positions and wfe_rms_nm")
    pos = None if positions is None else np.atleast_2d(np.asarray(positions, dtype=np.float64))
    wfe = None if wfe_rms_nm is None else np.asarray(wfe_rms_nm, dtype=np.float64)
    if pos is not None and pos.shape[1] != 2:
        raise ValueError(f"positions must be (N, 2), got {pos.shape}")
    if wfe is not None and (pos is None or wfe.shape != (len(pos),)):
        raise ValueError("wfe_rms_nm needs positions of the same length")
    fig = new_figure(COLUMN_WIDTH, 2.75)
    ax = fig.subplots()
    if C_um is not None:
        C = np.asarray(C_um, dtype=np.float64)
        deg = _degree_of(C.shape[1]) if degree is None else degree
        c = (np.arange(n_grid) + 0.5) * size / n_grid
        gx, gy = np.meshgrid(c, c)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        rms = 1000.0 * wfe_rms_um(zernike_coefficients(C, grid, deg, size)).reshape(n_grid, n_grid)
        vmin, vmax = float(rms.min()), float(rms.max())
        if wfe is not None:
            vmin, vmax = min(vmin, wfe.min()), max(vmax, wfe.max())
        norm = colors.Normalize(vmin, vmax)
        im = ax.imshow(rms, origin="lower", cmap=cmap, norm=norm, interpolation="bilinear",
                       extent=(0, size, 0, size))
        title = f"Wavefront error (field mean {rms.mean():.1f} nm)"
    else:
        levels = MaxNLocator(12).tick_values(float(wfe.min()), float(wfe.max()))
        norm = colors.Normalize(levels[0], levels[-1])
        im = ax.tricontourf(pos[:, 0], pos[:, 1], wfe, levels=levels, cmap=cmap, norm=norm)
        title = f"Wavefront error (star mean {wfe.mean():.1f} nm)"
    if pos is not None and show_positions:
        if wfe is not None and C_um is not None:
            ax.scatter(pos[:, 0], pos[:, 1], c=wfe, cmap=cmap, norm=norm, s=8,
                       edgecolors="white", linewidths=0.4)
        else:
            ax.scatter(pos[:, 0], pos[:, 1], s=3, c="white", edgecolors="black",
                       linewidths=0.3)
    ax.set_xlim(0, size)
    ax.set_ylim(0, size)
    ax.set_aspect("equal")
    ax.set_xlabel("field x [field units]")
    ax.set_ylabel("field y [field units]")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="WFE RMS [nm]")
    return fig
