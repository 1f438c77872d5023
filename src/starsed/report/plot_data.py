"""Curve data for ``dvc plots show`` (``plots/*.csv``), from the metrics files.

Long format, one row per point: the x value, the y value and the ``series`` it
belongs to, which the templates in ``.dvc/plots/`` colour and mark (one colour
and one marker per series, log axes where the figures have them, no smoothing).
A published value is drawn at the paper's own x, never at ours.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from .published import CLASSIFICATION, IMPACT, PSF_ERROR

#: the variants of the PSF-impact curves, as the figure names them
VARIANT_SERIES = {"predicted": "predicted SEDs (SVM)", "soft": "soft SEDs (SVM posterior)",
                  "oracle": "oracle: true SEDs", "ignorant": "ignorant: mean SED",
                  "likelihood": "predicted SEDs (likelihood)", "likelihood_soft": "soft SEDs (likelihood)"}


def _read(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def plot_tables(metrics_dir: str | Path = "metrics") -> dict[str, list[dict]]:
    """{csv name: rows} for every curve the metrics of a run allow (files a profile did not
    make are skipped): ``psf_error_vs_stars`` (error % vs training stars: ours at the pixel
    and super-resolved level, the paper's), ``accuracy_vs_psf_error`` (accuracy vs the PSF
    model's error: our SVM+PSF and likelihood at our models' errors, the paper's SVM+PSF at
    its models' errors) and ``psf_impact_base<B>`` (error % vs added stars per variant, and
    the paper's predicted-SED curve)."""
    metrics_dir = Path(metrics_dir)
    psf, cls, imp = (_read(metrics_dir / f) for f in ("psf_models.json", "classification.json", "psf_impact.json"))
    out: dict[str, list[dict]] = {}
    if psf:
        sets = [k for k in psf if re.fullmatch(r"S\d+", k)]
        rows = [{"n_train": psf[k]["n_train"], "error_pct": psf[k]["rel_rmse_pct"], "series": "ours, pixel"}
                for k in sets]
        rows += [{"n_train": psf[k]["n_train"], "error_pct": psf[k]["sr_rel_rmse_pct"],
                  "series": "ours, super-resolved"} for k in sets if psf[k].get("sr_rel_rmse_pct") is not None]
        rows += [{"n_train": n, "error_pct": m, "series": "paper, pixel"} for n, (m, _) in PSF_ERROR.items()]
        out["psf_error_vs_stars"] = rows
        if cls:
            rows = []
            for method, name in (("svm_psf", "SVM+PSF (ours)"), ("likelihood", "likelihood (ours)")):
                rows += [{"psf_error_pct": psf[k]["rel_rmse_pct"], "accuracy": cls[f"{method}_{k.lower()}"]["accuracy_mean"],
                          "series": name} for k in sets if f"{method}_{k.lower()}" in cls]
            rows += [{"psf_error_pct": v["psf_error_pct"], "accuracy": v["accuracy"], "series": "SVM+PSF (paper)"}
                     for v in CLASSIFICATION.values() if "psf_error_pct" in v]
            out["accuracy_vs_psf_error"] = rows
    if imp:
        for base in (k for k in imp if re.fullmatch(r"base\d+", k)):
            rows = [{"added": int(e), "error_pct": v["rel_rmse_pct_mean"], "series": VARIANT_SERIES.get(variant, variant)}
                    for variant, errs in imp[base].items() for e, v in sorted(errs.items(), key=lambda kv: int(kv[0]))
                    if int(e) > 0]
            paper = IMPACT.get(int(base[4:]), {})
            rows += [{"added": e, "error_pct": v, "series": "paper: predicted SEDs"} for e, v in paper.items() if e > 0]
            out[f"psf_impact_{base}"] = rows
    return out


def write_plot_tables(metrics_dir: str | Path = "metrics", out_dir: str | Path = "plots") -> list[Path]:
    """:func:`plot_tables` as CSV files ``<out_dir>/<name>.csv``."""
    paths = []
    for name, rows in plot_tables(metrics_dir).items():
        path = Path(out_dir) / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    return paths
