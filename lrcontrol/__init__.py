"""lrcontrol: optimal learning-rate schedules by optimal control, in JAX.

The library never changes global JAX settings; enable float64 yourself
(`jax.config.update("jax_enable_x64", True)`) for comparisons against closed forms.
"""

from ._version import __version__ as __version__

from . import analysis as analysis
from . import controllers as controllers
from . import episodic as episodic
from . import objectives as objectives
from . import plotting as plotting
from . import schedules as schedules
from . import solvers as solvers
from . import systems as systems
from ._curves import LossCurve as LossCurve
from ._errors import InputError as InputError
from ._errors import NoClosedForm as NoClosedForm
from ._fit import FitReport as FitReport
from ._fit import fit as fit
from ._diffrax import Diffrax as Diffrax
from ._integrate import RK4 as RK4
from ._integrate import ExactFlow as ExactFlow
from ._minimax import Minimax as Minimax
from ._minimax import minimax as minimax
from ._problem import ControlProblem as ControlProblem
from ._schedule import Schedule as Schedule
from ._solution import Diagnostics as Diagnostics
from ._solution import Solution as Solution
from ._policy import FeedbackPolicy as FeedbackPolicy
from ._solve import evaluate as evaluate
from ._solve import simulate as simulate
from ._solve import solve as solve
from .analysis import Comparison as Comparison
from .analysis import compare as compare

__all__ = ["LossCurve", "FitReport", "fit", "ControlProblem", "Comparison", "Diagnostics", "Diffrax", "ExactFlow", "FeedbackPolicy", "InputError", "Minimax",
           "NoClosedForm", "RK4", "Schedule", "Solution", "compare", "evaluate", "minimax", "objectives", "schedules",
           "simulate", "solve", "solvers", "systems", "analysis", "controllers", "episodic", "plotting"]
