"""Every paper figure at print size: its width, the size of every text it draws, nothing
outside the canvas, readable log ticks on the PSF-error axes, byte-stable saves that a
notebook shows as the saved PNG, and the pipeline graph read from dvc.yaml.

Each figure function is built once from small synthetic inputs (no pipeline data, no
TensorFlow: the CNN figure gets a stand-in with the Keras attributes it reads). Text sizes
are measured twice. On the artists matplotlib draws: ``Text.draw`` is wrapped during one
``canvas.draw()``, so titles, axis and tick labels, legend texts, colour-bar labels and
ticks, annotations and box texts are all seen, with their size in points at print size.
And on the glyphs of the saved PDF (pdfminer.six, as ``tests/test_paper.py`` measures the
paper), which also sees what a Text's font size hides: mathtext super- and subscripts,
drawn at 70 % of it (``$10^{-3}$`` tick labels of log colour bars, ``nm$^{-1}$``).
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib.text as mtext
import numpy as np
import pytest
import yaml

from starsed import plots
from starsed.plots import classification as pc
from starsed.plots import impact as pi
from starsed.plots import pipeline as pp
from starsed.plots import psf as pf
from starsed.plots import simulate as ps

pytestmark = pytest.mark.filterwarnings("ignore:More than 20 figures:RuntimeWarning")

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["O5V", "B0V", "B5-7V", "A0V", "A5V", "F0V", "F5V", "G0V", "G5V", "K0V", "K5V", "M0V", "M5V"]
N_BINS = 8
WL_NM = 571.875 + 43.75 * np.arange(N_BINS)
EDGES_NM = np.linspace(550.0, 900.0, N_BINS + 1)
N_TRAIN = [50, 100, 200, 500, 1000, 2000]
ERR_PCT = [2.9, 1.6, 1.1, 0.7, 0.35, 0.21]               # spans the paper's 0.2-3 %


# --------------------------------------------------------------------------- synthetic inputs

def stamp(width_px: float, n: int = 32) -> np.ndarray:
    y, x = np.mgrid[:n, :n] - (n / 2 - 0.4)
    g = np.exp(-(x ** 2 + y ** 2) / (2 * width_px ** 2)) + 1e-7
    return g / g.sum()


def mono(scale: float = 1.0) -> np.ndarray:
    return np.stack([stamp(scale * (0.8 + 0.1 * k)) for k in range(N_BINS)])


def sed_weights() -> np.ndarray:
    w = np.stack([np.linspace(1.0, 0.2 + 0.15 * k, N_BINS) for k in range(len(CLASSES))])
    return w / w.sum(axis=1, keepdims=True)


def fake_cnn():
    """What :func:`starsed.plots.classification.cnn` reads of a Keras model."""
    def layer(name, shape, n):
        return SimpleNamespace(name=name, output=SimpleNamespace(shape=(None,) + shape),
                               count_params=lambda n=n: n)
    layers = [layer(f"conv3x3_{i + 1}", (10 - 2 * i, 10 - 2 * i, 32), 9248) for i in range(5)]
    layers += [layer("conv2x2", (1, 1, 32), 4128), layer("features", (32,), 0),
               layer("dense_1", (32,), 1056), layer("softmax", (13,), 429)]
    return SimpleNamespace(inputs=[SimpleNamespace(shape=(None, 12, 12, 1))], layers=layers,
                           count_params=lambda: sum(l.count_params() for l in layers))


def impact_summary():
    out = {}
    for base, e0 in ((50, 2.2), (100, 1.5)):
        block = {}
        for k, variant in enumerate(("predicted", "soft", "oracle", "ignorant")):
            block[variant] = {"0": {"rel_rmse_pct_mean": e0, "rel_rmse_pct_std": 0.0}}
            for j, e in enumerate((50, 100, 200, 500, 1000, 2000)):
                block[variant][str(e)] = {"rel_rmse_pct_mean": e0 * 0.75 ** (j + 1) * (1 + 0.1 * k),
                                          "rel_rmse_pct_std": 0.02 if variant == "predicted" else 0.0}
        out[f"base{base}"] = block
    return out


def class_scores(rng):
    return {m: rng.uniform(0.1, 1.0, len(CLASSES)) for m in ("f1", "recall", "within_one")}


def confusion(rng, sharp: float):
    cm = rng.integers(0, 5, (13, 13)).astype(float)
    cm[np.arange(13), np.arange(13)] += sharp
    return cm


def snr_curve(rng):
    edges = np.array([20, 35, 50, 65, 80, 95, 110.0])
    return {"edges": edges, "centres": 0.5 * (edges[1:] + edges[:-1]), "count": np.full(6, 100),
            "accuracy": np.sort(rng.uniform(0.2, 0.6, 6)), "within_one": np.sort(rng.uniform(0.5, 0.9, 6))}


def reliability_curve(rng):
    conf = np.linspace(0.05, 0.95, 10)
    return {"edges": np.linspace(0, 1, 11), "count": np.r_[0, np.full(9, 50)], "confidence": conf,
            "accuracy": np.clip(conf + rng.normal(0, 0.05, 10), 0, 1)}


def summary_metrics():
    s = {}
    for i, m in enumerate(("s1", "s2", "s3", "s4", "s5", "s6", "gt")):
        for prefix, base in (("svm_psf", 0.44), ("likelihood", 0.43)):
            s[f"{prefix}_{m}"] = {"accuracy_mean": base + 0.02 * i, "accuracy_std": 0.01,
                                  "within_one_mean": 0.75 + 0.02 * i, "within_one_std": 0.01}
    for k, a in (("pca_mlp", 0.35), ("cnn_mlp", 0.41), ("bayes_gt", 0.56), ("svm_like_gt", 0.55)):
        s[k] = {"accuracy_mean": a, "accuracy_std": 0.01, "within_one_mean": a + 0.33, "within_one_std": 0.01}
    return s


def makers():
    rng = np.random.default_rng(0)
    c = np.linspace(-1, 1, 32)
    x, y = np.meshgrid(c, c)
    r = np.hypot(x, y)
    pupil = ((r <= 1) & (r > 0.3)).astype(float)
    opd = 0.15 * (2 * x * y) * (r <= 1)
    star = stamp(1.2)
    noisy = star + 1e-3 * rng.standard_normal(star.shape)
    wl1 = np.arange(550.5, 900.0, 1.0)
    t = np.linspace(-1, 1, len(CLASSES))[:, None]
    s1 = 1.0 + 0.8 * t * (wl1[None, :] - 725.0) / 175.0
    w = sed_weights()
    positions = rng.uniform(0, 1000, (60, 2))
    C = 0.01 * rng.standard_normal((6, 15))
    from starsed.physics.field import wfe_rms_um, zernike_coefficients
    wfe_nm = 1000 * wfe_rms_um(zernike_coefficients(C, positions, 4))
    labels = rng.integers(0, 13, 300)
    feats = 0.125 + 1e-4 * (labels[:, None] - 6) * np.linspace(-1, 1, N_BINS)[None] \
        + 2e-5 * rng.standard_normal((300, N_BINS))
    comps = np.linalg.qr(rng.standard_normal((1024, 24)))[0].T
    keys = ["pca_mlp", "cnn_mlp", "svm_psf_gt", "likelihood_gt", "bayes_gt"]
    labs = {k: k.replace("_", " ") for k in keys}
    psf_errors = dict(zip(("s1", "s2", "s3", "s4", "s5", "s6"), (2.1, 1.4, 1.1, 0.65, 0.31, 0.24)))
    from starsed.report.published import CLASSIFICATION, RECALL
    return {
        "wavefront_star": lambda: ps.wavefront_star(opd, pupil, star, noisy, snr=50),
        "monochromatic": lambda: ps.monochromatic(mono(), WL_NM),
        "seds": lambda: ps.seds(wl1, s1, CLASSES, EDGES_NM, w),
        "degeneracy": lambda: ps.degeneracy(noisy, noisy[::-1, ::-1], w[12], w[0], mono(0.8), mono(1.2),
                                            "M5V", "O5V", WL_NM, EDGES_NM),
        "wfe_field": lambda: ps.wfe_field(positions, wfe_nm, C_um=C, n_grid=20),
        "wfe_field_scatter": lambda: ps.wfe_field(positions, wfe_nm),
        "psf_error_vs_stars": lambda: pf.psf_error_vs_stars(N_TRAIN, ERR_PCT, [0.5 * e for e in ERR_PCT],
                                                            [1.2 * e for e in ERR_PCT]),
        "similarity_features": lambda: pc.similarity_features(feats, labels, WL_NM, CLASSES),
        "pca": lambda: pc.pca(comps, noisy, star, explained=np.linspace(0.2, 0.001, 24)),
        "cnn": lambda: pc.cnn(fake_cnn()),
        "accuracy_vs_psf_error": lambda: pc.accuracy_vs_psf_error(summary_metrics(), psf_errors, CLASSIFICATION),
        "per_class": lambda: pc.per_class({k: class_scores(rng) for k in ("pca_mlp", "cnn_mlp", "svm_psf_gt")},
                                          CLASSES, labs, published_recall=RECALL),
        "confusion_generalisation": lambda: pc.confusion_generalisation(
            {k: confusion(rng, 10 + 5 * i) for i, k in enumerate(("cnn_mlp", "svm_psf_gt", "likelihood_gt"))},
            CLASSES, {k: f"{labs[k]}: second exposure" for k in ("cnn_mlp", "svm_psf_gt", "likelihood_gt")}),
        "accuracy_vs_snr": lambda: pc.accuracy_vs_snr({k: snr_curve(rng) for k in keys}, labs),
        "confusion_best": lambda: pc.confusion_best(confusion(rng, 20), CLASSES,
                                                    "best method: SVM+PSF GT (all realisations)"),
        "reliability": lambda: pc.reliability({k: reliability_curve(rng) for k in keys},
                                              {k: 0.05 for k in keys}, labs),
        "impact_scheme": lambda: pi.impact_scheme(50, 8000, 2000),
        "psf_impact": lambda: pi.psf_impact(impact_summary(), [50, 100], ["predicted", "soft", "oracle", "ignorant"],
                                            0.236),
        "pipeline": lambda: pp.fig_pipeline(yaml.safe_load((ROOT / "dvc.yaml").read_text())),
    }


#: the paper's figure stems, each the name of its function (``fig_`` prefix allowed)
STEMS = ["wavefront_star", "monochromatic", "seds", "degeneracy", "wfe_field", "psf_error_vs_stars",
         "similarity_features", "pca", "cnn", "accuracy_vs_psf_error", "per_class", "confusion_generalisation",
         "accuracy_vs_snr", "confusion_best", "reliability", "impact_scheme", "psf_impact", "pipeline"]
MODULES = (ps, pf, pc, pi, pp)


def drawn_texts(fig) -> list[tuple[mtext.Text, object]]:
    """(text artist, window extent) of every non-empty text drawn by one ``canvas.draw()``."""
    seen = {}
    original = mtext.Text.draw

    def recording(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen[id(self)] = (self, self.get_window_extent(renderer))
    mtext.Text.draw = recording
    try:
        fig.canvas.draw()
    finally:
        mtext.Text.draw = original
    return list(seen.values())


@pytest.fixture(scope="module")
def built():
    """Every figure, drawn once: {name: (figure, drawn texts)}."""
    out = {}
    for name, make in makers().items():
        fig = make()
        out[name] = (fig, drawn_texts(fig))
    yield out
    import matplotlib.pyplot as plt
    plt.close("all")


NAMES = list(makers())


# --------------------------------------------------------------------------- every figure

def test_every_figure_function_is_tested():
    """The figure functions (decorated with ``figure_function``) are exactly the paper's stems."""
    funcs = {name for m in MODULES for name, f in inspect.getmembers(m, inspect.isfunction)
             if f.__module__ == m.__name__ and hasattr(f, "__wrapped__")}
    assert {re.sub(r"^fig_", "", f) for f in funcs} == set(STEMS)
    assert set(STEMS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_print_width(built, name):
    fig, _ = built[name]
    w, h = fig.get_size_inches()
    assert round(w, 2) in (plots.COLUMN_WIDTH, plots.TEXT_WIDTH), w
    assert 1.0 <= h <= 9.0


@pytest.mark.parametrize("name", NAMES)
def test_no_text_below_7pt(built, name):
    fig, texts = built[name]
    assert len(texts) >= 5
    small = [(t.get_text(), t.get_fontsize()) for t, _ in texts if t.get_fontsize() < plots.MIN_FONT_SIZE - 1e-9]
    assert not small, small
    assert plots.STYLE["font.size"] == 8 and plots.STYLE["xtick.labelsize"] == plots.STYLE["legend.fontsize"] == 7


@pytest.mark.parametrize("name", NAMES)
def test_nothing_outside_the_canvas(built, name):
    """Saved without cropping, so every drawn text and artist must lie on the figure."""
    fig, texts = built[name]
    W, H = fig.bbox.width, fig.bbox.height
    out = [t.get_text() for t, bb in texts if bb.x0 < -0.5 or bb.y0 < -0.5 or bb.x1 > W + 0.5 or bb.y1 > H + 0.5]
    assert not out, out
    tb = fig.get_tightbbox(fig.canvas.get_renderer())
    w, h = fig.get_size_inches()
    assert tb.x0 >= -0.01 and tb.y0 >= -0.01 and tb.x1 <= w + 0.01 and tb.y1 <= h + 0.01, tb.bounds


#: the smallest glyph allowed in a figure's PDF, pt (tests/test_paper.py: MIN_TEXT_PT)
MIN_GLYPH_PT = 6.9


def glyph_size(ch) -> float:
    """A PDF character's font size, pt: pdfminer's ``LTChar.size`` is the height of its box;
    a glyph turned by a quarter turn (vertical axis labels) has its advance as the box's height
    and its size as the box's width (as in tests/test_paper.py)."""
    a, b = ch.matrix[0], ch.matrix[1]
    return ch.width if abs(b) > abs(a) else ch.size


def pdf_glyphs(fig) -> list[tuple[float, str]]:
    """(size pt, character) of every non-blank character of ``fig`` saved as PDF (in memory,
    in the shared style, as :func:`starsed.plots.save` writes it)."""
    import io

    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTContainer

    buf = io.BytesIO()
    with plots.style():
        fig.savefig(buf, format="pdf")
    buf.seek(0)

    def chars(obj):
        if isinstance(obj, LTChar):
            yield obj
        elif isinstance(obj, LTContainer):
            for child in obj:
                yield from chars(child)
    return [(glyph_size(c), c.get_text()) for page in extract_pages(buf) for c in chars(page)
            if c.get_text().strip()]


@pytest.mark.parametrize("name", NAMES)
def test_no_glyph_below_7pt_in_the_pdf(built, name):
    """No character of the saved PDF is below 6.9 pt: no mathtext script (70 % of 7-8 pt) in
    labels, titles, legends or tick labels."""
    fig, _ = built[name]
    glyphs = pdf_glyphs(fig)
    assert len(glyphs) >= 20, glyphs
    small = {}
    for size, char in glyphs:
        if size < MIN_GLYPH_PT:
            small.setdefault(round(size, 2), []).append(char)
    assert not small, {s: "".join(c) for s, c in small.items()}
    assert min(s for s, _ in glyphs) == pytest.approx(plots.MIN_FONT_SIZE, abs=0.05)   # the measure is right


def test_glyph_measure_sees_mathtext_scripts_and_rotation():
    """The PDF measure finds a 70 % mathtext exponent, and reads a vertical label at its size."""
    import matplotlib.pyplot as plt

    with plots.style():
        fig = plots.new_figure(plots.COLUMN_WIDTH, 1.5)
        ax = fig.subplots()
        ax.set_xlabel("flux [nm$^{-1}$]")
        ax.set_ylabel("vertical label")
        ax.set_xticks([])
        ax.set_yticks([])
    sizes = pdf_glyphs(fig)
    plt.close(fig)
    script = [s for s, c in sizes if c in "1−-"]
    assert script and max(script) == pytest.approx(0.7 * plots.FONT_SIZE, abs=0.05)
    assert all(s == pytest.approx(plots.FONT_SIZE, abs=0.05) for s, c in sizes if c.isalpha())


def test_pow10_labels_are_plain_text():
    assert plots.pow10_label(1e-3) == "10⁻³" and plots.pow10_label(-0.01) == "−10⁻²"
    assert plots.pow10_label(0) == "0" and plots.pow10_label(100.0) == "10²"
    assert plots.superscript(-12) == "⁻¹²"


def labelled_ticks(axis, lo: float, hi: float) -> list[float]:
    """Tick values in [lo, hi] (major or minor) that carry a label."""
    out = []
    for ticks, locs in ((axis.get_major_ticks(), axis.get_majorticklocs()),
                        (axis.get_minor_ticks(), axis.get_minorticklocs())):
        for tick, v in zip(ticks, locs):
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) and tick.label1.get_visible() and tick.label1.get_text():
                out.append(float(v))
    return out


