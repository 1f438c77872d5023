"""Figures of the simulated data: labelled axes, byte-stable saves, the degenerate pair."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure

from starsed.plots import save
from starsed.plots import simulate as ps

N_BINS = 8
WL_NM = 571.875 + 43.75 * np.arange(N_BINS)
EDGES_NM = np.linspace(550.0, 900.0, N_BINS + 1)
CLASSES = ["O5V", "B0V", "B5-7V", "A0V", "A5V", "F0V", "F5V", "G0V", "G5V", "K0V", "K5V",
           "M0V", "M5V"]


def gaussian_stamp(width_px: float, n: int = 32, shift=(0.0, 0.0)) -> np.ndarray:
    y, x = np.mgrid[:n, :n] - (n / 2 - 1 / 3)
    g = np.exp(-((x - shift[0]) ** 2 + (y - shift[1]) ** 2) / (2 * width_px ** 2)) + 1e-7
    return g / g.sum()


def mono_stack(scale: float = 1.0) -> np.ndarray:
    return np.stack([gaussian_stamp(scale * (0.8 + 0.1 * k)) for k in range(N_BINS)])


def small_pupil(p: int = 32):
    c = np.linspace(-1, 1, p)
    x, y = np.meshgrid(c, c)
    r = np.hypot(x, y)
    pupil = ((r <= 1) & (r > 0.3)).astype(float)
    opd = 0.15 * (2 * x * y) * (r <= 1) + 0.3 * (r > 0.9)     # exceeds the +-0.2 um range
    return opd, pupil


def synthetic_seds():
    wl = np.arange(550.5, 900.0, 1.0)
    t = np.linspace(-1, 1, len(CLASSES))[:, None]
    s = 1.0 + 0.8 * t * (wl[None, :] - 725.0) / 175.0
    return wl, s / s.sum(axis=1, keepdims=True)


def axis_texts(fig) -> list[str]:
    """Axis labels of every axes (colour bars included) and the (sub)figures' shared labels."""
    texts = [t for ax in fig.get_axes() for t in (ax.get_xlabel(), ax.get_ylabel())]
    for f in [fig] + list(fig.subfigs) + [g for s in fig.subfigs for g in s.subfigs]:
        texts += [f.get_supxlabel(), f.get_supylabel()]
    return texts


def assert_labelled(fig, *needles):
    """Every needle is (a substring of) an axis label; the labelled stamp/field axes give units."""
    assert isinstance(fig, Figure)
    texts = axis_texts(fig)
    for needle in needles:
        assert any(needle in t for t in texts), (needle, texts)
    unit_labels = [t for t in texts if t and "fraction" not in t]
    assert unit_labels and all("[" in t and "]" in t for t in unit_labels), unit_labels


# ----------------------------------------------------------------------------- figures

@pytest.fixture(scope="module")
def figures():
    rng = np.random.default_rng(0)
    opd, pupil = small_pupil()
    star = gaussian_stamp(1.2)
    noisy = star + 1e-3 * rng.standard_normal(star.shape)
    wl1, s1 = synthetic_seds()
    w = np.stack([np.linspace(1.0, 0.2 + 0.15 * k, N_BINS) for k in range(len(CLASSES))])
    w /= w.sum(axis=1, keepdims=True)
    positions = rng.uniform(0, 1000, (60, 2))
    C = 0.01 * rng.standard_normal((6, 15))
    from starsed.physics.field import wfe_rms_um, zernike_coefficients
    wfe_nm = 1000 * wfe_rms_um(zernike_coefficients(C, positions, 4))
    makers = {
        "wavefront": lambda: ps.wavefront_star(opd, pupil, star, noisy, snr=50),
        "mono": lambda: ps.monochromatic(mono_stack(), WL_NM),
        "seds": lambda: ps.seds(wl1, s1, CLASSES, EDGES_NM, w),
        "degeneracy": lambda: ps.degeneracy(noisy, noisy[::-1, ::-1], w[12], w[0],
                                                mono_stack(0.8), mono_stack(1.2), "M5V", "O5V",
                                                WL_NM, EDGES_NM),
        "wfe_grid": lambda: ps.wfe_field(positions, wfe_nm, C_um=C, n_grid=20),
        "wfe_scatter": lambda: ps.wfe_field(positions, wfe_nm),
    }
    return makers


