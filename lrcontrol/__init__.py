"""lrcontrol: optimal learning-rate schedules by optimal control, in JAX.

The library never changes global JAX settings; enable float64 yourself
(`jax.config.update("jax_enable_x64", True)`) for comparisons against closed forms.

Names are imported on first use (PEP 562 `__getattr__`): `import lrcontrol` loads neither JAX nor the solvers,
so the command's `--help` and `--version` answer at once; `lrc.solve`, `lrc.systems` etc. load what they need.
"""

import importlib

from ._version import __version__ as __version__

# name -> (module, attribute); attribute None: the module itself.
_LAZY = {
    "analysis": (".analysis", None), "controllers": (".controllers", None), "episodic": (".episodic", None),
    "objectives": (".objectives", None), "plotting": (".plotting", None), "schedules": (".schedules", None),
    "solvers": (".solvers", None), "systems": (".systems", None),
    "LossCurve": ("._curves", "LossCurve"), "InputError": ("._errors", "InputError"),
    "NoClosedForm": ("._errors", "NoClosedForm"), "FitReport": ("._fit", "FitReport"), "fit": ("._fit", "fit"),
    "Diffrax": ("._diffrax", "Diffrax"), "RK4": ("._integrate", "RK4"), "ExactFlow": ("._integrate", "ExactFlow"), "Minimax": ("._minimax", "Minimax"),
    "minimax": ("._minimax", "minimax"), "ControlProblem": ("._problem", "ControlProblem"),
    "MinKernelHessian": ("._hessian", "MinKernelHessian"),
    "HessianProducts": ("._hessian_products", "HessianProducts"), "Schedule": ("._schedule", "Schedule"),
    "Diagnostics": ("._solution", "Diagnostics"),
    "Solution": ("._solution", "Solution"), "FeedbackPolicy": ("._policy", "FeedbackPolicy"),
    "evaluate": ("._solve", "evaluate"), "simulate": ("._solve", "simulate"), "solve": ("._solve", "solve"),
    "Sweep": ("._sweep", "Sweep"), "sweep": ("._sweep", "sweep"),
    "Comparison": (".analysis", "Comparison"), "compare": (".analysis", "compare"),
}

__all__ = ["LossCurve", "FitReport", "fit", "ControlProblem", "Comparison", "Diagnostics", "Diffrax", "ExactFlow",
           "FeedbackPolicy", "HessianProducts", "InputError", "MinKernelHessian", "Minimax", "NoClosedForm", "RK4",
           "Schedule", "Solution",
           "compare", "evaluate", "minimax", "objectives", "schedules", "simulate", "solve", "Sweep",
           "sweep", "solvers", "systems", "analysis", "controllers", "episodic", "plotting"]


def __getattr__(name):
    if name not in _LAZY:
        if name.startswith("_") and not name.startswith("__"):  # a private module, as `lrc._solve` was eagerly
            try:
                return importlib.import_module("." + name, __name__)
            except ModuleNotFoundError as e:
                if e.name != f"{__name__}.{name}":
                    raise
        raise AttributeError(f"module 'lrcontrol' has no attribute '{name}'")
    module, attr = _LAZY[name]
    value = importlib.import_module(module, __name__)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
