import json
import shutil
import subprocess

import pytest

from starsed.report.macros import flatten, format_value, results_tex
from starsed.report.plot_data import write_plot_tables


def test_flatten_and_format():
    assert flatten({"a": {"b": 1, "c": [2.5, {"d": "x"}]}}) == {"a/b": 1, "a/c/0": 2.5, "a/c/1/d": "x", "a/c/count": 2,
                                                             "a/c/last/d": "x"}
    runs = flatten({"S2": {"e": 2.0}, "S10": {"e": 1.0}, "S1": {"e": 3.0}, "total_seconds": 5.0})
    assert runs["first/e"] == 3.0 and runs["last/e"] == 1.0
    assert format_value(0.65) == "0.65" and format_value(2.38245) == "2.382"
    assert format_value(0.01234) == "0.01234" and format_value(12000) == "12{,}000"
    assert format_value("svm_psf") == r"svm\_psf"


def test_results_macros_compile_and_unknown_key_fails(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "psf.json").write_text(json.dumps({"S1": {"rel_rmse_pct": 2.38245}}))
    tex = results_tex(tmp_path / "metrics")
    assert r"\csname starsed@res@psf/S1/rel_rmse_pct\endcsname{2.382}" in tex
    if shutil.which("pdflatex") is None:
        pytest.skip("no TeX installed: the macros were checked as text only")
    (tmp_path / "results.tex").write_text(tex)
    doc = r"\documentclass{article}\input{results}\begin{document}%s\end{document}"
    (tmp_path / "ok.tex").write_text(doc % r"error \result{psf/S1/rel_rmse_pct}\,\%")
    (tmp_path / "bad.tex").write_text(doc % r"\result{psf/S9/rel_rmse_pct}")
    run = lambda name: subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
                                      cwd=tmp_path, capture_output=True, text=True)
    assert run("ok.tex").returncode == 0
    bad = run("bad.tex")
    assert bad.returncode != 0 and "no result named psf/S9/rel_rmse_pct" in bad.stdout


def test_paper_text_has_no_hand_typed_numbers():
    """Every number in the paper comes from \\result{...} (grep-able): after removing
    comments, macro arguments that are keys/labels/files and the bibliography, no digit is left."""
    import re
    from pathlib import Path

    paper = Path(__file__).resolve().parents[1] / "paper"
    text = "\n".join((paper / f).read_text() for f in ("paper.tex", "sections.tex", "discussion.tex"))
    text = re.sub(r"(?<!\\)%.*", "", text)                                   # comments
    text = re.sub(r"\\newcommand.*", "", text)                                 # macro definitions
    text = re.sub(r"\b([OBAFGKM]\d(-\d)?V|S\d|F1)\b", "", text)              # names: classes, S1..S6, F1
    text = re.sub(r"\\begin\{thebibliography\}.*?\\end\{thebibliography\}", "", text, flags=re.S)
    text = re.sub(r"\\(result|cite|ref|label|input|includegraphics|usepackage|documentclass|graphicspath|"
                  r"figref|begin|end|resizebox|newcommand|bibitem)\*?(\[[^\]]*\])?(\{[^{}]*(\{[^{}]*\}[^{}]*)*\})*",
                  "", text)
    text = re.sub(r"\[[a-z]*=?[0-9.]*\\?(columnwidth|textwidth)\]", "", text)
    text = re.sub(r"\\(small|centering|maketitle|section|subsection|paragraph|caption)", "", text)
    digits = [m.group(0) for m in re.finditer(r".{0,30}\d.{0,30}", text)]
    assert not digits, f"numbers typed by hand in the paper: {digits[:5]}"


def test_plot_tables_follow_the_metrics(tmp_path):
    """dvc plots' curve data is derived from the metrics files, row for row, one series per curve,
    and the paper's values sit at the paper's own x (its models' PSF errors), not at ours."""
    m = tmp_path / "metrics"
    m.mkdir()
    (m / "psf_models.json").write_text(json.dumps(
        {"S1": {"n_train": 50, "rel_rmse_pct": 2.0, "sr_rel_rmse_pct": 2.5},
         "S2": {"n_train": 100, "rel_rmse_pct": 1.5, "sr_rel_rmse_pct": 1.9}}))
    (m / "classification.json").write_text(json.dumps(
        {"svm_psf_s1": {"accuracy_mean": 0.44}, "svm_psf_s2": {"accuracy_mean": 0.49}}))
    (m / "psf_impact.json").write_text(json.dumps(
        {"base50": {"oracle": {"0": {"rel_rmse_pct_mean": 2.0}, "50": {"rel_rmse_pct_mean": 1.2}},
                    "ignorant": {"0": {"rel_rmse_pct_mean": 2.0}, "50": {"rel_rmse_pct_mean": 1.4}}},
         "reference_true": 0.5}))
    paths = write_plot_tables(m, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["accuracy_vs_psf_error.csv", "psf_error_vs_stars.csv",
                                             "psf_impact_base50.csv"]
    psf = (tmp_path / "plots" / "psf_error_vs_stars.csv").read_text().splitlines()
    assert psf[:5] == ["n_train,error_pct,series", "50,2.0,\"ours, pixel\"", "100,1.5,\"ours, pixel\"",
                       "50,2.5,\"ours, super-resolved\"", "100,1.9,\"ours, super-resolved\""]
    assert "50,2.382,\"paper, pixel\"" in psf
    acc = (tmp_path / "plots" / "accuracy_vs_psf_error.csv").read_text().splitlines()
    assert "2.0,0.44,SVM+PSF (ours)" in acc and "2.382,0.41,SVM+PSF (paper)" in acc
    assert not any(line.startswith("2.0,") and "paper" in line for line in acc)
    impact = (tmp_path / "plots" / "psf_impact_base50.csv").read_text().splitlines()
    assert impact[:3] == ["added,error_pct,series", "50,1.2,oracle: true SEDs", "50,1.4,ignorant: mean SED"]
    assert "2000,0.775,paper: predicted SEDs" in impact


def test_values_take_the_precision_of_their_uncertainty():
    from starsed.report.macros import with_precision

    out = with_precision({"a/accuracy_mean": 0.81234, "a/accuracy_std": 0.0123,
                          "b/rel_rmse_pct": 0.24567, "b/rel_rmse_sem_pct": 0.0042,
                          "c/accuracy_mean": 0.85, "c/accuracy_std": 0.0})
    assert out["a/accuracy_mean"] == "0.812" and out["a/accuracy_std"] == "0.012"
    assert out["a/accuracy_mean_pm"] == "0.812\\,$\\pm$\\,0.012"
    assert out["b/rel_rmse_pct_pm"] == "0.246\\,$\\pm$\\,0.004"
    # no spread (one realisation or seed): nothing to round to, the plain value stands
    assert "c/accuracy_mean" not in out and "c/accuracy_mean_pm" not in out
