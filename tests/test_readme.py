"""The README's numbers are the committed run's: every generated block matches the metrics."""
from pathlib import Path

from starsed.report.readme import MARK, blocks, render

ROOT = Path(__file__).resolve().parents[1]


def test_readme_results_are_the_metrics():
    text = (ROOT / "README.md").read_text()
    names = [m.group(2) for m in MARK.finditer(text)]
    assert {"psf_models", "classification", "psf_impact", "timings"} <= set(names), names
    generated = blocks(ROOT)
    for m in MARK.finditer(text):
        assert m.group(3) == generated[m.group(2)], (
            f"README block {m.group(2)!r} differs from the metrics: run `python -m starsed.report.readme`")


def test_a_changed_number_is_caught(tmp_path):
    text = (ROOT / "README.md").read_text()
    generated = blocks(ROOT)
    block = generated["psf_models"]
    first_number = next(tok for tok in block.split("|") if tok.strip().replace(".", "").isdigit() and "." in tok)
    stale = render(text, {**generated, "psf_models": block.replace(first_number, " 9.999 ", 1)})
    assert stale != render(text, generated)
