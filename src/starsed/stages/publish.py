"""The ``publish`` stage: the executed notebooks rendered for readers who run nothing.

``python -m starsed.stages.publish`` renders every executed stage notebook
``docs/notebooks/NAME.ipynb`` (DVC-cached outputs of the notebook stages) to
``docs/notebooks/NAME.md`` with its figures in ``docs/notebooks/NAME_files/``
(:mod:`starsed.report.notebooks`), and writes the index ``docs/notebooks/README.md``
and ``docs/notebooks/durations.json`` (papermill's run time of each notebook, in
seconds, from which the README's stage table is summed). These are committed to
git; the ``.ipynb`` files are not, because notebooks with outputs do not belong in
the repository's history.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..io import atomic_path, read_json, write_json, write_text
from ..notebook import EXECUTED_DIR
from ..report.notebooks import DURATIONS, NOTEBOOK_STAGES, duration_s, index_markdown, pipeline_order, render

#: no params section: the stage renders what the notebook stages wrote
SECTIONS: dict = {}


def main(root: str | Path = ".") -> int:
    folder = Path(root) / EXECUTED_DIR
    executed = sorted(folder.glob("*.ipynb"))
    if not executed:
        print(f"no executed notebooks in {folder}: run `dvc repro` first", file=sys.stderr)
        return 1
    durations = {}
    for path in executed:
        stem = path.stem
        nb = read_json(path)
        page = render(stem, nb)
        images = folder / f"{stem}_files"
        if images.exists():
            shutil.rmtree(images)
        for name, data in page.images.items():
            with atomic_path(folder / name) as tmp:
                tmp.write_bytes(data)
        write_text(folder / f"{stem}.md", page.text)
        durations[stem] = duration_s(nb)
        print(f"wrote {folder / stem}.md ({len(page.images)} figures)")
    write_json(Path(root) / DURATIONS, durations)
    write_text(folder / "README.md", index_markdown(durations, pipeline_order(durations, NOTEBOOK_STAGES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
