"""Similarity features, model stars, PSF statistics and the noise estimate."""
import numpy as np
import pytest

from starsed.config import ConfigError
from starsed.features import (PSFStats, estimate_sigma, model_stars, similarity_distances,
                              similarity_features, similarity_from_distances)


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


def test_estimate_sigma_recovers_noise_level():
    rng = np.random.default_rng(1)
    sigma = np.array([0.001, 0.01, 0.05])
    stars = sigma[:, None, None] * rng.standard_normal((3, 32, 32))
    stars[:, 14:18, 14:18] += 1.0  # a bright core inside the 10-pixel radius is ignored
    est = estimate_sigma(stars)
    np.testing.assert_allclose(est, sigma, rtol=0.15)
    with pytest.raises(ConfigError, match="outer_radius_px"):
        estimate_sigma(stars, outer_radius_px=40)


def test_shape_errors_name_the_parameter():
    mono, stars = _hand_made()
    with pytest.raises(ConfigError, match="stars shape"):
        similarity_features(mono, stars[:1])
