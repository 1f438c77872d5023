"""Table writers: a list of row dicts -> Markdown and a LaTeX tabular (byte-stable).

Generic on purpose: every pipeline step that reports a table builds rows
(``[{column: value}]``) and calls :func:`write_tables`. Columns are given as
(key, header) pairs; floats are formatted with ``fmt`` (a format spec or a
per-column mapping).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["format_cell", "markdown_table", "latex_table", "write_tables"]

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _columns(rows: Sequence[Mapping[str, Any]], columns) -> list[tuple[str, str]]:
    if not rows:
        raise ValueError("rows is empty; a table needs at least one row")
    if columns is None:
        return [(k, k) for k in rows[0]]
    out = [(c, c) if isinstance(c, str) else (c[0], c[1]) for c in columns]
    for i, row in enumerate(rows):
        missing = [k for k, _ in out if k not in row]
        if missing:
            raise KeyError(f"row {i} lacks column(s) {missing}; it has {sorted(row)}")
    return out


def format_cell(value: Any, fmt: str = ".3f") -> str:
    """A cell as text: floats with ``fmt``, None as an em dash, anything else with str()."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return format(value, fmt)
    return str(value)


def _fmt_for(fmt, key):
    return fmt.get(key, ".3f") if isinstance(fmt, Mapping) else fmt


def markdown_table(rows, columns=None, fmt=".3f") -> str:
    """GitHub Markdown table (header, separator, one line per row; numbers right-aligned)."""
    cols = _columns(rows, columns)
    cells = [[format_cell(r[k], _fmt_for(fmt, k)) for k, _ in cols] for r in rows]
    numeric = [all(isinstance(r[k], (int, float)) and not isinstance(r[k], bool) for r in rows) for k, _ in cols]
    lines = ["| " + " | ".join(h for _, h in cols) + " |",
             "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(rows, columns=None, fmt=".3f", escape_headers: bool = True) -> str:
    """A LaTeX ``tabular`` (booktabs rules) of the rows; cells are escaped, headers too unless asked not."""
    cols = _columns(rows, columns)
    numeric = [all(isinstance(r[k], (int, float)) and not isinstance(r[k], bool) for r in rows) for k, _ in cols]
    spec = "".join("r" if num else "l" for num in numeric)
    head = [(_latex_escape(h) if escape_headers else h) for _, h in cols]
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(head) + " \\\\", "\\midrule"]
    for r in rows:
        lines.append(" & ".join(_latex_escape(format_cell(r[k], _fmt_for(fmt, k))) for k, _ in cols) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(rows, stem: str | os.PathLike, columns=None, fmt=".3f", folder: str | os.PathLike = "tables",
                 escape_headers: bool = True) -> list[Path]:
    """Write ``<folder>/<stem>.md`` and ``<folder>/<stem>.tex``; returns the two paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md, tex = folder / f"{stem}.md", folder / f"{stem}.tex"
    md.write_text(markdown_table(rows, columns, fmt))
    tex.write_text(latex_table(rows, columns, fmt, escape_headers))
    return [md, tex]
