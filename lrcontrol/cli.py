"""The `lrcontrol` command: list, solve, compare, evaluate, refine.

Exit codes (every command): 0 done; 2 bad input — one sentence on stderr naming the parameter and its allowed
range, nothing written; 3 the solve did not converge or the evaluated run diverged — the files are written with
`converged: false` and the reason; 130 interrupted (Ctrl-C) — nothing written. No input ends in a traceback: an
unexpected failure is one line on stderr and exit 1 (a bug to report).

Output folders are checked before any work and written all at once; a command removes the files an earlier
lrcontrol command left in the same folder that it does not write itself (`lrcontrol._output`). By default each
command writes to `out/COMMAND-SYSTEM/` (e.g. `out/solve-perceptron/`), so commands never mix their files.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_CONVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = ("exit codes: 0 done; 2 bad input (one sentence, nothing written); 3 not converged (a solve or a fit) "
              "or diverged (files written with converged: false and the reason; a loss-curve law's schedule solve "
              "that stalls at round-off is 0, with a note); 130 interrupted (nothing written)")


def _setup():
    import jax

    jax.config.update("jax_enable_x64", True)  # closed-form comparisons need float64
    # XLA's persistent compilation cache: a repeated command with the same problem structure loads its compiled
    # solve from disk instead of compiling it again (e.g. 3.7 s -> 0.8 s for the random-features benchmark case).
    # Every solve is stored, with or without the progress line (no host callbacks in compiled code). So is every
    # small program (a closed-form check's array operations, each compiled on its own, a few kB each stored): with
    # only the programs that compiled in over 0.5 s kept, a repeated command compiled all of those again.
    cache = os.environ.get("LRCONTROL_CACHE", str(Path.home() / ".cache" / "lrcontrol" / "xla"))
    if cache.strip().lower() not in ("", "0", "off", "none"):
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # Figures are drawn headless; matplotlib itself is imported only when a command draws one.
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def _write_all(args, out: Path, files: dict[str, bytes | str]) -> list[Path]:
    from lrcontrol._output import write_outputs

    return write_outputs(args, out, files)


def _progress(args) -> bool | None:
    """`lrc.solve`'s progress for a command: none with --quiet, else its default (the iteration line on a
    terminal, the elapsed time in a log)."""
    return False if args.quiet else None


def _out_folder(args, command: str, default: bool = True) -> Path | None:
    """The checked output folder: --out, or out/COMMAND-SYSTEM when the command writes by default."""
    from lrcontrol._output import check_folder

    if args.out is None and not default:
        return None
    name = command + (f"-{args.system}" if getattr(args, "system", None) else "")
    return check_folder(args.out if args.out is not None else Path("out") / name)


def _no_duplicates(settings: list[str]) -> None:
    from lrcontrol import InputError

    seen = set()
    for item in settings:
        key = item.split("=", 1)[0].strip()
        if key in seen:
            raise InputError(f"parameter '{key}' is set twice (--set {key}=...); give each parameter once.")
        seen.add(key)


def _build(args, settings=None):
    """(problem, params) from the command's system and --set list: duplicates refused, memory checked."""
    from lrcontrol import _cli_integrator, _registry
    from lrcontrol._memory import check_fits

    settings = list(args.set) if settings is None else settings
    _no_duplicates(settings)
    settings, integrator_settings = _cli_integrator.split(settings)
    problem, params = _registry.build_problem(args.system, settings)
    problem = _cli_integrator.apply(problem, getattr(args, "integrator", None), integrator_settings)
    check_fits(problem)
    return problem, params


class _Phases:
    """Wall-clock seconds of a command's phases (import, setup, solve, closed-form and grid checks, figure, data)."""

    def __init__(self, started: float):
        import time

        self._time = time.perf_counter
        self._last = self._time()
        self._laps = {"import": self._last - started}

    def lap(self, name: str) -> None:
        now = self._time()
        self._laps[name] = self._laps.get(name, 0.0) + now - self._last
        self._last = now

    def phases(self, **solve_parts) -> dict:
        return {**self._laps, **{f"solve_{k}": v for k, v in solve_parts.items()}}