def data_range(ax, which: str) -> tuple[float, float]:
    vals = np.concatenate([np.asarray(line.get_xdata() if which == "x" else line.get_ydata(), float)
                           for line in ax.get_lines()])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return float(vals.min()), float(vals.max())


@pytest.mark.parametrize("name", ["psf_error_vs_stars", "psf_impact"])
def test_log_axes_are_labelled(built, name):
    fig, _ = built[name]
    axes = [ax for ax in fig.get_axes() if ax.get_yscale() == "log"]
    assert axes
    for k, ax in enumerate(axes):
        assert ax.get_xscale() == ax.get_yscale() == "log"
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if which == "y" and k > 0:     # panels sharing y label it on the first one only
                continue
            lo, hi = data_range(ax, which)
            ticks = labelled_ticks(axis, lo, hi)
            assert len(ticks) >= 4, (which, lo, hi, ticks)
        assert {50, 100, 200, 500, 1000, 2000} <= set(labelled_ticks(ax.xaxis, 50, 2000))
    ys = {f"{v:g}" for v in labelled_ticks(axes[0].yaxis, 0.2, 3.0)}
    assert {"0.2", "0.3", "0.5", "1", "2"} <= ys, ys


def test_psf_error_vs_stars_keeps_its_lines():
    fig = pf.psf_error_vs_stars([50, 100], [2.0, 1.5], [0.5, 0.4], [3.0, 2.0])
    assert len(fig.axes[0].lines) == 3
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), pf.PAPER_ERROR_PCT)


