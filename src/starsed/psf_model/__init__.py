"""A differentiable WaveDiff-style PSF model in TensorFlow, apart from its training code.

- :mod:`.config`: :class:`PSFModelConfig`, the architecture (params ``psf_models.model``);
- :mod:`.model`: :class:`PSFModel`, arrays, prediction, the training objective, save/load;
- :mod:`.data`: :class:`TrainingData`, stars with known SEDs and their noise weights;
- :mod:`.recipes`: one run's :class:`LBFGSRecipe` / :class:`AdamRecipe` and their per-set schedules;
- :mod:`.training`: :func:`fit` (every recipe), :func:`reset_even_part`;
- :mod:`.lbfgs`, :mod:`.preconditioner`, :mod:`.adam`: the training methods;
- :mod:`.evaluate`: errors on noiseless test stars.

Importing this package does not import TensorFlow; building a :class:`PSFModel` does.
"""
from .config import PSFModelConfig  # noqa: F401
from .data import TrainingData  # noqa: F401
from .evaluate import TEST_KEYS, evaluate  # noqa: F401
from .model import PSFModel  # noqa: F401
from .recipes import AdamRecipe, AdamSchedule, LBFGSRecipe, LBFGSSchedule  # noqa: F401
from .training import FitReport, fit, reset_even_part  # noqa: F401
