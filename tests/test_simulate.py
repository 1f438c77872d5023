import numpy as np
import pytest

from starsed.io import read_attrs, read_h5, write_h5
from starsed.params import ConfigError, load_params, load_sections, resolve
from starsed.physics.noise import sigma_for_snr
from starsed.stages.simulate import SECTIONS, ExposurePlan, exposure_plans, simulate_exposure


def small_run(telescope, field, weights, seed=5, chunk=4, splits=None):
    plan = ExposurePlan(splits or {"train": 6, "test": 3}, seed=seed)
    return simulate_exposure(telescope, field, weights, plan, "double", chunk, progress=False)


def test_exposure_contents(small_telescope, field_spec, sed_weights):
    d = small_run(small_telescope, field_spec, sed_weights)
    tr, te = d["train"], d["test"]
    assert tr["noisy"].shape == (6, 32, 32) and tr["mono"].shape == (6, 8, 32, 32)
    assert "sr" in te and te["sr"].shape == (3, 64, 64) and "sr" not in tr
    assert np.allclose(tr["noiseless"].sum(axis=(1, 2)), 1, atol=1e-5)
    assert tr["noiseless"].min() >= 0
    assert np.allclose(tr["sed_weights"], sed_weights[tr["labels"]])
    assert np.all((tr["snr"] >= 20) & (tr["snr"] <= 110))
    # the noise has the sigma the SNR asks for: sigma^2 = sum(star^2) / (SNR * 1024)
    assert np.allclose(tr["sigma"], sigma_for_snr(tr["noiseless"], tr["snr"]), rtol=1e-5)
    resid = (tr["noisy"] - tr["noiseless"]) / tr["sigma"][:, None, None]
    assert resid.std() == pytest.approx(1.0, abs=0.05)
    assert d["field"]["C_um"].shape == (45, 15)


def test_same_seed_is_bit_identical_other_seed_differs(small_telescope, field_spec, sed_weights):
    a = small_run(small_telescope, field_spec, sed_weights, seed=11, chunk=4)
    b = small_run(small_telescope, field_spec, sed_weights, seed=11, chunk=4)
    b5 = small_run(small_telescope, field_spec, sed_weights, seed=11, chunk=5)
    c = small_run(small_telescope, field_spec, sed_weights, seed=12)
    for split in ("train", "test"):
        for key, arr in a[split].items():
            assert np.array_equal(arr, b[split][key]), key
            # another chunking draws the same stars and noise (BLAS may round the last bit)
            assert np.allclose(arr, b5[split][key], rtol=1e-12, atol=0), key
    assert not np.allclose(a["train"]["noisy"], c["train"]["noisy"])
    assert not np.allclose(a["field"]["C_um"], c["field"]["C_um"])


def test_hdf5_round_trip_is_exact_and_byte_stable(small_telescope, field_spec, sed_weights, tmp_path):
    d = small_run(small_telescope, field_spec, sed_weights)
    attrs = {"seed": 5, "provenance": {"params": {"a": [1, 2]}, "versions": {"numpy": "x"}}}
    p1 = write_h5(tmp_path / "a.h5", d, attrs)
    p2 = write_h5(tmp_path / "b.h5", d, attrs)
    assert p1.read_bytes() == p2.read_bytes()
    back = read_h5(p1, "train")
    for key, arr in d["train"].items():
        assert np.array_equal(back[key], arr) and back[key].dtype == arr.dtype
    assert read_attrs(p1)["provenance"]["params"] == {"a": [1, 2]}
    assert np.array_equal(read_h5(p1, "test", ["labels"], rows=slice(1, 3))["labels"], d["test"]["labels"][1:3])
    with pytest.raises(KeyError, match="no group 'nope'"):
        read_h5(p1, "nope")
    with pytest.raises(FileNotFoundError, match="dvc repro"):
        read_h5(tmp_path / "missing.h5", "train")


def test_bad_simulation_parameters_are_named():
    with pytest.raises(ConfigError, match="snr_range"):
        ExposurePlan({"train": 5}, seed=1, snr_range=(-5.0, 10.0))
    with pytest.raises(ConfigError, match="number of train stars"):
        ExposurePlan({"train": 0}, seed=1)


def test_profiles_resolve_and_unknown_profile_is_named():
    raw = {"profile": "default", "simulate": {"n_pool": 10, "n_test": 2},
           "profiles": {"default": {}, "smoke": {"simulate": {"n_pool": 3}}}}
    assert resolve(raw)["simulate"] == {"n_pool": 10, "n_test": 2}
    assert resolve(raw, "smoke")["simulate"] == {"n_pool": 3, "n_test": 2}
    with pytest.raises(ConfigError, match="unknown profile 'huge'.*default.*smoke"):
        resolve(raw, "huge")
    with pytest.raises(ConfigError, match="profiles.smoke.simulate.nstars"):
        resolve({**raw, "profiles": {"smoke": {"simulate": {"nstars": 1}}}}, "smoke")


def test_repository_params_give_the_paper_star_counts():
    plans = exposure_plans(load_sections(SECTIONS).simulate)
    assert plans["main"].splits == {"train": 12000, "test": 1000}
    assert plans["second"].splits == {"test": 1000}
    assert plans["main"].seed != plans["second"].seed
    for profile in ("smoke", "paper"):
        load_params(profile=profile)


def test_provenance_keeps_only_the_stage_sections():
    """Editing another stage's parameters must not change an artefact's bytes."""
    from starsed.io import provenance
    from starsed.params import sections_from

    params = load_params()                              # resolved (default profile)
    a = provenance(sections_from(params, SECTIONS), 1)
    b = provenance(sections_from({**params, "classify": {"seed": -1}}, SECTIONS), 1)
    assert a == b and set(a["params"]) == {"profile", *SECTIONS}
    assert a["params"]["simulate"]["n_pool"] == params["simulate"]["n_pool"]
    params.pop("field")
    with pytest.raises(ConfigError, match="params section field is missing"):
        sections_from(params, SECTIONS)