def _finite_result(solution) -> str | None:
    """Why a solution is unusable (non-finite objective, controls or loss curve), or None if it is finite."""
    import numpy as np

    if not np.isfinite(float(solution.objective)):
        return f"the objective is not finite ({float(solution.objective)})"
    controls = np.asarray(solution.controls)
    if not np.all(np.isfinite(controls)):
        return f"{int(np.sum(~np.isfinite(controls)))} of the controls are not finite"
    loss = np.asarray(solution.loss)[1:]  # node 0 may be undefined (a loss-curve law before any update)
    if not np.all(np.isfinite(loss)):
        first = int(np.argmax(~np.isfinite(loss))) + 1
        return f"the loss is not finite from grid node {first} on"
    return None


def _analytic(problem, solution):
    """(analytic dict, comparison dict, reference schedule, reference label) or Nones where nothing applies.

    The open-loop closed form where the system has one (`system.optimal`); otherwise, for the undiscounted effort
    objective, the closed-loop law μ = √((L(t) − L(T))/β) evaluated on the solution's own loss curve (any smooth
    system). Both come with the two effort identities: the closed-loop law and μ̇ = −‖∇L‖²/(2β). A system whose
    objective is a surrogate adds what the solved controls achieve (`system.objective_report`).
    """
    import numpy as np

    import lrcontrol as lrc
    from lrcontrol.analysis import closed_loop_deviation, gradient_norm_identity

    obj = problem.objective
    effort = isinstance(obj, lrc.objectives.Effort) and float(obj.discount) == 0.0 and problem.steps >= 2
    identities = {}
    if effort:
        law = closed_loop_deviation(solution)
        identities = {"closed_loop_max_rel_deviation": law["max_rel_deviation"],
                      "gradient_norm_identity_max_rel_deviation":
                          gradient_norm_identity(solution)["max_rel_deviation"]}
    extra = problem.system.objective_report(problem, solution.controls)
    try:
        ref, j_star = problem.system.optimal(problem)
        j_star = float(j_star)
        if not (math.isfinite(j_star) and np.all(np.isfinite(np.asarray(ref.values)))):
            raise lrc.NoClosedForm("the closed form is not finite for these parameters")
    except lrc.NoClosedForm:
        if not effort:
            return None, (extra or None), None, None
        ref = lrc.Schedule(law["law"], problem.grid(), "lr")
        analytic = {"closed_loop_law": {"lr": law["law"]}}
        return analytic, {**identities, **extra}, ref, "closed-loop law"
    comparison = {**lrc.compare(solution, ref, analytic_objective=j_star).to_dict(), **identities, **extra}
    analytic = {"controls": {"lr": ref.values}, "objective": j_star, "kind": problem.system.closed_form_label}
    return analytic, comparison, ref, problem.system.closed_form_label


# A continuous problem whose numeric optimum is further than this (relative to its peak) from the closed form, or
# from the solve on a grid half as fine, is flagged: the grid is too coarse for the horizon.
GRID_WARNING = 1e-3


def _grid_check(problem, solution, comparison, progress: bool | None) -> dict | None:
    """How far the solution is from the continuous optimum: the closed form's error where there is one, else the
    difference to the same solve at half the steps (an estimate of the discretisation error; None if it does not
    apply: discrete systems, fewer than 20 steps)."""
    import numpy as np

    import lrcontrol as lrc

    if problem.is_discrete:
        return None
    if comparison and "max_rel_error" in comparison:
        return {"method": "closed form", "max_rel_error": comparison["max_rel_error"]}
    if problem.steps < 20 or problem.blocks != problem.steps or problem.steps % 2:
        return None
    coarse_problem = lrc.ControlProblem(problem.system, problem.objective, problem.horizon, problem.steps // 2,
                                        bounds=problem.bounds, integrator=problem.integrator)
    coarse = lrc.solve(coarse_problem, progress=progress)
    fine = np.asarray(solution.controls)[:, 0].reshape(-1, 2).mean(axis=1)
    diff = float(np.max(np.abs(fine - np.asarray(coarse.controls)[:, 0])) / np.max(np.abs(fine)))
    return {"method": f"solve at half the steps ({problem.steps // 2})", "max_rel_error": diff}


