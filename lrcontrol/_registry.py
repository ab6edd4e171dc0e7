"""The systems the CLI knows: each system's own parameters come from its class (`parameter_specs`: default,
allowed range, one-line doc), the objective's from `Effort.parameter_specs`; an entry adds only the
problem-level parameters (horizon, steps, blocks, the rate cap), how to build the `ControlProblem`, and what the
CLI says about it.

Every system class exported by `lrcontrol.systems` is listed (`lrcontrol list`): an entry below adds what the class
cannot say (problem-level parameters, the rate cap, summaries of closed forms); a class without one gets a default
problem derived from the class alone (`_derived`), or a `note` saying why it cannot be built from the command line.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from . import systems as _systems
from ._errors import InputError, Param
from ._problem import ControlProblem
from .objectives import Effort, FinalLoss
from .systems import (FSL, MLP, FSLLossODE, LastIterateBound, LinearPerceptron, Quadratic, RandomFeatures,
                      RandomFeaturesBatch, RandomFeaturesMomentum, TeacherStudent)

__all__ = ["Param", "SystemEntry", "SYSTEMS", "lookup", "parse_settings", "build_problem"]


@dataclass(frozen=True)
class SystemEntry:
    """One CLI system: the class (its parameters), the problem-level parameters, and how to build the problem.

    `params` = the class's parameters that the command line can set (arrays cannot), then `problem_params`.
    `defaults` overrides a class default for the command line (none does today; kept for a system whose class
    default has no meaning on the command line). `build` is None where the system cannot be built from the command
    line; `note` then says why."""

    name: str
    system: type
    summary: str
    problem_params: tuple[Param, ...] = ()
    build: Callable[[dict], ControlProblem] | None = None
    closed_forms: tuple[str, ...] = ()
    solvers: tuple[str, ...] = ("direct",)
    note: str = ""
    defaults_override: dict = field(default_factory=dict)

    @property
    def system_params(self) -> tuple[Param, ...]:
        specs = [p for p in self.system.parameter_specs() if p.settable]
        return tuple(replace(p, default=self.defaults_override[p.name]) if p.name in self.defaults_override else p
                     for p in specs)

    @property
    def fixed_params(self) -> tuple[Param, ...]:
        """The class's array and object parameters: not settable from the command line."""
        return tuple(p for p in self.system.parameter_specs() if not p.settable)

    @property
    def params(self) -> tuple[Param, ...]:
        return self.system_params + tuple(p for p in self.problem_params
                                          if p.name not in {q.name for q in self.system_params})

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def describe(self) -> dict:
        """What `lrcontrol list --json` prints for this system."""
        objective = {p.name for p in Effort.parameters}

        def spec(p: Param, settable: bool) -> dict:
            level = ("system" if p in self.system_params or p in self.fixed_params else
                     "objective" if p.name in objective else "problem")
            return {"name": p.name, "default": None if p.required else p.default, "allowed": p.allowed(),
                    "doc": p.doc, "required": p.required, "settable": settable, "level": level}

        return {"class": self.system.__name__, "summary": self.summary, "params": self.defaults(),
                "param_specs": [spec(p, self.build is not None) for p in self.params]
                + [spec(p, False) for p in self.fixed_params],
                "closed_forms": self.closed_forms, "solvers": self.solvers,
                "controls": list(self.system.control_names), "buildable": self.build is not None,
                "note": self.note}


# --- problem-level parameters ---------------------------------------------------------------------------------


def _effort(effort_cost: float = 0.5) -> tuple[Param, ...]:
    specs = {p.name: p for p in Effort.parameter_specs()}
    return replace(specs["effort_cost"], default=effort_cost, required=False), specs["discount"]


def _continuous(horizon: float, steps: int, what: str = "grid intervals") -> tuple[Param, ...]:
    return (Param("horizon", "time horizon T > 0", lo=0.0, lo_open=True, default=horizon),
            Param("steps", f"{what}, a whole number >= 1", int, default=steps))


def _discrete(horizon: int, what: str = "SGD steps T >= 1") -> tuple[Param, ...]:
    return (Param("horizon", what, int, default=horizon),
            Param("blocks", "piecewise-constant control blocks, 1 to horizon (default: one per step)", int,
                  optional=True))


def _eta_max(default: float) -> Param:
    return Param("eta_max", "largest learning rate > 0 (the bound on lr)", lo=0.0, lo_open=True, default=default)


