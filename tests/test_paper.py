"""The paper as printed: its sources reference only files that exist, every figure is cited,
no table or figure is scaled to fit, and no text in the committed PDF is too small to read.

The PDF (``paper/paper.pdf``, written by the ``paper`` stage) is committed, so its absence is a
failure, not a skip.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "paper"
SOURCES = ("paper.tex", "sections.tex", "discussion.tex")
PDF = PAPER / "paper.pdf"
#: the smallest text size allowed anywhere on the printed page, figures included (pt)
MIN_TEXT_PT = 6.9


def _source() -> str:
    """The three sources, comments removed."""
    text = "\n".join((PAPER / name).read_text() for name in SOURCES)
    return re.sub(r"(?<!\\)%.*", "", text)


def _glyph_size(ch) -> float:
    """A character's font size on the page, in pt. pdfminer's ``LTChar.size`` is the height of
    the glyph's box, which includes every scaling (an included figure PDF's too); for a glyph
    turned by a quarter turn (axis labels, rotated tables) that height is the glyph's advance,
    and the size is the box's width instead."""
    a, b = ch.matrix[0], ch.matrix[1]
    return ch.width if abs(b) > abs(a) else ch.size


def _page_chars():
    """(page number, [(size pt, character, font)]) for every page of the committed PDF."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTChar, LTContainer
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    def chars(obj):
        if isinstance(obj, LTChar):
            yield obj
        elif isinstance(obj, LTContainer):          # pages, and figures included as PDF forms
            for child in obj:
                yield from chars(child)

    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=None)
    interpreter = PDFPageInterpreter(manager, device)
    with PDF.open("rb") as f:
        for number, page in enumerate(PDFPage.get_pages(f), 1):
            interpreter.process_page(page)
            yield number, [(_glyph_size(c), c.get_text(), c.fontname) for c in chars(device.get_result())
                           if c.get_text().strip()]


def test_no_text_smaller_than_the_minimum():
    assert PDF.is_file(), f"{PDF} is missing: it is committed, and `dvc repro paper` writes it"
    pages = list(_page_chars())
    assert pages, f"{PDF} has no pages"
    too_small = {}
    for number, chars in pages:
        assert chars, f"page {number} of {PDF} has no text"
        for size, char, font in chars:
            if size < MIN_TEXT_PT:
                too_small.setdefault((number, round(size, 2), font.split("+")[-1]), []).append(char)
    report = [f"page {p}: {s} pt, {font}: {''.join(c)[:40]!r}" for (p, s, font), c in sorted(too_small.items())]
    assert not report, f"text smaller than {MIN_TEXT_PT} pt in {PDF}:\n" + "\n".join(report)


def test_every_figure_exists_and_is_cited():
    text = _source()
    graphics = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]*)\}", text)
    assert graphics, "the paper includes no figure"
    missing = [g for g in graphics if not (ROOT / "figures" / g).is_file()]
    assert not missing, f"\\includegraphics files not in figures/: {missing}"
    assert len(set(graphics)) == len(graphics), "a figure is included twice"
    figures = re.findall(r"\\begin\{figure\*?\}.*?\\end\{figure\*?\}", text, flags=re.S)
    assert len(figures) == len(graphics), "every figure environment holds one \\includegraphics"
    for body in figures:
        stem = Path(re.search(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]*)\}", body).group(1)).stem
        labels = re.findall(r"\\label\{([^}]*)\}", body)
        assert labels == [f"fig:{stem}"], f"figure {stem} must be labelled fig:{stem}, not {labels}"
    cited = set(re.findall(r"\\ref\{([^}]*)\}", text))
    labels = re.findall(r"\\label\{((?:fig|tab):[^}]*)\}", text)
    uncited = [label for label in labels if label not in cited]
    assert not uncited, f"figures or tables never \\ref'd in the text: {uncited}"


def test_tables_are_inputs_at_their_own_size():
    text = _source()
    assert "\\resizebox" not in text and "\\scalebox" not in text, "a table or figure is scaled to fit"
    tables = re.findall(r"\\input\{\.\./tables/([^}]*)\}", text)
    assert tables, "the paper inputs no table"
    missing = [t for t in tables if not (ROOT / "tables" / f"{t}.tex").is_file()]
    assert not missing, f"\\input tables not in tables/: {missing}"
    for size in ("footnotesize", "scriptsize", "tiny"):
        assert f"\\{size}" not in text, f"\\{size} text: tables and captions are \\small at most"
