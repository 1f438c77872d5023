"""The realistic effects of the simulator (starsed.realism): physics identities, and the promise
that with every effect off the idealised data come out unchanged."""
import dataclasses

import numpy as np
import pytest

from starsed.optics import Optics
from starsed.params import ConfigError, from_params
from starsed.physics.field import random_field, regular_grid, wfe_rms_um, zernike_coefficients
from starsed.physics.seds import TEMPLATES, build_table, one_nm_edges
from starsed.physics.telescope import Telescope, centroid_px
from starsed.realism import Realism
from starsed.realism import detectors as det
from starsed.realism import seds as rs
from starsed.realism import wavefront as wf
from starsed.realism.offsets import Offsets, shift_per_tilt_px, tilt_um
from starsed.stages.simulate import ExposurePlan, simulate_exposure

EUCLID = Telescope()
ALL_ON = {"offsets": {"max_px": 0.5}, "detectors": {"piston_rms_um": 40.0, "tilt_rms_um": 20.0},
          "wavefront": {"share": 0.2, "correlation_length": 150.0}, "seds": {"mix_max": 0.5, "ebv_mean": 0.1}}


@pytest.fixture(scope="module")
def seds_table(mirror, tmp_path_factory):
    arrays, _ = build_table(tuple(TEMPLATES), EUCLID.band_nm, EUCLID.bin_edges_nm, tmp_path_factory.mktemp("seds"),
                            mirror)
    return arrays


# ------------------------------------------------------------------ offsets: a shift is a tilt
@pytest.mark.parametrize("offset", [(0.3, -0.2), (-0.5, 0.45)])
def test_a_tilt_is_the_shifted_axis_transform(offset):
    """Tip/tilt of tilt_um(offset) = the optics with the axis moved by the offset, to 1e-6 of the peak."""
    z = np.zeros((1, 3))
    z[0, 1:] = tilt_um(np.array([offset]), EUCLID)[0]
    tilted = Optics(EUCLID, 3, "double").stamps(z)["mono"][0]
    moved = Optics(dataclasses.replace(EUCLID, axis_offset_px=offset), 3, "double").stamps(np.zeros((1, 3)))["mono"][0]
    assert np.max(np.abs(tilted - moved)) < 1e-6 * moved.max()


def test_a_tilt_of_c_um_moves_the_centroid_by_4cf_over_d():
    optics = Optics(EUCLID, 3, "double")
    c_um = 0.04
    expected_px = 4 * c_um * EUCLID.focal_length_m / EUCLID.diameter_m * 256 / 255 / EUCLID.pixel_um
    assert shift_per_tilt_px(EUCLID) * c_um == pytest.approx(expected_px, rel=1e-12)
    base = centroid_px(optics.stamps(np.zeros((1, 3)))["mono"][0].mean(0))
    for k, axis in ((1, 0), (2, 1)):                     # Z2 moves along +x (columns), Z3 along +y (rows)
        z = np.zeros((1, 3))
        z[0, k] = c_um
        moved = centroid_px(optics.stamps(z)["mono"][0].mean(0)) - base
        assert abs(moved[axis] - expected_px) < 0.01 and abs(moved[1 - axis]) < 0.01, (k, moved)


# ------------------------------------------------------------------ CCD mosaic
def test_the_detector_defocus_is_linear_on_each_detector_and_jumps_only_at_edges():
    spec = det.Detectors(grid=(6, 6), piston_rms_um=40.0, tilt_rms_um=20.0)
    mosaic = det.draw_mosaic(spec, np.random.default_rng(1))
    x = np.linspace(0.0, 1000.0, 6001)[:-1]
    for y in (10.0, 480.0, 990.0):
        h = det.heights_um(spec, mosaic, np.stack([x, np.full_like(x, y)], 1), 1000.0)
        step = np.abs(np.diff(h))
        edges = np.flatnonzero(np.diff(det.detector_index(spec, np.stack([x, np.full_like(x, y)], 1), 1000.0)))
        inside = np.setdiff1d(np.arange(len(step)), edges)
        assert len(edges) == 5                                            # 6 detectors along x
        # linear inside each detector: second differences vanish away from edges
        second = np.abs(np.diff(h, 2))
        near = np.unique(np.concatenate([edges - 1, edges]))
        assert np.max(np.delete(second, near)) < 1e-9
        assert np.min(step[edges]) > 10 * np.max(step[inside])           # jumps at the 5 edges
    z4 = det.defocus_um(spec, mosaic, np.array([[500.0, 500.0]]), 1000.0, EUCLID)
    N = EUCLID.focal_length_m / EUCLID.diameter_m
    h = det.heights_um(spec, mosaic, np.array([[500.0, 500.0]]), 1000.0)
    assert z4[0] == pytest.approx(h[0] / (16 * np.sqrt(3) * N ** 2), rel=1e-12)


