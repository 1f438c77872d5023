"""The paper's pipeline diagram, drawn from ``dvc.yaml`` itself.

``python -m starsed.report.diagram`` writes ``figures/pipeline.{pdf,png}``. DVC
cannot make a stage depend on ``dvc.yaml``, so the diagram is drawn by this
command and committed, and ``tests/test_published.py`` fails when the committed
figure is not what the current ``dvc.yaml`` draws.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

STEM = "pipeline"


def draw(root: str | Path = "."):
    """The diagram's Figure for the ``dvc.yaml`` under ``root``."""
    from ..plots.pipeline import fig_pipeline

    return fig_pipeline(yaml.safe_load((Path(root) / "dvc.yaml").read_text()))


def main(root: str | Path = ".") -> int:
    from ..plots import save

    save(draw(root), STEM, Path(root) / "figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
