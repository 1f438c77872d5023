"""Physics checks of the optical chain (docs/conventions.md lists the conventions they pin)."""
import dataclasses

import numpy as np
import pytest

from starsed.physics.telescope import Telescope, centroid_px
from starsed.optics import (Optics, SinCos, bin_pixels, fft_size, fft_wavelength_um,
                            mft_matrices, normalise)

EUCLID = Telescope()


def fine_line_profile(tel, lam_um, pupil, n_out, sample_um):
    """Intensity on an n_out x n_out grid of sample_um samples centred on the axis."""
    ay, ax = mft_matrices(tel, np.array([lam_um]), n_out=n_out, sample_um=sample_um,
                          axis=((n_out - 1) / 2, (n_out - 1) / 2))
    field = ay[0] @ pupil.astype(complex) @ ax[0].T
    return np.abs(field) ** 2


def test_airy_fwhm_and_encircled_energy():
    tel = dataclasses.replace(EUCLID, obscurations="none")
    optics = Optics(tel, 1, "double")
    lam = 0.7
    scale_um = lam * tel.focal_length_m / tel.diameter_m      # lambda f / D, um
    n, step = 301, scale_um / 50
    img = fine_line_profile(tel, lam, optics.pupil, n, step)
    c = n // 2
    row = img[c] / img[c, c]
    right = np.arange(c, n)
    # half maximum by linear interpolation on the falling edge
    k = right[np.argmax(row[right] < 0.5)]
    x_half = (k - 1) + (row[k - 1] - 0.5) / (row[k - 1] - row[k]) - c
    fwhm = 2 * x_half * step / scale_um
    assert fwhm == pytest.approx(1.029, rel=0.005)
    # encircled energy within the first dark ring (1.22 lambda/D) is 83.8 %, via Parseval
    pitch = tel.diameter_m / tel.pupil_samples
    yy, xx = np.mgrid[:n, :n] - c
    inside = np.hypot(xx, yy) * step <= 1.2197 * scale_um
    energy = img[inside].sum() * (step * 1e-6) ** 2 * pitch**2 / (lam * 1e-6 * tel.focal_length_m) ** 2
    assert energy / np.sum(optics.pupil**2) == pytest.approx(0.838, abs=0.005)


@pytest.mark.parametrize("wfe_nm", [10.0, 20.0, 30.0])
def test_strehl_follows_marechal(wfe_nm):
    optics = Optics(EUCLID, 45, "double")
    rng = np.random.default_rng(int(wfe_nm))
    z = np.zeros(45)
    z[3:] = rng.standard_normal(42)               # no piston, tip, tilt
    opd = optics.opd_um(z)[0]
    w = optics.pupil
    rms = np.sqrt(np.sum(w * (opd - np.sum(w * opd) / w.sum()) ** 2) / w.sum())
    z *= wfe_nm / 1000 / rms
    lam = optics.wavelengths_um[0]
    ref = optics.intensity(np.zeros(45))[0, 0]
    ab = optics.intensity(z)[0, 0]
    strehl = ab.max() / ref.max()
    assert strehl == pytest.approx(np.exp(-(2 * np.pi * wfe_nm / 1000 / lam) ** 2), rel=0.005)


def test_stamps_have_unit_flux_and_are_non_negative():
    optics = Optics(EUCLID, 45, "single")
    z = np.random.default_rng(0).normal(0, 0.02, (3, 45))
    s = optics.stamps(z, sr=True)
    assert s["mono"].shape == (3, 8, 32, 32) and s["mono_sr"].shape == (3, 8, 64, 64)
    assert np.allclose(s["mono"].sum(axis=(-2, -1)), 1, atol=1e-5)
    assert np.allclose(s["mono_sr"].sum(axis=(-2, -1)), 1, atol=1e-5)
    assert s["mono"].min() >= 0


@pytest.mark.parametrize("bin_index", [0, 7])
def test_mft_equals_zero_padded_fft_at_the_fft_wavelength(bin_index):
    n_fft = fft_size(EUCLID, EUCLID.wavelengths_um[bin_index])
    assert n_fft % 2 == 0 and n_fft in (746, 1146)
    lam = fft_wavelength_um(EUCLID, n_fft)
    assert abs(lam - EUCLID.wavelengths_um[bin_index]) < 1.5e-3
    optics = Optics(EUCLID, 45, "double", wavelengths_um=np.array([lam]))
    z = np.random.default_rng(1).normal(0, 0.02, 45)
    ours = optics.intensity(z)[0, 0]
    P = EUCLID.pupil_samples
    padded = np.zeros((n_fft, n_fft), complex)
    padded[:P, :P] = optics.pupil * np.exp(2j * np.pi * optics.opd_um(z)[0] / lam)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(padded))) ** 2
    c, h = n_fft // 2, EUCLID.grid_samples // 2
    fft = spectrum[c - h:c + h, c - h:c + h]
    assert np.abs(ours - fft).max() <= 1e-10 * fft.max()


