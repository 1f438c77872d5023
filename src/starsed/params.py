"""The one path from ``params.yaml`` to code: profiles, and strict section dataclasses.

``params.yaml`` holds base sections grouped by stage and a ``profiles`` map of
overrides; ``profile`` names the override set in force (:func:`load_params`).
Each section is read into a frozen dataclass by :func:`from_params`, the ONE
reader: an unknown key is an error naming the key and the allowed ones; every
value is checked against the field's type (a boolean is ``true``/``false``, an
integer is not a string or a float, a choice is one of its allowed values) and
against the field's own constraint (:func:`param`). The defaults of a section
live in its dataclass alone. Every error names the parameter, its value and what
is allowed (:class:`ConfigError`), and is raised before any expensive work.
"""
from __future__ import annotations

import contextvars
import copy
import os
import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

import yaml

__all__ = ["ConfigError", "require", "param", "Section", "Sections", "from_params", "sections_from",
           "load_sections", "as_dict", "leaf_paths", "find_params",
           "load_params", "resolve", "PROFILES", "positive", "non_negative", "all_positive",
           "all_non_negative", "increasing", "row_range"]

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
    """A parameter is missing or outside its allowed values."""


def require(cond: bool, name: str, value: Any, allowed: str) -> None:
    """Raise :class:`ConfigError` naming ``name``, its value and what is allowed."""
    if not cond:
        raise ConfigError(f"parameter {name} = {value!r} is invalid; allowed: {allowed}")


# --------------------------------------------------------------------------- fields with constraints
def param(default: Any = MISSING, *, check: Callable[[Any], bool] | None = None, allowed: str = "",
          doc: str = "") -> Any:
    """A dataclass field with a constraint: ``check(value)`` must hold, else the error says
    ``allowed`` (what the type alone allows is said too). ``doc``: meaning and unit."""
    meta = {"check": check, "allowed": allowed, "doc": doc}
    return field(default=default, metadata=meta)


def positive(v) -> bool:
    return v > 0


def non_negative(v) -> bool:
    return v >= 0


def all_positive(v) -> bool:
    return all(x > 0 for x in v)


def all_non_negative(v) -> bool:
    return all(x >= 0 for x in v)


def increasing(v) -> bool:
    return all(b > a for a, b in zip(v, v[1:]))


def row_range(v) -> bool:
    """[start, stop) with 0 <= start < stop."""
    return len(v) == 2 and 0 <= v[0] < v[1]


# --------------------------------------------------------------------------- the reader
def _describe(hint) -> str:
    """What a type annotation allows, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    if origin is Literal:
        return f"one of {list(args)}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_describe(a) for a in inner) + (" or null" if len(inner) < len(args) else "")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return "[" + ", ".join(_describe(a) for a in args) + "]"
    if is_dataclass(hint):
        return f"a mapping with keys among {[f.name for f in fields(hint)]}"
    return str(hint)


def _plural(hint) -> str:
    words = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
    if hint in words:
        return words[hint]
    return f"({_describe(hint)})"


def _coerce(hint, value, where: str):
    """``value`` checked against ``hint`` (lists become tuples, integers become floats
    where a number is asked); raises :class:`ConfigError` naming ``where``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    bad = ConfigError(f"parameter {where} = {value!r} is invalid; allowed: {_describe(hint)}")
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    if hint is Any:
        return value
    if origin is Literal:
        if value not in args or type(value) is not type(next(a for a in args if a == value)):
            raise bad
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        sections = [a for a in args if is_dataclass(a)]
        if sections and isinstance(value, Mapping):          # an optional section: its own errors
            return _coerce(sections[0], value, where)
        for a in (a for a in args if a is not type(None)):
            try:
                return _coerce(a, value, where)
            except ConfigError:
                continue
        raise bad
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise bad
        return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if is_dataclass(hint):
        if isinstance(value, hint):
            return value
        return from_params(hint, value, where)
    raise TypeError(f"{where}: unsupported parameter type {hint!r}")  # pragma: no cover - a coding error


def _hints(cls) -> dict:
    return typing.get_type_hints(cls, include_extras=False)


#: path of the section being built by :func:`from_params` (read by :class:`Section`)
_WHERE: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("starsed_params_where", default=None)


class Section:
    """Base of the params-section dataclasses (use with ``@dataclass(frozen=True)``).

    On construction every field is checked against its type (lists become tuples,
    integers become floats where a number is asked) and its :func:`param`
    constraint, then ``check(where)`` (override it for constraints between
    fields). ``SECTION``: the section's path in ``params.yaml``, used in errors
    when the dataclass is built directly rather than by :func:`from_params`.
    """

    SECTION: typing.ClassVar[str] = ""

    def __post_init__(self):
        building = _WHERE.get()
        where = building[1] if building and building[0] is type(self) else self.SECTION
        hints = _hints(type(self))
        for f in fields(self):
            path = f"{where}.{f.name}"
            raw = getattr(self, f.name)
            if is_dataclass(raw) and not isinstance(raw, type):
                continue                     # a nested section, checked when it was built
            value = _coerce(hints[f.name], raw, path)
            check = f.metadata.get("check")
            if check is not None and value is not None and not check(value):
                raise ConfigError(f"parameter {path} = {raw!r} is invalid; allowed: "
                                  f"{f.metadata.get('allowed') or 'see ' + type(self).__name__}")
            if value is not raw:
                object.__setattr__(self, f.name, value)
        self.check(where)

    def check(self, where: str) -> None:
        """Constraints between fields (none by default)."""


