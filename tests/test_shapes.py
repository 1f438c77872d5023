"""PSF shape metrics (starsed.metrics.shapes): HSM adaptive moments against analytic Gaussians.

The Gaussians are drawn here from their formula (not with GalSim), so the test does not
lean on the library it checks. Convention pinned: stamp[y, x], x the last axis; a Gaussian
elongated along x has e1 > 0, along the diagonal stamp[i, i] e2 > 0.
"""
import numpy as np
import pytest

from starsed.metrics.shapes import NoConvergedStars, adaptive_moments, shape_errors

N_SIDE = 64


def sheared_gaussian(g1, g2, sigma, centre=(31.7, 32.2), n=N_SIDE):
    """Elliptical Gaussian stamp[y, x] sampled at the pixel centres: reduced-shear ellipticity
    (g1, g2), position angle phi from +x towards +y with g1 + i g2 = |g| exp(2 i phi), and
    round-equivalent size sigma (sigma^2 = sqrt(det Q), Q its covariance, pixel^2)."""
    g = np.hypot(g1, g2)
    phi = 0.5 * np.arctan2(g2, g1)
    q = (1.0 - g) / (1.0 + g)                         # axis ratio b / a
    a2, b2 = sigma ** 2 / q, sigma ** 2 * q           # a b = sigma^2
    c, s = np.cos(phi), np.sin(phi)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([a2, b2]) @ rot.T             # in (x, y)
    inv = np.linalg.inv(cov)
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    dx, dy = x - centre[0], y - centre[1]
    return np.exp(-0.5 * (inv[0, 0] * dx * dx + 2 * inv[0, 1] * dx * dy + inv[1, 1] * dy * dy))


CASES = [(0.0, 0.0, 3.0), (0.1, 0.0, 3.5), (0.0, -0.15, 4.0), (-0.2, 0.12, 4.5), (0.05, 0.25, 5.0)]


@pytest.fixture(scope="module")
def stamps():
    return np.stack([sheared_gaussian(*c) for c in CASES])


def test_recovers_analytic_gaussians(stamps):
    m = adaptive_moments(stamps)
    g1, g2, sigma = np.array(CASES).T
    assert m["ok"].all()
    np.testing.assert_allclose(m["e1"], g1, atol=1e-3)
    np.testing.assert_allclose(m["e2"], g2, atol=1e-3)
    np.testing.assert_allclose(m["r2_px2"], 2 * sigma ** 2, rtol=1e-3)
    np.testing.assert_allclose(adaptive_moments(stamps, guess_sigma=2.0)["e1"], g1, atol=1e-3)


def test_convention_x_is_the_last_axis():
    along_x = sheared_gaussian(0.2, 0.0, 4.0)
    assert np.count_nonzero(along_x[32] > 0.5) > np.count_nonzero(along_x[:, 32] > 0.5)  # wider along the last axis
    diag = sheared_gaussian(0.0, 0.2, 4.0, centre=(32.0, 32.0))
    assert diag[40, 40] > diag[40, 24]                                          # elongated along stamp[i, i]
    m = adaptive_moments(np.stack([along_x, along_x.T, diag]))
    assert m["e1"][0] > 0.19 and abs(m["e2"][0]) < 1e-3
    assert m["e1"][1] < -0.19                                                  # along the row axis
    assert m["e2"][2] > 0.19 and abs(m["e1"][2]) < 1e-3


def test_rotation_and_transpose(stamps):
    m = adaptive_moments(stamps)
    rot = adaptive_moments(np.rot90(stamps, axes=(1, 2)))           # 90 deg: the ellipticity turns by 180
    np.testing.assert_allclose(rot["e1"], -m["e1"], atol=1e-6)
    np.testing.assert_allclose(rot["e2"], -m["e2"], atol=1e-6)
    np.testing.assert_allclose(rot["r2_px2"], m["r2_px2"], rtol=1e-6)
    tr = adaptive_moments(np.swapaxes(stamps, 1, 2))                # x <-> y: e1 flips, e2 stays
    np.testing.assert_allclose(tr["e1"], -m["e1"], atol=1e-6)
    np.testing.assert_allclose(tr["e2"], m["e2"], atol=1e-6)


def test_shape_errors_identical_is_zero(stamps):
    assert shape_errors(stamps, stamps.copy()) == {"e1_rmse": 0.0, "e2_rmse": 0.0, "r2_rmse": 0.0,
                                                   "n_stars": len(CASES)}


def test_shape_errors_definition(stamps):
    truth_sig = np.array(CASES)[:, 2]
    bigger = np.stack([sheared_gaussian(g1, g2 + 0.01, 1.02 * s) for g1, g2, s in CASES])
    err = shape_errors(bigger, stamps)
    r2_t = 2 * truth_sig ** 2
    expected_r2 = np.sqrt(np.mean(((1.02 ** 2 - 1) * r2_t / r2_t.mean()) ** 2))
    assert err["n_stars"] == len(CASES)
    assert err["e1_rmse"] < 1e-3 and abs(err["e2_rmse"] - 0.01) < 1e-3
    assert err["r2_rmse"] == pytest.approx(expected_r2, rel=1e-2)


def test_non_converging_stars_are_excluded(stamps):
    bad = stamps.copy()
    bad[1] = 0.0
    m = adaptive_moments(bad)
    assert m["ok"].tolist() == [True, False, True, True, True] and np.isnan(m["e1"][1])
    bad[3, 5, 5] = np.nan
    assert not adaptive_moments(bad)["ok"][3]
    err = shape_errors(bad, stamps)
    assert err["n_stars"] == len(CASES) - 2 and err["e1_rmse"] == 0.0
    with pytest.raises(NoConvergedStars, match="converged on no star"):          # a ValueError
        shape_errors(np.zeros_like(stamps), stamps)


def test_no_converged_star_is_a_value_error():
    assert issubclass(NoConvergedStars, ValueError)


def test_shape_mismatch_names_the_argument(stamps):
    with pytest.raises(ValueError, match=r"truth_stamps has shape \(5, 32, 32\)"):
        shape_errors(stamps, stamps[:, :32, :32])
    with pytest.raises(ValueError, match=r"model_stamps must be stamps of shape \(N, ny, nx\)"):
        shape_errors(stamps[0], stamps)
    with pytest.raises(ValueError, match="truth_stamps must be"):
        shape_errors(stamps, stamps.ravel())
