"""The README's results and timings, generated from the committed run (never typed by hand).

``python -m starsed.report.readme`` rewrites every block of ``README.md`` between
``<!-- begin NAME -->`` and ``<!-- end NAME -->`` from ``metrics/`` (results),
the published numbers (:mod:`.published`), the executed notebooks' durations
(``docs/notebooks/durations.json``, papermill's per-notebook seconds, written by the
``publish`` stage) and the
benchmarks' recorded outputs (``benchmarks/results/<name>.txt``);
``--check`` only compares, and ``tests/test_readme.py`` fails when a number in the
README differs from the metrics.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .notebooks import DURATIONS, NOTEBOOK_STAGES, stage_of
from .precision import format_pm, rounded
from .published import CLASSIFICATION, GENERALISATION, IMPACT, LABELLING, PSF_ERROR

MARK = re.compile(r"(<!-- begin (\w+) -->\n)(.*?)(<!-- end \2 -->)", re.S)

#: classification rows of the README: method key -> label
METHODS = {"pca_mlp": "PCA+MLP", "cnn_mlp": "CNN+MLP", **{f"svm_psf_s{k}": f"SVM+PSF S{k}" for k in range(1, 7)},
           "svm_psf_gt": "SVM+PSF GT", "likelihood_gt": "likelihood GT (no labels)",
           "bayes_gt": "Bayes limit (true PSF, sigma, flux)"}
VARIANTS = {"predicted": "predicted (SVM)", "soft": "soft (SVM posterior mixture)", "oracle": "oracle (true SEDs)",
            "ignorant": "ignorant (mean SED)", "likelihood": "predicted (likelihood)",
            "likelihood_soft": "soft (likelihood posterior)"}


def _json(path: Path):
    return json.loads(path.read_text())


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def psf_models_block(m: dict) -> str:
    sets = sorted((k for k in m if re.fullmatch(r"S\d+", k)), key=lambda k: int(k[1:]))
    rows = []
    for k in sets:
        r = m[k]
        sem = r.get("rel_rmse_sem_pct", r["rel_rmse_std_pct"] / 1000 ** 0.5)
        paper = PSF_ERROR.get(r["n_train"], (None,))[0]
        rows.append([k, str(r["n_train"]), rounded(r["rel_rmse_pct"], sem), rounded(r["rel_rmse_std_pct"], sem * 10),
                     rounded(r["sr_rel_rmse_pct"], sem) if r.get("sr_rel_rmse_pct") is not None else "—",
                     f"{r['opd_rmse_nm']:.1f}" if r.get("opd_rmse_nm") is not None else "—",
                     *[f"{r[k] * s:.2f}" if r.get(k) is not None else "—"
                       for k, s in (("e1_rmse", 1e3), ("e2_rmse", 1e3), ("r2_rmse", 1e2))],
                     f"{paper:.3f}" if paper is not None else "—"])
    return _table(["set", "training stars", "pixel error [%]", "std over stars [%]", "super-resolved [%]",
                   "wavefront error [nm]", "e1 RMSE [1e-3]", "e2 RMSE [1e-3]", "size RMSE [%]", "paper, pixel [%]"],
                  rows, "lrrrrrrrrr")


def classification_block(c: dict) -> str:
    rows = []
    for key, label in METHODS.items():
        if key not in c:
            continue
        s, p = c[key], CLASSIFICATION.get(key, {})
        rows.append([label, format_pm(s["accuracy_mean"], s["accuracy_std"]),
                     format_pm(s["within_one_mean"], s["within_one_std"]),
                     format_pm(p["accuracy"], p["accuracy_std"]) if p else "—",
                     format_pm(p["within_one"], p["within_one_std"]) if p else "—"])
    table = _table(["method", "accuracy", "within-one", "paper accuracy", "paper within-one"], rows, "lrrrr")
    n = c["pca_mlp"]["realisations"]
    gen = c.get("generalisation", {})
    parts = [f"{METHODS[k].split(' (')[0]} {format_pm(gen[k]['accuracy_mean'], gen[k]['accuracy_std'])} / "
             f"{format_pm(gen[k]['within_one_mean'], gen[k]['within_one_std'])} (paper {GENERALISATION[k]['accuracy']:.3f}"
             f" / {GENERALISATION[k]['within_one']:.3f})" for k in ("cnn_mlp", "svm_psf_gt") if k in gen]
    note = (f"Mean ± standard deviation over {n} realisations (accuracy / within-one). Generalisation to the "
            f"second exposure: {'; '.join(parts)}.\n") if parts else ""
    return table + "\n" + note


def labelling_block(p: dict) -> str:
    rows = []
    for base in sorted(p, key=lambda b: int(b[4:])):
        paper = LABELLING.get(int(base[4:]))
        for labeller, s in p[base].items():
            rows.append([base[4:], labeller, f"{s['accuracy']:.3f} / {s['within_one']:.3f}",
                         f"{paper[0]:.3f} / {paper[1]:.3f}" if paper and labeller == "svm" else "—"])
    return _table(["base stars", "labeller", "accuracy / within-one", "paper"], rows, "rlrr")


def impact_block(s: dict) -> str:
    bases = sorted((k for k in s if re.fullmatch(r"base\d+", k)), key=lambda b: int(b[4:]))
    added = sorted({int(e) for b in bases for v in s[b].values() for e in v}, key=int)
    rows = []
    seeds = set()
    for b in bases:
        for variant in (v for v in VARIANTS if v in s[b]):
            errs = s[b][variant]
            cells = []
            for e in added:
                point = errs.get(str(e))
                if point is None:
                    cells.append("—")
                    continue
                seeds.add(point["n_seeds"])
                std = point["rel_rmse_pct_std"]
                cells.append(format_pm(point["rel_rmse_pct_mean"], std) if e and std > 0
                             else f"{point['rel_rmse_pct_mean']:.3f}")
            rows.append([b[4:], VARIANTS[variant], *cells])
        paper = IMPACT.get(int(b[4:]))
        if paper:
            rows.append([b[4:], "paper: predicted", *[f"{paper[e]:.3f}" if e in paper else "—" for e in added]])
    table = _table(["base", "SEDs of the added stars", *[f"+{e}" for e in added]], rows, "ll" + "r" * len(added))
    ref = s.get("reference_true", {})
    note = (f"Test error [%] of the PSF model after adding E classified stars (E = 0: the base model alone); mean ± "
            f"standard deviation over {'/'.join(str(n) for n in sorted(seeds))} seeds. Reference: "
            f"{ref.get('n_train')} true-SED stars, {ref.get('rel_rmse_pct', float('nan')):.3f} %.\n")
    return table + "\n" + note


def durations(root: Path) -> dict[str, float]:
    """Seconds per stage from the executed notebooks (papermill's durations, as the ``publish`` stage
    recorded them in ``docs/notebooks/durations.json``; foreach configurations summed under their
    stage's name)."""
    path = root / DURATIONS
    out: dict[str, float] = {}
    for stem, seconds in (_json(path).items() if path.is_file() else ()):
        if seconds is None:
            continue
        stage = stage_of(stem, NOTEBOOK_STAGES)
        out[stage] = out.get(stage, 0.0) + float(seconds)
    return out


def timings_block(root: Path) -> str:
    d = durations(root)
    if not d:
        return "No executed notebooks yet.\n"
    rows = [[f"`{k}`", f"{d[k] / 60:.1f}"] for k in NOTEBOOK_STAGES if k in d]
    rows += [[f"`{k}`", f"{d[k] / 60:.1f}"] for k in sorted(set(d) - set(NOTEBOOK_STAGES))]
    rows.append(["**all notebooks**", f"**{sum(d.values()) / 60:.1f}**"])
    return _table(["stage", "minutes"], rows, "lr")


def blocks(root: str | Path = ".") -> dict[str, str]:
    """Every generated README block, by name."""
    root = Path(root)
    m = root / "metrics"
    out = {}
    if (m / "psf_models.json").is_file():
        out["psf_models"] = psf_models_block(_json(m / "psf_models.json"))
    if (m / "classification.json").is_file():
        out["classification"] = classification_block(_json(m / "classification.json"))
    if (m / "predict_seds.json").is_file():
        out["labelling"] = labelling_block(_json(m / "predict_seds.json"))
    if (m / "psf_impact.json").is_file():
        out["psf_impact"] = impact_block(_json(m / "psf_impact.json"))
    out["timings"] = timings_block(root)
    for bench in sorted((root / "benchmarks" / "results").glob("*.txt")):
        out[bench.stem] = "```\n$ python benchmarks/" + bench.stem + ".py\n" + bench.read_text() + "```\n"
    return out


def render(text: str, generated: dict[str, str]) -> str:
    """``text`` with every marked block replaced by its generated content (unknown names kept)."""
    return MARK.sub(lambda mt: mt.group(1) + generated.get(mt.group(2), mt.group(3)) + mt.group(4), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the README is stale")
    args = parser.parse_args(argv)
    path = Path("README.md")
    text = path.read_text()
    new = render(text, blocks("."))
    if args.check:
        if new != text:
            print("README.md is stale: run `python -m starsed.report.readme`", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
