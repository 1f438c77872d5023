"""The ``impact_summary`` stage: every PSF-impact configuration together (figures 13-14, the table).

Collects ``metrics/psf_impact/*.json`` (one per configuration of the
``psf_impact`` stage), the 2000-true-SED reference (the largest model of
``psf_models``) and the labelling accuracies of ``predict_seds`` into
``metrics/psf_impact.json``.
"""
from __future__ import annotations

from pathlib import Path

from .. import paths
from .predict_seds import PredictSEDsParams

#: the params sections the stage reads, with their dataclasses (dvc.yaml declares the same)
SECTIONS = {"predict_seds": PredictSEDsParams}


def collect(metrics_dir=paths.METRICS_DIR) -> dict:
    """The summary dict: ``base<B>`` -> {variant: errors per E}, the references, labelling."""
    from ..io import read_json

    metrics_dir = Path(metrics_dir)
    runs = [read_json(p) for p in sorted((metrics_dir / "psf_impact").glob("base*/*.json"))]
    if not runs:
        raise FileNotFoundError(f"no PSF-impact results in {metrics_dir / 'psf_impact'}; "
                                f"make them with `dvc repro psf_impact`")
    psf_metrics = read_json(metrics_dir / "psf_models.json")
    summary: dict = {}
    for run in runs:
        summary.setdefault(f"base{run['base']}", {})[run["variant"]] = run["errors"]
    largest = max((v for v in psf_metrics.values() if isinstance(v, dict)), key=lambda v: v["n_train"])
    summary["reference_true"] = {"n_train": largest["n_train"], "rel_rmse_pct": largest["rel_rmse_pct"]}
    summary["reference_2000_true"] = largest["rel_rmse_pct"]
    summary["labelling_accuracy"] = read_json(metrics_dir / "predict_seds.json")
    return summary


def headline(summary: dict) -> dict:
    """The PSF error [%] (mean over seeds) after the largest E of the smallest base set, keyed by
    the SED variant of the added stars (short keys: ``dvc metrics show`` prints every headline
    file on one line per file, which must stay under 200 characters)."""
    base = min((k for k in summary if k.startswith("base")), key=lambda k: int(k[4:]))
    out = {}
    for variant in ("predicted", "oracle", "ignorant"):
        errs = summary[base].get(variant)
        if errs:
            out[variant] = errs[max(errs, key=int)]["rel_rmse_pct_mean"]
    return out


def run(cfg, root=".") -> dict:
    """Write and return ``metrics/psf_impact.json`` (and the headline) under ``root``."""
    from ..io import write_results

    summary = collect(Path(root) / paths.METRICS_DIR)
    write_results("psf_impact", root, metrics=summary, headline=headline(summary))
    return summary


def table_rows(summary: dict, bases) -> list[dict]:
    """Rows of the PSF-impact table: base, variant, then the error at each E (E = 0: base alone),
    'mean ± std over seeds' to the precision of the spread (the mean alone for one seed)."""
    from ..report.precision import format_pm

    def cell(point):
        std = point["rel_rmse_pct_std"]
        return format_pm(point["rel_rmse_pct_mean"], std) if std > 0 else f"{point['rel_rmse_pct_mean']:.3f}"

    rows = []
    for b in bases:
        for variant, errs in sorted(summary[f"base{b}"].items()):
            rows.append({"base": b, "variant": variant, **{f"+{e}": cell(errs[e]) for e in sorted(errs, key=int)}})
    return rows


def scheme_counts(cfg) -> tuple[int, int, int]:
    """(first base, labelled stars, extra stars) for the scheme of figure 13."""
    p = cfg.predict_seds
    return p.bases[0], p.labeller_rows[1] - p.labeller_rows[0], p.extra_rows[1] - p.extra_rows[0]