def _kwargs(cls: type, p: dict) -> dict:
    """The class's own parameters out of the full parameter dict."""
    names = {q.name for q in cls.parameter_specs() if q.settable}
    return {k: v for k, v in p.items() if k in names}


# --- how each system becomes a ControlProblem -------------------------------------------------------------------


def _effort_problem(cls, make=None) -> Callable[[dict], ControlProblem]:
    """The effort problem ∫[L + βμ²]dt of a continuous system built by `make(p)` (default: the class itself)."""
    def build(p: dict) -> ControlProblem:
        system = make(p) if make is not None else cls(**_kwargs(cls, p))
        objective = Effort(effort_cost=p["effort_cost"], discount=p["discount"])
        return ControlProblem(system, objective, horizon=p["horizon"], steps=p["steps"])
    return build


def _final_loss_problem(cls, bounds=None) -> Callable[[dict], ControlProblem]:
    """The final-loss problem of a discrete system over `horizon` steps (`blocks` where offered), with the
    control bounds `bounds(p)` (default: lr >= 0)."""
    def build(p: dict) -> ControlProblem:
        return ControlProblem(cls(**_kwargs(cls, p)), FinalLoss(), horizon=p["horizon"], blocks=p.get("blocks"),
                              bounds=None if bounds is None else bounds(p))
    return build


def _fsl_ode(p: dict) -> ControlProblem:
    return FSLLossODE(**_kwargs(FSLLossODE, p)).problem(p["horizon"], p["steps"])


def _capped(p: dict) -> dict:
    return {"lr": (0.0, p["eta_max"])}


def _fsl(p: dict) -> ControlProblem:
    return FSL(**_kwargs(FSL, p)).problem(p["horizon"], blocks=p["blocks"])


def _last_iterate(p: dict) -> ControlProblem:
    return LastIterateBound(**_kwargs(LastIterateBound, p)).problem(blocks=p["blocks"])


