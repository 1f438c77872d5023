"""Where the pipeline's artefacts live, relative to the repository root (the one copy;
``dvc.yaml`` names the same paths, and ``tests/test_dag.py`` checks that they agree)."""
from __future__ import annotations

SEDS = "data/seds/seds.h5"
SED_CACHE = "data/seds/pickles"
SIMULATE_DIR = "data/simulate"
MAIN = f"{SIMULATE_DIR}/main.h5"
SECOND = f"{SIMULATE_DIR}/second.h5"
PSF_MODELS_DIR = "models/psf"
PSF_TEST_ERRORS = f"{PSF_MODELS_DIR}/test_errors.h5"
PREDICT_SEDS_DIR = "data/predict_seds"
METRICS_DIR = "metrics"
HEADLINE_DIR = f"{METRICS_DIR}/headline"
RECORDS_DIR = "records"
FIGURES_DIR = "figures"
TABLES_DIR = "tables"


def psf_model_file(name: str, models_dir: str = PSF_MODELS_DIR) -> str:
    """The saved PSF model ``name`` ('S1', ...)."""
    return f"{models_dir}/{name}.h5"


def predict_seds_file(base: int) -> str:
    """The predicted-SED dataset of base set ``base`` (50, 100)."""
    return f"{PREDICT_SEDS_DIR}/base{base}.h5"


def metrics_file(name: str) -> str:
    """``metrics/<name>.json`` (``name`` may hold a folder: 'psf_impact/base50_oracle')."""
    return f"{METRICS_DIR}/{name}.json"


def headline_file(stage: str) -> str:
    """``metrics/headline/<stage>.json``: the few numbers of ``dvc metrics show``."""
    return f"{HEADLINE_DIR}/{stage}.json"


def record_file(name: str) -> str:
    """``records/<name>.json``: what ran (timings, provenance), kept apart from the results so that a
    rerun with identical results changes no result file and reruns nothing downstream."""
    return f"{RECORDS_DIR}/{name}.json"
