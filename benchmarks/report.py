"""Regenerate the README's two tables from the committed result files.

- agreement: problems/results/*/agreement.md (written by the problems/ scripts); a result with a block of its
  own in the README (`<!-- NAME:start -->` … `<!-- NAME:end -->`, NAME its results folder) goes there instead;
- benchmarks: benchmarks/results/*.json (written by the benchmarks/ scripts).

    python benchmarks/report.py        # rewrites the blocks between the README's table markers
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def agreement_table(own_blocks: frozenset = frozenset()) -> str:
    """Every problems/results/*/agreement.md, except those in `own_blocks` (shown in a README block of their own,
    beside the text that explains them)."""
    parts = []
    for path in sorted((ROOT / "problems" / "results").glob("*/agreement.md")):
        if path.parent.name in own_blocks:
            continue
        name = path.parent.name
        while not (ROOT / "problems" / f"{name}.py").exists() and "_" in name:  # fsl_real_sgd_cap0.5 → fsl_real_sgd
            name = name.rsplit("_", 1)[0]
        parts.append(f"**{path.parent.name}** (`problems/{name}.py`)\n\n{path.read_text().strip()}")
    return "\n\n".join(parts) or "_no results yet_"


def _table(caption: str, header: list[str], rows: list[str], data: dict) -> str:
    """A captioned markdown table; the caption ends with the machine and date the results were taken on."""
    m = data["machine"]
    machine = (f" Machine: {m['cpu']}, {m['cores']} cores, jax {m['jax']} ({m['jax_backend']}), scipy {m['scipy']}; "
               f"{data['date']}.")
    return "\n".join([caption + machine, "", "| " + " | ".join(header) + " |",
                      "|" + "---|" * len(header)] + rows)


def _results(name: str) -> dict | None:
    path = ROOT / "benchmarks" / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _direct_table(data: dict) -> str:
    rows = []
    for r in data["cases"]:
        o, p, q = r["lrcontrol"], r["scipy_numpy"], r["scipy_jax"]
        own = f"{o['run_with_own_start_search_s'] * 1e3:.1f} ms" if "run_with_own_start_search_s" in o else "—"
        rows.append(f"| {r['steps']} | {r['K']:.1f} | {o['compile_s']:.2f} s | {o['run_s'] * 1e3:.1f} ms | {own} | "
                    f"{o['iterations']} | {o['max_rel_error']:.1e} | {p['run_s'] * 1e3:.1f} ms | {p['iterations']} | "
                    f"{p['max_rel_error']:.1e} | {q['run_s'] * 1e3:.1f} ms | "
                    f"{r['speedup_vs_scipy_numpy']:.1f}× / {r['speedup_vs_scipy_jax']:.1f}× |")
    return _table("Perceptron effort problem, direct solve vs scipy L-BFGS-B on the same discretised problem, same "
                  "start (the best constant rate, given to all three) and stopping target; the lrcontrol run with its "
                  "own start search beside it (`benchmarks/perceptron_direct.py`).",
                  ["steps", "K", "lrcontrol compile", "lrcontrol run", "with its start search", "iters",
                   "max err/peak", "scipy+numpy run",
                   "iters", "max err/peak", "scipy+jax run", "speed-up vs scipy+numpy / +jax"], rows, data)


def _solvers_table(data: dict) -> str:
    rows = []
    for r in data["rows"]:
        extra = (f"{r['points']} states" if "points" in r else f"tol {r['tol']:.0e}, {r['nodes']} nodes"
                 if "tol" in r else "")
        # A case whose shapes were already compiled in the same run reuses the executable.
        compile_s = "—" if "compile_s" not in r else (
            f"{r['compile_s']:.1f} s" if r["compile_s"] >= 0.01 else "(cached)")
        rows.append(f"| {r['case']} | {r['solver']} | {r['steps']} | {extra} | {r['converged']} | "
                    f"{r.get('iterations', '—')} | {r['max_rel_error']:.1e} | {compile_s} | {r['run_s'] * 1e3:.1f} ms |")
    return _table("Accuracy against time, three kinds of solver on the perceptron, with scipy's `solve_bvp` "
                  "(collocation on the same canonical equations) as the indirect method's peer "
                  "(`benchmarks/perceptron_solvers.py`). Error: max |u − closed form| / peak at the cell midpoints.",
                  ["case", "solver", "steps", "grid / tol", "converged", "iters", "max err/peak", "compile", "run"],
                  rows, data)


