"""A stiff case: continuous-time gradient flow on power-law features, explicit vs implicit diffrax solvers.

The random-feature model's gradient-flow limit in its eigenbasis: modes k = 1 … K with eigenvalues λ_k = k^{-a}
(a = 2.5, K = 300: six decades, λ_K = 6.4e-7), residuals r_k with ṙ_k = −μ λ_k r_k, r_k(0) = k^{-1/2}, loss
L = ½ Σ λ_k r_k². Under a constant rate μ the flow is exact, r_k(T) = r_k(0) e^{−λ_k μ T}, so every integrator is
measured against the closed-form final loss. Horizon T = 10⁵ (the slowest modes have moved by λ_K μ T ≈ 0.06), one
control cell, rate μ = 1: an explicit solver is stable only for steps h ≲ 3/λ₁ = 3 and needs ~10⁴–10⁵ steps, an
implicit one takes steps on the scale of the slow modes.

Reported per integrator: relative error of L(T), compile time and run time (best of 3) of the objective's
evaluation and of its gradient in μ. A second, longer horizon T = 10⁷ (λ_K μ T ≈ 6: every mode moves), value only
and one run each: there an explicit solver's step count grows with T while an implicit one's does not.

    python benchmarks/stiff_gradient_flow.py
"""

import os
import sys
import time
from pathlib import Path
from typing import ClassVar

import jax

jax.config.update("jax_enable_x64", True)
import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import lrcontrol as lrc  # noqa: E402
from _harness import write  # noqa: E402

A, K, T = 2.5, 300, 1e5
T_LONG = 1e7


class PowerLawFlow(lrc.systems.AbstractContinuousSystem):
    """ṙ_k = −μ λ_k r_k, λ_k = k^{-a}; L = ½ Σ λ_k r_k² (module docstring)."""

    name: ClassVar[str] = "power_law_flow"
    eigenvalues: jax.Array
    start: jax.Array

    def __init__(self, a=A, modes=K):
        k = jnp.arange(1, modes + 1, dtype=float)
        self.eigenvalues, self.start = k**-a, k**-0.5

    def initial_state(self):
        return self.start

    def loss(self, state):
        return 0.5 * jnp.sum(self.eigenvalues * state**2)

    def vector_field(self, t, state, controls):
        return -controls[0] * self.eigenvalues * state

    def exact_final_loss(self, rate, horizon):
        return self.loss(self.start * jnp.exp(-self.eigenvalues * rate * horizon))


def main():
    system = PowerLawFlow()
    u = jnp.ones((1, 1))
    exact = float(system.exact_final_loss(1.0, T))
    cases = [("tsit5 adaptive rtol=1e-6", lrc.Diffrax(diffrax.Tsit5(), rtol=1e-6, atol=1e-9, max_steps=200_000)),
             ("tsit5 adaptive rtol=1e-8", lrc.Diffrax(diffrax.Tsit5(), rtol=1e-8, atol=1e-11, max_steps=200_000)),
             ("tsit5 fixed h=2 (50000 steps)", lrc.Diffrax(diffrax.Tsit5(), substeps=50_000)),
             ("tsit5 fixed h=4 (25000 steps: unstable)", lrc.Diffrax(diffrax.Tsit5(), substeps=25_000)),
             ("kvaerno5 adaptive rtol=1e-6", lrc.Diffrax.named("kvaerno5", rtol=1e-6, atol=1e-9)),
             ("kvaerno5 adaptive rtol=1e-8", lrc.Diffrax.named("kvaerno5", rtol=1e-8, atol=1e-11)),
             ("implicit euler fixed 1000 steps", lrc.Diffrax.named("impliciteuler", substeps=1000))]
    rows = []
    for name, integrator in cases:
        p = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=T, steps=1, integrator=integrator)
        row = {"integrator": name}
        for what, fn in (("value", lambda x: p.cost(x)), ("grad", jax.grad(lambda x: p.cost(x)))):
            t = time.perf_counter()
            compiled = jax.jit(fn).lower(u).compile()
            row[f"{what}_compile_s"] = time.perf_counter() - t
            out = compiled(u)
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                jax.block_until_ready(compiled(u))
                best = min(best, time.perf_counter() - t)
            row[f"{what}_run_s"] = best
            if what == "value":
                row["rel_error"] = abs(float(out) / exact - 1)
        rows.append(row)
        print(f"{name:42s} rel err {row['rel_error']:.1e}  value {row['value_run_s']:.3f} s "
              f"(compile {row['value_compile_s']:.1f} s)  grad {row['grad_run_s']:.3f} s "
              f"(compile {row['grad_compile_s']:.1f} s)", flush=True)
    long_rows = []
    for name, integrator in [("tsit5 adaptive rtol=1e-6",
                              lrc.Diffrax(diffrax.Tsit5(), rtol=1e-6, atol=1e-9, max_steps=20_000_000)),
                             ("kvaerno5 adaptive rtol=1e-6", lrc.Diffrax.named("kvaerno5", rtol=1e-6, atol=1e-9))]:
        p = lrc.ControlProblem(system, lrc.objectives.FinalLoss(), horizon=T_LONG, steps=1, integrator=integrator)
        t = time.perf_counter()
        compiled = jax.jit(lambda x, p=p: p.cost(x)).lower(u).compile()
        row = {"integrator": name, "value_compile_s": time.perf_counter() - t}
        t = time.perf_counter()
        value = float(compiled(u))
        row["value_run_s"] = time.perf_counter() - t
        row["rel_error"] = abs(value / float(system.exact_final_loss(1.0, T_LONG)) - 1)
        long_rows.append(row)
        print(f"T = 1e7: {name:30s} rel err {row['rel_error']:.1e}  value {row['value_run_s']:.2f} s "
              f"(compile {row['value_compile_s']:.1f} s)", flush=True)
    path = write("stiff_gradient_flow", {"long_horizon": T_LONG, "long_horizon_rows": long_rows,
"note": "2-core machine; the load average below says how shared it was",
                                         "load_average_1_5_15_min": list(os.getloadavg()),
                                         "a": A, "modes": K, "horizon": T, "rate": 1.0,
                                         "exact_final_loss": exact, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