_ENTRIES = (
    SystemEntry(
        name="perceptron", system=LinearPerceptron,
        summary="linear teacher–student perceptron, gradient flow, effort cost (Njaradi et al. 2026)",
        problem_params=(_effort()[0], *_continuous(2.0, 2000), _effort()[1]),
        build=_effort_problem(LinearPerceptron),
        closed_forms=("open-loop μ*(t) = θ tan(cθ(T−t)) [ρ = 0]", "closed-loop μ = √((L(t) − L(T))/β) [ρ = 0]"),
        solvers=("direct", "shooting", "hjb")),
    SystemEntry(
        name="teacher_student", system=TeacherStudent,
        summary="two-layer soft-committee teacher–student: erf with the exact population loss (Saad & Solla "
                "1995) or erf/tanh on a fixed sample; gradient flow, effort cost",
        problem_params=(_effort()[0], *_continuous(4.0, 800, "grid intervals (RK4 cells)"), _effort()[1]),
        build=_effort_problem(TeacherStudent),
        closed_forms=("closed-loop μ = √((L(t) − L(T))/β) [ρ = 0, any smooth loss]",),
        solvers=("direct", "shooting")),
    SystemEntry(
        name="random_features", system=RandomFeatures,
        summary="power-law random features under online SGD, exact expected-loss recursion, final loss "
                "(Bordelon & Mori 2026)",
        problem_params=(_eta_max(2.0), *_discrete(1000)),
        build=_final_loss_problem(RandomFeatures, _capped),
        closed_forms=("phase: easy a > b, hard a < b; exponents ξ = 1 − b/a, δ = 2b − 1, κ = 1 − 1/(2b) "
                      "(diagnostics, no schedule closed form yet)",)),
    SystemEntry(
        name="fsl", system=FSL,
        summary="functional scaling law of SGD loss curves, discrete final loss in O(N) (Li et al. 2025/2026)",
        problem_params=_discrete(1000, "SGD steps N >= 1"),
        build=_fsl,
        closed_forms=("exact finite-N law min{η_max, c[1 + c(N − z)/(2β)]^(2β−1)}, c by 1-D search [additive, "
                      "one block per step]", "phase: easy s >= 1 − 1/β, hard s < 1 − 1/β")),
    SystemEntry(
        name="fsl_ode", system=FSLLossODE,
        summary="the functional scaling law as a loss ODE in a continuous step index (intrinsic time and the "
                "kernel's 161 exponential modes), final loss; stiff, RK4 substeps sized by eta_max",
        problem_params=(Param("horizon", "SGD steps N > 0 (the ODE's time span)", lo=0.0, lo_open=True,
                              default=1000.0),
                        Param("steps", "control cells on [0, N], a whole number >= 1", int, default=200)),
        build=_fsl_ode,
        closed_forms=("continuous optimum min{η_max, c[1 + c(N − z)/(2β)]^(2β−1)}, c by 1-D search [additive]",
                      "constant rate: E = e(ηN) + σ²η[(1 + ηN)^(1−α) − 1]/(1 − α) [additive]"),
        note="Pontryagin: the forward–backward sweep with stable substeps, from Python "
             "(Shooting(method='sweep', substeps=…)); Newton shooting integrates the mode costates forward, where "
             "they grow as e^(x_j η z): it converges only from Direct's schedule (u0) and only in the easy phase."),
    SystemEntry(
        name="quadratic", system=Quadratic,
        summary="gradient descent on a quadratic with spectrum in [mu, L], worst case over the spectrum (smooth "
                "surrogate of max |Π(1 − α_k λ)|, sharpness 64 on 2001 points by default)",
        problem_params=(Param("horizon", "GD steps T >= 1", int, default=10),),
        build=_final_loss_problem(Quadratic),
        closed_forms=("Chebyshev steps α_k = 1/λ_k, λ_k = (L+μ)/2 + ((L−μ)/2)cos((2k−1)π/(2T)), worst-case factor "
                      "2r^T/(1 + r^(2T)), r = (√κ−1)/(√κ+1) [the minimax; steps as a set]",),
        note="points (explicit spectrum points) is an array: Python API only."),
    SystemEntry(
        name="random_features_momentum", system=RandomFeaturesMomentum,
        summary="power-law random features under EMA-momentum SGD, exact second-moment recursion; controls lr and "
                "momentum ∈ [0, 1], final loss (Bordelon & Mori 2026)",
        problem_params=(_eta_max(2.0), *_discrete(1000)),
        build=_final_loss_problem(RandomFeaturesMomentum, lambda p: {**_capped(p), "momentum": (0.0, 1.0)}),
        closed_forms=("hard-phase loss exponent 1.5(a − 1)/b for joint (η, β) control [read off the paper's "
                      "plots]",)),
    SystemEntry(
        name="random_features_batch", system=RandomFeaturesBatch,
        summary="power-law random features under SGD with a batch-size schedule under the data budget Σm_t = T·m̄ "
                "(controls lr and batch_logit), final loss",
        problem_params=(_eta_max(2.0), *_discrete(1000)),
        build=_final_loss_problem(RandomFeaturesBatch, _capped),
        note="the batch_logit control is free (no bounds); budget = 1 leaves it no effect (m_t = 1)."),
    SystemEntry(
        name="last_iterate", system=LastIterateBound,
        summary="convex last-iterate bound of Defazio et al. (2023) on E[f(x_T) − f*] as a function of the SGD "
                "steps, constant gradient norms from the command line",
        problem_params=(Param("blocks", "piecewise-constant control blocks, 1 to horizon (default: one per step)",
                              int, optional=True),),
        build=_last_iterate,
        closed_forms=("linear decay η_t = (D/(G√T))(1 − t/T), bound DG/√T [constant norms; refined schedule for "
                      "per-step norms]",),
        note="grad_norms (per-step norms) is an array: use `lrcontrol refine --grad-norms FILE` or the Python "
             "API.",
        defaults_override={"horizon": 100}),
    SystemEntry(
        name="mlp", system=MLP,
        summary="one-hidden-layer MLP with smooth units, full-batch gradient flow of the cross-entropy on "
                "scikit-learn's 8×8 digits (MLP.digits), effort cost",
        problem_params=(Param("samples", "digits images used, 1 to 1797 (default: all)", int, optional=True),
                        _effort(0.05)[0], *_continuous(20.0, 200), _effort()[1]),
        build=_effort_problem(MLP, lambda p: MLP.digits(samples=p["samples"], **_kwargs(MLP, p))),
        closed_forms=("closed-loop μ = √((L(t) − L(T))/β) [ρ = 0, any smooth loss]",),
        solvers=("direct", "shooting"),
        note="inputs and labels are scikit-learn's bundled digits (needs `pip install scikit-learn`)."),
)