def test_wavefront_and_star(figures):
    fig = figures["wavefront"]()
    assert_labelled(fig, "pupil x [m]", "pupil y [m]", "x [arcsec]", "y [arcsec]", "OPD [µm]")
    im = fig.axes[0].get_images()[0]
    assert im.norm.vmin == pytest.approx(-0.2) and im.norm.vmax == pytest.approx(0.2)
    assert np.ma.getmaskarray(im.get_array()).any()          # outside the pupil is masked
    assert im.get_cmap().name.startswith("RdBu_r")


def test_monochromatic(figures):
    fig = figures["mono"]()
    assert_labelled(fig, "flux fraction per pixel")
    assert fig.get_supxlabel() == "x [arcsec]" and fig.get_supylabel() == "y [arcsec]"
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"{w:.1f} nm" for w in WL_NM]
    norms = {id(ax.get_images()[0].norm) for ax in fig.axes if ax.get_images()}
    assert len(norms) == 1                                     # one shared colour scale


def test_seds(figures):
    fig = figures["seds"]()
    assert_labelled(fig, "wavelength [nm]", "[nm⁻¹]")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == CLASSES
    for line in ax.get_lines()[-len(CLASSES):]:                # unit integral per nm
        assert np.sum(line.get_ydata()) == pytest.approx(1.0)


def test_degeneracy(figures):
    fig = figures["degeneracy"]()
    assert_labelled(fig, "wavelength [nm]", "x [arcsec]", "y [arcsec]", "flux fraction per bin",
                    "[% of the flux per pixel]")
    titles = " ".join(ax.get_title() for ax in fig.get_axes())
    assert "M5V" in titles and "O5V" in titles and "878.1 nm" in titles


@pytest.mark.parametrize("key", ["wfe_grid", "wfe_scatter"])
def test_wfe_field(figures, key):
    fig = figures[key]()
    assert_labelled(fig, "field x [field units]", "field y [field units]", "WFE RMS [nm]")


def test_wfe_field_needs_input():
    with pytest.raises(ValueError):
        ps.wfe_field()


def test_save_is_byte_stable(figures, tmp_path):
    for key in ("wavefront", "wfe_grid"):      # images, masks, asinh and plain colour bars
        first = save(figures[key](), key, tmp_path / "a")
        second = save(figures[key](), key, tmp_path / "b")
        assert [p.suffix for p in first] == [".pdf", ".png"] == [p.suffix for p in first.paths]
        for p, q in zip(first, second):
            assert p.stat().st_size > 1000
            assert p.read_bytes() == q.read_bytes(), p.name


# ----------------------------------------------------------------------------- the pair

def test_find_degenerate_pair_hand_made():
    rng = np.random.default_rng(1)
    images = rng.uniform(0.0, 1.0, (12, 8, 8))
    labels = np.array([12, 0, 5, 12, 0, 12, 0, 3, 12, 0, 0, 5])
    images[2] = images[0]                       # identical, but class 5: must be ignored
    images[9] = 3.0 * images[5] + 1e-3 * rng.standard_normal((8, 8))  # brighter twin of star 5
    assert ps.find_degenerate_pair(images, labels, 12, 0) == (5, 9)
    assert ps.find_degenerate_pair(images, labels, 0, 12) == (9, 5)
    assert ps.find_degenerate_pair(images, labels, 12, 0, block=1) == (5, 9)
    # without normalisation the brighter twin is far away
    assert ps.find_degenerate_pair(images, labels, 12, 0, normalise=False) != (5, 9)


def test_find_degenerate_pair_matches_brute_force():
    rng = np.random.default_rng(2)
    images = rng.standard_normal((40, 6, 6)) + 3.0
    labels = rng.integers(0, 3, 40)
    for normalise in (True, False):
        best = min(((np.linalg.norm(_n(images[i], normalise) - _n(images[j], normalise)), i, j)
                    for i, j in itertools.product(np.flatnonzero(labels == 2),
                                                  np.flatnonzero(labels == 0))))
        assert ps.find_degenerate_pair(images, labels, 2, 0, normalise, block=3) == best[1:]
    d = ps.pair_distances(images[:5], images[5:9])
    assert d.shape == (5, 4)
    assert d[1, 2] == pytest.approx(np.linalg.norm(_n(images[1], True) - _n(images[7], True)))


def _n(image, normalise):
    return image / np.linalg.norm(image) if normalise else image


def test_find_degenerate_pair_errors():
    images = np.ones((4, 8, 8))
    with pytest.raises(ValueError):
        ps.find_degenerate_pair(images, np.array([0, 0, 1, 1]), 12, 0)
    with pytest.raises(ValueError):
        ps.find_degenerate_pair(images, np.array([0, 0, 1]), 1, 0)