def test_pca_panels(built):
    fig, texts = built["pca"]
    titles = [t.get_text() for t, _ in texts]
    assert "PC 1: 20.0 %" in titles and any(t.startswith("PC 12:") for t in titles)
    assert not any(t.startswith("PC 13") for t in titles)
    comp_images = [ax.get_images()[0] for ax in fig.get_axes() if ax.get_title().startswith("PC ")]
    assert len(comp_images) == 12 and len({id(im.norm) for im in comp_images}) == 1   # one shared scale
    assert comp_images[0].norm.vmin == -comp_images[0].norm.vmax
    assert any("component value" in ax.get_ylabel() for ax in fig.get_axes())          # its colour bar


def test_accuracy_bands_are_told_apart(built):
    """PCA+MLP and CNN+MLP bands: one filled, one hatched, each named in the legend; a note says
    where they coincide (not for the synthetic means, 0.68 and 0.74 +- 0.01; for equal ones)."""
    fig, texts = built["accuracy_vs_psf_error"]
    from matplotlib.patches import Rectangle
    for ax in fig.axes[:2]:
        spans = [p for p in ax.patches if isinstance(p, Rectangle)]
        hatched = [p for p in spans if p.get_hatch()]
        filled = [p for p in spans if not p.get_hatch() and p.get_facecolor()[3] > 0]
        assert len(hatched) == 1 and len(filled) == 1
        assert hatched[0].get_facecolor()[3] == 0                      # hatch only: the fill shows through
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("PCA+MLP") for t in labels) and any(t.startswith("CNN+MLP") for t in labels)
    summary = summary_metrics()
    summary["cnn_mlp"]["within_one_mean"] = summary["pca_mlp"]["within_one_mean"]
    from starsed.report.published import CLASSIFICATION
    same = pc.accuracy_vs_psf_error(summary, {"s1": 2.0, "s2": 1.0}, CLASSIFICATION)
    notes = [t.get_text() for t in same.axes[1].texts]
    assert notes == ["PCA+MLP ≈ CNN+MLP"] and not same.axes[0].texts
    assert not [t for t, _ in texts if "≈" in t.get_text()]