def test_a_focus_shift_is_the_defocus_zernike():
    """W = h rho^2 / (8 N^2) projected on Noll Z4 = sqrt(3) (2 rho^2 - 1) gives h / (16 sqrt(3) N^2)."""
    from starsed.physics.zernike import unit_disk_grid, zernike_basis

    x, y, inside = unit_disk_grid(512)
    N, h = EUCLID.focal_length_m / EUCLID.diameter_m, 30.0
    w = h * (x ** 2 + y ** 2) / (8 * N ** 2)
    z4 = zernike_basis(4, 512)[3]
    coef = np.sum(w[inside] * z4[inside]) / np.sum(z4[inside] ** 2)
    assert coef == pytest.approx(h * det.defocus_per_height(EUCLID), rel=2e-3)   # the sampled disk: 0.1 %


# ------------------------------------------------------------------ SEDs
def test_an_interpolated_sed_has_unit_flux_and_lies_between_its_templates(seds_table):
    T = seds_table["seds_1nm"]
    labels = np.arange(len(T)).repeat(20)
    rng = np.random.default_rng(3)
    other = rs.neighbours(labels, len(T), rng)
    t = rng.uniform(0, 0.5, len(labels))
    s = rs.mix(T, labels, t, other)
    assert np.allclose(s.sum(1), 1.0, atol=1e-12)
    lo, hi = np.minimum(T[labels], T[other]), np.maximum(T[labels], T[other])
    assert np.all(s >= lo - 1e-15) and np.all(s <= hi + 1e-15)
    assert np.all(np.abs(other - labels) == 1)
    assert np.all(rs.nearest_template(s, T) == labels)              # t <= 1/2: its own template's side


def test_reddening_by_zero_is_the_identity_and_grows_monotonically(seds_table):
    T = seds_table["seds_1nm"]
    curve = rs.extinction_curve("G23", 3.1, seds_table["wavelength_nm"])
    assert np.all(np.diff(curve) < 0)                                 # dust dims blue more than red
    assert np.array_equal(rs.redden(T, np.zeros(len(T)), 3.1, curve), T / T.sum(1, keepdims=True))
    ebvs = np.array([0.0, 0.05, 0.2, 0.5])
    g0v = np.repeat(T[7:8], len(ebvs), 0)
    red = rs.redden(g0v, ebvs, 3.1, curve)
    half = T.shape[1] // 2
    ratio = red[:, half:].sum(1) / red[:, :half].sum(1)               # red half over blue half
    assert np.all(np.diff(ratio) > 0)
    assert np.all(np.diff(red[:, 0]) < 0) and np.all(np.diff(red[:, -1]) > 0)


def test_realistic_seds_keep_labels_and_true_weights(seds_table):
    spec = rs.RealisticSEDs(mix_max=0.4, ebv_mean=0.0)
    labels = np.random.default_rng(0).integers(0, 13, 500)
    out = rs.realistic_seds(spec, seds_table["seds_1nm"], one_nm_edges(EUCLID.band_nm), EUCLID.bin_edges_nm,
                            labels, np.random.default_rng(1))
    assert out["sed_weights"].shape == (500, EUCLID.n_bins)
    assert np.allclose(out["sed_weights"].sum(1), 1.0)
    assert np.array_equal(out["labels"], labels) and np.array_equal(out["spectral_type"], labels)
    reddened = rs.realistic_seds(dataclasses.replace(spec, ebv_mean=0.3), seds_table["seds_1nm"],
                                 one_nm_edges(EUCLID.band_nm), EUCLID.bin_edges_nm, labels, np.random.default_rng(1))
    assert np.mean(reddened["labels"] >= labels) == 1.0 and np.mean(reddened["labels"] > labels) > 0.05


# ------------------------------------------------------------------ misspecified wavefront
def test_the_random_field_carries_its_share_and_leaves_the_family_by_its_correlation_length(field_spec):
    C, _ = random_field(field_spec, np.random.default_rng(5))
    ideal = lambda p: zernike_coefficients(C, p, field_spec.degree, field_spec.size)  # noqa: E731
    grid = regular_grid(21, field_spec.size)
    outside = {}
    for length in (100.0, 2000.0):
        spec = wf.ExtraWavefront(share=0.3, correlation_length=length)
        feats = wf.scaled(wf.draw_features(spec, field_spec.n_zernikes, np.random.default_rng(6)), spec, ideal,
                          field_spec.size)
        e, z = wf.evaluate(feats, grid), ideal(grid)
        share = np.mean(wfe_rms_um(e) ** 2) / (np.mean(wfe_rms_um(z) ** 2) + np.mean(wfe_rms_um(e) ** 2))
        assert share == pytest.approx(0.3, rel=1e-9)
        assert np.all(e[:, :wf.FIRST_MODE] == 0)
        outside[length] = wf.outside_family_share(feats, field_spec.degree, field_spec.size)
    assert outside[100.0] > 0.3 and outside[2000.0] < 0.01


# ------------------------------------------------------------------ the simulator with the effects
def plan():
    return ExposurePlan({"train": 24, "test": 8}, seed=11)


def test_every_effect_off_is_the_idealised_exposure(small_telescope, field_spec, sed_weights, seds_table):
    ideal = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False)
    off = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False,
                            realism=from_params(Realism, {"seed": 99}), seds_table=seds_table)
    assert ideal.keys() == off.keys()
    for group in ideal:
        assert ideal[group].keys() == off[group].keys()
        for k in ideal[group]:
            assert np.array_equal(ideal[group][k], off[group][k]), (group, k)


