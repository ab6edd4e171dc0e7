"""The systems the CLI knows, with their public parameters, defaults and allowed ranges."""

from collections.abc import Callable
from dataclasses import dataclass

from ._errors import InputError, check_int, check_real
from ._problem import ControlProblem
from .objectives import Effort, FinalLoss
from .systems import FSL, LinearPerceptron, Quadratic, RandomFeatures, TeacherStudent


@dataclass(frozen=True)
class Param:
    """One --set parameter. `kind` float (range lo, lo_open), int (whole number >= lo, default lo 1), bool
    (true/false) or str (one of `choices`). A default of None means "derived from the others" (stated in doc);
    --set NAME=none restores it."""

    name: str
    default: float | int | bool | str | None
    doc: str
    kind: type = float
    lo: float | None = None  # allowed range, checked here so the message can state it
    lo_open: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemEntry:
    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[[dict], ControlProblem]
    closed_forms: tuple[str, ...]
    solvers: tuple[str, ...] = ("direct",)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


def _perceptron(p: dict) -> ControlProblem:
    system = LinearPerceptron(input_variance=p["input_variance"], distance=p["distance"])
    objective = Effort(effort_cost=p["effort_cost"], discount=p["discount"])
    return ControlProblem(system, objective, horizon=p["horizon"], steps=p["steps"])


def _teacher_student(p: dict) -> ControlProblem:
    system = TeacherStudent(inputs=p["inputs"], hidden=p["hidden"], teacher_hidden=p["teacher_hidden"],
                            init_scale=p["init_scale"], readout_init=p["readout_init"], seed=p["seed"],
                            activation=p["activation"], samples=p["samples"], train_readout=p["train_readout"])
    objective = Effort(effort_cost=p["effort_cost"], discount=p["discount"])
    return ControlProblem(system, objective, horizon=p["horizon"], steps=p["steps"])


def _random_features(p: dict) -> ControlProblem:
    system = RandomFeatures(a=p["a"], b=p["b"], modes=p["modes"], noise=p["noise"], batch=p["batch"],
                            normalise=p["normalise"])
    return ControlProblem(system, FinalLoss(), horizon=p["horizon"], blocks=p["blocks"],
                          bounds={"lr": (0.0, p["eta_max"])})


def _fsl(p: dict) -> ControlProblem:
    system = FSL(source=p["source"], capacity=p["capacity"], noise=p["noise"], eta_max=p["eta_max"],
                 variant=p["variant"])
    return system.problem(p["horizon"], blocks=p["blocks"])


def _quadratic(p: dict) -> ControlProblem:
    return ControlProblem(Quadratic(mu=p["mu"], L=p["L"]), FinalLoss(), horizon=p["horizon"])


