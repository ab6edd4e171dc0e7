"""The `lrcontrol` command: list, solve, compare, evaluate.

Bad input exits with status 2 and one sentence on stderr, before anything is written. Output files are
rendered in memory first and then moved into place, so a failed command leaves no partial files.
"""

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

EXIT_BAD_INPUT, EXIT_NOT_CONVERGED = 2, 3


def _setup():
    import jax

    jax.config.update("jax_enable_x64", True)  # closed-form comparisons need float64
    # XLA's persistent compilation cache: a repeated command with the same problem structure loads its compiled
    # solve from disk instead of compiling it again (e.g. 3.7 s -> 0.8 s for the random-features benchmark case).
    # Solves that show the progress line are not stored (XLA cannot store host callbacks); --quiet ones are.
    cache = os.environ.get("LRCONTROL_CACHE", str(Path.home() / ".cache" / "lrcontrol" / "xla"))
    if cache.strip().lower() not in ("", "0", "off", "none"):
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    import matplotlib

    matplotlib.use("Agg")


def _write_all(out: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write every file or none: stage them in a temporary folder beside `out`, then move them in."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".lrcontrol-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        for name in files:
            os.replace(Path(tmp) / name, out / name)
    return [out / name for name in files]


def _finite(x):
    return x if math.isfinite(x) else None


def _analytic(problem, solution):
    """(analytic dict, comparison dict, reference schedule, reference label) or Nones where nothing applies.

    The open-loop closed form where the system has one; otherwise, for the undiscounted effort objective, the
    closed-loop law μ = √((L(t) − L(T))/β) evaluated on the solution's own loss curve (any smooth system). Both
    come with the two effort identities: the closed-loop law and μ̇ = −‖∇L‖²/(2β).
    """
    import lrcontrol as lrc
    from lrcontrol.analysis import closed_loop_deviation, gradient_norm_identity

    obj = problem.objective
    effort = isinstance(obj, lrc.objectives.Effort) and float(obj.discount) == 0.0
    identities = {}
    if effort:
        law = closed_loop_deviation(solution)
        identities = {"closed_loop_max_rel_deviation": law["max_rel_deviation"],
                      "gradient_norm_identity_max_rel_deviation":
                          gradient_norm_identity(solution)["max_rel_deviation"]}
    try:
        ref = problem.system.optimal_schedule(problem)
        j_star = float(problem.system.optimal_objective(problem))
    except (AttributeError, lrc.NoClosedForm):
        if not effort:
            return None, None, None, None
        ref = lrc.Schedule(law["law"], problem.grid(), "lr")
        analytic = {"closed_loop_law": {"lr": [float(v) for v in law["law"]]}}
        return analytic, identities, ref, "closed-loop law"
    comparison = {**lrc.compare(solution, ref, analytic_objective=j_star).to_dict(), **identities}
    analytic = {"controls": {"lr": [float(v) for v in ref.values]}, "objective": j_star}
    return analytic, comparison, ref, "closed form"


def _summary(solution, comparison) -> str:
    d = solution.diagnostics
    p = solution.problem
    lines = [f"{p.system.name} · {p.objective.kind} · {solution.solver} · {p.steps} steps, {p.blocks} blocks",
             f"{d.message} ({int(d.iterations)} iterations, compile {d.compile_time:.2f} s, "
             f"run {d.run_time:.3f} s)",
             f"{d.residual_name} {float(d.residual):.1e}"
             + "".join(f", {k} {float(v):.1e}" for k, v in d.extras.items() if k == "hamiltonian_drift"),
             f"objective {float(solution.objective):.10g}"
             + (f"  (reward {float(solution.reward):.10g})" if p.objective.maximised_by_paper else "")]
    if comparison and "max_rel_error" in comparison:
        lines.append(f"closed form: max error {comparison['max_rel_error']:.2e} of peak, "
                     f"objective gap {comparison['objective_gap']:.1e} vs the sampled closed form, "
                     f"J* = {comparison['analytic_objective']:.10g}")
    if comparison and "closed_loop_max_rel_deviation" in comparison:
        lines.append(f"closed-loop law √((L − L(T))/β): deviation {comparison['closed_loop_max_rel_deviation']:.1e}"
                     f" of peak; μ̇ = −‖∇L‖²/2β: deviation "
                     f"{comparison['gradient_norm_identity_max_rel_deviation']:.1e}")
    return "\n".join(lines)


def cmd_list(args) -> int:
    from lrcontrol import _registry

    if args.json:
        print(json.dumps({name: {"summary": e.summary, "params": e.defaults(), "closed_forms": e.closed_forms,
                                 "solvers": e.solvers} for name, e in _registry.SYSTEMS.items()}, indent=1))
        return 0
    print("systems (lrcontrol solve SYSTEM --set NAME=VALUE):")
    for name, e in _registry.SYSTEMS.items():
        print(f"  {name}: {e.summary}")
        for p in e.params:
            print(f"      {p.name} = {p.default!r:<8} {p.doc}")
        for cf in e.closed_forms:
            print(f"      closed form: {cf}")
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


def cmd_solve(args) -> int:
    import lrcontrol as lrc
    from lrcontrol import _registry
    from lrcontrol.plotting import figure_png, plot_solution

    from lrcontrol import _cli_laws

    if args.system in _cli_laws.LAW_NAMES:  # a loss-curve law: lrcontrol solve LAW --law FILE
        return _cli_laws.cmd_solve_law(args)
    problem, params = _registry.build_problem(args.system, args.set)
    solver = _solver(args.solver)
    out = Path(args.out)
    solution = lrc.solve(problem, solver, progress=not args.quiet)
    analytic, comparison, ref, ref_label = _analytic(problem, solution)
    fig = plot_solution(solution, ref, reference_label=ref_label or "closed form",
                        title=f"{args.system}: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    written = _write_all(out, {"solution.json": solution.to_json(analytic=analytic, comparison=comparison),
                               "schedule.csv": solution.schedule.to_csv(),
                               "schedule.png": figure_png(fig)})
    if not args.quiet:
        print(_summary(solution, comparison))
        print("wrote " + ", ".join(str(p) for p in written))
    if not solution.diagnostics.converged:
        print(f"lrcontrol: warning: the solve did not converge ({solution.diagnostics.message}); the files "
              f"record converged = false.", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return 0


def cmd_compare(args) -> int:
    import jax.numpy as jnp

    import lrcontrol as lrc
    from lrcontrol import _registry, schedules
    from lrcontrol.plotting import figure_png, plot_solution

    problem, params = _registry.build_problem(args.system, args.set)
    rows = []
    solution = lrc.solve(problem, lrc.solvers.Direct(), progress=not args.quiet)
    rows.append(("direct (numeric optimum)", float(solution.objective), solution.diagnostics.message))
    curves = {}
    for name in ("shooting", "hjb"):
        other = _solver(name)
        try:
            other.check(problem)
        except lrc.InputError as why:
            rows.append((name, math.nan, f"does not apply: {why}"))
            continue
        sol = lrc.solve(problem, other, progress=not args.quiet)
        diff = float(jnp.max(jnp.abs(sol.controls - solution.controls)) / jnp.max(jnp.abs(solution.controls)))
        rows.append((name, float(sol.objective), f"{sol.diagnostics.message.split(':')[0]}; max schedule "
                     f"difference to direct {diff:.1e} of peak"))
        curves[name] = sol
    analytic, comparison, ref, ref_label = _analytic(problem, solution)
    if comparison and "max_rel_error" in comparison:
        rows.append(("closed form (sampled on the grid)", comparison["reference_objective"],
                     f"max error vs numeric {comparison['max_rel_error']:.1e} of peak"))
        rows.append(("closed form J* (continuous)", comparison["analytic_objective"], "exact"))
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
    if args.out:
        data = {"system": args.system, "params": params,
                "rows": [{"method": n, "objective": _finite(o), "gap": _finite(o - best), "note": note}
                         for n, o, note in rows]}
        fig = plot_solution(solution, ref, reference_label=ref_label or "closed form", extra=curves,
                            title=f"{args.system}: optimum vs tuned baselines")
        written = _write_all(Path(args.out), {"compare.json": json.dumps(data, indent=1), "compare.txt": table + "\n",
                                              "compare.png": figure_png(fig)})
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_evaluate(args) -> int:
    import lrcontrol as lrc
    from lrcontrol import _registry
    from lrcontrol.plotting import figure_png, plot_solution

    entry = _registry.lookup(args.system)
    schedule = lrc.Schedule.load(args.schedule)
    settings = list(args.set)
    if not any(s.startswith("steps=") for s in settings) and any(p.name == "steps" for p in entry.params):
        settings.append(f"steps={schedule.steps}")
    problem, params = _registry.build_problem(args.system, settings)
    sol = lrc.evaluate(problem, schedule)
    print(f"{args.system}: objective {float(sol.objective):.10g}, final loss {float(sol.loss[-1]):.6g} "
          f"({schedule.steps} schedule values on {problem.steps} steps)")
    if args.out:
        fig = plot_solution(sol, title=f"{args.system}: evaluated schedule")
        written = _write_all(Path(args.out), {"solution.json": sol.to_json(), "schedule.png": figure_png(fig)})
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


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

    from lrcontrol.plotting import figure_png, plot_schedules
    from lrcontrol.schedules import RefineWarning, refine, smoothed_norms

    norms = _read_norms(args.grad_norms)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RefineWarning)
        schedule = refine(norms, window=args.window, optimizer=args.optimizer, peak=args.peak,
                          norm_floor=args.norm_floor)
    smooth, floored = smoothed_norms(norms, window=args.window, norm_floor=args.norm_floor)
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
    written = _write_all(Path(args.out), {"schedule.csv": schedule.to_csv(), "schedule.json": json.dumps(data),
                                          "schedule.png": figure_png(fig)})  # figure_png closes fig
    for w in caught:
        print(f"lrcontrol: note: {w.message}", file=sys.stderr)
    if not args.quiet:
        print(f"refine · {args.optimizer} · {norms.size} steps · median window {args.window:g} of the run · "
              f"peak {args.peak:g}")
        print(f"peak at step {top} ({'warm-up over the first ' + str(top) + ' steps' if top else 'no warm-up'}); "
              f"half the peak by step {half}; {int(floored.sum())} norms floored by the collapse guard")
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrcontrol", description="Optimal learning-rate schedules by "
                                     "optimal control: solve, compare with closed forms and baselines, evaluate.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="systems, parameters, closed forms and solvers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)
    for name, fn, help_ in (("solve", cmd_solve, "solve a system's optimal schedule"),
                            ("compare", cmd_compare, "numeric optimum vs closed form vs tuned baselines"),
                            ("evaluate", cmd_evaluate, "loss and objective of a given schedule")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("system")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
        p.add_argument("--quiet", action="store_true")
        if name == "solve":
            p.add_argument("--solver", default="direct")
            p.add_argument("--out", default="out")
        else:
            p.add_argument("--out", default=None)
        if name == "evaluate":
            p.add_argument("--schedule", required=True, metavar="FILE.csv")
        p.set_defaults(fn=fn)
    p = sub.add_parser("refine", help="refined schedule from a previous run's gradient norms (Defazio et al.)")
    p.add_argument("--grad-norms", required=True, metavar="FILE",
                   help="one norm per step: text/CSV with one number per line (optional header), or JSON list")
    p.add_argument("--window", type=float, default=0.1, help="median-filter width, a fraction of the run in (0, 1)")
    p.add_argument("--optimizer", default="sgd", help="sgd (weights ‖g‖⁻²) or adam (ℓ1 norms, weights ‖g‖₁⁻¹)")
    p.add_argument("--peak", type=float, default=1.0, help="the largest learning rate (> 0)")
    p.add_argument("--norm-floor", type=float, default=0.1,
                   help="collapse guard: floor smoothed norms at this fraction of their median, in [0, 1)")
    p.add_argument("--out", default="out")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_refine)
    from lrcontrol import _cli_laws

    _cli_laws.add_parsers(sub)  # fit, predict, solve LAW --law FILE
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _setup()
    from lrcontrol import InputError

    try:
        return args.fn(args)
    except InputError as err:
        print(f"lrcontrol: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
