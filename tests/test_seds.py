import shutil

import numpy as np
import pytest

from starsed.physics.seds import (TEMPLATES, SEDError, binned_seds, fetch_templates, integrate_bins,
                          one_nm_edges)


def test_one_nm_binning_reproduces_reference_seds(mirror, tmp_path):
    paths = fetch_templates(tmp_path, mirror=mirror)
    ours = binned_seds(paths, one_nm_edges((550.0, 900.0)))
    reference = np.load(mirror / "SEDs.npy")
    assert ours.shape == (13, 350)
    assert np.abs(ours - reference).max() < 1e-12


def test_bin_weights_sum_to_one_and_redden(sed_weights):
    assert sed_weights.shape == (13, 8)
    assert np.allclose(sed_weights.sum(axis=1), 1)
    # hot stars are blue (falling with wavelength), M5 is red
    assert sed_weights[0, 0] > sed_weights[0, -1] and sed_weights[12, 0] < sed_weights[12, -1]


def test_integrate_bins_is_exact_for_piecewise_constant():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([1.0, 2.0, 4.0])
    assert np.allclose(integrate_bins(edges, values, np.array([0.5, 1.5, 3.0])), [1.5, 5.0])
    with pytest.raises(SEDError, match="outside the templates"):
        integrate_bins(edges, values, np.array([-1.0, 1.0]))


def test_wavelengths_outside_the_templates_are_refused(mirror, tmp_path):
    paths = fetch_templates(tmp_path, ["O5V"], mirror=mirror)
    with pytest.raises(SEDError, match="outside the templates"):
        binned_seds(paths, np.linspace(1000.0, 1200.0, 9))


def test_cache_is_reused_and_checksum_mismatch_is_reported(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    bad_mirror.mkdir()
    name = TEMPLATES["O5V"][0]
    (bad_mirror / name).write_bytes(b"not a fits file")
    with pytest.raises(SEDError, match="checksum mismatch.*O5V"):
        fetch_templates(tmp_path / "cache", ["O5V"], mirror=bad_mirror)
    assert not (tmp_path / "cache" / name).exists()            # nothing corrupt left behind
    fetch_templates(tmp_path / "cache", ["O5V"], mirror=mirror)
    # a verified cached copy is used without the mirror
    assert fetch_templates(tmp_path / "cache", ["O5V"], mirror=bad_mirror)["O5V"].is_file()


def test_missing_file_says_where_it_looked(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SEDError, match=r"not found in the mirror.*looked in"):
        fetch_templates(tmp_path / "cache", ["M5V"], mirror=empty)


def test_unknown_class_is_named(tmp_path):
    with pytest.raises(SEDError, match="unknown classes.*Z9V"):
        fetch_templates(tmp_path, ["Z9V"])
