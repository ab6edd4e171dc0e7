"""The diffrax integrator (`lrc.Diffrax`) against the hand-written RK4 path.

1. Order of convergence of diffrax's fixed-step solvers against the perceptron's closed-form flow (four cells of
   different rates, discounted running cost; error of the discretised objective), and adaptive (PID) solves:
   error against the closed form per tolerance.
2. Teacher–student direct solve (the README's 400-step case: 10 inputs, 2 hidden, init_scale 0.5, seed 0, effort
   cost 0.5, T = 8): RK4 (1 substep) vs diffrax Tsit5 (1 substep) through `solver.step` in a scan (the default
   at fixed steps), through `diffeqsolve` per cell (`loop=True`), and diffrax with the classical RK4 tableau (the
   same method as the hand-written RK4: the difference is diffrax's overhead); compile and run time
   (run = best of 3 solves) and accuracy: the objective at each answer's controls against a reference integration
   (Tsit5, 16 substeps per cell), and the answers' max |Δu|/peak against RK4's.
3. Memory of the reverse pass (jax.grad of the objective) over 10⁵ cells of the perceptron integrated without
   its exact flow, by XLA's `memory_analysis()` of the compiled gradient (temporaries + arguments + outputs):
   RK4 in √N checkpointed chunks (today's default), `lrc.Diffrax` per cell in the same chunks, `lrc.Diffrax`
   per cell unchunked, `diffeqsolve` per cell; and, at 10³ and 10⁴ cells, one diffeqsolve over the whole horizon
   with `RecursiveCheckpointAdjoint` (the cell boundaries as jump times; written here, not a library path).

    python benchmarks/diffrax_vs_rk4.py [--quick] [--rk4-only]
"""

import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import write  # noqa: E402

QUICK = "--quick" in sys.argv
ONLY_TS = "--rk4-only" in sys.argv  # only the teacher–student rows of the two RK4 implementations


def perceptron(steps, integrator, discount=0.5, horizon=2.0):
    objective = lrc.objectives.Effort(effort_cost=0.5, discount=discount)
    return lrc.ControlProblem(lrc.systems.LinearPerceptron(), objective,
                              horizon=horizon, steps=steps, integrator=integrator)


def orders():
    u = jnp.array([[1.5], [0.5], [2.0], [1.0]])
    exact = float(perceptron(4, lrc.ExactFlow(parallel=False)).cost(u))
    rows = []
    for name, substeps in (("euler", (8, 16, 32, 64)), ("heun", (8, 16, 32, 64)), ("ralston", (8, 16, 32, 64)),
                           ("midpoint", (8, 16, 32, 64)), ("bosh3", (8, 16, 32, 64)), ("tsit5", (2, 4, 8, 16)),
                           ("dopri5", (2, 4, 8, 16)), ("kvaerno3", (8, 16, 32, 64)), ("kvaerno5", (2, 4, 8, 16))):
        errors = [abs(float(perceptron(4, lrc.Diffrax.named(name, substeps=k)).cost(u)) - exact) for k in substeps]
        slope = -float(np.polyfit(np.log(substeps), np.log(errors), 1)[0])
        order = lrc._diffrax.order(lrc.Diffrax.named(name).solver)
        rows.append({"solver": name, "order": order, "substeps": list(substeps), "errors": errors,
                     "fitted_order": slope})
        print(f"{name:9s} order {order}  fitted {slope:5.2f}  errors " + " ".join(f"{e:.1e}" for e in errors),
              flush=True)
    p_exact = perceptron(4, lrc.ExactFlow(parallel=False))
    e_exact = float(p_exact.states(u)[-1])
    adaptive = []
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        p = perceptron(4, lrc.Diffrax(rtol=rtol, atol=rtol))
        row = {"rtol": rtol, "atol": rtol, "objective_rel_error": abs(float(p.cost(u)) / exact - 1),
               "final_state_rel_error": abs(float(p.states(u)[-1]) / e_exact - 1)}
        adaptive.append(row)
        print(f"adaptive tsit5 rtol=atol={rtol:.0e}: objective {row['objective_rel_error']:.1e}, "
              f"e(T) {row['final_state_rel_error']:.1e}", flush=True)
    return rows, adaptive