def from_params(cls, section: Mapping[str, Any] | None, where: str | None = None):
    """Build the section dataclass ``cls`` from a params mapping, strictly.

    ``where``: the section's path in ``params.yaml`` (default ``cls.SECTION``), used
    in every error. Missing keys take the dataclass default (the only place a
    default lives); an unknown key is an error naming the allowed keys. Values
    are checked by :class:`Section` on construction.
    """
    where = where or getattr(cls, "SECTION", "") or cls.__name__
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise ConfigError(f"parameter {where} = {section!r} is invalid; allowed: {_describe(cls)}")
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(section) - set(names), key=str)
    if unknown:
        raise ConfigError(f"unknown parameter {where}.{unknown[0]} (value {section[unknown[0]]!r}); "
                          f"allowed keys of {where}: {names}")
    hints = _hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in section:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"parameter {where}.{f.name} is missing; allowed: {_describe(hints[f.name])}")
            continue
        value = section[f.name]
        if is_dataclass(hints[f.name]):
            value = from_params(hints[f.name], value, f"{where}.{f.name}")
        values[f.name] = value
    token = _WHERE.set((cls, where))
    try:
        return cls(**values)
    finally:
        _WHERE.reset(token)


def as_dict(obj) -> Any:
    """A section dataclass as plain data (tuples as lists), e.g. for provenance."""
    if is_dataclass(obj):
        return {f.name: as_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    return obj


def leaf_paths(cls, prefix: str) -> dict[str, Any]:
    """{dotted path: type} of every leaf parameter of a section dataclass (for tests and docs)."""
    out = {}
    for f in fields(cls):
        hint = _hints(cls)[f.name]
        inner = [a for a in typing.get_args(hint) if is_dataclass(a)] or [hint]
        if is_dataclass(inner[0]):
            out.update(leaf_paths(inner[0], f"{prefix}.{f.name}"))
        else:
            out[f"{prefix}.{f.name}"] = hint
    return out


# --------------------------------------------------------------------------- files and profiles
def find_params(start: str | os.PathLike | None = None) -> Path:
    """Locate ``params.yaml`` in ``start`` (default: cwd) or any parent folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder / "params.yaml"
    raise FileNotFoundError(
        f"params.yaml not found in {here} or any parent folder; run from the repository root"
    )


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    if not isinstance(override, Mapping):
        raise ConfigError(f"parameter {where} = {override!r} is invalid; allowed: a mapping of overrides")
    for key, value in (override or {}).items():
        if key not in out:
            raise ConfigError(f"profile override '{where}.{key}' names no base parameter; "
                              f"allowed: {sorted(out)}")
        if isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _merge(out[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def resolve(raw: dict, profile: str | None = None) -> dict:
    """Base sections with the profile's overrides applied (``profile`` key set)."""
    profile = profile or raw.get("profile", "default")
    profiles = raw.get("profiles", {})
    if profile not in profiles:
        raise ConfigError(f"unknown profile {profile!r}; allowed: {sorted(profiles)}")
    base = {k: v for k, v in raw.items() if k not in ("profile", "profiles")}
    out = _merge(base, profiles[profile], f"profiles.{profile}")
    out["profile"] = profile
    return out


def load_params(path: str | os.PathLike | None = None, profile: str | None = None) -> dict:
    """Read ``params.yaml`` (found upwards from cwd if ``path`` is None) and resolve the profile
    (plain data; :func:`load_sections` turns it into checked section dataclasses)."""
    path = Path(path) if path else find_params()
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path} holds {type(raw).__name__}; allowed: a mapping of params sections")
    return resolve(raw, profile)


class Sections:
    """The checked params sections a stage reads, as attributes (``cfg.telescope``),
    plus the ``profile`` name. :meth:`plain` gives them as plain data (for provenance)."""

    def __init__(self, profile: str, sections: Mapping[str, Any]):
        self.profile = profile
        self._names = tuple(sections)
        for name, value in sections.items():
            setattr(self, name, value)

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def plain(self) -> dict:
        return {"profile": self.profile, **{n: as_dict(getattr(self, n)) for n in self._names}}

    def __repr__(self) -> str:
        return f"Sections(profile={self.profile!r}, {', '.join(self._names)})"


def sections_from(params: Mapping[str, Any], classes: Mapping[str, type]) -> Sections:
    """Check the sections ``classes`` ({name: dataclass}) of resolved ``params``."""
    missing = [name for name in classes if name not in params]
    if missing:
        raise ConfigError(f"params section {missing[0]} is missing; allowed: a params.yaml with the sections "
                          f"{list(classes)}")
    return Sections(params.get("profile", "default"),
                    {name: from_params(cls, params[name], name) for name, cls in classes.items()})


def load_sections(classes: Mapping[str, type], profile: str | None = None,
                  path: str | os.PathLike | None = None) -> Sections:
    """Read ``params.yaml``, resolve ``profile`` and check the sections ``classes`` (a stage's)."""
    return sections_from(load_params(path, profile), classes)
