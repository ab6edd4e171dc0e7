"""`--integrator NAME` and the integrator's `--set` settings (rtol, atol, substeps, max_steps) for the CLI.

Names: `exact` (a system's own exact flow, where it has one), `rk4` (the hand-written classical Runge–Kutta), or a
diffrax solver's lower-case class name (`lrc.Diffrax.named`: tsit5, bosh3, kvaerno5, …). Setting rtol or atol makes
a diffrax integrator adaptive.
"""

import equinox as eqx

from ._diffrax import Diffrax, solver_classes
from ._errors import InputError, check_int, check_real
from ._integrate import RK4, ExactFlow
from .systems._base import AbstractContinuousSystem

SETTINGS = ("rtol", "atol", "substeps", "max_steps")


def _exact(system_cls: type) -> bool:
    # A system has an exact flow where it overrides `flow` (the base's returns None).
    return system_cls.flow is not AbstractContinuousSystem.flow


def names(system_cls: type) -> tuple[str, ...]:
    """The integrators a system accepts ('exact' first where it has an exact flow); none for a discrete system."""
    if not issubclass(system_cls, AbstractContinuousSystem):
        return ()
    return (("exact",) if _exact(system_cls) else ()) + ("rk4", *solver_classes())


def default_name(system_cls: type) -> str | None:
    """The name of the integrator `ControlProblem` uses by default (None for a discrete system)."""
    if not issubclass(system_cls, AbstractContinuousSystem):
        return None
    return "exact" if _exact(system_cls) else "rk4"


def split(settings: list[str]) -> tuple[list[str], dict[str, str]]:
    """(the system's --set items, the integrator's {name: raw value})."""
    rest, own = [], {}
    for item in settings:
        key = item.split("=", 1)[0].strip()
        if key in SETTINGS and "=" in item:
            own[key] = item.split("=", 1)[1].strip()
        else:
            rest.append(item)
    return rest, own


def apply(problem, name: str | None, raw: dict[str, str]):
    """`problem` with the named integrator (None: the default one) built from the raw settings."""
    if name is None and not raw:
        return problem
    system_cls = type(problem.system)
    allowed = names(system_cls)
    if not allowed:
        raise InputError(f"--integrator and --set {'/'.join(SETTINGS)} apply to continuous-time systems; "
                         f"'{problem.system.name}' is discrete.")
    name = default_name(system_cls) if name is None else name
    if name not in allowed:
        raise InputError(f"integrator must be one of {', '.join(allowed)} for '{problem.system.name}', "
                         f"got '{name}'.")
    values = {}
    for key, text in raw.items():
        if key in ("substeps", "max_steps"):
            values[key] = check_int(key, text, lo=1)
        else:
            values[key] = _number(key, text)
            check_real(key, values[key], lo=0.0, lo_open=True)
    if name == "exact":
        if values:
            raise InputError(f"the exact flow takes no settings; got {', '.join(values)}.")
        integrator = ExactFlow()
    elif name == "rk4":
        if set(values) - {"substeps"}:
            raise InputError(f"rk4 takes only substeps; got {', '.join(sorted(set(values) - {'substeps'}))}.")
        integrator = RK4(**values)
    else:
        integrator = Diffrax.named(name, **values)
    return eqx.tree_at(lambda p: p.integrator, problem, integrator)


def _number(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{key} must be a number > 0, got '{text}'.") from None
