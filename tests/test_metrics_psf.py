"""PSF error metrics, the generic table writers and figure 9."""
import numpy as np
import pytest

from starsed import metrics
from starsed.metrics import psf as mpsf
from starsed.report.tables import latex_table, markdown_table, write_tables


def test_package_reexports():
    for name in mpsf.__all__:
        assert getattr(metrics, name) is getattr(mpsf, name)


def test_relative_rmse_values():
    truth = np.ones((2, 4, 4))
    model = truth.copy()
    model[1] *= 1.1
    r = mpsf.relative_rmse(model, truth)
    np.testing.assert_allclose(r, [0.0, 0.1], atol=1e-12)
    s = mpsf.relative_rmse_summary(r)
    assert s["mean_pct"] == pytest.approx(5.0)
    assert s["std_pct"] == pytest.approx(5.0)


def test_relative_rmse_errors():
    with pytest.raises(ValueError, match="shape"):
        mpsf.relative_rmse(np.ones((2, 4, 4)), np.ones((2, 5, 5)))
    with pytest.raises(ValueError, match="zero"):
        mpsf.relative_rmse(np.ones((1, 4, 4)), np.zeros((1, 4, 4)))


def test_mono_and_psf_errors():
    rng = np.random.default_rng(0)
    truth_mono = rng.uniform(size=(3, 8, 4, 4))
    out = mpsf.psf_errors(truth_mono[:, 0], truth_mono[:, 0], truth_mono[:, 1] * 1.02, truth_mono[:, 1],
                          truth_mono, truth_mono)
    assert out["rel_rmse_pct"] == 0.0
    assert out["sr_rel_rmse_pct"] == pytest.approx(2.0)
    assert out["mono_rel_rmse_pct"] == [0.0] * 8
    assert mpsf.mono_relative_rmse(truth_mono, truth_mono).shape == (3, 8)


def test_opd_rmse_ignores_piston_and_closed_pupil():
    pupil = np.zeros((4, 4))
    pupil[1:3, 1:3] = 1.0
    truth = np.zeros((1, 4, 4))
    model = truth + 0.3
    model[0, 0, 0] = 99.0                      # outside the pupil: ignored
    assert mpsf.opd_rmse_um(model, truth, pupil)[0] == pytest.approx(0.0)
    assert mpsf.opd_rmse_um(model, truth, pupil, remove_piston=False)[0] == pytest.approx(0.3)


ROWS = [{"set": "S1", "n": 50, "err": 1.23456, "note": None},
        {"set": "S_2", "n": 100, "err": 0.5, "note": "50%"}]


def test_markdown_and_latex():
    md = markdown_table(ROWS, [("set", "set"), ("n", "stars"), ("err", "error [%]"), ("note", "note")])
    assert md.splitlines()[0] == "| set | stars | error [%] | note |"
    assert md.splitlines()[1] == "|---|---:|---:|---|"
    assert "| S1 | 50 | 1.235 | — |" in md
    tex = latex_table(ROWS, [("set", "set"), ("n", "stars"), ("err", "error [%]")], fmt={"err": ".2f"})
    assert tex.startswith("\\begin{tabular}{lrr}")
    assert "S\\_2 & 100 & 0.50 \\\\" in tex
    assert "error [\\%]" in tex


def test_write_tables(tmp_path):
    paths = write_tables(ROWS, "t", folder=tmp_path)
    assert [p.name for p in paths] == ["t.md", "t.tex"]
    first = [p.read_bytes() for p in paths]
    write_tables(ROWS, "t", folder=tmp_path)
    assert [p.read_bytes() for p in paths] == first
    with pytest.raises(KeyError, match="lacks column"):
        markdown_table(ROWS, ["set", "missing"])
    with pytest.raises(ValueError, match="empty"):
        latex_table([])


def test_fig09(tmp_path):
    from starsed.plots import save
    from starsed.plots.psf import PAPER_ERROR_PCT, psf_error_vs_stars

    fig = psf_error_vs_stars([50, 100], [2.0, 1.5], [0.5, 0.4], [3.0, 2.0])
    assert len(fig.axes[0].lines) == 3
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), PAPER_ERROR_PCT)
    paths = save(fig, "fig09_test", folder=tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_opd_error_from_zernike_coefficients_equals_the_pupil_sum():
    """The OPD error of a Zernike-sum difference, from its coefficients, is the pixel sum over the
    open pupil (piston removed) to rounding."""
    from starsed.physics.pupil import pupil_amplitude
    from starsed.physics.zernike import zernike_basis

    basis, pupil = zernike_basis(21, 64), pupil_amplitude(64, "euclid")
    dz = np.random.default_rng(4).normal(0, 0.02, (7, 21))
    maps = np.einsum("nk,kij->nij", dz, basis)
    for piston in (True, False):
        direct = mpsf.opd_rmse_um(maps, np.zeros_like(maps), pupil, remove_piston=piston)
        fast = mpsf.opd_rmse_from_zernikes_um(dz, basis, pupil, remove_piston=piston)
        np.testing.assert_allclose(fast, direct, rtol=1e-10)