def teacher_student():
    system = lrc.systems.TeacherStudent(inputs=10, hidden=2, seed=0, init_scale=0.5)
    steps = 100 if QUICK else 400

    def problem(integrator):
        return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=0.5), horizon=8.0, steps=steps,
                                  integrator=integrator)

    reference = problem(lrc.Diffrax(diffrax.Tsit5(), substeps=16))
    ref_cost = jax.jit(lambda u: reference.cost(u))
    rows, answers = [], {}
    for name, integrator in (("rk4 (hand-written, 1 substep)", lrc.RK4()),
                             ("diffrax tsit5 (1 substep, solver.step scan)", lrc.Diffrax(diffrax.Tsit5())),
                             ("diffrax tsit5 (1 substep, diffeqsolve per cell)",
                              lrc.Diffrax(diffrax.Tsit5(), loop=True)),
                             ("diffrax classical rk4 tableau (1 substep)",
                              lrc.Diffrax(lrc._diffrax.ClassicalRK4()))):
        if ONLY_TS and "rk4" not in name:
            continue
        p = problem(integrator)
        first = lrc.solve(p, progress=False)
        runs = [lrc.solve(p, progress=False) for _ in range(1 if QUICK else 3)]
        sol = runs[-1]
        answers[name] = np.asarray(sol.controls)
        row = {"integrator": name, "converged": bool(sol.diagnostics.converged),
               "iterations": int(sol.diagnostics.iterations), "compile_s": first.diagnostics.compile_time,
               "run_s": min(r.diagnostics.run_time for r in runs), "objective": float(sol.objective),
               "integration_error": abs(float(sol.objective) - float(ref_cost(sol.controls)))}
        rows.append(row)
        print(f"{name:32s} converged={row['converged']} iters {row['iterations']:3d} J {row['objective']:.12f} "
              f"|J - J_ref| {row['integration_error']:.1e} compile {row['compile_s']:.1f} s "
              f"run {row['run_s']:.3f} s",
              flush=True)
    base = answers["rk4 (hand-written, 1 substep)"]
    for row in rows:
        row["max_rel_diff_to_rk4"] = float(np.max(np.abs(answers[row["integrator"]] - base)) / np.max(base))
    return {"steps": steps, "horizon": 8.0, "rows": rows}


def _whole_horizon_cost(n, horizon=2.0, discount=0.5, beta=0.5):
    """The perceptron's effort objective with e integrated by one Tsit5 diffeqsolve over [0, T], one step per cell:
    a PID controller whose tolerances always accept and whose dtmax is the cell (diffrax clips only adaptive
    controllers to jump times), the cell boundaries as jump times so every step sees one cell's control;
    RecursiveCheckpointAdjoint."""
    def cost(u, grid):
        def rhs(t, y, args):
            k = jnp.clip(jnp.searchsorted(grid, t, side="right") - 1, 0, n - 1)
            e, _ = y
            return -u[k, 0] * e, jnp.exp(-discount * t) * (0.5 * e**2 + beta * u[k, 0] ** 2)

        always = diffrax.PIDController(rtol=1e6, atol=1e6, dtmax=horizon / n)
        controller = diffrax.ClipStepSizeController(always, jump_ts=grid)
        sol = diffrax.diffeqsolve(diffrax.ODETerm(rhs), diffrax.Tsit5(), 0.0, horizon, horizon / n,
                                  (jnp.asarray(1.0), jnp.asarray(0.0)), stepsize_controller=controller,
                                  max_steps=2 * n + 16, adjoint=diffrax.RecursiveCheckpointAdjoint())
        return sol.ys[1][-1]

    return cost


