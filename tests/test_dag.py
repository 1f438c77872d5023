"""The DVC graph is right by construction: every stage depends on what its code imports.

For each stage of ``dvc.yaml``, the code it runs (the module of ``python -m
starsed...``, and for ``python -m starsed.notebook NAME`` the code cells of
``notebooks/NAME.ipynb``) is read statically and every ``starsed`` module it
imports is followed, transitively, including imports inside functions, relative
imports and the parent packages' ``__init__``. The stage's code deps (its deps under
``src/``) must be exactly these files, listed one by one: a missing one would let a
stale result stand, an extra one (or a whole folder) would re-run the stage for an
edit its code never reads. The stage's params must be the
sections its module declares (``SECTIONS``), which provenance records, and the
artefact paths of :mod:`starsed.paths` must be the ones dvc.yaml names.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def module_file(name: str, src: Path = SRC) -> Path | None:
    p = src / Path(*name.split("."))
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    if p.with_suffix(".py").is_file():
        return p.with_suffix(".py")
    return None


def imported_modules(code: str, current: str | None = None, src: Path = SRC) -> set[str]:
    """Dotted names of the starsed modules that ``code`` imports (``current``: its own name)."""
    out = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "starsed"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                f = module_file(current, src)
                parts = current.split(".") if f is not None and f.name == "__init__.py" else current.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "starsed":
                continue
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names if module_file(f"{mod}.{a.name}", src)}
    return out


def closure(roots, src: Path = SRC) -> set[Path]:
    """Files of every starsed module reachable from ``roots`` (parent packages included)."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        f = module_file(name, src)
        if f is not None:
            todo += imported_modules(f.read_text(), name, src)
    return {module_file(n, src) for n in seen if module_file(n, src) is not None}


def stage_specs(dvc: dict):
    for name, st in dvc["stages"].items():
        yield name, (st["do"] if "foreach" in st else st)


def stage_roots(spec: dict, root: Path = ROOT) -> set[str]:
    """The starsed modules a stage's command runs, with its notebook's imports."""
    cmd = spec["cmd"] if isinstance(spec["cmd"], str) else " ".join(spec["cmd"])
    m = re.search(r"-m\s+(starsed(?:\.\w+)*)", cmd)
    assert m, f"stage command {cmd!r} does not run a starsed module"
    roots = {m.group(1)}
    nb = re.search(r"starsed\.notebook\s+(\w+)", cmd)
    if nb:
        cells = json.loads((root / "notebooks" / f"{nb.group(1)}.ipynb").read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(l for l in code.splitlines() if not l.lstrip().startswith(("%", "!")))
        roots |= imported_modules(code, src=root / "src")
    return roots


def dep_paths(spec: dict) -> list[str]:
    return [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]


def uncovered(files, deps, root: Path = ROOT) -> list[str]:
    out = []
    for f in sorted(files):
        rel = f.relative_to(root).as_posix()
        if not any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in deps):
            out.append(rel)
    return out


def missing_code_deps(dvc: dict, root: Path = ROOT) -> dict[str, list[str]]:
    """{stage: [imported files no dep covers]} for the stages that miss some."""
    out = {}
    for name, spec in stage_specs(dvc):
        miss = uncovered(closure(stage_roots(spec, root), root / "src"), dep_paths(spec), root)
        if miss:
            out[name] = miss
    return out


@pytest.fixture(scope="module")
def dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def extra_code_deps(dvc: dict, root: Path = ROOT) -> dict[str, list[str]]:
    """{stage: [deps under src/ that are not files its code imports]} for the stages that have some."""
    out = {}
    for name, spec in stage_specs(dvc):
        files = {f.relative_to(root).as_posix() for f in closure(stage_roots(spec, root), root / "src")}
        extra = sorted(d for d in dep_paths(spec) if d.startswith("src/") and d not in files)
        if extra:
            out[name] = extra
    return out


def test_every_imported_module_is_a_dep(dvc):
    assert missing_code_deps(dvc) == {}


def test_no_stage_depends_on_code_it_does_not_import(dvc):
    assert extra_code_deps(dvc) == {}