def _teacher_student_table(data: dict) -> str:
    rows = []
    for r in data["rows"]:
        cmp = (f"{r['max_rel_diff_to_direct']:.1e} | {r['objective_rel_diff']:.1e} | {r['hamiltonian_drift']:.1e}"
               if r["solver"] != "direct" else "— | — | —")
        rows.append(f"| {r['case']} | {r['state_size']} | {r['solver']} | {r['converged']} | {r['iterations']} | "
                    f"{cmp} | {r['compile_s']:.1f} s | {r['run_s']:.2f} s |")
    return _table("Erf teacher–student network (no closed form), T = 8, 400 steps: Pontryagin solvers against "
                  "direct (`benchmarks/teacher_student_solvers.py`).",
                  ["case", "state size", "solver", "converged", "iters", "max \\|Δu\\|/peak vs direct", "ΔJ/J",
                   "H drift", "compile", "run"], rows, data)


def _effort_digits_table(data: dict) -> str:
    floor = data["training"][0]["per_step_ms"]
    rows = [f"| training step: {r['optimiser']} | {r['compile_s']:.2f} s | {r['per_step_ms']:.3f} ms "
            f"({r['per_step_ms'] / floor:.2f}× the floor) |" for r in data["training"]]
    rows += [f"| one episodic forecast, {r['episodes']} stored curves of {r['nodes']} nodes | {r['compile_s']:.2f} s "
             f"| {r['run_us']:.0f} µs |" for r in data["forecast"]]
    rows += [f"| direct solve, 500 digits, 8 units, 100 steps: {r['solver']} | {r['compile_s']:.1f} s | "
             f"{r['run_s']:.2f} s, {r['iterations']} iterations, J = {r['objective']:.10f} |" for r in data["solve"]]
    return _table("Effort framework on the digits MLP (1797 images, 16 tanh units, 200 full-batch steps in one jitted "
                  "scan; `benchmarks/effort_digits.py`): the online controller's cost per step against plain "
                  "optax.sgd, the episodic forecast, and the direct solve against scipy L-BFGS-B on the same "
                  "discretised problem (same start, bound and projected-gradient target).",
                  ["what", "compile", "run"], rows, data)


def _random_features_table(data: dict) -> str:
    c, cmd, ev, long = data["case"], data["command"], data["evaluation"], data["long_case"]
    rows = [f"| {r['method']} | {r['objective']:.12f} | {r['relative_gap_to_best']:.1e} | {r['iterations']} | "
            f"{r['setup_s']:.2f} s | {r['run_s']:.3f} s |" for r in data["rows"]]
    rows.append(f"| whole `lrcontrol solve random_features ... --quiet` command (start, import, compile, solve, write "
                f"JSON + CSV + figure): empty / filled compilation cache | | | | | {cmd['cold_s']:.2f} s / "
                f"{cmd['warm_s']:.2f} s |")
    rows.append(f"| one objective (forward pass) / objective + gradient / Hessian diagonal | | | | | "
                f"{ev['forward_s'] * 1e3:.2f} / {ev['value_and_grad_s'] * 1e3:.2f} / {ev['curvature_s'] * 1e3:.2f} ms |")
    lc = long["case"]
    plain = long["without_preconditioning_after_300_iterations"]
    rows.append(f"| T = {lc['horizon']}, {lc['modes']} modes, one rate per step (m = {lc['batch']:g}): lrcontrol Direct, "
                f"{long['message'].split(':')[0]} | {long['objective']:.12f} | | {long['iterations']} | "
                f"{long['compile_s']:.2f} s | {long['run_s']:.2f} s |")
    rows.append(f"| same, plain L-BFGS, stopped after 300 iterations (projected gradient still "
                f"{plain['residual_over_initial']:.0e} of the initial) | {plain['objective']:.12f} | "
                f"{(plain['objective'] - long['objective']) / long['objective']:.1e} | 300 | | {plain['run_s']:.2f} s |")
    rows.append(f"| same, one objective / objective + gradient | | | | | {long['forward_s'] * 1e3:.1f} / "
                f"{long['value_and_grad_s'] * 1e3:.1f} ms |")
    return _table(f"Random features (Bordelon & Mori), a = {c['a']:g}, b = {c['b']:g}, {c['modes']} modes, σ = "
                  f"{c['noise']:g}, m = {c['batch']:g}, η ≤ {c['eta_max']:g}, T = {c['horizon']}, {c['blocks']} "
                  f"blocks, minimise L_T; same start for all (`benchmarks/random_features_peers.py`). Speed-up of "
                  f"the solve over IPOPT's: {data['speedup_solver_vs_ipopt']:.1f}×; whole command against IPOPT's "
                  f"build + solve: {data['speedup_command_cold_vs_ipopt_build_plus_solve']:.2f}× with an empty "
                  f"compilation cache, {data['speedup_command_warm_vs_ipopt_build_plus_solve']:.2f}× with a filled "
                  f"one; peak memory of the whole benchmark process {long['max_rss_mib']:.0f} MiB (reverse mode "
                  f"checkpointed).",
                  ["method", "L_T", "gap to best", "iters", "setup (compile/build)", "run"], rows, data)


