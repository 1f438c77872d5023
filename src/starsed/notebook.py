"""Run one pipeline notebook: ``python -m starsed.notebook NAME``.

Executes ``notebooks/NAME.ipynb`` with papermill from the repository root
(cell outputs echoed to the console, so progress bars show), writes the
executed copy to ``build/notebooks/NAME.ipynb`` and an HTML rendering beside
it, for reviewers who read without running anything.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(name: str, root: str | Path = ".", parameters: dict | None = None, tag: str | None = None) -> Path:
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    root = Path(root).resolve()
    source = root / "notebooks" / f"{name}.ipynb"
    if not source.is_file():
        known = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
        raise SystemExit(f"notebook {name!r} not found in {root / 'notebooks'}; allowed: {known}")
    out = root / "build" / "notebooks" / (f"{name}_{tag}.ipynb" if tag else f"{name}.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(source), str(out), parameters=parameters or {},
                               cwd=str(root), log_output=True, progress_bar=False,
                               kernel_name="python3")
    html, _ = HTMLExporter().from_notebook_node(nbformat.read(out, as_version=4))
    out.with_suffix(".html").write_text(html)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="notebook name without .ipynb, e.g. 01_simulate")
    parser.add_argument("--profile", default=None, help="override params.yaml's profile")
    parser.add_argument("--tag", default=None, help="suffix of the executed copy (one per configuration)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter (value parsed as YAML), e.g. -p base 50")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")   # papermill echoes cell output
    import yaml

    params = {"profile": args.profile} if args.profile else {}
    params.update({k: yaml.safe_load(v) for k, v in args.parameter})
    run(args.name, parameters=params, tag=args.tag)


if __name__ == "__main__":
    main(sys.argv[1:])