SYSTEMS: dict[str, SystemEntry] = {
    "perceptron": SystemEntry(
        name="perceptron",
        summary="linear teacher–student perceptron, gradient flow, effort cost (Njaradi et al. 2026)",
        params=(Param("effort_cost", 0.5, "effort cost β > 0 in ∫[L + βμ²]dt", lo=0.0, lo_open=True),
                Param("input_variance", 1.0, "input variance σ² > 0 (c = σ²)", lo=0.0, lo_open=True),
                Param("distance", 1.0, "initial distance d = ‖w₀ − w*‖ > 0 (task difficulty)", lo=0.0,
                      lo_open=True),
                Param("horizon", 2.0, "time horizon T > 0", lo=0.0, lo_open=True),
                Param("steps", 2000, "grid intervals, a whole number >= 1", int),
                Param("discount", 0.0, "discount rate ρ >= 0", lo=0.0)),
        build=_perceptron,
        closed_forms=("open-loop μ*(t) = θ tan(cθ(T−t)) [ρ = 0]", "closed-loop μ = √((L(t) − L(T))/β) [ρ = 0]"),
        solvers=("direct", "shooting", "hjb"),
    ),
    "teacher_student": SystemEntry(
        name="teacher_student",
        summary="two-layer soft-committee teacher–student: erf with the exact population loss (Saad & Solla "
                "1995) or erf/tanh on a fixed sample; gradient flow, effort cost",
        params=(Param("effort_cost", 0.5, "effort cost β > 0 in ∫[L + βμ²]dt", lo=0.0, lo_open=True),
                Param("horizon", 4.0, "time horizon T > 0", lo=0.0, lo_open=True),
                Param("steps", 800, "grid intervals (RK4 cells), a whole number >= 1", int),
                Param("discount", 0.0, "discount rate ρ >= 0", lo=0.0),
                Param("inputs", 10, "input dimension N >= 1", int),
                Param("hidden", 2, "student hidden units >= 1", int),
                Param("teacher_hidden", None, "teacher hidden units >= 1 (default: = hidden)", int),
                Param("init_scale", 0.1, "std > 0 of the student's initial first-layer weights", lo=0.0,
                      lo_open=True),
                Param("readout_init", 1.0, "initial value >= 0 of every readout weight v", lo=0.0),
                Param("seed", 0, "random seed >= 0 for teacher, initial student weights and sample", int, lo=0),
                Param("activation", "erf", "hidden-unit activation: erf or tanh", str, choices=("erf", "tanh")),
                Param("samples", None, "fixed training inputs >= 1 (default: exact population loss for erf, "
                      "1000 for tanh)", int),
                Param("train_readout", True, "whether the second layer v is trained (true/false)", bool)),
        build=_teacher_student,
        closed_forms=("closed-loop μ = √((L(t) − L(T))/β) [ρ = 0, any smooth loss]",),
        solvers=("direct", "shooting"),
    ),
    "random_features": SystemEntry(
        name="random_features",
        summary="power-law random features under online SGD, exact expected-loss recursion, final loss "
                "(Bordelon & Mori 2026)",
        params=(Param("a", 2.0, "target exponent a > 1 (λ_k c_0,k = k^-a)", lo=1.0, lo_open=True),
                Param("b", 2.0, "spectral exponent b > 1 (λ_k = k^-b)", lo=1.0, lo_open=True),
                Param("modes", 500, "modes kept N >= 1", int),
                Param("noise", 0.5, "label-noise std σ >= 0", lo=0.0),
                Param("batch", 1.0, "batch size m >= 1", lo=1.0),
                Param("eta_max", 2.0, "largest learning rate > 0", lo=0.0, lo_open=True),
                Param("horizon", 1000, "SGD steps T >= 1", int),
                Param("blocks", None, "piecewise-constant control blocks, 1 to horizon (default: one per step)",
                      int),
                Param("normalise", False, "scale the initial errors so that L_0 = 1 (true/false)", bool)),
        build=_random_features,
        closed_forms=("phase: easy a > b, hard a < b; exponents ξ = 1 − b/a, δ = 2b − 1, κ = 1 − 1/(2b) "
                      "(diagnostics, no schedule closed form yet)",),
    ),
    "fsl": SystemEntry(
        name="fsl",
        summary="functional scaling law of SGD loss curves, discrete final loss in O(N) (Li et al. 2025/2026)",
        params=(Param("source", 1.0, "source exponent s > 0 (e(t) = (1+t)^-s)", lo=0.0, lo_open=True),
                Param("capacity", 2.0, "capacity exponent β > 1 (K(u) = (1+u)^-(2-1/β))", lo=1.0, lo_open=True),
                Param("noise", 1.0, "noise level σ²/B >= 0", lo=0.0),
                Param("eta_max", 1.0, "largest learning rate > 0", lo=0.0, lo_open=True),
                Param("horizon", 1000, "SGD steps N >= 1", int),
                Param("blocks", None, "piecewise-constant control blocks, 1 to horizon (default: one per step)",
                      int),
                Param("variant", "additive", "noise term: additive or multiplicative", str,
                      choices=("additive", "multiplicative"))),
        build=_fsl,
        closed_forms=("exact finite-N law min{η_max, c[1 + c(N − z)/(2β)]^(2β−1)}, c by 1-D search [additive, "
                      "one block per step]", "phase: easy s >= 1 − 1/β, hard s < 1 − 1/β"),
    ),
    "quadratic": SystemEntry(
        name="quadratic",
        summary="gradient descent on a quadratic with spectrum in [mu, L], worst case over the spectrum (smooth "
                "surrogate of max |Π(1 − α_k λ)|, sharpness 64 on 2001 points)",
        params=(Param("mu", 1.0, "smallest eigenvalue μ > 0 (must be < L)", lo=0.0, lo_open=True),
                Param("L", 50.0, "largest eigenvalue L > 0 (must be > mu)", lo=0.0, lo_open=True),
                Param("horizon", 10, "GD steps T >= 1", int)),
        build=_quadratic,
        closed_forms=("Chebyshev steps α_k = 1/λ_k, λ_k = (L+μ)/2 + ((L−μ)/2)cos((2k−1)π/(2T)), worst-case factor "
                      "2r^T/(1 + r^(2T)), r = (√κ−1)/(√κ+1) [the minimax; steps as a set]",),
    ),
}


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
            raise InputError(f"unknown parameter '{key}' for system '{entry.name}'; allowed: "
                             f"{', '.join(spec)}.")
        kind = spec[key].kind
        if spec[key].default is None and raw.lower() == "none":  # "derived from the others", as by default
            params[key] = None
        elif kind is int:
            params[key] = check_int(key, raw, lo=1 if spec[key].lo is None else int(spec[key].lo))
        elif kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise InputError(f"{key} must be true or false, got '{raw}'.")
            params[key] = raw.lower() in ("true", "1")
        elif kind is str:
            if raw not in spec[key].choices:
                allowed = " or ".join(f"'{c}'" for c in spec[key].choices)
                raise InputError(f"{key} must be {allowed}, got '{raw}'.")
            params[key] = raw
        else:
            try:
                value = float(raw)
            except ValueError:
                raise InputError(f"{key} must be a number, got '{raw}'.") from None
            check_real(key, value, lo=spec[key].lo, lo_open=spec[key].lo_open)
            params[key] = value
    return params


def build_problem(name: str, settings: list[str]) -> tuple[ControlProblem, dict]:
    entry = lookup(name)
    params = parse_settings(entry, settings)
    return entry.build(params), params
