"""The ``paper`` stage: the results macros, the curve data of ``dvc plots show``, the PDF.

``python -m starsed.stages.paper`` writes ``paper/generated/results.tex``
(:mod:`starsed.report.macros`) and ``plots/*.csv`` (:mod:`starsed.report.plot_data`)
and, where TeX is installed, builds ``paper/build/paper.pdf`` with latexmk.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..io import write_text
from ..params import load_params
from ..report.macros import results_tex
from ..report.plot_data import write_plot_tables
from .validate import all_sections, validate

#: the macros hold every checked parameter (``params/<section>/...``), so the paper reads them all
SECTIONS = all_sections()

TEX_HELP = ("No TeX installation found (latexmk). Install one, e.g. on Debian/Ubuntu:\n"
            "  sudo apt-get install latexmk texlive-latex-base texlive-latex-recommended texlive-fonts-recommended\n"
            "or on macOS: brew install --cask mactex-no-gui; then run `dvc repro paper` again.")


def main(root: str | Path = ".") -> int:
    root = Path(root)
    generated = root / "paper" / "generated" / "results.tex"
    write_text(generated, results_tex(root / "metrics", validate(load_params(root / "params.yaml")).plain()))
    print(f"wrote {generated}")
    for path in write_plot_tables(root / "metrics", root / "plots"):
        print(f"wrote {path}")
    if shutil.which("latexmk") is None:
        print(TEX_HELP, file=sys.stderr)
        return 1
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-outdir=build", "paper.tex"]
    proc = subprocess.run(cmd, cwd=root / "paper", env={**os.environ, "SOURCE_DATE_EPOCH": "0",
                                                        "FORCE_SOURCE_DATE": "1"})
    if proc.returncode == 0:
        shutil.copyfile(root / "paper" / "build" / "paper.pdf", root / "paper" / "paper.pdf")
        print(f"wrote {root / 'paper' / 'paper.pdf'}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
