"""How to train a PSF model: one run's recipe, and the per-training-set schedules of params.yaml.

:class:`LBFGSRecipe` (the fast recipe, :mod:`.lbfgs`) and :class:`AdamRecipe`
(the paper's, :mod:`.adam`) describe ONE training run. The params sections
``psf_models.fast`` and ``psf_models.paper`` are their schedules
(:class:`LBFGSSchedule`, :class:`AdamSchedule`): the same fields, with the
per-set ones as one entry per training set; ``schedule.recipe(i)`` is set i's
recipe. The defaults live in the recipes alone.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from ..params import ConfigError, Section, all_non_negative, non_negative, param, positive


@dataclass(frozen=True)
class LBFGSRecipe(Section):
    """Full-batch L-BFGS on the parametric part, Gauss-Newton preconditioned.

    ``passes`` L-BFGS iterations on the parametric part (each one or a few
    full-batch forward+backward passes), then ``dd_passes`` on the data-driven
    part if the model has one. With ``precond_stars`` > 0 the parameters are
    whitened by a Gauss-Newton Hessian estimated on that many stars (Jacobians
    from a model pupil of ``precond_pupil_samples``, diagonal damping
    ``precond_damping`` x its mean), re-estimated every ``precond_every`` passes
    (0: once), after ``warmup_passes`` plain passes when starting from random
    arrays. ``field_prior_um`` > 0 adds a Gaussian prior of that standard
    deviation (um) on every Zernike coefficient over a regular field grid
    (weighted as one star's pixels), which keeps the degree-4 field from running
    away in corners without training stars.

    ``precond_reuse``: the Gauss-Newton Hessian is estimated once, in the plain
    monomial basis, and reused: for every later block of passes of the fit, and
    by the next fit of a warm-started sequence (S(k) -> S(k+1), E_k -> E_(k+1)),
    which receives it from :func:`starsed.psf_model.fit`'s report (a
    preconditioner need not be exact: it changes the path, not the minimum).
    ``zero_even_start``: a random start has its centrosymmetric (even radial
    order) Zernike field set to zero, so the plain warm-up passes pick the sign
    that images alone leave ambiguous (the twin ambiguity) instead of a random draw.
    """

    SECTION = "psf_models.fast"

    passes: int = param(100, check=non_negative, allowed="an integer >= 0")
    dd_passes: int = param(20, check=non_negative, allowed="an integer >= 0")
    warmup_passes: int = param(20, check=non_negative, allowed="an integer >= 0")
    precond_stars: int = param(0, check=non_negative, allowed="an integer >= 0 (0: no preconditioner)")
    precond_pupil_samples: int = param(64, check=lambda v: v >= 8 and v % 2 == 0, allowed="an even integer >= 8")
    precond_every: int = param(0, check=non_negative, allowed="an integer >= 0 (0: once)")
    precond_damping: float = param(1e-4, check=non_negative, allowed="a number >= 0")
    field_prior_um: float = param(0.0, check=non_negative, allowed="a number >= 0, um (0: no prior)")
    precond_reuse: bool = False
    zero_even_start: bool = False


@dataclass(frozen=True)
class EvenReset(Section):
    """Before the fit of the set of ``at`` stars (an S-set's training stars, or E added stars in
    the PSF-impact chain), zero the warm start's centrosymmetric Zernike field and take
    ``plain_passes`` plain L-BFGS passes, which pick the sign that images alone leave
    ambiguous (:func:`starsed.psf_model.reset_even_part`)."""

    SECTION = "psf_models.even_reset"

    at: int = param(500, check=positive, allowed="a positive star count (one of the sets' counts)")
    plain_passes: int = param(20, check=non_negative, allowed="an integer >= 0")


@dataclass(frozen=True)
class AdamRecipe(Section):
    """The paper's schedule: ``cycles`` cycles of (parametric phase, data-driven phase),
    ``param_epochs`` and ``dd_epochs`` one entry per cycle, Adam on mini-batches of
    ``batch`` stars with learning rates ``lr_param`` and ``lr_dd``; the data-driven
    part is off during the first parametric phase; the best epoch is kept."""

    SECTION = "psf_models.paper"

    cycles: int = param(2, check=lambda v: v >= 1, allowed="an integer >= 1")
    param_epochs: tuple[int, ...] = param((20, 20), check=all_non_negative, allowed="integers >= 0")
    dd_epochs: tuple[int, ...] = param((120, 100), check=all_non_negative, allowed="integers >= 0")
    batch: int = param(32, check=lambda v: v >= 1, allowed="an integer >= 1")
    lr_param: float = param(1e-2, check=positive, allowed="a positive number")
    lr_dd: float = param(1e-1, check=positive, allowed="a positive number")

    def check(self, where: str) -> None:
        for name in ("param_epochs", "dd_epochs"):
            if len(getattr(self, name)) != self.cycles:
                raise ConfigError(f"parameter {where}.{name} = {list(getattr(self, name))!r} is invalid; "
                                  f"allowed: one entry per cycle ({self.cycles})")


Recipe = LBFGSRecipe | AdamRecipe


def _recipe_of(schedule, base, index: int, per_set: tuple[str, ...]):
    values = {f.name: getattr(schedule, f.name) for f in fields(base)}
    for name in per_set:
        values[name] = values[name][index]
    return base(**values)


@dataclass(frozen=True)
class LBFGSSchedule(LBFGSRecipe):
    """:class:`LBFGSRecipe` with ``passes``, ``dd_passes`` and ``precond_every`` given per training set."""

    passes: tuple[int, ...] = param((100, 80, 80, 60, 30, 12), check=all_non_negative,
                                    allowed="a list of integers >= 0, one per training set")
    dd_passes: tuple[int, ...] = param((20, 20, 20, 20, 20, 20), check=all_non_negative,
                                       allowed="a list of integers >= 0, one per training set")
    precond_every: tuple[int, ...] = param((15, 15, 15, 15, 15, 15), check=all_non_negative,
                                           allowed="a list of integers >= 0 (0: once), one per training set")

    PER_SET = ("passes", "dd_passes", "precond_every")

    def recipe(self, index: int) -> LBFGSRecipe:
        return _recipe_of(self, LBFGSRecipe, index, self.PER_SET)


@dataclass(frozen=True)
class AdamSchedule(AdamRecipe):
    """:class:`AdamRecipe` with ``param_epochs`` and ``dd_epochs`` given per training set
    (each entry one number per cycle)."""

    param_epochs: tuple[tuple[int, ...], ...] = param(((50, 50), (45, 45), (45, 45), (45, 45), (30, 30), (20, 20)),
                                                      allowed="a list, per training set, of epoch counts >= 0, "
                                                      "one per cycle",
                                                      check=lambda v: all(all_non_negative(e) for e in v))
    dd_epochs: tuple[tuple[int, ...], ...] = param(((600, 400), (600, 300), (500, 300), (400, 200), (200, 100),
                                                    (120, 100)),
                                                   allowed="a list, per training set, of epoch counts >= 0, "
                                                   "one per cycle",
                                                   check=lambda v: all(all_non_negative(e) for e in v))

    PER_SET = ("param_epochs", "dd_epochs")

    def check(self, where: str) -> None:
        for name in self.PER_SET:
            for i, entry in enumerate(getattr(self, name)):
                if len(entry) != self.cycles:
                    raise ConfigError(f"parameter {where}.{name}[{i}] = {list(entry)!r} is invalid; "
                                      f"allowed: one entry per cycle ({self.cycles})")

    def recipe(self, index: int) -> AdamRecipe:
        return _recipe_of(self, AdamRecipe, index, self.PER_SET)


def check_per_set(schedule, n_sets: int, where: str) -> None:
    """Every per-set list of ``schedule`` has one entry per training set (``n_sets``)."""
    for name in schedule.PER_SET:
        values = getattr(schedule, name)
        if len(values) != n_sets:
            raise ConfigError(f"parameter {where}.{name} = {[list(v) if isinstance(v, tuple) else v for v in values]!r}"
                              f" is invalid; allowed: one entry per training set ({n_sets})")