def test_the_extra_check_fails_on_a_folder_dep(dvc):
    """A folder dep (what the stages had before) covers its files but is found as extra."""
    spec = dvc["stages"]["seds"]
    broken = {"stages": {"seds": {**spec, "deps": spec["deps"] + ["src/starsed/report"]}}}
    assert extra_code_deps(broken) == {"seds": ["src/starsed/report"]}


def test_the_check_fails_on_a_stage_that_misses_a_module(dvc, tmp_path):
    """The check is not vacuous: drop one code dep of psf_models and it is found."""
    spec = dvc["stages"]["psf_models"]
    dropped = next(d for d in dep_paths(spec) if d.startswith("src/starsed/psf_model"))
    broken = {"stages": {"psf_models": {**spec, "deps": [d for d in spec["deps"] if d != dropped]}}}
    assert "psf_models" in missing_code_deps(broken)


#: the last commit of the flat layout, whose dvc.yaml listed code deps by hand
FLAT_LAYOUT = "74b0a12"


def test_the_check_fails_on_the_flat_layouts_hand_typed_deps(tmp_path):
    """On the flat layout's dvc.yaml and code, 7 of its 8 stages miss imported modules
    (psf_impact imports 18 starsed modules and listed 3)."""
    import subprocess

    have = subprocess.run(["git", "cat-file", "-e", f"{FLAT_LAYOUT}^{{commit}}"], cwd=ROOT, capture_output=True)
    if have.returncode:
        pytest.skip(f"commit {FLAT_LAYOUT} is not in this clone's history (shallow clone)")
    archive = subprocess.run(["git", "archive", FLAT_LAYOUT, "src", "notebooks", "dvc.yaml"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True)
    old = yaml.safe_load((tmp_path / "dvc.yaml").read_text())
    missing = missing_code_deps(old, tmp_path)
    assert len(missing) == 7 and "train" not in missing      # the one stage that listed every module
    assert len(closure(stage_roots(old["stages"]["psf_impact"]["do"], tmp_path), tmp_path / "src")) == 18


def test_stage_params_are_the_sections_its_module_declares(dvc):
    """dvc.yaml's params of each stage = profile + the module's SECTIONS + their profile overrides,
    so provenance (which records SECTIONS) and DVC agree."""
    import importlib

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, spec in stage_specs(dvc):
        cmd = spec["cmd"]
        module = re.search(r"-m\s+(starsed(?:\.\w+)*)", cmd).group(1)
        nb = re.search(r"starsed\.notebook\s+(\w+)", cmd)
        stage_module = importlib.import_module(f"starsed.stages.{nb.group(1)}" if nb else module)
        if name == "validate":
            from starsed.stages.validate import all_sections

            sections = set(all_sections())
        else:
            sections = set(stage_module.SECTIONS)
        expected = {"profile"} | sections | {f"profiles.{p}.{s}" for p, over in raw["profiles"].items()
                                               for s in sections if s in over}
        if not sections:
            expected = set()                 # reads no params at all (the pipeline diagram)
        declared = {p if isinstance(p, str) else next(iter(p)) for p in spec.get("params", [])}
        assert declared == expected, f"stage {name}: params {sorted(declared)} != {sorted(expected)}"


def test_artefact_paths_are_the_ones_dvc_names(dvc):
    from starsed import paths

    text = (ROOT / "dvc.yaml").read_text()
    for name in ("SEDS", "MAIN", "SECOND", "PSF_MODELS_DIR", "PREDICT_SEDS_DIR", "SIMULATE_DIR"):
        assert getattr(paths, name) in text, f"paths.{name} = {getattr(paths, name)!r} is not in dvc.yaml"
    assert paths.predict_seds_file(50).replace("50", "${item.base}") in text


def test_validate_is_upstream_of_every_stage(dvc):
    """A bad parameter stops `dvc repro` before DVC removes any output: the validate stage's
    output is a dep of the first stage, so it runs first."""
    from starsed.stages.validate import OUTPUT

    assert OUTPUT in dep_paths(dvc["stages"]["seds"])
    assert dvc["stages"]["validate"]["outs"][0] == OUTPUT or OUTPUT in str(dvc["stages"]["validate"]["outs"])