def test_effects_on_keep_the_idealised_draws_and_store_what_they_did(small_telescope, field_spec, sed_weights,
                                                                     seds_table):
    ideal = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False)
    spec = from_params(Realism, ALL_ON)
    real = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False,
                             realism=spec, seds_table=seds_table)
    again = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False,
                              realism=spec, seds_table=seds_table)
    summary = real.pop("realism")
    again.pop("realism")
    assert set(summary) == {"wavefront_outside_family_share", "detector_defocus_rms_nm", "label_changed_fraction"}
    for split in ("train", "test"):
        r, i = real[split], ideal[split]
        for k in ("positions", "snr"):
            assert np.array_equal(r[k], i[k]), k                      # the idealised draws are untouched
        assert np.array_equal(r["spectral_type"], i["labels"])
        assert r["offsets_px"].shape == (len(r["positions"]), 2) and np.max(np.abs(r["offsets_px"])) <= 0.5
        assert np.all((r["detector"] >= 0) & (r["detector"] < 36))
        assert not np.allclose(r["zernikes_um"], i["zernikes_um"])
        assert np.allclose(r["sed_weights"].sum(1), 1.0)
        for k in r:
            assert np.array_equal(r[k], again[split][k]), k            # same seed, same bytes
    assert "detector_piston_um" in real["field"] and "wavefront_w" in real["field"]


def test_the_noiseless_stars_move_by_their_offsets(small_telescope, field_spec, sed_weights, seds_table):
    spec = from_params(Realism, {"offsets": {"max_px": 0.5}})
    ideal = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False)["train"]
    real = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False,
                             realism=spec, seds_table=seds_table)["train"]
    moved = centroid_px(real["noiseless"].astype(np.float64)) - centroid_px(ideal["noiseless"].astype(np.float64))
    assert np.max(np.abs(moved - real["offsets_px"])) < 0.02
    assert np.array_equal(real["zernikes_um"], ideal["zernikes_um"])  # the PSF's wavefront is not the offset


@pytest.mark.parametrize("section,value,said", [
    ({"offsets": {"max_px": 0.7}}, 0.7, "realism.offsets.max_px"),
    ({"detectors": {"grid": [6, 0]}}, [6, 0], "realism.detectors.grid"),
    ({"detectors": {"piston_rms_um": -1.0}}, -1.0, "realism.detectors.piston_rms_um"),
    ({"wavefront": {"share": 1.0}}, 1.0, "realism.wavefront.share"),
    ({"wavefront": {"correlation_length": 0.0}}, 0.0, "realism.wavefront.correlation_length"),
    ({"seds": {"mix_max": 0.6}}, 0.6, "realism.seds.mix_max"),
    ({"seds": {"law": "XYZ"}}, "XYZ", "realism.seds.law"),
    ({"seds": {"law": "G23", "r_v": 2.2}}, 2.2, "realism.seds.r_v"),
])
def test_bad_realism_parameters_are_named_with_the_allowed_values(section, value, said):
    with pytest.raises(ConfigError) as err:
        from_params(Realism, section, "realism")
    msg = str(err.value)
    assert said in msg and repr(value) in msg and "allowed" in msg, msg


def test_every_effect_is_off_by_default():
    assert not Realism().active and not Offsets().active
    assert not any(from_params(Realism, {}).effects.values())


# ------------------------------------------------------------------ the realistic stage's pieces
def test_the_true_psf_rendered_at_the_true_offsets_is_the_simulated_one(small_telescope, field_spec, sed_weights,
                                                                        seds_table):
    from starsed.stages.realistic import true_mono_at

    spec = from_params(Realism, {"offsets": {"max_px": 0.5}, "wavefront": {"share": 0.2}})
    train = simulate_exposure(small_telescope, field_spec, sed_weights, plan(), "double", progress=False,
                              realism=spec, seds_table=seds_table)["train"]
    mono = true_mono_at(small_telescope, field_spec, train["zernikes_um"], train["offsets_px"], "double")
    assert np.allclose(mono, train["mono"], rtol=0, atol=1e-6 * train["mono"].max())   # stored as float32


def test_offsets_estimated_with_the_true_wavefront_and_a_flat_sed(field_spec, sed_weights, seds_table):
    from starsed.stages.realistic import estimated_offsets_px

    tel = dataclasses.replace(EUCLID, pupil_samples=64)
    spec = from_params(Realism, {"offsets": {"max_px": 0.5}})
    train = simulate_exposure(tel, field_spec, sed_weights, ExposurePlan({"train": 12}, 4, (100.0, 100.0)),
                              "double", progress=False, realism=spec, seds_table=seds_table)["train"]
    est = estimated_offsets_px(tel, field_spec, train["zernikes_um"], train["noisy"], sed_weights, pupil_samples=64)
    err = est - train["offsets_px"]
    assert np.sqrt(np.mean(err ** 2)) < 0.03, err       # SNR 100, the star's own SED unknown