def _summary(solution, comparison, grid) -> str:
    d = solution.diagnostics
    p = solution.problem
    lines = [f"{p.system.name} · {p.objective.kind} · {solution.solver} · {p.steps} steps, {p.blocks} blocks",
             f"{d.message} ({int(d.iterations)} iterations, compile {d.compile_time:.2f} s, "
             f"run {d.run_time:.3f} s)",
             f"{d.residual_name} {float(d.residual):.1e}"
             + "".join(f", {k} {float(v):.1e}" for k, v in d.extras.items() if k == "hamiltonian_drift"),
             f"objective {float(solution.objective):.10g}"
             + (f"  (reward {float(solution.reward):.10g})" if p.objective.maximised_by_paper else "")]
    comparison = comparison or {}
    if "max_rel_error" in comparison:
        lines.append(f"{p.system.closed_form_label}: max error {comparison['max_rel_error']:.2e} of peak, "
                     f"objective gap {comparison['objective_gap']:.1e} vs the sampled closed form, "
                     f"J* = {comparison['analytic_objective']:.10g}")
    if "closed_loop_max_rel_deviation" in comparison:
        lines.append(f"closed-loop law √((L − L(T))/β): deviation {comparison['closed_loop_max_rel_deviation']:.1e}"
                     f" of peak; μ̇ = −‖∇L‖²/2β: deviation "
                     f"{comparison['gradient_norm_identity_max_rel_deviation']:.1e}")
    if "worst_case_factor" in comparison:
        lines.append(f"the objective is a smooth surrogate; exact worst-case factor of these steps "
                     f"{comparison['worst_case_factor']:.6g} vs the Chebyshev minimax "
                     f"{comparison['chebyshev_factor']:.6g} (ratio {comparison['factor_ratio']:.4f}; best constant "
                     f"step {comparison['constant_step_factor']:.6g})")
    if grid and grid["method"] != "closed form":
        lines.append(f"grid check ({grid['method']}): schedules differ by {grid['max_rel_error']:.1e} of peak")
    return "\n".join(lines)


def _grid_warning(grid) -> str | None:
    if grid is None or not grid["max_rel_error"] > GRID_WARNING:
        return None
    return (f"the grid looks too coarse for the horizon: the schedule is {grid['max_rel_error']:.1e} of its peak "
            f"from the {'closed form' if grid['method'] == 'closed form' else grid['method']}; raise steps.")


def cmd_list(args) -> int:
    from lrcontrol import _cli_integrator, _registry

    if args.json:
        print(json.dumps({name: e.describe() for name, e in _registry.SYSTEMS.items()}, indent=1))
        return 0
    print("systems (lrcontrol solve SYSTEM --set NAME=VALUE):")
    for name, e in _registry.SYSTEMS.items():
        print(f"  {name} ({e.system.__name__}): {e.summary}")
        for p in e.params:
            print(f"      {p.name} = {p.default!r:<8} {p.doc} [{p.allowed()}]")
        if _cli_integrator.default_name(e.system):
            print(f"      integrator: {_cli_integrator.default_name(e.system)} (default; --integrator)")
        for cf in e.closed_forms:
            print(f"      closed form: {cf}")
        if e.note:
            print(f"      note: {e.note}")
    print("integrators (solve --integrator NAME, continuous systems): exact (where a system has an exact flow), "
          f"rk4, diffrax's {', '.join(_cli_integrator.names(_cli_integrator.AbstractContinuousSystem)[1:])}; "
          "--set rtol=…/atol=… adaptive, --set substeps=… fixed")
    print("objectives: effort (∫e^{-ρt}[L + βμ²]dt), final_loss")
    print("solvers:")
    for name, doc in SOLVERS.items():
        print(f"  {name}: {doc}")
    return 0


SOLVERS = {"direct": "projected L-BFGS through the unrolled dynamics (any system)",
           "shooting": "Pontryagin: multiple shooting with Newton on the costates (continuous-time systems)",
           "hjb": "dynamic programming on a state grid (states of at most 3 numbers, one control)"}


def _solver(name: str):
    import lrcontrol as lrc

    make = {"direct": lrc.solvers.Direct, "shooting": lrc.solvers.Shooting, "hjb": lrc.solvers.HJB}
    if name not in make:
        raise lrc.InputError(f"solver must be one of: {', '.join(make)}; got '{name}'.")
    return make[name]()