def _summary(cls, fallback: str) -> str:
    """A class's one-line summary: its docstring's first paragraph on one line (a first line may break mid-sentence)."""
    first = (cls.__doc__ or fallback).strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.splitlines())


_LAW_SCHEDULE = SystemEntry(
    name="law_schedule", system=_systems.LawSchedule, summary=_summary(_systems.LawSchedule, "law_schedule"),
    note="built by `lrcontrol solve LAW --law law.json --set horizon=N --set warmup=W --set peak=P` (a schedule "
         "under a fitted loss-curve law; horizon, warmup and peak are required there, the defaults above are the "
         "Python API's).")


def _derived() -> tuple[SystemEntry, ...]:
    """An entry for every exported system class without one above, derived from the class alone: a discrete
    system gets the final-loss problem over `horizon` steps (default 100, lr >= 0), a continuous one the effort
    problem ∫[L + βμ²]dt on [0, horizon] (default T = 1, 1000 grid intervals); a class with a required array or
    object parameter, and a loss-curve law (solved from its fitted law file), are listed but not built."""
    known = {e.system for e in (*_ENTRIES, _LAW_SCHEDULE)}
    out = [_LAW_SCHEDULE]
    for export in _systems.__all__:
        cls = getattr(_systems, export)
        if export.startswith("Abstract") or cls in known:
            continue
        summary = _summary(cls, export)
        needs = [p.name for p in cls.parameter_specs() if p.required and not p.settable]
        if issubclass(cls, _systems.AbstractLossCurveLaw):
            out.append(SystemEntry(name=cls.name, system=cls, summary=summary, note=(
                f"a loss-curve law, fitted to curves and solved from its law file: `lrcontrol fit --law {cls.name} "
                f"--curve FILE`, then `lrcontrol solve {cls.name} --law law.json --set horizon=N --set warmup=W "
                f"--set peak=P`; a given schedule's predicted loss: `lrcontrol predict --law law.json --curve "
                f"schedule.csv`.")))
        elif needs:
            out.append(SystemEntry(name=cls.name, system=cls, summary=summary, note=(
                f"{', '.join(needs)} (an array or object, required) cannot be set from the command line: use the "
                f"Python API.")))
        elif issubclass(cls, _systems.AbstractDiscreteSystem):
            out.append(SystemEntry(name=cls.name, system=cls, summary=summary, problem_params=_discrete(100),
                                   build=_final_loss_problem(cls), note="final loss, lr >= 0 (the default problem)."))
        else:
            out.append(SystemEntry(name=cls.name, system=cls, summary=summary,
                                   problem_params=(_effort()[0], *_continuous(1.0, 1000), _effort()[1]),
                                   build=_effort_problem(cls), note="effort cost (the default problem)."))
    return tuple(out)


SYSTEMS: dict[str, SystemEntry] = {e.name: e for e in (*_ENTRIES, *_derived())}


def lookup(name: str) -> SystemEntry:
    if name not in SYSTEMS:
        raise InputError(f"unknown system '{name}'; available: {', '.join(SYSTEMS)}.")
    return SYSTEMS[name]


def parse_settings(entry: SystemEntry, settings: list[str]) -> dict:
    """Turn ['name=value', ...] into the full parameter dict (defaults filled in), checking each one."""
    params = entry.defaults()
    spec = {p.name: p for p in entry.params}
    for item in settings:
        if "=" not in item:
            raise InputError(f"--set takes NAME=VALUE, got '{item}'.")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key not in spec:
            fixed = {p.name for p in entry.fixed_params}
            if key in fixed:
                raise InputError(f"{key} is an array and cannot be set from the command line for system "
                                 f"'{entry.name}'; {entry.note}")
            raise InputError(f"unknown parameter '{key}' for system '{entry.name}'; allowed: "
                             f"{', '.join(spec)}.")
        params[key] = spec[key].parse(raw)
    return params


def build_problem(name: str, settings: list[str]) -> tuple[ControlProblem, dict]:
    entry = lookup(name)
    if entry.build is None:
        raise InputError(f"system '{name}' cannot be built from the command line: {entry.note}")
    params = parse_settings(entry, settings)
    return entry.build(params), params