def test_table_sine_and_cosine_match_libm_to_double_precision():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-40, 40, 50_000), np.pi * np.arange(-8, 9) / 4, [0.0, 1e-12]])
    x = np.stack([x, -x])                                        # rows; odd length: ragged blocks
    cos, sin = np.empty_like(x), np.empty_like(x)
    scale = rng.uniform(0, 1, (1, x.shape[1]))
    bound = 1e-15 + 2e-16 * np.abs(x)                            # as documented
    SinCos()(x, cos, sin)
    assert np.all(np.abs(cos - np.cos(x)) < bound) and np.all(np.abs(sin - np.sin(x)) < bound)
    SinCos()(x, cos, sin, scale=scale)
    assert np.all(np.abs(cos - scale * np.cos(x)) < bound) and np.all(np.abs(sin - scale * np.sin(x)) < bound)


@pytest.mark.parametrize("precision,tol", [("double", 1e-12), ("single", 2e-6)])
@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.25, -0.4)])
def test_folded_transform_equals_the_plain_complex_transform(precision, tol, offset):
    """The folds (pupil pairs x <-> -x, focal pairs u <-> -u, also when the grid is not
    symmetric about the axis) change the arithmetic, not the result: compare with
    |Ay (A exp(i phi)) Ax^T|^2 in complex128."""
    tel = dataclasses.replace(EUCLID, axis_offset_px=offset)
    optics = Optics(tel, 45, precision)
    z = np.random.default_rng(4).normal(0, 0.03, (3, 45))
    ours = optics.intensity(z)
    ay, ax = mft_matrices(tel, optics.wavelengths_um)
    for s in range(3):
        for l in (0, 5):
            field = optics.pupil * np.exp(2j * np.pi * optics.opd_um(z[s])[0] / optics.wavelengths_um[l])
            ref = np.abs(ay[l] @ field @ ax[l].T) ** 2
            assert np.abs(ours[s, l] - ref).max() <= tol * ref.max()


def test_single_precision_is_close_to_double():
    z = np.random.default_rng(2).normal(0, 0.02, (4, 45))
    d = Optics(EUCLID, 45, "double").stamps(z)["mono"]
    s = Optics(EUCLID, 45, "single").stamps(z)["mono"]
    assert np.abs(d - s).max() < 1e-5 * d.max()


def test_tip_moves_the_psf_by_4cf_over_d():
    optics = Optics(EUCLID, 2, "double")
    c_um, lam = 0.1, optics.wavelengths_um[3]
    expected_um = 4 * c_um * 1e-6 * EUCLID.focal_length_m / EUCLID.diameter_m * 1e6
    step = 0.05
    n = int(2 * expected_um / step) + 41
    peaks = []
    for z2 in (0.0, c_um):                              # Noll Z2 = 2 rho cos(theta): tip along x
        opd = optics.opd_um(np.array([0.0, z2]))[0]
        field = optics.pupil * np.exp(2j * np.pi * opd / lam)
        img = fine_line_profile(EUCLID, lam, field, n, step)
        iy, ix = np.unravel_index(np.argmax(img), img.shape)
        # parabolic sub-sample peak along x
        l, m, r = img[iy, ix - 1], img[iy, ix], img[iy, ix + 1]
        peaks.append(((ix + 0.5 * (l - r) / (l - 2 * m + r)) * step, iy))
    shift_um = peaks[1][0] - peaks[0][0]
    # pupil pitch D/P on the linspace(-1, 1, P) Zernike grid: the slope is P/(P-1) = 1.004 x
    assert shift_um == pytest.approx(expected_um * 256 / 255, rel=0.002)
    assert peaks[0][1] == peaks[1][1]                   # no motion along y


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.25, -0.4)])
def test_centroid_sits_on_the_documented_axis(offset):
    tel = dataclasses.replace(EUCLID, axis_offset_px=offset)
    assert np.allclose(np.asarray(tel.axis_px), np.array([16 - 1 / 3, 16 - 1 / 3]) + offset)
    mono = Optics(tel, 45, "double").stamps(np.zeros(45))["mono"][0]
    poly = mono.mean(axis=0)
    assert np.all(np.abs(centroid_px(poly) - np.asarray(tel.axis_px)) < 0.01)


def test_binning_sums_blocks():
    a = np.arange(36.0).reshape(6, 6)
    b = bin_pixels(a, 3)
    assert b.shape == (2, 2) and b[0, 0] == a[:3, :3].sum() and b.sum() == a.sum()
    assert normalise(a).sum() == pytest.approx(1)


def test_odd_pupil_sampling_is_refused():
    with pytest.raises(ValueError, match="pupil_samples"):
        Optics(dataclasses.replace(EUCLID, pupil_samples=33), 3)
