"""Similarity features, model stars, PSF statistics and the noise estimate."""
import numpy as np
import pytest

from starsed.classifiers.features import (PSFStats, model_stars, similarity_distances, similarity_features,
                                          similarity_from_distances)
from starsed.metrics.psf import relative_rmse
from starsed.params import ConfigError
from starsed.physics.noise import robust_sigma


def _hand_made():
    """Two stars, 2 bins, 2 x 2 pixels: small enough to compute by hand."""
    mono = np.zeros((2, 2, 2, 2))
    mono[0, 0] = [[1, 0], [0, 0]]
    mono[0, 1] = [[0.5, 0.5], [0, 0]]
    mono[1, 0] = [[0.25, 0.25], [0.25, 0.25]]
    mono[1, 1] = [[0, 0], [0, 1]]
    stars = np.array([[[0.9, 0.1], [0, 0]], [[0, 0], [0.5, 0.5]]])
    return mono, stars


def test_similarity_matches_hand_computation():
    mono, stars = _hand_made()
    d = similarity_distances(mono, stars)
    # star 0: (1-.9)^2 + (0-.1)^2 = 0.02 ; (.5-.9)^2 + (.5-.1)^2 = 0.32
    # star 1: 2 x .0625 + 2 x .0625 = 0.25 ; 0 + 0 + .25 + .25 = 0.5
    np.testing.assert_allclose(d, [[0.02, 0.32], [0.25, 0.5]])
    s = similarity_features(mono, stars)
    np.testing.assert_allclose(s[0], [0.98 / 1.66, 0.68 / 1.66])
    np.testing.assert_allclose(s[1], [0.75 / 1.25, 0.5 / 1.25])
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(similarity_from_distances(d), s)


def test_model_stars_are_weighted_sums():
    mono, _ = _hand_made()
    w = np.array([[1.0, 0.0], [0.25, 0.75], [0.5, 0.5]])
    m = model_stars(mono, w)
    assert m.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(m[0, 1], 0.25 * mono[0, 0] + 0.75 * mono[0, 1])
    np.testing.assert_allclose(m[1, 2], 0.5 * (mono[1, 0] + mono[1, 1]))
    with pytest.raises(ConfigError, match="sed_weights"):
        model_stars(mono, np.ones((3, 5)))


def test_psf_stats_reproduce_direct_computations():
    rng = np.random.default_rng(0)
    mono = rng.random((5, 8, 6, 6))
    mono /= mono.sum(axis=(2, 3), keepdims=True)
    stars = np.einsum("nk,nkij->nij", rng.dirichlet(np.ones(8), 5), mono) + 0.01 * rng.standard_normal((5, 6, 6))
    w = rng.dirichlet(np.ones(8), 13)
    st = PSFStats.from_mono(mono, stars, chunk=2)
    np.testing.assert_allclose(st.distances(), similarity_distances(mono, stars), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st.similarity(), similarity_features(mono, stars), rtol=1e-10)
    m = model_stars(mono, w)
    unit = ((stars[:, None] - m) ** 2).sum(axis=(2, 3))
    np.testing.assert_allclose(st.template_residuals(w, "unit"), unit, rtol=1e-9, atol=1e-12)
    a = (stars[:, None] * m).sum(axis=(2, 3)) / (m * m).sum(axis=(2, 3))
    free = ((stars[:, None] - a[:, :, None, None] * m) ** 2).sum(axis=(2, 3))
    np.testing.assert_allclose(st.template_residuals(w, "free"), free, rtol=1e-8, atol=1e-12)
    sub = st.take([3, 1])
    np.testing.assert_allclose(sub.xh, st.xh[[3, 1]])
    assert len(sub) == 2
    with pytest.raises(ConfigError, match="flux"):
        st.template_residuals(w, "fixed")


def test_robust_sigma_recovers_noise_level():
    """The classifiers' noise estimate: robust_sigma about the stamp centre (n/2, n/2), as the
    committed results used it."""
    rng = np.random.default_rng(1)
    sigma = np.array([0.001, 0.01, 0.05])
    stars = sigma[:, None, None] * rng.standard_normal((3, 32, 32))
    stars[:, 14:18, 14:18] += 1.0  # a bright core inside the 10-pixel radius is ignored
    est = robust_sigma(stars, 10.0, (16.0, 16.0))
    np.testing.assert_allclose(est, sigma, rtol=0.15)
    with pytest.raises(ConfigError, match="radius_px = 40"):
        robust_sigma(stars, 40, (16.0, 16.0))


def test_psf_stats_from_a_predictor_chunk_by_chunk():
    rng = np.random.default_rng(2)
    n = 7
    mono = rng.random((n, 8, 6, 6))
    mono /= mono.sum(axis=(2, 3), keepdims=True)
    w = rng.dirichlet(np.ones(8), n)
    clean = np.einsum("nk,nkij->nij", w, mono)
    stars = clean + 0.01 * rng.standard_normal((n, 6, 6))
    positions = np.c_[np.arange(n), np.zeros(n)]
    calls = []

    def predict_mono(pos):                      # the model's stamps at those positions
        calls.append(len(pos))
        return mono[pos[:, 0].astype(int)]

    st = PSFStats.from_predictor(predict_mono, positions, stars, chunk=3)
    assert calls == [3, 3, 1]
    whole = PSFStats.from_mono(mono, stars)
    for name in ("xh", "gram", "xx"):
        np.testing.assert_allclose(getattr(st, name), getattr(whole, name), rtol=1e-12, atol=1e-15)
    st2, err = PSFStats.from_predictor(predict_mono, positions, stars, chunk=3, noiseless=clean, sed_weights=w)
    np.testing.assert_array_equal(st2.xh, st.xh)
    np.testing.assert_allclose(err, relative_rmse(clean, clean), atol=1e-15)   # the true PSF: no error
    _, err = PSFStats.from_predictor(lambda pos: 1.1 * predict_mono(pos), positions, stars, chunk=4,
                                     noiseless=clean, sed_weights=w)
    np.testing.assert_allclose(err, 0.1, rtol=1e-12)
    with pytest.raises(ConfigError, match="sed_weights"):
        PSFStats.from_predictor(predict_mono, positions, stars, noiseless=clean)
    with pytest.raises(ConfigError, match="positions"):
        PSFStats.from_predictor(predict_mono, positions[:3], stars)


def test_shape_errors_name_the_parameter():
    mono, stars = _hand_made()
    with pytest.raises(ConfigError, match="stars shape"):
        similarity_features(mono, stars[:1])
