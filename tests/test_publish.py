"""The ``publish`` stage: executed notebooks rendered to Markdown for readers.

A small synthetic executed notebook goes through :func:`starsed.report.notebooks.render`:
its figure comes out with the same bytes, its results display becomes JSON text, the
progress-bar widget is left out, the header carries papermill's run time, and the same
notebook renders to the same bytes. ``dvc.yaml``'s ``publish`` stage reads every notebook
stage's executed notebook and writes one page per notebook.
"""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import yaml

from starsed.plots.pipeline import notebook_readers, stage_graph
from starsed.report.notebooks import NOTEBOOK_STAGES as STAGES
from starsed.report.notebooks import index_markdown, pipeline_order, render, stage_of

ROOT = Path(__file__).resolve().parents[1]


def tiny_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def executed_notebook(png: bytes) -> dict:
    code = lambda src, outputs: {"cell_type": "code", "id": "c" + str(len(src)), "execution_count": 1, "metadata": {},
                                 "source": src, "outputs": outputs}
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "papermill": {"duration": 123.4, "parameters": {"base": 50},
                                   "input_path": "notebooks/demo.ipynb"}},
        "cells": [
            {"cell_type": "markdown", "id": "head", "metadata": {}, "source": "# Stage `demo`"},
            code("x = 1\nprint(x)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]),
            code("fit()", [{"output_type": "display_data", "metadata": {},
                            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                                     "text/plain": "fit:   0%|          | 0/9"}}]),
            code("plot()", [{"output_type": "display_data", "metadata": {},
                             "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"}}]),
            code("show_results(...)", [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                        "data": {"application/json": {"file": "metrics/demo.json",
                                                                      "content": {"a": 1.5, "b": [1, 2]}},
                                                 "text/plain": "<IPython.core.display.JSON object>"}}]),
        ]}


def test_render_keeps_figures_results_and_run_time_and_drops_widgets():
    png = tiny_png()
    page = render("demo", executed_notebook(png))
    assert list(page.images.values()) == [png]
    (name,) = page.images
    assert name.startswith("demo_files/") and f"]({name})" in page.text
    shown = re.search(r"`metrics/demo.json`:\n\n```json\n(.*?)\n```", page.text, re.S)
    assert shown and json.loads(shown.group(1)) == {"a": 1.5, "b": [1, 2]}
    assert "0/9" not in page.text and "IPython.core.display.JSON" not in page.text
    header = page.text.split("\n# ")[0]
    assert "2.1 min (123 s)" in header and "`base = 50`" in header and "notebooks/demo.ipynb" in header
    assert "print(x)" in page.text and "\n    1\n" in page.text          # code and its stdout
    assert render("demo", executed_notebook(png)) == page                # a pure function


def test_index_lists_every_notebook_and_sums_the_minutes():
    text = index_markdown({"seds": 60.0, "psf_impact_base50": 600.0, "broken": None},
                          ["seds", "psf_impact_base50", "broken"])
    assert "| [seds](seds.md) | 1.0 |" in text and "| [broken](broken.md) | — |" in text
    assert "**11.0**" in text


def test_pipeline_order_groups_configurations_under_their_stage():
    assert stage_of("psf_impact_base100", STAGES) == "psf_impact" and stage_of("psf_models", STAGES) == "psf_models"
    assert pipeline_order(["realistic", "psf_impact_base50", "seds", "psf_models", "psf_impact_base100"], STAGES) == \
        ["seds", "psf_models", "psf_impact_base100", "psf_impact_base50", "realistic"]


def test_publish_reads_every_executed_notebook_and_writes_a_page_for_each():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stems = []
    for name, st in spec.items():
        if "foreach" in st:
            if "starsed.notebook" in st["do"]["cmd"]:
                stems += [f"{name}_{key}" for key in st["foreach"]]
        elif "starsed.notebook" in st["cmd"]:
            stems.append(name)
    assert [s for s in STAGES if s in spec] == [s for s in spec if s in STAGES] and \
        {stage_of(s, STAGES) for s in stems} == set(STAGES), "NOTEBOOK_STAGES is not dvc.yaml's notebook stages"
    deps = set(spec["publish"]["deps"])
    outs = {next(iter(o)) if isinstance(o, dict) else o for o in spec["publish"]["outs"]}
    assert {f"docs/notebooks/{s}.ipynb" for s in stems} <= deps
    assert {f"docs/notebooks/{s}.md" for s in stems} <= outs
    assert {"docs/notebooks/README.md", "docs/notebooks/durations.json"} <= outs


def test_the_diagram_draws_the_publishing_stage_without_an_arrow_from_every_notebook():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stages, edges = stage_graph(spec)
    assert notebook_readers(stages, edges) == {"publish"}
    toy = {"stages": {"a": {"cmd": "x", "outs": ["data/a", "docs/notebooks/a.ipynb"]},
                      "b": {"cmd": "x", "deps": ["data/a"], "outs": ["docs/notebooks/b.ipynb"]},
                      "pub": {"cmd": "x", "deps": ["docs/notebooks/a.ipynb", "docs/notebooks/b.ipynb"]}}}
    stages, edges = stage_graph(toy)
    assert notebook_readers(stages, edges) == {"pub"}