def _title(system: str, params: dict, width: int = 110) -> str:
    """A figure title that fits: the system, then as many parameters as the width allows, wrapped."""
    import textwrap

    text = f"{system}: " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    return "\n".join(textwrap.wrap(text, width=width)[:3])


def cmd_solve(args) -> int:
    import lrcontrol as lrc
    from lrcontrol._output import finite_json
    from lrcontrol._output_worker import start_outputs
    from lrcontrol.plotting import solution_spec

    from lrcontrol import _cli_laws

    clock = _Phases(args.started)
    if args.system in _cli_laws.LAW_NAMES:  # a loss-curve law: lrcontrol solve LAW --law FILE
        return _cli_laws.cmd_solve_law(args, clock)
    out = _out_folder(args, "solve")
    problem, params = _build(args)
    if args.law is not None:  # after _build, which names an unknown system
        raise lrc.InputError(f"--law is for a loss-curve law's schedule (lrcontrol solve LAW --law FILE, LAW one of "
                             f"{', '.join(_cli_laws.LAW_NAMES)}); {args.system} takes no law file.")
    solver = _solver(args.solver)
    solver.check(problem)
    clock.lap("setup")
    solution = lrc.solve(problem, solver, progress=_progress(args))
    clock.lap("solve")
    broken = _finite_result(solution)
    converged = solution.diagnostics.converged and broken is None
    message = solution.diagnostics.message if broken is None else f"failed: {broken}"
    analytic = comparison = ref = ref_label = grid = None
    if broken is None:
        analytic, comparison, ref, ref_label = _analytic(problem, solution)
        clock.lap("closed_form_check")
        if converged and args.grid_check:
            grid = _grid_check(problem, solution, comparison, progress=_progress(args))
            clock.lap("grid_check")
    spec = solution_spec(solution, ref, reference_label=ref_label or "closed form", title=_title(args.system, params))
    # the output worker draws the figure and formats the CSV while the JSON is formatted below
    outputs = start_outputs(args, spec, solution.schedule)
    clock.lap("figure")
    data = solution.to_dict(analytic=analytic, comparison=comparison)
    data["diagnostics"].update(converged=bool(converged), message=message)
    if grid is not None:
        data["grid_check"] = grid
    clock.lap("data")  # the phases end here: the files' formatting cannot time itself into the JSON
    data["diagnostics"]["phases_s"] = clock.phases(compile=solution.diagnostics.compile_time,
                                                   run=solution.diagnostics.run_time)
    json_text = finite_json(data, separators=(",", ":"))
    png, csv_text = outputs()
    written = _write_all(args, out, {"solution.json": json_text, "schedule.csv": csv_text, "schedule.png": png})
    if not args.quiet:
        print(_summary(solution, comparison, grid))
        print("wrote " + ", ".join(str(p) for p in written))
    warning = _grid_warning(grid)
    if warning:
        print(f"lrcontrol: warning: {warning}", file=sys.stderr)
    if not converged:
        print(f"lrcontrol: warning: the solve did not converge ({message}); the files record converged = false.",
              file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def cmd_compare(args) -> int:
    import jax.numpy as jnp

    import lrcontrol as lrc
    from lrcontrol import schedules
    from lrcontrol._output import finite_json
    from lrcontrol._output_worker import start_outputs
    from lrcontrol.plotting import solution_spec

    out = _out_folder(args, "compare", default=False)
    problem, params = _build(args)
    rows = []
    solution = lrc.solve(problem, lrc.solvers.Direct(), progress=_progress(args))
    rows.append(("direct (numeric optimum)", float(solution.objective), solution.diagnostics.message))
    curves = {}
    for name in ("shooting", "hjb"):
        other = _solver(name)
        try:
            other.check(problem)
        except lrc.InputError as why:
            rows.append((name, math.nan, f"does not apply: {why}"))
            continue
        sol = lrc.solve(problem, other, progress=_progress(args))
        diff = float(jnp.max(jnp.abs(sol.controls - solution.controls)) / jnp.max(jnp.abs(solution.controls)))
        rows.append((name, float(sol.objective), f"{sol.diagnostics.message.split(':')[0]}; max schedule "
                     f"difference to direct {diff:.1e} of peak"))
        curves[name] = sol
    broken = _finite_result(solution)
    analytic, comparison, ref, ref_label = _analytic(problem, solution) if broken is None else (None,) * 4
    if comparison and "max_rel_error" in comparison:
        rows.append(("closed form (sampled on the grid)", comparison["reference_objective"],
                     f"max error vs numeric {comparison['max_rel_error']:.1e} of peak"))
        rows.append(("closed form J*", comparison["analytic_objective"], problem.system.closed_form_label))
    for family in ("constant", "linear", "cosine", "wsd"):
        sched, cost = schedules.tune_peak(problem, family)
        rows.append((f"{family} (peak tuned)", float(cost), f"peak {float(sched.values.max()):.4g}"))
        curves[f"{family} (tuned)"] = lrc.evaluate(problem, sched)
    best = float(solution.objective)
    lines = [f"{'method':36s} {'objective':>16s} {'gap to numeric':>15s}  note"]
    for name, obj, note in rows:
        lines.append(f"{name:36s} {obj:16.10g} {obj - best:15.3e}  {note}" if math.isfinite(obj) else
                     f"{name:36s} {'-':>16s} {'-':>15s}  {note}")
    table = "\n".join(lines)
    print(table)
    if out is not None:
        data = {"system": args.system, "params": params,
                "rows": [{"method": n, "objective": o, "gap": o - best, "note": note} for n, o, note in rows]}
        spec = solution_spec(solution, ref, reference_label=ref_label or "closed form", extra=curves,
                             title=_title(args.system, params) + "\noptimum vs tuned baselines")
        written = _write_all(args, out, {"compare.json": finite_json(data, indent=1), "compare.txt": table + "\n",
                                         "compare.png": start_outputs(args, spec)()[0]})
        print("wrote " + ", ".join(str(p) for p in written))
    if broken is not None:
        print(f"lrcontrol: warning: the numeric optimum failed: {broken}.", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


# An evaluated run whose loss grows beyond this factor of its initial loss has diverged.
DIVERGENCE_FACTOR = 1e8


def _schedule_for(problem, path: str):
    """The schedule in `path` as per-block controls of `problem`, refusing what it cannot mean: a length other than
    the problem's steps (or blocks), a grid other than the problem's, values outside the problem's bounds."""
    import numpy as np

    import lrcontrol as lrc

    schedule = lrc.Schedule.load(path)
    n = schedule.steps
    if n not in (problem.steps, problem.blocks):
        counts = f"{problem.steps} steps" + (f" or {problem.blocks} blocks" if problem.blocks != problem.steps else "")
        raise lrc.InputError(f"--schedule '{path}' has {n} values but the problem has {counts}; give one value per "
                             f"step (set steps or horizon to match the schedule).")
    has_grid = lrc.Schedule.has_time_grid(path)
    if has_grid and n == problem.steps:
        grid, expected = np.asarray(schedule.grid), np.asarray(problem.grid())
        if not np.allclose(grid, expected, rtol=1e-9, atol=1e-12 * float(expected[-1])):
            raise lrc.InputError(f"--schedule '{path}' is on a grid from {grid[0]:g} to {grid[-1]:g}, but the "
                                 f"problem's grid runs from 0 to horizon = {expected[-1]:g}; set horizon to match "
                                 f"or give a schedule made for this problem.")
    values = np.asarray(schedule.values)
    lo, hi = problem.lower[0], problem.upper[0]
    outside = np.flatnonzero((values < lo) | (values > hi))
    if outside.size:
        k = int(outside[0])
        raise lrc.InputError(f"--schedule '{path}' value {k} is {values[k]:g}, outside the allowed range of "
                             f"{problem.control_names[0]} [{lo:g}, {hi:g}].")
    return values  # per block, or per step (the caller then drops the blocks)


def cmd_evaluate(args) -> int:
    import numpy as np

    import lrcontrol as lrc
    from lrcontrol import _registry
    from lrcontrol._output import finite_json
    from lrcontrol._output_worker import start_outputs
    from lrcontrol.plotting import solution_spec

    out = _out_folder(args, "evaluate", default=False)
    entry = _registry.lookup(args.system)
    schedule = lrc.Schedule.load(args.schedule)
    settings = list(args.set)
    if not any(s.split("=", 1)[0].strip() == "steps" for s in settings) and any(p.name == "steps"
                                                                               for p in entry.params):
        settings.append(f"steps={schedule.steps}")
    problem, params = _build(args, settings)
    u = _schedule_for(problem, args.schedule)
    if u.shape[0] != problem.blocks:
        problem = problem.per_step()
    sol = lrc.evaluate(problem, u)
    loss = np.asarray(sol.loss)
    start = loss[0] if np.isfinite(loss[0]) and loss[0] > 0 else np.nanmin(np.abs(loss[1:]))
    broken = _finite_result(sol)
    if broken is None and np.max(loss[1:]) > DIVERGENCE_FACTOR * start:
        broken = f"the loss diverges (it reaches {np.max(loss[1:]):.3g} from {start:.3g})"
    print(f"{args.system}: objective {float(sol.objective):.10g}, final loss {float(sol.loss[-1]):.6g} "
          f"({schedule.steps} schedule values on {problem.steps} steps)")
    if out is not None:
        data = sol.to_dict()
        data["diagnostics"].update(converged=broken is None,
                                   message="evaluated" if broken is None else f"failed: {broken}")
        spec = solution_spec(sol, title=_title(args.system, params) + "\nevaluated schedule")
        written = _write_all(args, out, {"solution.json": finite_json(data, separators=(",", ":")),
                                         "schedule.png": start_outputs(args, spec)()[0]})
        print("wrote " + ", ".join(str(p) for p in written))
    if broken is not None:
        print(f"lrcontrol: warning: this schedule's run failed: {broken}.", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


def _read_norms(path: str):
    """Gradient norms from a file: JSON (a list of numbers, or an object with a "grad_norms" list) or text/CSV with
    one number per line (a single column; an optional header line, blank lines and '#' comments are skipped)."""
    import numpy as np

    from lrcontrol import InputError

    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"grad-norms file '{path}' cannot be read ({getattr(err, 'strerror', None) or err}).") \
            from None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
            data = data["grad_norms"] if isinstance(data, dict) else data
            if not isinstance(data, list):
                raise TypeError
            return np.asarray(data, dtype=float)  # nested lists stay 2-D: refine rejects them, naming the shape
        except (ValueError, KeyError, TypeError):
            raise InputError(f"grad-norms file '{path}' must hold a JSON list of numbers or an object with a "
                             f"\"grad_norms\" list of numbers.") from None
    rows = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())]
    rows = [(i, line) for i, line in rows if line and not line.startswith("#")]
    values = []
    for j, (i, line) in enumerate(rows):
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 1 or len(line.split()) != 1:
            raise InputError(f"grad-norms file '{path}' must have one number per line (a single column); line {i} "
                             f"has {max(len(fields), len(line.split()))} fields.")
        try:
            values.append(float(fields[0]))
        except ValueError:
            if j == 0:
                continue  # a header line
            raise InputError(f"grad-norms file '{path}' line {i} is not a number: {line[:40]!r}.") from None
    return np.asarray(values, dtype=float)


