"""Figures of the classification stage (docs/reference.md, Figures and tables: 5, 7, 8, 10, 11, 12
and extras), each named like its saved file: :func:`similarity_features`, :func:`pca`,
:func:`cnn`, :func:`accuracy_vs_psf_error`, :func:`per_class`, :func:`confusion_generalisation`,
:func:`accuracy_vs_snr`, :func:`confusion_best`, :func:`reliability`.

Each returns a matplotlib Figure drawn at print size (save with :func:`starsed.plots.save`).
Colours: Okabe-Ito for methods (with a marker and a line style each), a perceptually
uniform sequential map for the 13 ordered classes, ``cividis`` for matrices, a diverging
map for signed images.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.legend_handler import HandlerTuple

from . import (COLUMN_WIDTH, DIVERGING_CMAP, FONT_SIZE, LINE_COLOURS, LINESTYLES, MARKERS, OKABE_ITO,
               SMALL_FONT_SIZE, TEXT_WIDTH, class_colours, diagram_arrow, diagram_axes, figure_function,
               new_figure, text_width, wrap)

__all__ = ["similarity_features", "pca", "cnn", "accuracy_vs_psf_error", "per_class",
           "confusion_generalisation", "accuracy_vs_snr", "confusion_best", "reliability"]

MATRIX_CMAP = "cividis"
#: Okabe-Ito without yellow (too pale for lines on white)
METHOD_COLOURS = LINE_COLOURS


def _mc(i: int) -> str:
    return METHOD_COLOURS[i % len(METHOD_COLOURS)]


def _mk(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def _ls(i: int):
    return LINESTYLES[i % len(LINESTYLES)]


# --------------------------------------------------------------------------- figure 5

@figure_function
def similarity_features(features, labels, wavelengths_nm, class_names, max_stars: int = 1500,
                        seed: int = 0, dodge_nm: float | None = None):
    """Figure 5 (one column): similarity features s_k vs bin wavelength for individual
    stars (thin, at most ``max_stars`` drawn at random with ``seed``) and each class mean
    (thick, with a small marker per class). The class means are offset in x by ``dodge_nm``
    per class (default: 3 % of the bin spacing, so the 13 means span about a third of a bin
    and stay inside it), hot classes left, cool right, so their markers do not pile up where
    the means coincide (600-700 nm); the thin star lines are at the bin centres."""
    features, labels = np.asarray(features), np.asarray(labels)
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    n = len(class_names)
    cols = class_colours(n)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(labels))[:max_stars]
    if dodge_nm is None:
        dodge_nm = 0.05 * float(np.min(np.diff(wl))) if wl.size > 1 else 0.0
    fig = new_figure(COLUMN_WIDTH, 2.7)
    ax = fig.subplots()
    for i in idx:
        ax.plot(wl, features[i], color=cols[labels[i]], lw=0.3, alpha=0.2)
    for c in range(n):
        if np.any(labels == c):
            x, y = wl + (c - (n - 1) / 2) * dodge_nm, features[labels == c].mean(axis=0)
            ax.plot(x, y, color="white", lw=2.0, alpha=0.8, solid_capstyle="round")   # a halo over the stars
            ax.plot(x, y, color=cols[c], lw=1.1, marker=_mk(c), ms=2.6, markeredgecolor="k",
                    markeredgewidth=0.25, label=class_names[c])
    ax.set_xlabel("bin central wavelength [nm]")
    ax.set_ylabel("similarity feature sₖ")
    ax.set_title(f"{len(idx):,} stars (thin), class means (thick)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=1.6, labelspacing=0.2,
              borderaxespad=0.0, title="class mean\n(offset in x)", markerscale=1.3)
    return fig


# --------------------------------------------------------------------------- figure 7

@figure_function
def pca(components, star, reconstruction, n_show: int = 12, explained=None, zoom: int = 16,
        n_components: int | None = None, ncols: int = 6):
    """Figure 7 (full width): the first ``n_show`` PCA components (central ``zoom`` x ``zoom``
    pixels, one shared diverging scale with its colour bar; each titled with its number and
    explained-variance fraction ``explained``), then one star, its reconstruction from
    ``n_components`` components (default: all of ``components``) and the residual."""
    components = np.asarray(components)
    n_total = len(components) if n_components is None else int(n_components)
    n_show = min(n_show, len(components))
    side = int(round(np.sqrt(components.shape[-1]))) if components.ndim == 2 else components.shape[-1]
    comps = components[:n_show].reshape(n_show, side, side)
    zoom = min(zoom, side)
    a = side // 2 - zoom // 2
    crop = (slice(a, a + zoom), slice(a, a + zoom))
    comps = comps[(slice(None),) + crop]
    extent = (a - 0.5, a + zoom - 0.5, a - 0.5, a + zoom - 0.5)     # pixel indices of the stamp
    nrow = int(np.ceil(n_show / ncols))

    fig = new_figure(TEXT_WIDTH, 1.15 * nrow + 2.0)
    top, bot = fig.subfigures(2, 1, height_ratios=[1.15 * nrow + 0.1, 1.9], hspace=0.0)
    axs = np.atleast_2d(top.subplots(nrow, ncols, squeeze=False))
    lim = float(np.abs(comps).max()) or 1.0
    cnorm = Normalize(-lim, lim)
    for k, ax in enumerate(axs.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n_show:
            ax.set_visible(False)
            continue
        im = ax.imshow(comps[k], cmap=DIVERGING_CMAP, norm=cnorm, origin="lower", extent=extent)
        title = f"PC {k + 1}"
        if explained is not None:
            title += f": {100 * explained[k]:.1f} %"
        ax.set_title(title, fontsize=SMALL_FONT_SIZE, pad=2)
    cb = top.colorbar(im, ax=axs, label="component value\n(unit-norm vector)", shrink=0.95)
    cb.formatter.set_powerlimits((-3, 3))
    cb.ax.yaxis.get_offset_text().set_fontsize(SMALL_FONT_SIZE)

    star = 100.0 * np.asarray(star, dtype=np.float64)[crop]                   # % of the flux
    reconstruction = 100.0 * np.asarray(reconstruction, dtype=np.float64)[crop]
    resid = star - reconstruction
    axs = bot.subplots(1, 3)
    vmax = float(max(star.max(), reconstruction.max()))
    vmin = float(min(0.0, star.min(), reconstruction.min()))
    snorm = Normalize(vmin, vmax)
    axs[0].imshow(star, cmap="magma", norm=snorm, origin="lower", extent=extent)
    im = axs[1].imshow(reconstruction, cmap="magma", norm=snorm, origin="lower", extent=extent)
    axs[0].set_title("noisy star")
    axs[1].set_title(f"reconstruction ({n_total} PCs)")
    bot.colorbar(im, ax=axs[:2], label="flux per pixel [%]")
    rlim = float(np.abs(resid).max()) or 1.0
    im = axs[2].imshow(resid, cmap=DIVERGING_CMAP, vmin=-rlim, vmax=rlim, origin="lower", extent=extent)
    axs[2].set_title("residual: star − reconstruction")
    bot.colorbar(im, ax=axs[2], label="residual per pixel\n[% of the flux]")
    ticks = np.arange(a, a + zoom, 4 if zoom > 8 else 2)
    for i, ax in enumerate(axs):
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xlabel("x [pixel]")
        if i == 0:
            ax.set_ylabel("y [pixel]")
        else:
            ax.tick_params(labelleft=False)
    return fig


# --------------------------------------------------------------------------- figure 8

@figure_function
def cnn(model):
    """Figure 8 (one column): the CNN drawn from the Keras model's own layers (name, output
    shape, parameters), one box per layer, top to bottom."""
    rows = [("input (central crop)", tuple(model.inputs[0].shape[1:]), 0)]
    for layer in model.layers:
        rows.append((layer.name, tuple(layer.output.shape[1:]), layer.count_params()))
    n = len(rows)
    pitch, h = 0.3, 0.19
    top_margin = 0.42
    height = top_margin + n * pitch + 0.05
    fig = new_figure(COLUMN_WIDTH, height, layout=None)
    ax = diagram_axes(fig)
    kind_colour = {"conv": OKABE_ITO[2], "dense": OKABE_ITO[1], "softmax": OKABE_ITO[6],
                   "features": OKABE_ITO[3], "input": OKABE_ITO[7]}
    x0, x1 = 0.05, COLUMN_WIDTH - 0.05
    col_name, col_shape, col_par = x0 + 0.1, x0 + 1.75, x1 - 0.1
    y_head = height - 0.12
    ax.text(COLUMN_WIDTH / 2, y_head, f"CNN+MLP: {model.count_params():,} trainable parameters",
            ha="center", va="top", fontsize=FONT_SIZE, weight="bold")
    yh = height - top_margin + 0.06
    for x, t, ha in ((col_name, "layer", "left"), (col_shape, "output shape", "center"),
                     (col_par, "parameters", "right")):
        ax.text(x, yh, t, ha=ha, va="bottom", fontsize=SMALL_FONT_SIZE, color="0.3", style="italic")
    from matplotlib.patches import FancyBboxPatch
    for i, (name, shape, params) in enumerate(rows):
        yc = height - top_margin - (i + 0.5) * pitch
        key = next((k for k in kind_colour if name.startswith(k)), "input")
        ax.add_patch(FancyBboxPatch((x0 + 0.02, yc - h / 2), x1 - x0 - 0.04, h, boxstyle="round,pad=0.02",
                                    fc=kind_colour[key], ec="0.2", lw=0.6, alpha=0.45))
        shape_txt = " × ".join(str(s) for s in shape)
        ax.text(col_name, yc, name, ha="left", va="center", fontsize=SMALL_FONT_SIZE, family="monospace")
        ax.text(col_shape, yc, shape_txt, ha="center", va="center", fontsize=SMALL_FONT_SIZE)
        ax.text(col_par, yc, f"{params:,}", ha="right", va="center", fontsize=SMALL_FONT_SIZE)
        if i < n - 1:
            diagram_arrow(ax, [(col_shape, yc - h / 2 - 0.025), (col_shape, yc - pitch + h / 2 + 0.025)],
                          lw=0.7)
    return fig


# --------------------------------------------------------------------------- figure 10

@figure_function
def accuracy_vs_psf_error(summary: dict, psf_errors: dict, published: dict | None = None,
                          methods=("svm_psf", "likelihood", "svm_like")):
    """Figure 10 (full width): accuracy and within-one accuracy vs PSF model error (x inverted).

    ``summary`` {key: {accuracy_mean, accuracy_std, within_one_mean, ...}};
    ``psf_errors`` {'s1': pct, ...} (the true PSF 'gt' is drawn at 0 %);
    PCA+MLP and CNN+MLP as horizontal bands (mean +- std; PCA+MLP filled with a dotted mean,
    CNN+MLP hatched with dashed edges and mean, so both show where they coincide); ``published``
    (optional) the paper's SVM+PSF values as open markers. One legend, on the right.
    """
    fig = new_figure(TEXT_WIDTH, 2.5)
    axes = fig.subplots(1, 2, sharex=True)
    names = sorted(psf_errors, key=lambda m: -psf_errors[m])
    method_style = {"svm_psf": ("SVM+PSF", OKABE_ITO[5], "o", "-"),
                    "likelihood": ("likelihood", OKABE_ITO[6], "s", "--"),
                    "svm_like": ("SVM+PSF+likelihood", OKABE_ITO[3], "D", "-.")}
    xmax = max(list(psf_errors.values()) + [v.get("psf_error_pct", 0.0) for v in (published or {}).values()
                                            if isinstance(v, dict)] + [0.5])
    # the two PSF-free baselines can coincide (within-one accuracy): one band filled, the other
    # hatched with dashed edges, their means dotted and dashed, so both show where they overlap
    band_style = {"pca_mlp": ("PCA+MLP", OKABE_ITO[7], ":", "filled"),
                  "cnn_mlp": ("CNN+MLP", OKABE_ITO[2], (0, (5, 2)), "hatched")}
    bands = {}
    for ax, metric, label in ((axes[0], "accuracy", "accuracy (exact class)"),
                              (axes[1], "within_one", "within-one accuracy")):
        for key, (band_label, colour, ls, kind) in band_style.items():
            if key in summary:
                m, s = summary[key][f"{metric}_mean"], summary[key].get(f"{metric}_std", 0.0)
                if kind == "filled":
                    patch = ax.axhspan(m - s, m + s, facecolor=colour, alpha=0.3, lw=0)
                else:
                    patch = ax.axhspan(m - s, m + s, facecolor="none", edgecolor=colour, hatch="/////",
                                       lw=0)
                    for v in (m - s, m + s):
                        ax.axhline(v, color=colour, lw=0.7, ls=(0, (3, 2)))
                line = ax.axhline(m, color=colour, lw=1.3, ls=ls, zorder=2.1 if kind == "filled" else 2.0)
                bands[f"{band_label} (no PSF): mean, ±1 std"] = (patch, line)
        if all(k in summary for k in band_style):
            (m1, s1), (m2, s2) = ((summary[k][f"{metric}_mean"], summary[k].get(f"{metric}_std", 0.0))
                                  for k in band_style)
            if abs(m1 - m2) < 0.5 * max(s1, s2, 1e-9):           # the bands coincide: say so
                ax.text(0.97, max(m1 + s1, m2 + s2), "PCA+MLP ≈ CNN+MLP", transform=ax.get_yaxis_transform(),
                        ha="right", va="bottom", fontsize=SMALL_FONT_SIZE, color="0.25",
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.8})
        for i, prefix in enumerate(methods):
            xs, ys, es = [], [], []
            for m in names + ["gt"]:
                key = f"{prefix}_{m}"
                if key in summary:
                    xs.append(0.0 if m == "gt" else psf_errors[m])
                    ys.append(summary[key][f"{metric}_mean"])
                    es.append(summary[key].get(f"{metric}_std", 0.0))
            if xs:
                mlabel, colour, marker, ls = method_style.get(prefix, (prefix, _mc(i), _mk(i), _ls(i)))
                ax.errorbar(xs, ys, yerr=es, color=colour, marker=marker, ls=ls, ms=4, label=mlabel)
        if published:
            pub = [(v["psf_error_pct"], v[metric]) for k, v in published.items()
                   if k.startswith("svm_psf_s") and "psf_error_pct" in v]
            if "svm_psf_gt" in published:
                pub.append((0.0, published["svm_psf_gt"][metric]))
            if pub:
                px, py = zip(*sorted(pub))
                ax.plot(px, py, ls="none", marker="o", mfc="none", mec="k", ms=6, mew=0.8,
                        label="SVM+PSF (paper)")
        if "bayes_gt" in summary:
            ax.plot([0.0], [summary["bayes_gt"][f"{metric}_mean"]], marker="*", ms=9, color=OKABE_ITO[1],
                    mec="k", mew=0.5, ls="none", label="Bayes limit (true PSF)")
        ax.set_xlabel("PSF model error [%] (0: true PSF)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.4)
    axes[0].set_xlim(1.08 * xmax, -0.08 * xmax)
    handles, labs = axes[0].get_legend_handles_labels()
    fig.legend(list(bands.values()) + handles, list(bands) + labs, loc="outside right center",
               handler_map={tuple: HandlerTuple(ndivide=1)}, handleheight=1.1)
    return fig


# --------------------------------------------------------------------------- figure 11

@figure_function
def per_class(per_class: dict, class_names, labels: dict | None = None,
              published_recall: dict | None = None):
    """Figure 11 (full width): per-class F1, accuracy (= recall) and within-one accuracy for
    each method. ``per_class`` {method key: {'f1', 'recall', 'within_one': (13,)}};
    ``published_recall`` {method key: (13,)} adds the paper's per-class recall (open
    markers, dotted) to the middle panel. One legend, below the panels."""
    fig = new_figure(TEXT_WIDTH, 2.75)
    axes = fig.subplots(1, 3, sharey=True)
    x = np.arange(len(class_names))
    for ax, metric, title in zip(axes, ("f1", "recall", "within_one"),
                                 ("F1 score", "accuracy (recall)", "within-one accuracy")):
        for i, (key, d) in enumerate(per_class.items()):
            name = (labels or {}).get(key, key)
            ax.plot(x, d[metric], marker=_mk(i), color=_mc(i), ls=_ls(i), ms=3.5, label=name)
            if metric == "recall" and published_recall and key in published_recall:
                ax.plot(x, published_recall[key], ls="none", marker=_mk(i), mfc="white", ms=4.5, mew=0.9,
                        color=_mc(i), label=f"{name} (paper)")
        ax.set_xticks(x)
        ax.set_xticklabels(class_names, rotation=90)
        ax.set_xlim(-0.5, len(class_names) - 0.5)
        ax.set_xlabel("true SED class (hot → cool)")
        ax.set_title(title)
        ax.grid(True, alpha=0.4)
    axes[0].set_ylabel("score per class")
    axes[0].set_ylim(0, 1.02)
    handles, labs = axes[1].get_legend_handles_labels()
    fig.legend(handles, labs, loc="outside lower center", ncols=min(len(labs), 3))
    return fig


# --------------------------------------------------------------------------- figure 12 and the best matrix

def _matrix(ax, cm, class_names, title, ylabels: bool = True):
    cm = np.asarray(cm, np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap=MATRIX_CMAP, vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels(class_names, rotation=90)
    ax.set_xlabel("predicted class")
    if ylabels:
        ax.set_yticklabels(class_names)
        ax.set_ylabel("true class")
    else:
        ax.tick_params(labelleft=False)
    ax.tick_params(length=1.5)
    ax.set_title(title)
    return im


@figure_function
def confusion_generalisation(cms: dict, class_names, titles: dict | None = None):
    """Figure 12 (full width): row-normalised confusion matrices of the generalisation test
    (classifiers trained on the main exposure, tested on the second), one per method,
    one shared colour bar."""
    n = len(cms)
    fig = new_figure(TEXT_WIDTH, 2.6 if n >= 3 else 3.3)
    axes = np.atleast_1d(fig.subplots(1, n, squeeze=False)[0])
    for i, (ax, (key, cm)) in enumerate(zip(axes, cms.items())):
        title = wrap((titles or {}).get(key, key), (TEXT_WIDTH - 1.0) / n)
        im = _matrix(ax, cm, class_names, title, ylabels=(i == 0))
    fig.colorbar(im, ax=list(axes), label="fraction of the true class", shrink=0.9)
    return fig


@figure_function
def confusion_best(cm, class_names, title: str):
    """One column: row-normalised confusion matrix of one method (the most accurate).

    ``title`` (e.g. 'best method: SVM+PSF GT (all realisations)') is one line over the whole
    figure, at :data:`FONT_SIZE` or, if that is too wide, :data:`SMALL_FONT_SIZE`; only a title
    too wide even then is wrapped."""
    fig = new_figure(COLUMN_WIDTH, 3.05)
    ax = fig.subplots()
    im = _matrix(ax, cm, class_names, "")
    room = COLUMN_WIDTH - 0.1
    size = next((f for f in (FONT_SIZE, SMALL_FONT_SIZE) if text_width(title, f) <= room), SMALL_FONT_SIZE)
    fig.suptitle(wrap(title, room, size), fontsize=size)
    fig.colorbar(im, ax=ax, label="fraction of the true class", shrink=0.92)
    return fig


# --------------------------------------------------------------------------- extras

@figure_function
def accuracy_vs_snr(curves: dict, labels: dict | None = None):
    """Full width: accuracy and within-one accuracy in SNR bins; ``curves`` {key: output of
    :func:`starsed.metrics.classification.accuracy_by_snr` (values may be averaged over
    realisations)}. One legend, on the right."""
    fig = new_figure(TEXT_WIDTH, 2.6)
    axes = fig.subplots(1, 2, sharex=True)
    for ax, metric, ylabel in ((axes[0], "accuracy", "accuracy (exact class)"),
                               (axes[1], "within_one", "within-one accuracy")):
        for i, (key, c) in enumerate(curves.items()):
            ax.plot(c["centres"], c[metric], marker=_mk(i), color=_mc(i), ls=_ls(i), ms=4,
                    label=(labels or {}).get(key, key))
        ax.set_xlabel("signal-to-noise ratio (SNR)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.4)
    edges = [np.asarray(c["edges"], float) for c in curves.values() if "edges" in c]
    if edges:
        axes[0].set_xlim(min(e[0] for e in edges), max(e[-1] for e in edges))
    handles, labs = axes[0].get_legend_handles_labels()
    fig.legend(handles, labs, loc="outside lower center", ncols=min(3, len(labs)))
    return fig


@figure_function
def reliability(curves: dict, ece: dict | None = None, labels: dict | None = None):
    """One column: reliability diagram of the top-1 probability: observed accuracy vs mean
    confidence per bin, the diagonal being perfect calibration. ``ece`` adds each method's
    ECE to its label as 'ECE, pooled': it is computed on the test stars of all realisations
    pooled (as the curves are), not the mean of the per-realisation ECEs of the metrics. A
    Bayes-limit label is cut to 'Bayes limit' (its conditions belong in the caption). The
    legend is below the axes."""
    n = len(curves) + 1
    fig = new_figure(COLUMN_WIDTH, 2.85 + 0.14 * n)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", lw=0.9, ls=(0, (1, 1.5)), label="perfect calibration")
    for i, (key, c) in enumerate(curves.items()):
        ok = np.asarray(c["count"]) > 0
        name = (labels or {}).get(key, key)
        if name.startswith("Bayes limit"):
            name = "Bayes limit"
        lab = name + (f" (ECE, pooled: {ece[key]:.3f})" if ece and key in ece else "")
        lab = wrap(lab, COLUMN_WIDTH - 0.5, SMALL_FONT_SIZE)
        ax.plot(np.asarray(c["confidence"])[ok], np.asarray(c["accuracy"])[ok], marker=_mk(i),
                color=_mc(i), ls=_ls(i), ms=3.5, label=lab)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("mean top-class probability")
    ax.set_ylabel("observed accuracy")
    ax.grid(True, alpha=0.4)
    fig.legend(loc="outside lower center", ncols=1)
    return fig
