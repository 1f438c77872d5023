"""One strict path from params.yaml to code: every section a dataclass, every bad value named.

Every error must name the parameter (its dotted path in params.yaml), its value and
what is allowed, and come before any expensive work: the whole file is checked by
the `validate` stage, the first of the graph.
"""
from __future__ import annotations

import copy
import typing

import h5py
import numpy as np
import pytest

from starsed.params import ConfigError, from_params, leaf_paths, load_params, load_sections
from starsed.stages.validate import all_sections, validate


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params()


def with_value(params: dict, path: str, value) -> dict:
    out = copy.deepcopy(params)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        if node[key] is None:               # an optional section that is off (null): switch it on
            node[key] = {}
        node = node[key]
    node[last] = value
    return out


def bad_value(hint):
    """A value of the wrong type for a parameter annotated ``hint``."""
    origin = typing.get_origin(hint)
    if hint is bool:
        return "false"                      # a non-empty string is true in Python: must be refused
    if hint is int:
        return "300"
    if hint is float:
        return "550-900"
    if hint is str:
        return 7
    if origin is typing.Literal:
        return "not-one-of-them"
    if origin is tuple:
        return "a string"
    return {"not": "a value"}               # Optional[...] and the rest


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_is_valid(profile):
    cfg = validate(load_params(profile=profile))
    assert cfg.profile == profile
    assert set(cfg.names) == set(all_sections())


def test_every_section_refuses_an_unknown_key_and_names_the_allowed_ones(params):
    for name, cls in all_sections().items():
        bad = {**params[name], "seed_mian": 1}
        with pytest.raises(ConfigError) as err:
            from_params(cls, bad, name)
        msg = str(err.value)
        assert f"{name}.seed_mian" in msg and "allowed keys" in msg, msg
        assert all(f"'{k}'" in msg for k in params[name]), msg


def test_a_bad_value_of_every_parameter_is_named_with_its_value_and_the_allowed_values(params):
    checked = 0
    for name, cls in all_sections().items():
        for path, hint in leaf_paths(cls, name).items():
            value = bad_value(hint)
            with pytest.raises(ConfigError) as err:
                validate(with_value(params, path, value))
            msg = str(err.value)
            assert path in msg and repr(value) in msg and "allowed" in msg, (path, msg)
            checked += 1
    assert checked > 80


CASES = [  # (path, value, what the message must also say)
    ("simulate.seed_mian", 1, "allowed keys of simulate"),
    ("psf_models.warm_start", "false", "true or false"),
    ("psf_models.model.data_driven", "off", "true or false"),
    ("psf_models.n_test", 5000, "at most the 1000 test stars"),
    ("classify.psf_models", ["S1", "S9"], "S6"),
    ("telescope.band_nm", "550-900", "allowed"),
    ("classify.n_train", "300", "an integer"),
    ("predict_seds.labeller_rows", [400, 250], "start"),
    ("simulate.precision", "quad", "'single', 'double'"),
    ("psf_models.fast.passes", [100, 80, 80, 60, 30, "x"], "an integer"),
    ("psf_models.fast.passes", [100, 80, 80, 60, 30], "one entry per training set (6)"),
    ("classify.svm.C", -1, "positive"),
    ("predict_seds.bases", [50, 75], "training_sets"),
    ("psf_models.training_sets", [50, 100, 200, 500, 1000, 20000], "12000 stars of the pool"),
    ("psf_models.model.pupil_samples", 96, "divisor of telescope.pupil_samples"),
    ("psf_models.fast.precond_pupil_samples", 48, "divisor of telescope.pupil_samples"),
    ("psf_impact.even_reset.at", 75, "one of psf_impact.added"),
    ("psf_models.even_reset.at", 50, "a warm-started set's star count"),
    ("psf_models.even_reset.plain_passes", 61, "0..60"),
    ("psf_impact.even_reset.plain_passes", 41, "0..40"),
    ("psf_impact.added", [50, 100, 200, 500, 1000, 3000], "2000 labelled extra stars"),
    ("telescope.obscurations", "hubble", "'euclid', 'none'"),
    ("psf_models.recipe", "sgd", "'fast', 'paper'"),
]


@pytest.mark.parametrize("path,value,said", CASES, ids=[f"{p}={v!r}" for p, v, _ in CASES])
def test_the_bad_parameters_a_new_user_tries_are_refused_before_any_work(params, path, value, said):
    with pytest.raises(ConfigError) as err:
        validate(with_value(params, path, value))
    msg = str(err.value)
    assert path.rsplit(".", 1)[0] in msg and said in msg, msg


def test_a_stage_checks_its_inputs_before_reading_the_stars(tmp_path, params):
    """psf_models with more test stars than the exposure holds: refused before any array is read
    or any model trained (the file holds only the labels, so reading anything else would fail)."""
    from starsed.stages import psf_models

    main = tmp_path / "main.h5"
    with h5py.File(main, "w") as fh:
        fh.create_dataset("train/labels", data=np.zeros(3000, int))
        fh.create_dataset("test/labels", data=np.zeros(100, int))
    cfg = load_sections(psf_models.SECTIONS)
    with pytest.raises(ConfigError, match=r"psf_models.n_test = 1000 .* at most the 100 test stars"):
        psf_models.run(cfg, main, tmp_path / "models", root=tmp_path, progress=False)
    assert not (tmp_path / "models").exists() and not (tmp_path / "metrics").exists()
