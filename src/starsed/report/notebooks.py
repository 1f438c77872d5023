"""The executed stage notebooks as readers open them: Markdown with the figures beside it.

An executed notebook (``docs/notebooks/NAME.ipynb``, written by
:mod:`starsed.notebook` and kept in DVC's cache, not in git) is rendered by
nbconvert's Markdown exporter to ``docs/notebooks/NAME.md``, its PNG outputs
extracted to ``docs/notebooks/NAME_files/``. The hosting site shows the figures
inline. Before rendering:

- a displayed results file (``application/json``, the last output of every stage
  notebook) becomes a fenced JSON block, so the numbers are in the text;
- progress-bar widgets are left out: their saved text is the bar's first frame (0 %),
  not its end, and the executed ``.ipynb`` keeps them;
- a header says where the source is, which parameters papermill passed and how long
  the run took (papermill's ``duration``, in seconds).

The rendering is a pure function of the notebook, so the same notebook gives the same
bytes.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from ..notebook import EXECUTED_DIR

__all__ = ["Rendered", "render", "duration_s", "index_markdown", "stage_of", "pipeline_order", "NOTEBOOK_STAGES",
           "DURATIONS"]

WIDGET = "application/vnd.jupyter.widget-view+json"
#: papermill's seconds per executed notebook, as the ``publish`` stage records them
DURATIONS = f"{EXECUTED_DIR}/durations.json"
#: the notebook stages in pipeline order (dvc.yaml's; tests/test_publish.py checks that they agree)
NOTEBOOK_STAGES = ("seds", "simulate", "psf_models", "classify", "predict_seds", "psf_impact", "impact_summary",
                   "realistic")


@dataclass(frozen=True)
class Rendered:
    """One notebook as Markdown: ``text`` and its images {path relative to the .md: PNG bytes}."""

    text: str
    images: dict[str, bytes]


def stage_of(stem: str, stages) -> str:
    """The stage among ``stages`` of an executed notebook's stem ('psf_impact_base50' -> 'psf_impact')."""
    return next((s for s in stages if stem == s or stem.startswith(s + "_")), stem)


def pipeline_order(stems, stages) -> list[str]:
    """``stems`` in the order of ``stages``, the configurations of one stage alphabetically."""
    rank = {s: i for i, s in enumerate(stages)}
    return sorted(stems, key=lambda s: (rank.get(stage_of(s, stages), len(rank)), s))


def duration_s(nb: dict) -> float | None:
    """Papermill's run time of the executed notebook ``nb`` (seconds), None if it has none."""
    seconds = nb.get("metadata", {}).get("papermill", {}).get("duration")
    return None if seconds is None else float(seconds)


def _readable(nb: dict) -> dict:
    """``nb`` with JSON displays as fenced Markdown and without widget outputs (a copy)."""
    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET in data:
                continue
            if "application/json" in data:
                content = data["application/json"]
                text = json.dumps(content.get("content", content), indent=1, sort_keys=True)
                head = f"`{content['file']}`:\n\n" if "file" in content else ""
                out = {**out, "data": {"text/markdown": f"{head}```json\n{text}\n```"}}
            kept.append(out)
        cell["outputs"] = kept
    return nb


def _header(stem: str, nb: dict) -> str:
    pm = nb.get("metadata", {}).get("papermill", {})
    source = pm.get("input_path", f"notebooks/{stem}.ipynb")
    params = pm.get("parameters") or {}
    seconds = duration_s(nb)
    lines = [f"<!-- Rendered from the executed notebook docs/notebooks/{stem}.ipynb by the `publish` stage;"
             f" do not edit. -->", "",
             f"> Executed copy of [`{source}`](../../{source}), run by `dvc repro` with papermill"
             + (f" in {seconds / 60:.1f} min ({seconds:.0f} s)" if seconds is not None else "") + "."]
    if params:
        lines.append("> Parameters: " + ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in sorted(params.items())) + ".")
    lines.append(f"> The executed `.ipynb` itself is in DVC's cache (`dvc pull docs/notebooks/{stem}.ipynb`"
                 " from a remote that holds it).")
    return "\n".join(lines) + "\n\n"


def render(stem: str, nb: dict) -> Rendered:
    """Markdown of the executed notebook ``nb`` (nbformat JSON), images under ``STEM_files/``."""
    import nbformat
    from nbconvert import MarkdownExporter

    node = nbformat.reads(json.dumps(_readable(nb)), as_version=4)
    body, resources = MarkdownExporter().from_notebook_node(node, resources={"output_files_dir": f"{stem}_files"})
    text = _header(stem, nb) + "\n".join(line.rstrip() for line in body.strip().splitlines()) + "\n"
    return Rendered(text, dict(sorted(resources.get("outputs", {}).items())))


def index_markdown(durations: dict[str, float | None], order: list[str]) -> str:
    """``docs/notebooks/README.md``: every executed notebook with its run time (minutes)."""
    rows = ["| notebook | minutes |", "|---|---:|"]
    for stem in order:
        s = durations.get(stem)
        rows.append(f"| [{stem}]({stem}.md) | {'—' if s is None else f'{s / 60:.1f}'} |")
    total = sum(s for s in durations.values() if s is not None)
    rows.append(f"| **all notebooks** | **{total / 60:.1f}** |")
    return ("# The executed stage notebooks\n\n"
            "One per stage (one per configuration of a `foreach` stage), as `dvc repro` last ran them, with\n"
            "their figures inline; rendered from the executed notebooks by the `publish` stage. Run times are\n"
            "papermill's, in wall-clock minutes on the machine that ran the pipeline (`durations.json`: seconds).\n\n"
            + "\n".join(rows) + "\n")