def _fsl_table(data: dict) -> str:
    rows, lbfgs = [], []
    newton = all("newton_solve_s" in r for block in data["phases"].values() for r in block["rows"])
    for phase, block in data["phases"].items():
        par = block["params"]
        for r in block["rows"]:
            evaluation = r["value_grad_hessian_s"] if newton else r["value_and_grad_s"]
            rows.append(f"| {phase} (s = {par['source']:g}, β = {par['capacity']:g}, σ² = {par['noise']:g}, η_max = "
                        f"{par['eta_max']:g}) | {r['N']:,} | {r['converged']} | {r['iterations']} | "
                        f"{r.get('evaluations', '–')} | {r['max_dev_over_peak']:.1e} | {r['compile_s']:.1f} s | "
                        f"{r['run_s']:.3f} s | {evaluation * 1e3:.1f} ms | "
                        + (f"{r['newton_solve_s'] * 1e3:.1f} ms | " if newton else "")
                        + f"{r['loss_curve_s']:.3f} s |")
        same = block.get("lbfgs_same_run")
        if same:
            lbfgs.append(f"{phase} N = {same['N']:,}: L-BFGS {same['run_s_lbfgs']:.3f} s ({same['iterations_lbfgs']} "
                         f"iterations, {same['evaluations_lbfgs']} evaluations) against Newton "
                         f"{same['run_s_newton_after']:.3f} s, objectives "
                         f"{abs(same['objective_lbfgs'] - block['rows'][-1]['objective']):.0e} apart")
    method = (": projected Newton with the exact Hessian, a `MinKernelHessian` solved on the free set in O(N),"
              if newton else " (projected L-BFGS preconditioned by the exact Hessian diagonal)")
    note = f" The same solve by L-BFGS (`Direct(newton=False)`) in the same run: {'; '.join(lbfgs)}." if lbfgs else ""
    columns = ["phase", "N", "converged", "iters", "evals", "max dev/peak", "compile", "run (whole solve)",
               "one value+grad+Hessian" if newton else "one value+grad"]
    columns += ["one Newton solve"] if newton else []
    return _table(f"{data['description']} Direct solve{method} on the O(N) closed-form functional; deviation from "
                  f"the exact finite-N law relative to its peak (`benchmarks/fsl_scaling.py`).{note}",
                  columns + ["of which: the recorded loss curve"], rows, data)


def _fsl_gpu_table(data: dict) -> str:
    return _fsl_table(data).replace("(`benchmarks/fsl_scaling.py`)",
                                    "(`benchmarks/fsl_scaling.py --name fsl_scaling_gpu`, on a GPU)", 1)


