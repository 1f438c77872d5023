"""Figures of the classification stage (docs/reference.md, Figures and tables: 5, 7, 8, 10, 11, 12 and extras).

One function per figure; each returns a matplotlib Figure (save with
:func:`starsed.plots.save`). Colours: Okabe-Ito for methods, a perceptually
uniform sequential map for the 13 ordered classes, ``cividis`` for matrices.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import FancyBboxPatch

from . import OKABE_ITO, class_colours

MATRIX_CMAP = "cividis"
#: marker per method, so lines differ by more than colour
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
#: Okabe-Ito without yellow (too pale for lines on white)
METHOD_COLOURS = [OKABE_ITO[i] for i in (1, 2, 3, 5, 6, 7, 0)]


def _mc(i: int) -> str:
    return METHOD_COLOURS[i % len(METHOD_COLOURS)]


def _class_colourbar(fig, ax, class_names, label="SED class"):
    n = len(class_names)
    cmap = ListedColormap(class_colours(n))
    sm = ScalarMappable(norm=BoundaryNorm(np.arange(n + 1) - 0.5, n), cmap=cmap)
    cb = fig.colorbar(sm, ax=ax, ticks=np.arange(n))
    cb.ax.set_yticklabels(class_names)
    cb.set_label(label)
    return cb


def fig05_similarity_features(features, labels, wavelengths_nm, class_names, max_stars: int = 1500,
                              seed: int = 0):
    """Figure 5: similarity features s_k vs bin wavelength for individual stars (thin,
    at most ``max_stars`` drawn at random with ``seed``) and each class mean (thick)."""
    features, labels = np.asarray(features), np.asarray(labels)
    cols = class_colours(len(class_names))
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(labels))[:max_stars]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i in idx:
        ax.plot(wavelengths_nm, features[i], color=cols[labels[i]], lw=0.4, alpha=0.25)
    for c in range(len(class_names)):
        if np.any(labels == c):
            ax.plot(wavelengths_nm, features[labels == c].mean(axis=0), color=cols[c], lw=2.2,
                    marker=MARKERS[c % len(MARKERS)], ms=4, markeredgecolor="k", markeredgewidth=0.3)
    ax.set_xlabel("bin central wavelength [nm]")
    ax.set_ylabel(r"similarity feature $s_k$ [dimensionless]")
    ax.set_title(f"Similarity to the true monochromatic PSFs ({len(idx)} stars; thick: class means)")
    _class_colourbar(fig, ax, class_names)
    fig.tight_layout()
    return fig


def fig07_pca(components, star, reconstruction, n_show: int = 24, explained=None, zoom: int = 16):
    """Figure 7: the first ``n_show`` PCA components (central ``zoom`` x ``zoom`` pixels shown)
    and one star with its reconstruction from them and the residual."""
    components = np.asarray(components)
    n_show = min(n_show, len(components))
    side = int(round(np.sqrt(components.shape[-1]))) if components.ndim == 2 else components.shape[-1]
    comps = components[:n_show].reshape(n_show, side, side)
    a = side // 2 - zoom // 2
    crop = (slice(a, a + zoom), slice(a, a + zoom))
    comps = comps[(slice(None),) + crop]
    ncol = 8
    nrow = int(np.ceil(n_show / ncol)) + 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.35 * ncol, 1.3 * nrow))
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_axis_off()
    for i in range(n_show):
        ax = axes.ravel()[i]
        ax.set_axis_on()
        lim = np.abs(comps[i]).max()
        ax.imshow(comps[i], cmap="PuOr", vmin=-lim, vmax=lim)
        title = f"PC {i + 1}" + (f" ({100 * explained[i]:.1f}%)" if explained is not None else "")
        ax.set_title(title, fontsize=7)
    last = axes[-1]
    star, reconstruction = np.asarray(star)[crop], np.asarray(reconstruction)[crop]
    vmax = star.max()
    for ax, img, title in ((last[0], star, "noisy star"), (last[1], reconstruction, f"{n_show}-PC reconstr."),
                           (last[2], star - reconstruction, "residual")):
        ax.set_axis_on()
        im = ax.imshow(img, cmap="magma" if title != "residual" else "PuOr",
                       vmin=0 if title != "residual" else -np.abs(img).max(),
                       vmax=vmax if title != "residual" else np.abs(img).max())
        ax.set_title(title, fontsize=7)
    fig.colorbar(im, ax=last[2], fraction=0.046, label="flux per pixel [unit-flux star]")
    fig.suptitle(f"PCA components of the training stars and one reconstruction "
                 f"(central {zoom} x {zoom} of the 32 x 32 pixels)", fontsize=9)
    fig.tight_layout()
    return fig


def fig08_cnn_architecture(model):
    """Figure 8: the CNN drawn from the Keras model's own layers (name, output shape,
    parameters), one box per layer."""
    rows = []
    inp = model.inputs[0].shape
    rows.append(("input (central crop)", tuple(inp[1:]), 0))
    for layer in model.layers:
        rows.append((layer.name, tuple(layer.output.shape[1:]), layer.count_params()))
    n = len(rows)
    fig, ax = plt.subplots(figsize=(4.2, 0.62 * n + 0.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, n - 0.3)
    ax.invert_yaxis()
    ax.axis("off")
    kind_colour = {"conv": OKABE_ITO[2], "dense": OKABE_ITO[1], "softmax": OKABE_ITO[6],
                   "features": OKABE_ITO[3], "input": OKABE_ITO[7]}
    for i, (name, shape, params) in enumerate(rows):
        key = next((k for k in kind_colour if name.startswith(k)), "input")
        ax.add_patch(FancyBboxPatch((0.08, i - 0.3), 0.84, 0.6, boxstyle="round,pad=0.02",
                                    fc=kind_colour[key], ec="k", alpha=0.55))
        shape_txt = " x ".join(str(s) for s in shape)
        ax.text(0.5, i, f"{name}   out {shape_txt}   ({params:,} params)", ha="center", va="center", fontsize=8)
        if i < n - 1:
            ax.annotate("", xy=(0.5, i + 0.68), xytext=(0.5, i + 0.32),
                        arrowprops=dict(arrowstyle="->", lw=0.8))
    ax.set_title(f"CNN+MLP: {model.count_params():,} trainable parameters", fontsize=9)
    fig.tight_layout()
    return fig


def fig10_accuracy_vs_psf_error(summary: dict, psf_errors: dict, published: dict | None = None,
                                methods=("svm_psf", "likelihood", "svm_like")):
    """Figure 10: accuracy and within-one accuracy vs PSF model error (x inverted).

    ``summary`` {key: {accuracy_mean, accuracy_std, within_one_mean, ...}};
    ``psf_errors`` {'s1': pct, ...} (the true PSF 'gt' is drawn at 0 %);
    PCA+MLP and CNN+MLP as horizontal bands (mean +- std); ``published``
    (optional) the paper's SVM+PSF values as open markers.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    names = sorted(psf_errors, key=lambda m: -psf_errors[m])
    for ax, metric, label in ((axes[0], "accuracy", "accuracy (exact class)"),
                              (axes[1], "within_one", "within-one accuracy")):
        for j, (key, band_label) in enumerate((("pca_mlp", "PCA+MLP"), ("cnn_mlp", "CNN+MLP"))):
            if key in summary:
                m, s = summary[key][f"{metric}_mean"], summary[key].get(f"{metric}_std", 0.0)
                colour = OKABE_ITO[(7, 2)[j]]
                ax.axhspan(m - s, m + s, color=colour, alpha=0.25, lw=0)
                ax.axhline(m, color=colour, lw=1.2, ls="--" if j else ":", label=f"{band_label} (ours)")
        for i, prefix in enumerate(methods):
            xs, ys, es = [], [], []
            for m in names + ["gt"]:
                key = f"{prefix}_{m}"
                if key in summary:
                    xs.append(0.0 if m == "gt" else psf_errors[m])
                    ys.append(summary[key][f"{metric}_mean"])
                    es.append(summary[key].get(f"{metric}_std", 0.0))
            if xs:
                mlabel = {"svm_psf": "SVM+PSF", "likelihood": "likelihood",
                          "svm_like": "SVM+PSF+likelihood"}.get(prefix, prefix)
                ax.errorbar(xs, ys, yerr=es, color=OKABE_ITO[[5, 6, 3][i % 3]], marker=MARKERS[i], ms=5,
                            capsize=3, label=f"{mlabel} (ours)")
        if published:
            pub = [(v["psf_error_pct"], v[metric]) for k, v in published.items()
                   if k.startswith("svm_psf_s") and "psf_error_pct" in v]
            if "svm_psf_gt" in published:
                pub.append((0.0, published["svm_psf_gt"][metric]))
            if pub:
                px, py = zip(*sorted(pub))
                ax.plot(px, py, ls="none", marker="o", mfc="none", mec="k", ms=7, label="SVM+PSF (paper, published)")
        if "bayes_gt" in summary:
            ax.plot([0.0], [summary["bayes_gt"][f"{metric}_mean"]], marker="*", ms=12, color=OKABE_ITO[1],
                    ls="none", label="Bayes limit (true PSF, known sigma)")
        ax.set_xlabel("PSF model error (relative pixel RMSE) [%]  (0 = true PSF)")
        ax.set_ylabel(f"{label} [fraction]")
        ax.grid(alpha=0.3)
    axes[0].invert_xaxis()
    handles, labs = axes[0].get_legend_handles_labels()
    fig.suptitle("Classification vs PSF model error (mean +- std over realisations)", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.legend(handles, labs, loc="lower center", ncol=4, fontsize=7, frameon=False)
    return fig


def fig11_per_class(per_class: dict, class_names, labels: dict | None = None,
                    published_recall: dict | None = None):
    """Figure 11: per-class F1, accuracy (= recall) and within-one accuracy for each method.
    ``per_class`` {method key: {'f1', 'recall', 'within_one': (13,)}}; ``published_recall``
    {method key: (13,)} adds the paper's per-class recall (open markers, dotted)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    x = np.arange(len(class_names))
    for ax, metric, title in zip(axes, ("f1", "recall", "within_one"),
                                 ("F1", "accuracy (recall)", "within-one accuracy")):
        for i, (key, d) in enumerate(per_class.items()):
            ax.plot(x, d[metric], marker=MARKERS[i % len(MARKERS)], color=_mc(i),
                    label=(labels or {}).get(key, key))
            if metric == "recall" and published_recall and key in published_recall:
                ax.plot(x, published_recall[key], ls=":", marker=MARKERS[i % len(MARKERS)], mfc="none",
                        color=_mc(i), label=f"{(labels or {}).get(key, key)} (paper, published)")
        ax.set_xticks(x)
        ax.set_xticklabels(class_names, rotation=60, fontsize=7)
        ax.set_xlabel("true SED class (hot -> cool)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score per class [fraction]")
    axes[0].set_ylim(0, 1.02)
    handles, labs = axes[1].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labs, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def _matrix(ax, cm, class_names, title):
    cm = np.asarray(cm, np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap=MATRIX_CMAP, vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels(class_names, rotation=90, fontsize=6)
    ax.set_yticklabels(class_names, fontsize=6)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    return im


def fig12_confusion_generalisation(cms: dict, class_names, titles: dict | None = None):
    """Figure 12: row-normalised confusion matrices of the generalisation test
    (classifiers trained on the main exposure, tested on the second), one per method."""
    n = len(cms)
    fig, axes = plt.subplots(1, n, figsize=(4.3 * n + 0.8, 4.3), squeeze=False)
    for ax, (key, cm) in zip(axes[0], cms.items()):
        im = _matrix(ax, cm, class_names, (titles or {}).get(key, key))
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.02, label="fraction of the true class")
    return fig


def confusion_figure(cm, class_names, title: str):
    """Row-normalised confusion matrix of one method."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = _matrix(ax, cm, class_names, title)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    fig.tight_layout()
    return fig


def accuracy_vs_snr(curves: dict, labels: dict | None = None):
    """Accuracy and within-one accuracy in SNR bins; ``curves`` {key: output of
    :func:`starsed.metrics.classification.accuracy_by_snr` (values may be averaged over realisations)}."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for ax, metric, ylabel in ((axes[0], "accuracy", "accuracy [fraction]"),
                               (axes[1], "within_one", "within-one accuracy [fraction]")):
        for i, (key, c) in enumerate(curves.items()):
            ax.plot(c["centres"], c[metric], marker=MARKERS[i % len(MARKERS)], color=_mc(i),
                    label=(labels or {}).get(key, key))
        ax.set_xlabel("signal-to-noise ratio (SNR) [dimensionless]")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def reliability(curves: dict, ece: dict | None = None, labels: dict | None = None):
    """Reliability diagram of the top-1 probability: observed accuracy vs mean confidence
    per bin, the diagonal being perfect calibration; ``ece`` adds each method's ECE to its label."""
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="perfect calibration")
    for i, (key, c) in enumerate(curves.items()):
        ok = np.asarray(c["count"]) > 0
        lab = (labels or {}).get(key, key) + (f" (ECE {ece[key]:.3f})" if ece and key in ece else "")
        ax.plot(np.asarray(c["confidence"])[ok], np.asarray(c["accuracy"])[ok], marker=MARKERS[i % len(MARKERS)],
                color=_mc(i), label=lab)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability of the top class [fraction]")
    ax.set_ylabel("observed accuracy [fraction]")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