def test_confusion_best_title_is_one_line(built):
    fig, texts = built["confusion_best"]
    title = fig.get_suptitle()
    assert title == "best method: SVM+PSF GT (all realisations)"               # one line, not wrapped
    assert fig._suptitle.get_fontsize() >= plots.MIN_FONT_SIZE
    bb = next(b for t, b in texts if t is fig._suptitle)
    assert bb.height < 1.5 * plots.FONT_SIZE * fig.dpi / 72                       # a single line high


def test_reliability_legend(built):
    fig, _ = built["reliability"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sum("(ECE, pooled: 0.050)" in t for t in labels) == 5
    long = pc.reliability({"bayes_gt": reliability_curve(np.random.default_rng(1))}, {"bayes_gt": 0.02},
                          {"bayes_gt": "Bayes limit (true PSF, known sigma, unit flux)"})
    labels = [t.get_text() for t in long.legends[0].get_texts()]
    assert labels == ["perfect calibration", "Bayes limit (ECE, pooled: 0.020)"]


def test_similarity_class_means_are_offset(built):
    fig, _ = built["similarity_features"]
    ax = fig.axes[0]
    handles = ax.get_legend().legend_handles
    xs = [np.asarray(h.get_xdata()) for h in handles]
    means = [line for line in ax.get_lines() if line.get_label() in CLASSES]
    assert len(means) == 13 and len(handles) == 13
    first = np.array([np.asarray(m.get_xdata())[0] for m in means])
    assert np.all(np.diff(first) > 0)                                            # hot left, cool right
    assert first[-1] - first[0] < 0.9 * (WL_NM[1] - WL_NM[0])                    # inside one bin
    assert xs and all(m.get_markersize() <= 3.0 for m in means)


def test_pipeline_is_compact(built):
    fig, _ = built["pipeline"]
    assert fig.get_size_inches()[1] <= 4.8          # ten stages, at most half a page of text height


# --------------------------------------------------------------------------- saving

def test_save_byte_stable_at_print_size_and_shown_as_png(tmp_path):
    make = makers()
    for name in ("wavefront_star", "psf_impact"):
        first = plots.save(make[name](), name, tmp_path / "a")
        second = plots.save(make[name](), name, tmp_path / "b")
        again = plots.save(make[name](), name, tmp_path / "a")
        assert [p.name for p in first.paths] == [f"{name}.pdf", f"{name}.png"]
        for p, q, r in zip(first.paths, second.paths, again.paths):
            assert p.read_bytes() == q.read_bytes() == r.read_bytes(), p.name
        assert first._repr_png_() == first.paths[1].read_bytes()
        assert list(first) == list(first.paths)
        # drawn at print size: PDF page and PNG pixels match the figure, no cropping
        w = plots.TEXT_WIDTH
        pdf = first.paths[0].read_bytes()
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        assert box and float(box.group(1)) == pytest.approx(72 * w, abs=0.01)
        from PIL import Image
        with Image.open(first.paths[1]) as im:
            assert im.size[0] == round(w * plots.PNG_DPI)
        assert b"CreationDate" not in pdf


# --------------------------------------------------------------------------- the pipeline graph

def test_stage_graph_of_dvc_yaml():
    stages, edges = pp.stage_graph(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    known = ["validate", "seds", "simulate", "psf_models", "classify", "predict_seds", "psf_impact",
             "impact_summary", "paper"]
    assert [n for n in stages if n in known] == known            # file order (more stages may follow)
    for e in [("validate", "seds"), ("seds", "simulate"), ("simulate", "psf_models"), ("psf_models", "classify"),
              ("predict_seds", "psf_impact"), ("psf_impact", "impact_summary"), ("impact_summary", "paper"),
              ("classify", "paper")]:
        assert e in edges, e
    assert ("classify", "psf_impact") not in edges
    d = pp.depths(list(stages), edges)
    assert d["validate"] == 0 and d["paper"] == max(d.values())
    assert all(d[a] < d[b] for a, b in edges)
    assert len(stages["psf_impact"].configs) == 2              # one stage per base set


def test_stage_graph_rules_and_foreach():
    spec = {"stages": {
        "a": {"cmd": "x", "outs": ["data/a", {"figures/f.png": {"cache": False}}]},
        "b": {"foreach": [1, 2], "do": {"cmd": "y", "deps": ["data/a/x${item}.h5"],
                                         "metrics": ["metrics/b/${key}.json"]}},
        "c": {"cmd": "z", "deps": ["metrics", "figures"]},
        "d": {"cmd": "w", "deps": ["data/other"]},
    }}
    stages, edges = pp.stage_graph(spec)
    assert stages["b"].deps == ["data/a/x1.h5", "data/a/x2.h5"]
    assert stages["b"].outs == ["metrics/b/1.json", "metrics/b/2.json"]
    assert edges == [("a", "b"), ("a", "c"), ("b", "c")]
    fig = pp.fig_pipeline(spec)
    titles = [t.get_text() for t, _ in drawn_texts(fig)]
    assert titles.count("b") == 1 and any("2 runs" in t for t in titles)
    with pytest.raises(ValueError, match="cycle"):
        pp.depths(["a", "b"], [("a", "b"), ("b", "a")])


def test_pipeline_draws_each_stage_once(built):
    _, texts = built["pipeline"]
    names = [t.get_text() for t, _ in texts]
    for stage in ("validate", "seds", "simulate", "psf_models", "classify", "predict_seds", "psf_impact",
                  "impact_summary", "paper"):
        assert names.count(stage) == 1, stage
    assert any("2 runs" in n for n in names)