def _quadratic_table(data: dict) -> str:
    rows = [f"| {r['horizon']} | {r['compile_s']:.1f} s | {r['warm_call_s']:.3f} s | {r['surrogate_run_s']:.3f} s | "
            f"{'/'.join(str(i) for i in r['lbfgs_iterations'])} | {r['remez_exchanges']} | {r['factor_rel_error']:.0e} |"
            for r in data["rows"]]
    return _table(f"Chebyshev steps by numerical minimax, μ = {data['mu']:g}, L = {data['L']:g}: L-BFGS on the smooth "
                  f"surrogate at sharpness {', '.join(f'{q:g}' for q in data['sharpness'])}, then a Remez polish "
                  "(`benchmarks/quadratic_chebyshev.py`).",
                  ["T", "compile", "run (warm)", "surrogate stages", "L-BFGS iterations per stage", "Remez exchanges",
                   "factor rel. error"], rows, data)


def _sweep_throughput_table(data: dict) -> str:
    rows = [f"| {r['batch']} | {r['compile_s']:.1f} s | {r['run_s']:.2f} s | {r['per_problem_s'] * 1e3:.2f} ms | "
            f"{r['loop']['per_problem_s'] * 1e3:.2f} ms ({r['loop']['problems']}) | "
            f"{r['speedup_per_problem_vs_loop']:.2f}× | {r['mean_iterations']:.0f} / {r['max_iterations']} | "
            f"{r['converged']}/{r['batch']} | {r['max_relative_objective_difference_vs_loop']:.0e} |"
            for r in data["rows"]]
    skipped = data.get("skipped_batches_over_budget") or []
    note = f" Not started (over the {data['budget_s']:.0f} s budget): {', '.join(map(str, skipped))}." if skipped else ""
    return _table(f"{data['description']} FSL problems across both phases, N = {data['horizon']:,} "
                  f"(`benchmarks/sweep_throughput.py`).{note}",
                  ["batch", "compile", "run (vectorised)", "per problem", "loop per problem (its first problems)",
                   "vs loop", "iterations mean / max", "converged", "max rel. objective diff. vs loop"], rows, data)


def _rf_scaling_table(data: dict) -> str:
    def cells(r):
        if "skipped" in r:
            return f"— | — | — | — | skipped: {r['skipped']}"
        memory = "—" if r.get("peak_memory_gib") is None else f"{r['peak_memory_gib']:.1f} GiB"
        return (f"{r['iterations']} | {r['compile_s']:.1f} s | {r['run_s']:.2f} s | {memory} | "
                f"{'converged' if r['converged'] else r['message']}")
    rows = [f"| {r['steps']:,} | {r['modes']:,} | {r['forward_s'] * 1e3:.1f} ms | "
            + (f"{r['value_and_grad_s'] * 1e3:.1f} ms" if "value_and_grad_s" in r else "—") + f" | {cells(r)} |"
            for r in data["rows"]]
    return _table(f"{data['description']} One rate per step, a = b = 2, σ = 0.5, m = 1, η ≤ 2 "
                  "(`benchmarks/random_features_scaling.py`).",
                  ["steps", "modes", "forward", "value+grad", "iterations", "compile", "run",
                   "peak device memory (process)", "result"], rows, data)


TABLES = {"perceptron_direct": _direct_table, "perceptron_solvers": _solvers_table,
          "teacher_student_solvers": _teacher_student_table, "effort_digits": _effort_digits_table,
          "random_features_peers": _random_features_table, "fsl_scaling": _fsl_table,
          "fsl_scaling_gpu": _fsl_gpu_table, "quadratic_chebyshev": _quadratic_table,
          "random_features_scaling": _rf_scaling_table, "random_features_scaling_gpu": _rf_scaling_table,
          "sweep_throughput": _sweep_throughput_table, "sweep_throughput_gpu": _sweep_throughput_table}


def benchmark_table() -> str:
    parts = [make(data) for name, make in TABLES.items() if (data := _results(name)) is not None]
    return "\n\n".join(parts) or "_no results yet_"


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start --> … <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def main():
    readme = ROOT / "README.md"
    text = readme.read_text()
    own = frozenset(p.parent.name for p in (ROOT / "problems" / "results").glob("*/agreement.md")
                    if f"<!-- {p.parent.name}:start -->" in text)
    for name in sorted(own):
        text = replace_block(text, name, (ROOT / "problems" / "results" / name / "agreement.md").read_text().strip())
    text = replace_block(text, "agreement", agreement_table(own))
    text = replace_block(text, "benchmarks", benchmark_table())
    readme.write_text(text)
    print("README.md tables regenerated")


if __name__ == "__main__":
    main()
