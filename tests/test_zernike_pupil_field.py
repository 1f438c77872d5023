import numpy as np
import pytest

from starsed.params import ConfigError
from starsed.physics.field import FieldSpec
from starsed.physics.field import monomials, random_field, regular_grid, wfe_rms_um, zernike_coefficients
from starsed.physics.pupil import block_average, pupil_amplitude
from starsed.physics.zernike import noll_to_nm, zernike_basis


def test_noll_indices_match_the_published_table():
    expected = [(0, 0), (1, 1), (1, -1), (2, 0), (2, -2), (2, 2), (3, -1), (3, 1), (3, -3),
                (3, 3), (4, 0), (4, 2), (4, -2), (4, 4), (4, -4)]
    assert [noll_to_nm(j) for j in range(1, 16)] == expected
    assert noll_to_nm(44) == (8, 8) and noll_to_nm(45) == (8, -8)
    with pytest.raises(ValueError, match="Noll index"):
        noll_to_nm(0)


def test_zernikes_are_orthonormal_over_the_disk():
    basis = zernike_basis(45, 512)
    inside = basis[0] != 0
    flat = basis[:, inside]
    gram = flat @ flat.T / inside.sum()
    assert np.allclose(np.diag(gram), 1.0, atol=0.01)
    assert np.abs(gram - np.diag(np.diag(gram))).max() < 0.01


def test_tip_is_two_x_and_defocus_is_sqrt3():
    basis = zernike_basis(4, 65)
    x = np.linspace(-1, 1, 65)[None, :].repeat(65, 0)
    inside = basis[0] != 0
    assert np.allclose(basis[1][inside], 2 * x[inside])
    centre = basis[3][32, 32]
    assert centre == pytest.approx(-np.sqrt(3))   # sqrt(3) (2 rho^2 - 1) at rho = 0


def test_pupil_is_zero_outside_disk_and_obscured():
    amp = pupil_amplitude(256)
    c = np.linspace(-1, 1, 256)
    x, y = np.meshgrid(c, c)
    assert np.all(amp[x**2 + y**2 > 1] == 0)
    assert amp.max() == 1.0 and amp.min() == 0.0
    # central obscuration (395 mm at y = +51 mm) is dark; open area ~ 86 % of the disk
    assert amp[np.argmin(np.abs(c - 51 / 600)), 128] == 0
    fraction = amp.sum() / (x**2 + y**2 <= 1).sum()
    assert 0.83 < fraction < 0.88
    clear = pupil_amplitude(64, "none")
    assert clear.sum() == (np.add.outer(np.linspace(-1, 1, 64) ** 2, np.linspace(-1, 1, 64) ** 2) <= 1).sum()


def test_coarse_pupil_is_the_fine_mask_block_averaged():
    coarse = pupil_amplitude(128, reference_samples=256)
    fine = pupil_amplitude(256)
    c = np.linspace(-1, 1, 128)
    inside = np.add.outer(c**2, c**2) <= 1
    assert np.allclose(coarse[inside], block_average(fine, 2)[inside])
    assert np.all(coarse[~inside] == 0)
    with pytest.raises(ValueError, match="obscurations"):
        pupil_amplitude(32, "hubble")


def test_monomials_order_and_scaling():
    m = monomials(np.array([[1000.0, 0.0], [500.0, 500.0]]), degree=2)
    # x=1, y=-1 : 1, x, y, x^2, xy, y^2
    assert np.allclose(m[0], [1, 1, -1, 1, -1, 1])
    assert np.allclose(m[1], [1, 0, 0, 0, 0, 0])
    assert monomials(np.zeros((3, 2)), 4).shape == (3, 15)
    with pytest.raises(ValueError, match="positions"):
        monomials(np.zeros((3, 3)), 4)


def test_random_field_is_normalised_as_specified():
    spec = FieldSpec()
    C, anchors = random_field(spec, np.random.default_rng(3))
    assert C.shape == (45, 15) and anchors.shape == (25, 2)
    assert anchors.min() >= 0 and anchors.max() <= spec.size
    grid = regular_grid(5, spec.size)
    wfe = wfe_rms_um(zernike_coefficients(C, grid, spec.degree))
    assert wfe.mean() == pytest.approx(0.04, rel=1e-12)
    # field-average WFE over random positions comes out near 32 nm (docs/reference.md, Wavefront field)
    pos = np.random.default_rng(0).uniform(0, 1000, (5000, 2))
    assert 20 < 1000 * wfe_rms_um(zernike_coefficients(C, pos, 4)).mean() < 40


def test_random_field_is_deterministic():
    a, _ = random_field(FieldSpec(), np.random.default_rng(7))
    b, _ = random_field(FieldSpec(), np.random.default_rng(7))
    c, _ = random_field(FieldSpec(), np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_bad_field_parameters_are_named():
    with pytest.raises(ConfigError, match="field.anchors_per_side"):
        FieldSpec(anchors_per_side=3, degree=4)
    with pytest.raises(ConfigError, match="field.n_zernikes"):
        FieldSpec(n_zernikes=0)
