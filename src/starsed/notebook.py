"""Run one stage notebook: ``python -m starsed.notebook NAME``.

Executes ``notebooks/NAME.ipynb`` with papermill from the repository root (cell
outputs echoed to the console, so progress bars show) and writes the executed copy
to ``docs/notebooks/NAME.ipynb`` (``NAME_TAG.ipynb`` for one configuration of a
foreach stage), with its figures inline. DVC caches it (a notebook with outputs
does not go into git); the ``publish`` stage renders it to Markdown for readers
who read without running anything (:mod:`starsed.stages.publish`).

The published copy is stable across reruns with the same results: papermill's
timestamps and per-cell timings are removed (its total ``duration`` in seconds is
kept in the notebook metadata), paths are relative to the repository root, and
the stderr streams (progress bars, library log lines) are left out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SOURCE_DIR = "notebooks"
EXECUTED_DIR = "docs/notebooks"
#: notebook-level papermill metadata kept in the published copy
KEEP_PAPERMILL = ("duration", "parameters", "input_path", "output_path", "exception")


def published(nb: dict) -> dict:
    """The executed notebook ``nb`` (nbformat JSON) as published: no timestamps, no stderr."""
    meta = nb.get("metadata", {})
    if "papermill" in meta:
        meta["papermill"] = {k: v for k, v in meta["papermill"].items() if k in KEEP_PAPERMILL}
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return nb


def show_results(path: str | Path):
    """Display a results file as JSON ({'file', 'content'}) as the last output of a stage
    notebook; ``tests/test_published.py`` checks it against the committed file."""
    from IPython.display import JSON

    from .io import read_json

    return JSON({"file": Path(path).as_posix(), "content": read_json(path)}, expanded=True)


def run(name: str, root: str | Path = ".", parameters: dict | None = None, tag: str | None = None) -> Path:
    """Execute ``notebooks/<name>.ipynb``; return the path of the published executed copy."""
    import papermill

    from .io import write_text

    root = Path(root).resolve()
    source = Path(SOURCE_DIR) / f"{name}.ipynb"
    if not (root / source).is_file():
        known = sorted(p.stem for p in (root / SOURCE_DIR).glob("*.ipynb"))
        raise SystemExit(f"notebook {name!r} not found in {root / SOURCE_DIR}; allowed: {known}")
    out = Path(EXECUTED_DIR) / (f"{name}_{tag}.ipynb" if tag else f"{name}.ipynb")
    (root / out).parent.mkdir(parents=True, exist_ok=True)
    scratch = root / out.with_name(f".{out.name}.running")
    try:
        papermill.execute_notebook(str(root / source), str(scratch), parameters=parameters or {},
                                   cwd=str(root), log_output=True, progress_bar=False, kernel_name="python3")
        nb = json.loads(scratch.read_text())
    finally:
        scratch.unlink(missing_ok=True)
    nb.setdefault("metadata", {}).setdefault("papermill", {}).update(input_path=source.as_posix(),
                                                                     output_path=out.as_posix())
    write_text(root / out, json.dumps(published(nb), indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="notebook name without .ipynb, e.g. simulate")
    parser.add_argument("--profile", default=None, help="override params.yaml's profile")
    parser.add_argument("--tag", default=None, help="suffix of the executed copy (one per configuration)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter (value parsed as YAML), e.g. -p base 50")
    args = parser.parse_args(argv)
    import logging

    import yaml

    logging.basicConfig(level=logging.INFO, format="%(message)s")   # papermill echoes cell output
    params = {"profile": args.profile} if args.profile else {}
    params.update({k: yaml.safe_load(v) for k, v in args.parameter})
    run(args.name, parameters=params, tag=args.tag)


if __name__ == "__main__":
    main(sys.argv[1:])
