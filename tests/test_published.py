"""What a reader opens without running anything: the executed notebooks, the figures, the paper.

These check the committed results of the default-profile run: every stage's executed
notebook is there with its figures inline (the same PNG bytes as the figure files),
no timestamps or absolute paths, and the numbers it shows are the committed metrics.
"""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "docs" / "notebooks"


def notebook_stages() -> dict[str, dict]:
    """{executed notebook stem: its dvc.yaml stage spec} of every notebook stage."""
    out = {}
    for name, spec in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        if "foreach" in spec:
            for key in spec["foreach"]:
                out[f"{name}_{key}"] = spec["do"]
        elif "starsed.notebook" in spec["cmd"]:
            out[name] = spec
    return out


def outputs(nb: dict, mime: str) -> list:
    return [o["data"][mime] for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
            if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def executed() -> dict[str, dict]:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(EXECUTED.glob("*.ipynb"))}
    missing = sorted(set(notebook_stages()) - set(found))
    assert not missing, f"executed notebooks missing from {EXECUTED.relative_to(ROOT)}: {missing}"
    return found


def test_every_notebook_shows_its_figures_as_saved(executed):
    for stem, spec in notebook_stages().items():
        pngs = [next(iter(o)) if isinstance(o, dict) else o for o in spec.get("outs", [])]
        pngs = [ROOT / p for p in pngs if str(p).startswith("figures/") and str(p).endswith(".png")]
        shown = {base64.b64decode(data) for data in outputs(executed[stem], "image/png")}
        for png in pngs:
            assert png.read_bytes() in shown, f"{stem}: {png.name} is not shown inline as saved"


def test_notebooks_hold_no_timestamps_absolute_paths_or_stderr(executed):
    for stem, nb in executed.items():
        meta = nb["metadata"].get("papermill", {})
        assert "start_time" not in meta and "end_time" not in meta and meta.get("duration", 0) > 0, stem
        assert not Path(meta.get("input_path", "x")).is_absolute(), stem
        for cell in nb["cells"]:
            assert "execution" not in cell.get("metadata", {}) and "papermill" not in cell.get("metadata", {}), stem
            for o in cell.get("outputs", []):
                assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), stem
        text = json.dumps(nb)
        assert str(ROOT) not in text, f"{stem} holds an absolute path of this checkout"


def test_notebooks_show_the_committed_metrics(executed):
    """Each notebook ends by showing the results file its stage wrote: it must be the committed one."""
    for stem, nb in executed.items():
        shown = outputs(nb, "application/json")
        assert shown, f"{stem}: no results shown (the last cell displays the stage's metrics as JSON)"
        last = shown[-1]
        source = ROOT / last["file"]
        assert source.is_file(), f"{stem} shows {last['file']}, which is not committed"
        assert json.loads(source.read_text()) == last["content"], f"{stem} disagrees with {last['file']}"


def test_the_paper_is_committed_beside_its_sources():
    pdf = ROOT / "paper" / "paper.pdf"
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    assert "paper/paper.pdf" in (ROOT / "README.md").read_text().split("\n## ")[0], \
        "the README links the paper at its top"


def test_the_pipeline_diagram_is_the_one_dvc_yaml_draws(tmp_path):
    """DVC cannot depend on dvc.yaml, so the diagram is committed: it must be today's graph."""
    from starsed.plots import save
    from starsed.report.diagram import STEM, draw

    save(draw(ROOT), STEM, tmp_path)
    for ext in ("pdf", "png"):
        assert (tmp_path / f"{STEM}.{ext}").read_bytes() == (ROOT / "figures" / f"{STEM}.{ext}").read_bytes(), \
            "figures/pipeline is stale: run `python -m starsed.report.diagram`"


def test_dvc_metrics_show_fits_on_one_screen():
    out = subprocess.run(["dvc", "metrics", "show"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) >= 4, out                       # a header and one row per headline file
    assert max(map(len, lines)) <= 200, out


def test_source_notebooks_are_stored_without_outputs():
    """``notebooks/`` holds the parameterised sources only; their executed copies live in
    ``docs/notebooks/``. A source with outputs or execution counts would be a stale result."""
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sources, "no stage notebooks in notebooks/"
    assert not [p for p in (ROOT / "notebooks").rglob("*.ipynb") if p.parent != ROOT / "notebooks"], \
        "executed copies belong in docs/notebooks/, not under notebooks/"
    for p in sources:
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, \
                    f"{p.relative_to(ROOT)} is stored with outputs"
