"""Direct vs Pontryagin solvers on the erf teacher–student network (no closed form: the solvers check each other).

- small: 10 inputs, 2 hidden units (22 state numbers), T = 8, 400 steps: direct, Newton shooting (2 segments by
  default), forward–backward sweep;
- large: 100 inputs, 4 hidden units (404 state numbers), T = 8, 400 steps: direct and the sweep (Newton's
  Jacobian would have 404 columns per segment: the sweep is the method for large states).

Reported: agreement with direct (max |Δu| / peak, relative objective difference), Hamiltonian drift, compile
and run time (run = best of 3).

    python benchmarks/teacher_student_solvers.py
"""

import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import write  # noqa: E402

CASES = {"small (10 inputs, 2 hidden)": (10, 2, ("shooting", "sweep")),
         "large (100 inputs, 4 hidden)": (100, 4, ("sweep",))}
SOLVERS = {"shooting": lrc.solvers.Shooting(), "sweep": lrc.solvers.Shooting(method="sweep")}


def timed(problem, solver):
    first = lrc.solve(problem, solver, progress=False)
    runs = [lrc.solve(problem, solver, progress=False) for _ in range(3)]
    return first.diagnostics.compile_time, min(r.diagnostics.run_time for r in runs), runs[-1]


def main():
    rows = []
    for case, (inputs, hidden, names) in CASES.items():
        system = lrc.systems.TeacherStudent(inputs=inputs, hidden=hidden, seed=0, init_scale=0.5)
        problem = lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=0.5), horizon=8.0, steps=400)
        c, r, direct = timed(problem, lrc.solvers.Direct())
        size = int(jax.flatten_util.ravel_pytree(system.initial_state())[0].shape[0])
        rows.append({"case": case, "state_size": size, "solver": "direct", "converged": direct.diagnostics.converged,
                     "iterations": int(direct.diagnostics.iterations), "compile_s": c, "run_s": r,
                     "objective": float(direct.objective)})
        print(f"{case}: {size} state numbers; direct J = {float(direct.objective):.10f}, compile {c:.1f} s, "
              f"run {r:.3f} s", flush=True)
        peak = float(jnp.max(direct.controls))
        for name in names:
            c, r, sol = timed(problem, SOLVERS[name])
            d = sol.diagnostics
            row = {"case": case, "state_size": size, "solver": name, "converged": d.converged,
                   "iterations": int(d.iterations), "compile_s": c, "run_s": r, "objective": float(sol.objective),
                   "max_rel_diff_to_direct": float(jnp.max(jnp.abs(sol.controls - direct.controls))) / peak,
                   "objective_rel_diff": abs(float(sol.objective) / float(direct.objective) - 1),
                   "hamiltonian_drift": float(d.extras["hamiltonian_drift"]),
                   "segments": int(d.extras["segments"])}
            rows.append(row)
            print(f"  {name:9s} converged={d.converged} iters {row['iterations']:3d}  max|Δu|/peak "
                  f"{row['max_rel_diff_to_direct']:.1e}  ΔJ/J {row['objective_rel_diff']:.1e}  drift "
                  f"{row['hamiltonian_drift']:.1e}  compile {c:.1f} s  run {r:.3f} s", flush=True)
    print(f"wrote {write('teacher_student_solvers', {'rows': rows})}")


if __name__ == "__main__":
    main()
