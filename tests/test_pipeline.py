"""The whole pipeline on the smoke profile, in a throw-away copy of the repository.

`dvc repro` runs every stage end to end but the paper (whose text needs the default profile's
results); the outputs must exist and hold sane values, a second `dvc repro`
must do nothing, `dvc repro --force` must give byte-identical datasets and
identical metrics (TensorFlow op determinism on), and the artefacts pushed to a
DVC remote can be pulled into a fresh clone, which `dvc status` then finds up to
date.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env, timeout=1800):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def stage_targets(repo: Path) -> list[str]:
    """Every stage but `paper`: its text cites the default profile's results (S1..S6, spreads over
    10 realisations), which the smoke profile does not make; the committed PDF is checked by
    test_paper.py and test_published.py instead."""
    return [s for s in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"] if s != "paper"]


def outputs(repo: Path, stages) -> list[Path]:
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    paths = []
    for name in stages:
        for key in ("outs", "metrics", "plots"):
            for entry in spec[name].get(key, []):
                paths.append(repo / (entry if isinstance(entry, str) else next(iter(entry))))
    return paths


def digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256("".join(digest(p) + p.name for p in sorted(path.rglob("*")) if p.is_file()).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def smoke_repo(tmp_path_factory, mirror):
    repo = tmp_path_factory.mktemp("pipeline") / "starsed"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        src = ROOT / f
        if src.is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / f)
    params = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(params.replace("\nprofile: default", "\nprofile: smoke", 1))
    assert yaml.safe_load((repo / "params.yaml").read_text())["profile"] == "smoke"
    for p in ("metrics", "records", "figures", "tables", "plots", "docs/notebooks", "paper/paper.pdf",
              "dvc.lock"):                                          # committed results of the default run
        target = repo / p
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    env = {**os.environ, "STARSED_DATA_MIRROR": str(mirror), "PYTHONHASHSEED": "0",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    git = ["git", "-c", "user.name=starsed-test", "-c", "user.email=test@starsed.invalid"]
    run(["git", "init", "-q"], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-qm", "smoke"], repo, env)
    stages = stage_targets(repo)
    run([sys.executable, "-m", "dvc", "repro", *stages], repo, env)
    return repo, env, stages


def test_every_output_exists_and_is_not_empty(smoke_repo):
    repo, _, stages = smoke_repo
    for path in outputs(repo, stages):
        assert path.exists(), f"missing output {path.relative_to(repo)}"
        if path.is_file():
            assert path.stat().st_size > 0, f"empty output {path.relative_to(repo)}"


def test_metrics_are_sane(smoke_repo):
    repo, _, _ = smoke_repo
    sim = json.loads((repo / "metrics" / "simulate.json").read_text())
    assert sim["n_stars"] > 0
    assert json.loads((repo / "records" / "simulate.json").read_text())["stars_per_s"] > 0   # timings live in records/
    assert all(abs(v) < 0.01 for v in sim["centroid_offset_px"])
    psf = repo / "metrics" / "psf_models.json"
    if psf.exists():
        errors = [v["rel_rmse_pct"] for k, v in sorted(json.loads(psf.read_text()).items())
                  if isinstance(v, dict) and "rel_rmse_pct" in v]
        assert errors and all(math.isfinite(e) and e > 0 for e in errors)
        assert errors[-1] < errors[0], f"PSF error does not fall with more stars: {errors}"
    cls = repo / "metrics" / "classification.json"
    if cls.exists():
        scores = json.loads(cls.read_text())
        for name, m in scores.items():
            if isinstance(m, dict) and "accuracy_mean" in m:
                assert 0.0 <= m["accuracy_mean"] <= 1.0 and 0.0 <= m["within_one_mean"] <= 1.0
        assert scores["svm_psf_gt"]["accuracy_mean"] > 1.5 / 13, "SVM+PSF GT is not above chance"


def test_second_repro_does_nothing_and_force_is_byte_identical(smoke_repo):
    repo, env, stages = smoke_repo
    status = run([sys.executable, "-m", "dvc", "status", *stages], repo, env)
    assert "changed" not in status, status
    # results, tables and figures are the same bytes; only records/ (timings) and the executed
    # notebooks (papermill's durations, in docs/notebooks/) may change
    watched = [p for p in outputs(repo, stages) if "records" not in p.parts and "notebooks" not in p.parts and (
               p.suffix in (".h5", ".json", ".md", ".tex", ".png", ".pdf")
               or p.is_dir() and p.name in ("seds", "simulate", "psf", "predict_seds"))]
    before = {p: digest(p) for p in watched}
    run([sys.executable, "-m", "dvc", "repro", "--force", *stages], repo, env)
    changed = [str(p.relative_to(repo)) for p in watched if digest(p) != before[p]]
    assert not changed, f"not byte-identical after dvc repro --force: {changed}"


def test_artefacts_round_trip_through_a_dvc_remote(smoke_repo, tmp_path):
    """A maintainer pushes to a remote; a user clones, pulls, and DVC finds nothing to run."""
    repo, env, stages = smoke_repo
    git = ["git", "-c", "user.name=starsed-test", "-c", "user.email=test@starsed.invalid"]
    store = tmp_path / "store"
    run([sys.executable, "-m", "dvc", "remote", "add", "-d", "-f", "store", str(store)], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-qm", "results", "--allow-empty"], repo, env)
    run([sys.executable, "-m", "dvc", "push", *stages], repo, env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    run([sys.executable, "-m", "dvc", "pull", *stages], clone, env)    # the smoke run made no paper
    status = run([sys.executable, "-m", "dvc", "status", *stages], clone, env)
    assert "up to date" in status and "changed" not in status, status
    for rel in ("data/simulate/main.h5", "models/psf/S1.h5"):
        assert digest(clone / rel) == digest(repo / rel), rel
