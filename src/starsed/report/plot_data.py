"""Curve data for ``dvc plots show`` (``plots/*.csv``), from the metrics files."""
from __future__ import annotations

import json
import re
from pathlib import Path


def plot_tables(metrics_dir: str | Path = "metrics") -> dict[str, list[dict]]:
    """Curve data for ``dvc plots show`` (dvc.yaml's top-level ``plots``), from the metrics files.

    ``psf_error_vs_stars``: ours and the paper's PSF error per training set;
    ``accuracy_vs_psf_error``: SVM+PSF and likelihood accuracy per PSF model;
    ``psf_impact_base<B>``: error vs added stars, one column per SED variant.
    Files that a profile's run did not make are skipped.
    """
    from .published import CLASSIFICATION, PSF_ERROR

    metrics_dir = Path(metrics_dir)
    out: dict[str, list[dict]] = {}
    psf_file, cls_file, imp_file = (metrics_dir / f for f in ("psf_models.json", "classification.json",
                                                               "psf_impact.json"))
    if psf_file.is_file():
        psf = json.loads(psf_file.read_text())
        sets = [k for k in psf if re.fullmatch(r"S\d+", k)]
        out["psf_error_vs_stars"] = [
            {"n_train": psf[k]["n_train"], "model": k, "ours_pct": psf[k]["rel_rmse_pct"],
             "paper_pct": PSF_ERROR.get(psf[k]["n_train"], (None,))[0]} for k in sets]
        if cls_file.is_file():
            cls = json.loads(cls_file.read_text())
            out["accuracy_vs_psf_error"] = [
                {"psf_error_pct": psf[k]["rel_rmse_pct"], "model": k,
                 "svm_psf": cls.get(f"svm_psf_{k.lower()}", {}).get("accuracy_mean"),
                 "likelihood": cls.get(f"likelihood_{k.lower()}", {}).get("accuracy_mean"),
                 "paper_svm_psf": CLASSIFICATION.get(f"svm_psf_{k.lower()}", {}).get("accuracy")}
                for k in sets]
    if imp_file.is_file():
        imp = json.loads(imp_file.read_text())
        for base in (k for k in imp if re.fullmatch(r"base\d+", k)):
            variants = imp[base]
            added = sorted({int(n) for v in variants.values() for n in v})
            out[f"psf_impact_{base}"] = [
                {"added": n, **{v: variants[v].get(str(n), {}).get("rel_rmse_pct_mean") for v in variants}}
                for n in added]
    return out


def write_plot_tables(metrics_dir: str | Path = "metrics", out_dir: str | Path = "plots") -> list[Path]:
    """:func:`plot_tables` as CSV files ``<out_dir>/<name>.csv``."""
    import csv

    paths = []
    for name, rows in plot_tables(metrics_dir).items():
        path = Path(out_dir) / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        paths.append(path)
    return paths