def cmd_refine(args) -> int:
    import warnings

    import numpy as np

    from lrcontrol import InputError
    from lrcontrol.plotting import figure_png, plot_schedules
    from lrcontrol.schedules import RefineWarning, refine, smoothed_norms

    out = _out_folder(args, "refine")
    norms = _read_norms(args.grad_norms)
    smooth, floored = smoothed_norms(norms, window=args.window, norm_floor=args.norm_floor)
    with np.errstate(all="ignore"):  # refine weighs steps by ‖g‖⁻² (sgd) or ‖g‖₁⁻¹ (adam), then sums the weights
        weights = np.asarray(smooth, float) ** (-2.0 if args.optimizer == "sgd" else -1.0)
        usable = np.all(np.isfinite(weights)) and np.isfinite(np.sum(weights)) and np.all(weights > 0)
    if not usable:
        raise InputError(f"grad-norms file '{args.grad_norms}' makes a non-finite schedule (its norms span "
                         f"{np.min(norms):.3g} to {np.max(norms):.3g}, so their inverse squares overflow float64); "
                         f"rescale the norms.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RefineWarning)
        schedule = refine(norms, window=args.window, optimizer=args.optimizer, peak=args.peak,
                          norm_floor=args.norm_floor)
    values = np.asarray(schedule.values)
    top = int(np.argmax(values))
    half = int(np.argmax(values[top:] <= 0.5 * values[top])) + top  # first step at or below half the peak after it
    import matplotlib.pyplot as plt

    fig, (ax_g, ax_s) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    steps = np.arange(norms.size)
    ax_g.plot(steps, norms, lw=0.8, alpha=0.6, label="gradient norms")
    ax_g.plot(steps, smooth, lw=2, label="median-smoothed" + (" (floored)" if floored.any() else ""))
    ax_g.set(xlabel="step", ylabel="norm", title=f"gradient norms ({args.optimizer})", yscale="log")
    ax_g.legend()
    plot_schedules(schedule.grid, {"refined": values,
                                   "linear decay": args.peak * (norms.size - 1 - steps) / (norms.size - 1)},
                   ax=ax_s, xlabel="step", title="refined schedule")
    meta = {"source": "lrcontrol refine", "grad_norms_file": args.grad_norms, "window": args.window,
            "optimizer": args.optimizer, "peak": args.peak, "norm_floor": args.norm_floor,
            "floored_steps": int(floored.sum())}
    data = json.loads(schedule.to_json())
    data["refine"] = meta
    written = _write_all(args, out, {"schedule.csv": schedule.to_csv(), "schedule.json": json.dumps(data),
                                     "schedule.png": figure_png(fig)})  # figure_png closes fig
    for w in caught:
        print(f"lrcontrol: note: {w.message}", file=sys.stderr)
    if not args.quiet:
        print(f"refine · {args.optimizer} · {norms.size} steps · median window {args.window:g} of the run · "
              f"peak {args.peak:g}")
        print(f"peak at step {top} ({'warm-up over the first ' + str(top) + ' steps' if top else 'no warm-up'}); "
              f"half the peak by step {half}; {int(floored.sum())} norms floored by the collapse guard")
        print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse, with the project's exit code for bad input (2) and its one-sentence style."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"lrcontrol: error: {message} (see {self.prog} --help).\n")

    def format_help(self):
        if callable(self.epilog):  # the systems list loads every system (and JAX): only when help is shown
            self.epilog = self.epilog()
        return super().format_help()


def _systems_epilog() -> str:
    from lrcontrol import _registry

    lines = ["systems (defaults: lrcontrol list):"]
    for name, e in _registry.SYSTEMS.items():
        lines.append(f"  {name:16s} solvers: {', '.join(e.solvers)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from lrcontrol._version import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="lrcontrol", formatter_class=fmt, epilog=EXIT_CODES,
                     description="Optimal learning-rate schedules by optimal control: solve, compare with closed "
                                 "forms and baselines, evaluate, refine.")
    parser.add_argument("--version", action="version", version=f"lrcontrol {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("list", help="systems, parameters, closed forms and solvers", formatter_class=fmt,
                       epilog=EXIT_CODES)
    p.add_argument("--json", action="store_true", help="machine-readable: one entry per system")
    p.set_defaults(fn=cmd_list)
    where = {"solve": "writes solution.json, schedule.csv and schedule.png to --out (default out/solve-SYSTEM/)",
             "compare": "prints the table; with --out also compare.json, compare.txt and compare.png",
             "evaluate": "prints the objective; with --out also solution.json and schedule.png"}
    for name, fn, help_ in (("solve", cmd_solve, "solve a system's optimal schedule"),
                            ("compare", cmd_compare, "numeric optimum vs closed form vs tuned baselines"),
                            ("evaluate", cmd_evaluate, "loss and objective of a given schedule")):
        p = sub.add_parser(name, help=help_, description=f"{help_[0].upper()}{help_[1:]}; {where[name]}.",
                           formatter_class=fmt, epilog=lambda: f"{_systems_epilog()}\n\n{EXIT_CODES}")
        p.add_argument("system", help="one of the systems below")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a system or problem parameter (repeatable, each at most once; lrcontrol list shows "
                            "them with their defaults and ranges)")
        p.add_argument("--quiet", action="store_true", help="no progress line or summary")
        p.add_argument("--out", default=None, metavar="DIR", help="output folder (checked before any work)")
        if name == "solve":
            p.add_argument("--solver", default="direct", help="direct (default), shooting or hjb")
            p.add_argument("--integrator", default=None, metavar="NAME",
                           help="exact, rk4 or a diffrax solver (tsit5, bosh3, kvaerno5, …); --set rtol=… atol=… "
                                "for adaptive steps, substeps=… for fixed (lrcontrol list: each system's default)")
            p.add_argument("--no-grid-check", dest="grid_check", action="store_false",
                           help="skip the half-steps solve that estimates the grid error of a continuous system "
                                "without a closed form")
        if name == "evaluate":
            p.add_argument("--schedule", required=True, metavar="FILE",
                           help="schedule CSV/JSON written by lrcontrol (or one column of values), one value per "
                                "step; steps default to its length")
        p.set_defaults(fn=fn)
    p = sub.add_parser("refine", help="refined schedule from a previous run's gradient norms (Defazio et al.)",
                       description="Refined schedule from a previous run's gradient norms (Defazio et al.); writes "
                                   "schedule.csv, schedule.json and schedule.png to --out (default out/refine/).",
                       formatter_class=fmt, epilog=EXIT_CODES)
    p.add_argument("--grad-norms", required=True, metavar="FILE",
                   help="one norm per step: text/CSV with one number per line (optional header), or JSON list")
    p.add_argument("--window", type=float, default=0.1, help="median-filter width, a fraction of the run in (0, 1)")
    p.add_argument("--optimizer", default="sgd", help="sgd (weights ‖g‖⁻²) or adam (ℓ1 norms, weights ‖g‖₁⁻¹)")
    p.add_argument("--peak", type=float, default=1.0, help="the largest learning rate (> 0)")
    p.add_argument("--norm-floor", type=float, default=0.1,
                   help="collapse guard: floor smoothed norms at this fraction of their median, in [0, 1)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default out/refine/)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_refine)
    from lrcontrol import _cli_laws

    _cli_laws.add_parsers(sub, EXIT_CODES)  # fit, predict, solve LAW --law FILE
    return parser


def main(argv=None, output_worker=None) -> int:
    """Run one command; returns its exit code (module docstring). Never raises for any input.

    `output_worker` (an `_output_worker.OutputWorker`, started by `console`) draws the command's figure (and
    formats the solve command's CSV) in a second process; without one, they are made here."""
    import warnings

    from lrcontrol import _interrupt

    _interrupt.install()

    warnings.filterwarnings("ignore", category=RuntimeWarning)  # overflow etc.: results say it, as non-finite
    import time

    started = time.perf_counter()
    try:
        args = build_parser().parse_args(argv)  # --help and --version end here, before JAX is imported
        _setup()
        _interrupt.check()
        args.started = started
        args.output_worker = output_worker
    except KeyboardInterrupt:
        print("lrcontrol: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    from lrcontrol import InputError

    try:
        code = args.fn(args)
        _interrupt.check()
        return code
    except InputError as err:
        print(f"lrcontrol: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lrcontrol: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `lrcontrol list --json | head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug: one line, not a traceback
        if "KeyboardInterrupt" in repr(err):  # Ctrl-C inside a callback that wrapped it in another error
            print("lrcontrol: interrupted; nothing was written.", file=sys.stderr)
            return EXIT_INTERRUPTED
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        print(f"lrcontrol: internal error ({type(err).__name__}: {first}); please report it with the command "
              f"that caused it.", file=sys.stderr)
        return EXIT_FAILED


def console() -> None:
    """The `lrcontrol` command: `main` (with an output worker for the commands that draw a solution), then exit
    with its code.

    The command leaves with its output flushed but without the interpreter's shutdown (`os._exit`): its files are
    written by then, and the shutdown only tears down JAX's backend (~0.3 s of a 5 s command). After an interrupt
    it is also the safe way out: a compiled solve may still be running on XLA's threads, and an interpreter shutting
    down under them crashed (a segmentation fault, found by the Ctrl-C test, when the progress line was a callback
    from compiled code)."""
    from lrcontrol import _output_worker

    worker = _output_worker.start_for(sys.argv[1:])
    code = main(output_worker=worker)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (BrokenPipeError) or a closed stream
            pass
    if worker is not None:
        worker.close()
    os._exit(code)


if __name__ == "__main__":
    console()
