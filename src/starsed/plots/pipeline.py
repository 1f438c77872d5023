"""The pipeline diagram: the stage graph of ``dvc.yaml`` (:func:`fig_pipeline`, full width).

:func:`stage_graph` reads a parsed ``dvc.yaml`` (a dict): each stage's dependencies and
outputs (``outs``, ``metrics`` and ``plots`` entries; a ``foreach`` stage is expanded over
its configurations and kept as one node), and an edge A -> B whenever an output of A is a
dependency of B, lies in a folder that is one, or is a folder holding one. The figure
layers the stages top to bottom by dependency depth (longest path from a stage without
inputs), orders each layer to cut crossings and routes edges that skip layers through
the layers between (Sugiyama-style); they are drawn lighter than edges between
neighbouring layers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MPath

from ..notebook import EXECUTED_DIR
from . import (FONT_SIZE, LINE_COLOURS, SMALL_FONT_SIZE, TEXT_WIDTH, diagram_axes, diagram_box, figure_function,
               new_figure, text_width)

__all__ = ["Stage", "stage_graph", "depths", "fig_pipeline"]

_OUT_KEYS = ("outs", "metrics", "plots")


@dataclass
class Stage:
    """One stage of the graph: its expanded ``deps`` and ``outs`` (all configurations of a
    ``foreach`` stage together), the ``outs`` as written (``templates``) and, for a
    ``foreach`` stage, its configuration keys and items."""

    name: str
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    configs: dict | None = None


def _entries(values) -> list[str]:
    """Paths of a deps/outs list whose entries are strings or one-key dicts (path: options)."""
    out = []
    for v in values or []:
        if isinstance(v, dict):
            out.extend(str(k) for k in v)
        else:
            out.append(str(v))
    return out


def _substitute(text: str, key, item) -> str:
    def repl(m):
        ref = m.group(1).strip()
        if ref == "key":
            return str(key)
        if ref == "item":
            return str(item)
        if ref.startswith("item.") and isinstance(item, dict):
            return str(item.get(ref[5:], m.group(0)))
        return m.group(0)
    return re.sub(r"\$\{([^}]*)\}", repl, text)


def _norm(path: str) -> str:
    p = path.strip()
    while p.startswith("./"):
        p = p[2:]
    return p.rstrip("/")


def _feeds(out: str, dep: str) -> bool:
    """An output feeds a dependency: the same path, the dependency a folder holding the
    output, or the output a folder holding the dependency."""
    o, d = _norm(out), _norm(dep)
    return o == d or o.startswith(d + "/") or d.startswith(o + "/")


def stage_graph(dvc_spec: dict) -> tuple[dict[str, Stage], list[tuple[str, str]]]:
    """(stages by name in file order, edges (A, B) in file order) of a parsed ``dvc.yaml``."""
    stages: dict[str, Stage] = {}
    for name, spec in (dvc_spec.get("stages") or {}).items():
        if "foreach" in spec:
            body = spec.get("do") or {}
            fe = spec["foreach"]
            items = list(fe.items()) if isinstance(fe, dict) else [(str(v), v) for v in fe]
            st = Stage(name, configs=dict(items))
            for key, item in items:
                st.deps += [_substitute(d, key, item) for d in _entries(body.get("deps"))]
                for k in _OUT_KEYS:
                    st.outs += [_substitute(o, key, item) for o in _entries(body.get(k))]
            st.templates = [o for k in _OUT_KEYS for o in _entries(body.get(k))]
        else:
            st = Stage(name, deps=_entries(spec.get("deps")),
                       outs=[o for k in _OUT_KEYS for o in _entries(spec.get(k))])
            st.templates = list(st.outs)
        st.deps = list(dict.fromkeys(st.deps))
        st.outs = list(dict.fromkeys(st.outs))
        stages[name] = st
    edges = [(a, b) for a in stages for b in stages
             if a != b and any(_feeds(o, d) for o in stages[a].outs for d in stages[b].deps)]
    return stages, edges


#: where every notebook stage writes its executed notebook
EXECUTED_NOTEBOOKS = f"{EXECUTED_DIR}/"


def notebook_readers(stages: dict[str, Stage], edges) -> set[str]:
    """The stages whose every input is an executed notebook (the one that publishes them): their
    edges come from every notebook stage, so the diagram draws the stage without them."""
    def carried(a, b):
        return [d for d in stages[b].deps if any(_feeds(o, d) for o in stages[a].outs)]

    fed = {b for _, b in edges}
    return {b for b in fed if all(_norm(d).startswith(EXECUTED_NOTEBOOKS)
                                  for a, c in edges if c == b for d in carried(a, b))}


def depths(names, edges) -> dict[str, int]:
    """Longest-path depth of every stage (0: no inputs); raises on a cycle."""
    preds = {n: [a for a, b in edges if b == n] for n in names}
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(n):
        if n in depth:
            return depth[n]
        if n in visiting:
            raise ValueError(f"the stage graph has a cycle through {n!r}")
        visiting.add(n)
        depth[n] = 1 + max((visit(p) for p in preds[n]), default=-1)
        visiting.discard(n)
        return depth[n]

    for n in names:
        visit(n)
    return depth


# --------------------------------------------------------------------------- labels

def _label_outputs(templates: list[str]) -> str:
    """The main outputs, short: the executed notebooks, records and headlines (every stage has
    them) left out, figures and tables counted."""
    figures, tables, rest = set(), set(), []
    for t in templates:
        p = _norm(re.sub(r"\$\{\s*key\s*\}", "{key}", re.sub(r"\$\{\s*item\.(\w+)\s*\}", r"{\1}", t)))
        if p.startswith(("build/notebooks/", EXECUTED_NOTEBOOKS, "records/", "metrics/headline/")):
            continue                  # the published notebook, timings and headline of every stage
        stem, _, ext = p.rpartition(".")
        if p.startswith("figures/") and ext in ("pdf", "png", "svg", "eps"):
            figures.add(stem)
        elif p.startswith("tables/") and ext in ("md", "tex", "csv"):
            tables.add(stem)
        else:
            rest.append(p)
    if figures:
        rest.append(f"{len(figures)} figure{'s' * (len(figures) != 1)}")
    if tables:
        rest.append(f"{len(tables)} table{'s' * (len(tables) != 1)}")
    if not rest and templates:        # only notebook copies: name them
        rest = [_norm(templates[0])]
    return ", ".join(rest)


def _configs_note(configs: dict) -> list[str]:
    """Lines '8 runs: base 50, 100', '× variant predicted, soft, ...' (the keys if the items are
    not dicts)."""
    items = list(configs.values())
    if items and all(isinstance(v, dict) for v in items):
        fields = list(dict.fromkeys(k for v in items for k in v))
        parts = [f"{f} {', '.join(dict.fromkeys(str(v.get(f)) for v in items))}" for f in fields]
        return [f"{len(items)} runs: {parts[0]}"] + [f"× {p}" for p in parts[1:]]
    return [f"{len(items)} runs: " + ", ".join(str(k) for k in configs)]


def _wrap_parts(text: str, max_width: float, measure) -> list[str]:
    """Break a comma-separated list into lines no wider than ``max_width`` inches."""
    words = [w.strip() for w in text.split(", ") if w.strip()]
    lines, cur = [], ""
    for w in words:
        trial = f"{cur}, {w}" if cur else w
        if cur and measure(trial) > max_width:
            lines.append(cur + ",")
            cur = w
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


# --------------------------------------------------------------------------- layout

def _pav(targets: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of ``targets`` (pool adjacent violators)."""
    blocks = []                                    # [sum, count]
    for t in targets:
        blocks.append([float(t), 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    return np.concatenate([np.full(c, s / c) for s, c in blocks])


def _place(order: list, widths: dict, desired: dict, gaps: list[float]) -> dict:
    """Centres closest to ``desired`` keeping ``order`` and ``gaps[i]`` between items i, i+1."""
    offs = [0.0]
    for (a, b), g in zip(zip(order[:-1], order[1:]), gaps):
        offs.append(offs[-1] + (widths[a] + widths[b]) / 2 + g)
    offs = np.array(offs)
    fit = _pav(np.array([desired[n] for n in order]) - offs)
    return {n: float(fit[i] + offs[i]) for i, n in enumerate(order)}


def _layout(names, edges, depth, widths, gap_box=0.25, gap_dummy=0.1, dummy_w=0.05, sweeps=12):
    """Layers (lists of node ids, dummies as (a, b, layer)), the x centre of every id, and
    the chain of ids of every edge."""
    n_layers = max(depth.values()) + 1
    layers: list[list] = [[n for n in names if depth[n] == l] for l in range(n_layers)]
    chains = {}
    w = dict(widths)
    for a, b in edges:
        chain = [a]
        for l in range(depth[a] + 1, depth[b]):
            d = (a, b, l)
            layers[l].append(d)
            w[d] = dummy_w
            chain.append(d)
        chain.append(b)
        chains[(a, b)] = chain
    up = {n: [] for l in layers for n in l}
    down = {n: [] for l in layers for n in l}
    for chain in chains.values():
        for p, q in zip(chain[:-1], chain[1:]):
            down[p].append(q)
            up[q].append(p)

    def crossings(lays):
        pos = {n: i for l in lays for i, n in enumerate(l)}
        c = 0
        for l in lays[:-1]:
            segs = [(pos[p], pos[q]) for p in l for q in down[p]]
            for i in range(len(segs)):
                for j in range(i + 1, len(segs)):
                    c += (segs[i][0] - segs[j][0]) * (segs[i][1] - segs[j][1]) < 0
        return c

    best = [list(l) for l in layers]
    best_c = crossings(best)
    for s in range(sweeps):
        rng = range(1, n_layers) if s % 2 == 0 else range(n_layers - 2, -1, -1)
        for l in rng:
            ref = layers[l - 1] if s % 2 == 0 else layers[l + 1]
            pos = {n: i for i, n in enumerate(ref)}
            nb = up if s % 2 == 0 else down
            cur = {n: i for i, n in enumerate(layers[l])}
            layers[l].sort(key=lambda n: (np.mean([pos[m] for m in nb[n]]) if nb[n] else cur[n], cur[n]))
        c = crossings(layers)
        if c < best_c:
            best, best_c = [list(l) for l in layers], c
    layers = best

    def gap(a, b):
        return gap_box if not (isinstance(a, tuple) or isinstance(b, tuple)) else gap_dummy

    def weight(a, b):            # keep long edges straight, then the stage-to-stage edges
        da, db = isinstance(a, tuple), isinstance(b, tuple)
        return 8.0 if da and db else 1.0 if da or db else 4.0

    x = {}
    for l in layers:
        cur = 0.0
        for i, n in enumerate(l):
            if i:
                cur += (w[l[i - 1]] + w[n]) / 2 + gap(l[i - 1], n)
            x[n] = cur
        shift = -cur / 2
        for n in l:
            x[n] += shift
    for it in range(60):
        order = range(len(layers)) if it % 2 == 0 else range(len(layers) - 1, -1, -1)
        for li in order:
            l = layers[li]
            desired = {}
            for n in l:
                nb = up[n] + down[n]
                if nb:
                    ws = np.array([weight(n, m) for m in nb])
                    desired[n] = float(np.dot(ws, [x[m] for m in nb]) / ws.sum())
                else:
                    desired[n] = x[n]
            x.update(_place(l, w, desired, [gap(a, b) for a, b in zip(l[:-1], l[1:])]))
    return layers, x, chains


def _curve(points):
    """Path through ``points`` with vertical tangents at every point (cubic segments where
    x changes, straight ones where it does not)."""
    verts, codes = [points[0]], [MPath.MOVETO]
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        if abs(x1 - x0) < 1e-9:
            verts.append((x1, y1))
            codes.append(MPath.LINETO)
        else:
            ym = (y0 + y1) / 2
            verts += [(x0, ym), (x1, ym), (x1, y1)]
            codes += [MPath.CURVE4] * 3
    return MPath(verts, codes)


# --------------------------------------------------------------------------- the figure

@figure_function
def fig_pipeline(dvc_spec: dict):
    """The pipeline diagram (full width): the stage graph of a parsed ``dvc.yaml``.

    One box per stage, labelled with its name and, smaller, its main outputs (figures and
    tables counted, the executed notebooks left out); a ``foreach`` stage is one stacked box
    with a note of its configurations. Layered top to bottom by dependency depth; an arrow
    A -> B where an output of A (or a folder holding it) is a dependency of B, except into a
    stage that reads only executed notebooks (:func:`notebook_readers`: one arrow from every
    notebook stage would say nothing), which is drawn in the last layer.
    """
    stages, edges = stage_graph(dvc_spec)
    if not stages:
        raise ValueError("dvc_spec has no stages")
    names = list(stages)
    readers = notebook_readers(stages, edges)
    edges = [e for e in edges if e[1] not in readers]
    depth = depths(names, edges)
    last = max(depth.values())
    depth.update({r: last for r in readers})                      # drawn last, beside the paper
    n_layers = max(depth.values()) + 1

    def measure(text, size=SMALL_FONT_SIZE, weight="normal"):
        return text_width(text, size, weight)

    margin, margin_v = 0.1, 0.04
    room = TEXT_WIDTH - 2 * margin
    for max_detail in (3.0, 2.5, 2.1, 1.8, 1.5, 1.2):     # inches of output text per line
        labels, widths, heights = {}, {}, {}
        for n in names:
            st = stages[n]
            detail = (f"every stage's executed notebook, rendered: {EXECUTED_NOTEBOOKS}" if n in readers
                      else _label_outputs(st.templates))
            lines = _wrap_parts(detail, max_detail, measure)
            if st.configs:
                note = _configs_note(st.configs)
                lines += [" ".join(note)] if measure(" ".join(note)) <= max_detail else note
            labels[n] = "\n".join(lines)
            wd = max([measure(n, FONT_SIZE, "bold")] + [measure(s) for s in lines])
            widths[n] = wd + 0.2 + (0.08 if st.configs else 0.0)
            # text and a small margin; a stacked box (foreach) gives up 2 x 0.035 in to its copies
            heights[n] = (FONT_SIZE + SMALL_FONT_SIZE * len(lines)) * 1.2 / 72 + 0.08 + (0.07 if st.configs else 0.0)
        layers, x, chains = _layout(names, edges, depth, widths)
        span_lo = min(x[n] - (widths[n] if n in widths else 0.06) / 2 for l in layers for n in l)
        span_hi = max(x[n] + (widths[n] if n in widths else 0.06) / 2 for l in layers for n in l)
        if span_hi - span_lo <= room:                     # else: narrower boxes, laid out again
            break
    # centred; squeezed (a graph too wide for the page even with the narrowest boxes) as a last resort
    scale = min(1.0, room / (span_hi - span_lo))
    cx = {n: margin + (v - span_lo) * scale + max(0.0, (room - (span_hi - span_lo)) / 2)
          for n, v in x.items()}

    layer_h = [max(heights[n] for n in l if not isinstance(n, tuple)) for l in layers]
    # vertical gaps grow with the widest horizontal run of an edge through them
    runs = [0.0] * max(n_layers - 1, 0)
    for chain in chains.values():
        for p, q in zip(chain[:-1], chain[1:]):
            lp = depth[p] if not isinstance(p, tuple) else p[2]
            runs[lp] = max(runs[lp], abs(cx[p] - cx[q]))
    gaps_v = [float(np.clip(0.1 + 0.05 * r, 0.16, 0.28)) for r in runs]
    total = sum(layer_h) + sum(gaps_v) + 2 * margin_v
    fig = new_figure(TEXT_WIDTH, total, layout=None)
    ax = diagram_axes(fig)
    top_of, bot_of = [], []
    y = total - margin_v
    for i, h in enumerate(layer_h):
        top_of.append(y)
        bot_of.append(y - h)
        y -= h + (gaps_v[i] if i < len(gaps_v) else 0.0)
    ymid = [(t + b) / 2 for t, b in zip(top_of, bot_of)]

    # ports: spread the edges along the bottom / top edge of each box, in the order of their far ends
    def far_x(edge, end):
        chain = chains[edge]
        return cx[chain[1] if end == "out" else chain[-2]]
    ports = {}
    for n in names:
        for end, sel in (("out", lambda e: e[0] == n), ("in", lambda e: e[1] == n)):
            es = sorted((e for e in edges if sel(e)), key=lambda e: far_x(e, end))
            step = 0.0 if len(es) < 2 else min(0.2, (widths[n] - 0.25) / (len(es) - 1))
            for k, e in enumerate(es):
                ports[(e, end)] = cx[n] + (k - (len(es) - 1) / 2) * step
    fanout = [n for n in names if sum(e[0] == n for e in edges) > 1]
    palette = [c for c in LINE_COLOURS if c != "#000000"]
    colour_of = {n: palette[i % len(palette)] for i, n in enumerate(fanout)}
    for e in edges:
        a, b = e
        chain = chains[e]
        la, lb = depth[a], depth[b]
        hb_a = heights[a]
        pts = [(ports[(e, "out")], ymid[la] - hb_a / 2)]
        for d in chain[1:-1]:
            l = d[2]
            pts += [(cx[d], top_of[l]), (cx[d], bot_of[l])]
        end = (ports[(e, "in")], ymid[lb] + heights[b] / 2 + 0.01)
        pts.append((end[0], end[1] + 0.07))
        colour = colour_of.get(a, "0.15")
        lw = 0.7 if lb - la > 1 else 1.0
        ax.add_patch(PathPatch(_curve(pts), fc="none", ec=colour, lw=lw, capstyle="butt"))
        ax.annotate("", xy=end, xytext=pts[-1],
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=lw, mutation_scale=7,
                                    shrinkA=0, shrinkB=0))
    for n in names:
        st = stages[n]
        w, h = widths[n], heights[n]
        diagram_box(ax, cx[n] - w / 2, ymid[depth[n]] - h / 2, w, h, n, labels[n] or None,
                    edgecolor=colour_of.get(n, "0.3"), lw=1.0 if n in colour_of else 0.8,
                    facecolor="#e8f1f8" if st.configs else "#f2f2f2", stack=2 if st.configs else 0)
    return fig
