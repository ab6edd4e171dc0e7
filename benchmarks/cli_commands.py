"""Whole `lrcontrol` commands end to end, as a user runs them: wall time, peak memory, output sizes, and the phases
the command records in `solution.json` (import, setup, solve = compile + run, closed-form check, figure spec, data;
the files are formatted after that: the JSON by the command, the figure and CSV by its output worker, at once).

Each command runs in a fresh process with XLA's persistent cache off (a cold start: everything compiled), and
again with a cache that one earlier run of it filled (warm: what a user's repeated command costs).
Also the loss-curve law commands a practitioner runs (issue 16: fit, predict, solve under the fitted law), the
same way. Target (issue 14): `lrcontrol solve fsl --set horizon=1000000` under 20 s end to end on 2 cores. Also the
import of the toolkit alone (issue 19: ≤ 1.8 s): a fresh `python -c` that imports lrcontrol with what a solve uses (JAX,
equinox, ControlProblem, Direct, the systems), best of 5, interpreter start included; and JAX alone beside it.

    python benchmarks/cli_commands.py            # writes benchmarks/results/cli_commands.json
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import write  # noqa: E402

COMMANDS = {
    "fsl N = 10⁶ (easy, closed-form check)": ["solve", "fsl", "--set", "horizon=1000000"],
    "fsl N = 10⁶ (hard: s = 0.25, β = 3, σ² = 0.2, η_max = 0.2)":
        ["solve", "fsl", "--set", "horizon=1000000", "--set", "source=0.25", "--set", "capacity=3",
         "--set", "noise=0.2", "--set", "eta_max=0.2"],
    "perceptron (2000 steps, closed-form check)": ["solve", "perceptron"],
}

# The practitioner's commands (issue 16) on the shipped 25M curves: fit MPL on the published fit split, predict a
# held-out curve with the law file the fit wrote, and solve the schedule under it ({law} is that file).
CURVES = Path(__file__).parents[1] / "problems" / "data" / "mpl" / "25"
LAW_COMMANDS = {
    "fit --law mpl (3 curves, multi-start)":
        ["fit", "--law", "mpl", *(a for c in ("constant_24000", "cosine_24000", "wsdcon_9")
                                  for a in ("--curve", str(CURVES / f"{c}.csv")))],
    "predict (1 held-out curve)": ["predict", "--law", "{law}", "--curve", str(CURVES / "wsd_20000_24000.csv")],
    "solve mpl (N = 24000, warm-up 2160, peak 3e-4)":
        ["solve", "mpl", "--law", "{law}", "--set", "horizon=24000", "--set", "warmup=2160", "--set", "peak=3e-4"],
}


# Runs the command in a child of its own and prints that child's peak resident memory (a process's ru_maxrss for
# its children is a maximum over all of them, so each command gets a fresh parent).
_MEASURED = ("import resource, subprocess, sys; "
             "code = subprocess.run([sys.executable, '-m', 'lrcontrol.cli', *sys.argv[1:]]).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


def run(args: list[str], cache: str = "off", keep: Path | None = None) -> dict:
    """One command in a fresh process (`keep`: a folder to copy its law.json to, for the commands after a fit)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = {**os.environ, "LRCONTROL_CACHE": cache}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _MEASURED, *args, "--quiet", "--out", str(out)],
                              capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        rss = int(proc.stdout.strip().splitlines()[-1])  # the command's own peak (KiB), printed by the wrapper
        solution = out / "solution.json"  # the solve commands' (fit and predict write other files)
        data = json.loads(solution.read_text()) if proc.returncode in (0, 3) and solution.exists() else {}
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if not p.name.startswith(".")} if out.exists() else {}
        if keep is not None and (out / "law.json").exists():
            (keep / "law.json").write_bytes((out / "law.json").read_bytes())
    diag = data.get("diagnostics", {})
    return {"command": "lrcontrol " + " ".join(args), "exit": proc.returncode, "wall_s": round(wall, 2),
            "max_rss_mib": round(rss / 1024), "phases_s": diag.get("phases_s"),
            "converged": diag.get("converged"), "iterations": diag.get("iterations"),
            "max_rel_error": (data.get("comparison") or {}).get("max_rel_error"),
            "file_sizes_mb": {k: round(v / 1e6, 2) for k, v in sizes.items()}, "stderr": proc.stderr[-300:]}


IMPORTS = {"lrcontrol": "import lrcontrol as lrc; lrc.ControlProblem; lrc.solvers.Direct; lrc.systems.FSL",
           "jax alone": "import jax, jax.numpy"}


def import_times(repeats: int = 5) -> dict:
    """Best-of wall seconds of a fresh interpreter importing each of `IMPORTS`."""
    out = {}
    for name, code in IMPORTS.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - t0)
        out[name] = round(min(times), 3)
    return out


def main():
    imports = import_times()
    print(f"import (fresh interpreter, best of 5): {imports}")
    rows, law_rows = {}, {}
    with tempfile.TemporaryDirectory() as keep:
        law = str(Path(keep) / "law.json")
        for table, commands in ((rows, COMMANDS), (law_rows, LAW_COMMANDS)):
            for name, args in commands.items():
                args = [law if a == "{law}" else a for a in args]
                table[name] = run(args, keep=Path(keep))
                with tempfile.TemporaryDirectory() as cache:
                    run(args, cache)  # fills the cache
                    warm = run(args, cache)
                table[name]["warm_cache"] = {k: warm[k] for k in ("exit", "wall_s", "phases_s")}
                print(f"{name}: {table[name]['wall_s']} s (warm cache {warm['wall_s']} s), exit "
                      f"{table[name]['exit']}, phases {table[name]['phases_s']}, warm {warm['phases_s']}")
    path = write("cli_commands", {"description": __doc__.splitlines()[0], "target_fsl_1e6_s": 20.0,
                                  "import_s": imports, "target_import_s": 1.8, "rows": rows,
                                  "law_rows": law_rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