def memory():
    n = 10_000 if QUICK else 100_000
    u = jnp.full((n, 1), 0.7)
    cases = {"rk4, √N checkpointed chunks (today)": perceptron(n, lrc.RK4()),
             "diffrax tsit5 per cell, √N chunks": perceptron(n, lrc.Diffrax(diffrax.Tsit5())),
             "diffrax tsit5 per cell, no chunks": lrc.ControlProblem(
                 lrc.systems.LinearPerceptron(), lrc.objectives.Effort(effort_cost=0.5, discount=0.5), horizon=2.0,
                 steps=n, integrator=lrc.Diffrax(diffrax.Tsit5()), checkpoint_every=n)}
    grid = jnp.linspace(0.0, 2.0, n + 1)  # an argument, so XLA does not constant-fold diffrax's sort of it
    fns = {k: (lambda x, g, p=p: p.cost(x)) for k, p in cases.items()}
    fns["diffrax tsit5 per cell, diffeqsolve loop, √N chunks"] = (
        lambda x, g: perceptron(n, lrc.Diffrax(diffrax.Tsit5(), loop=True)).cost(x))
    exact = jax.grad(lambda x: perceptron(n, lrc.ExactFlow()).cost(x))(u)
    rows = []
    for name, fn in fns.items():
        t = time.perf_counter()
        compiled = jax.jit(jax.grad(fn)).lower(u, grid).compile()
        compile_s = time.perf_counter() - t
        m = compiled.memory_analysis()
        g = compiled(u, grid).block_until_ready()
        t = time.perf_counter()
        for _ in range(3):
            compiled(u, grid).block_until_ready()
        run_s = (time.perf_counter() - t) / 3
        row = {"case": name, "cells": n, "temp_bytes": int(m.temp_size_in_bytes),
               "total_bytes": int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes),
               "compile_s": compile_s, "run_s": run_s,
               "grad_max_diff_to_exact_flow": float(jnp.max(jnp.abs(g - exact)))}
        rows.append(row)
        print(f"{name:62s} temp {row['temp_bytes'] / 2**20:8.2f} MiB  compile {compile_s:5.1f} s  "
              f"run {run_s:.3f} s"
              f"  max|Δgrad| {row['grad_max_diff_to_exact_flow']:.1e}", flush=True)
    return rows


def whole_horizon_memory():
    """The whole-horizon RecursiveCheckpointAdjoint solve at 10³ and 10⁴ cells against RK4's chunks (at 10⁵ cells it
    had not finished after 25 min on a loaded 2-core machine)."""
    rows = []
    for n in (1000, 10_000):
        u, grid = jnp.full((n, 1), 0.7), jnp.linspace(0.0, 2.0, n + 1)
        t = time.perf_counter()
        compiled = jax.jit(jax.grad(_whole_horizon_cost(n))).lower(u, grid).compile()
        compile_s = time.perf_counter() - t
        t = time.perf_counter()
        compiled(u, grid).block_until_ready()
        run_s = time.perf_counter() - t
        p = perceptron(n, lrc.RK4())
        rk4 = jax.jit(jax.grad(lambda x: p.cost(x))).lower(u).compile().memory_analysis()
        rows.append({"cells": n, "whole_horizon_temp_mib": compiled.memory_analysis().temp_size_in_bytes / 2**20,
                     "compile_s": compile_s, "run_s": run_s, "rk4_chunks_temp_mib": rk4.temp_size_in_bytes / 2**20})
        print(rows[-1], flush=True)
    return rows


def main():
    if ONLY_TS:
        path = write("diffrax_vs_rk4_tableau", {"note": "timings on a shared 2-core machine under load (noisy)",
                                                "teacher_student": teacher_student()})
        print(f"wrote {path}")
        return
    order_rows, adaptive = orders()
    ts = teacher_student()
    mem = memory()
    whole = whole_horizon_memory()
    note = "timings on a shared 2-core machine under load (noisy)"
    path = write("diffrax_vs_rk4", {"quick": QUICK, "note": note,
                                    "orders": order_rows, "adaptive": adaptive, "teacher_student": ts,
                                    "memory": mem, "memory_whole_horizon_smaller": {"rows": whole}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
