"""Fitting the loss-curve laws: `lrc.fit` of each law to the published 25M fit split (three curves, 24000 and 16000
updates), compile and run apart.

For each law: the first fit in the process (wall time; of it, XLA's compilation, summed from JAX's own compile
events), a second fit of the same curves (the compiled programs are reused: the run alone), the fit loss and the
number of Levenberg–Marquardt steps. For the momentum law, also its annealing momentum computed the way it was
before (an associative scan over the updates) in the same run: the same fit, slower to compile. For the bound law,
also its prediction without the per-curve plan (every evaluation O(N·M)) in the same run.

Usage: python benchmarks/law_fits.py [--laws mpl momentum_law ...]   → benchmarks/results/law_fits.json
"""

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import lrcontrol as lrc  # noqa: E402
from lrcontrol._cache import clear_compiled  # noqa: E402
from lrcontrol._cli_laws import LAW_NAMES, law_class  # noqa: E402
from lrcontrol.systems import momentum_law  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _harness import write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIT = ("cosine_24000", "constant_24000", "wsdcon_9")  # the published fit split (problems/loss_curve_laws.py)

_COMPILE_S = [0.0]


def _on_event(event, duration, **_):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILE_S[0] += duration


def _associative_momentum(d, decay):
    """m_k = λ m_{k−1} + d_k by `jax.lax.associative_scan` (the momentum law's recursion before the blocked one)."""
    a = jnp.broadcast_to(decay, d.shape)
    return jax.lax.associative_scan(lambda x, y: (x[0] * y[0], y[0] * x[1] + y[1]), (a, d))[1]


def timed_fit(cls, curves) -> dict:
    clear_compiled()  # a first fit as in a fresh process: nothing compiled
    jax.clear_caches()
    _COMPILE_S[0] = 0.0
    t = time.perf_counter()
    _, report = lrc.fit(cls, curves)
    first = time.perf_counter() - t
    compile_s = _COMPILE_S[0]
    t = time.perf_counter()
    _, again = lrc.fit(cls, curves)
    second = time.perf_counter() - t
    return {"first_fit_s": first, "of_which_compile_s": compile_s, "repeat_fit_s": second,
            "repeat_compile_s": _COMPILE_S[0] - compile_s, "objective": report.objective,
            "repeat_objective": again.objective, "iterations": report.iterations, "message": report.message}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--laws", nargs="+", default=["mpl", "momentum_law", "bound_law", "fsl_law"],
                    choices=list(LAW_NAMES))
    args = ap.parse_args()
    jax.monitoring.register_event_duration_secs_listener(_on_event)
    folder = ROOT / "problems" / "data" / "mpl" / "25"
    curves = [lrc.LossCurve.read(folder / f"{name}.csv") for name in FIT]
    results = {}
    for name in args.laws:
        results[name] = timed_fit(law_class(name), curves)
        r = results[name]
        print(f"{name:14s} first {r['first_fit_s']:6.1f} s (compile {r['of_which_compile_s']:5.1f} s), repeat "
              f"{r['repeat_fit_s']:5.1f} s (compile {r['repeat_compile_s']:.1f} s); loss {r['objective']:.6e}, "
              f"{r['iterations']} LM steps", flush=True)
    if "momentum_law" in args.laws:
        blocked = momentum_law._momentum
        momentum_law._momentum = _associative_momentum
        try:
            r = results["momentum_law (associative scan)"] = timed_fit(law_class("momentum_law"), curves)
        finally:
            momentum_law._momentum = blocked
        print(f"{'momentum_law, associative scan':14s} first {r['first_fit_s']:6.1f} s (compile "
              f"{r['of_which_compile_s']:5.1f} s), repeat {r['repeat_fit_s']:5.1f} s; loss {r['objective']:.6e}")
    if "bound_law" in args.laws:
        bound = law_class("bound_law")
        plan = bound.__dict__["plan"]
        bound.plan = staticmethod(lambda lr, steps: None)
        try:
            r = results["bound_law (no plan)"] = timed_fit(bound, curves)
        finally:
            bound.plan = plan
        print(f"{'bound_law, no plan':14s} first {r['first_fit_s']:6.1f} s (compile {r['of_which_compile_s']:5.1f} s), "
              f"repeat {r['repeat_fit_s']:5.1f} s; loss {r['objective']:.6e}")
    path = write("law_fits", {"curves": list(FIT), "model": "25M", "fits": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
