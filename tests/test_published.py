"""What a reader opens without running anything: the executed notebooks, the figures, the paper.

These check the committed results of the default-profile run: every stage's executed
notebook is published as Markdown (``docs/notebooks/NAME.md``, rendered by the
``publish`` stage) with its figures beside it (the same PNG bytes as the figure
files), no timestamps or absolute paths, and the numbers it shows are the committed
metrics. The executed ``.ipynb`` files themselves are DVC-cached, never in git.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "docs" / "notebooks"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+\.png)\)")
SHOWN_JSON = re.compile(r"`([\w/.]+\.json)`:\n\n```json\n(.*?)\n```", re.S)


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


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    found = {p.stem: p.read_text() for p in sorted(EXECUTED.glob("*.md")) if p.name != "README.md"}
    missing = sorted(set(notebook_stages()) - set(found))
    assert not missing, f"published notebooks missing from {EXECUTED.relative_to(ROOT)}: {missing}"
    return found


def test_every_notebook_shows_its_figures_as_saved(pages):
    for stem, spec in notebook_stages().items():
        pngs = [next(iter(o)) if isinstance(o, dict) else o for o in spec.get("outs", [])]
        pngs = [ROOT / p for p in pngs if str(p).startswith("figures/") and str(p).endswith(".png")]
        shown = {(EXECUTED / rel).read_bytes() for rel in IMAGE.findall(pages[stem])}
        for png in pngs:
            assert png.read_bytes() in shown, f"{stem}: {png.name} is not shown inline as saved"


def test_published_notebooks_hold_their_run_time_and_no_absolute_paths(pages):
    durations = json.loads((EXECUTED / "durations.json").read_text())
    for stem, text in pages.items():
        assert durations.get(stem, 0) > 0, f"{stem}: no papermill duration recorded"
        assert f"({durations[stem]:.0f} s)" in text.split("\n\n# ")[0], f"{stem}: the header lacks the run time"
        assert str(ROOT) not in text and "start_time" not in text, stem
    index = (EXECUTED / "README.md").read_text()
    assert all(f"]({stem}.md)" in index for stem in pages), "the index does not link every notebook"


def test_notebooks_show_the_committed_metrics(pages):
    """Each notebook ends by showing the results file its stage wrote: it must be the committed one."""
    for stem, text in pages.items():
        shown = SHOWN_JSON.findall(text)
        assert shown, f"{stem}: no results shown (the last cell displays the stage's metrics as JSON)"
        file, content = shown[-1]
        source = ROOT / file
        assert source.is_file(), f"{stem} shows {file}, which is not committed"
        assert json.loads(source.read_text()) == json.loads(content), f"{stem} disagrees with {file}"


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
    out = subprocess.run([sys.executable, "-m", "dvc", "metrics", "show"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) >= 4, out                       # a header and one row per headline file
    assert max(map(len, lines)) <= 200, out


def test_no_notebook_in_git_holds_outputs():
    """``notebooks/`` holds the parameterised sources only, and they are the only notebooks in git:
    the executed copies are written to ``docs/notebooks/`` and cached by DVC. A notebook with outputs
    or execution counts in git would be a stale result."""
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sources, "no stage notebooks in notebooks/"
    assert not [p for p in (ROOT / "notebooks").rglob("*.ipynb") if p.parent != ROOT / "notebooks"], \
        "executed copies belong in docs/notebooks/, not under notebooks/"
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked, "no notebooks tracked"
    for rel in tracked:
        assert ROOT / rel in sources, f"{rel}: only the stage sources in notebooks/ belong in git"
    for p in sources:
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, \
                    f"{p.relative_to(ROOT)} is stored with outputs"
