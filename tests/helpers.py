import importlib.util
import sys
from pathlib import Path

import lrcontrol as lrc


def perceptron_problem(effort_cost=0.5, input_variance=1.0, distance=1.0, horizon=2.0, steps=400, discount=0.0,
                       **kwargs):
    system = lrc.systems.LinearPerceptron(input_variance=input_variance, distance=distance)
    objective = lrc.objectives.Effort(effort_cost=effort_cost, discount=discount)
    return lrc.ControlProblem(system, objective, horizon=horizon, steps=steps, **kwargs)


def problem_script(name):
    """A problems/ script as a module (its functions are the experiment; tests run them at small sizes). problems/
    goes on sys.path, as when the script runs, for its shared preamble (problems/_common.py)."""
    folder = Path(__file__).resolve().parents[1] / "problems"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_schedule_pipeline(ts, res, out, seeds=2):
    """What a run of problems/transformer_schedules.py must hold whatever the task: every final schedule trained
    on every seed, every schedule predicted before training, paired differences and their standard errors as
    defined, the table and the figures written."""
    import json

    import numpy as np
    import pytest

    finals = res["final_val_loss"]
    assert len(finals) == len(ts.BASELINES) + len(res["derived"]) + 1
    assert all(len(v["per_seed"]) == seeds and all(np.isfinite(v["per_seed"])) for v in finals.values())
    predicted = json.loads((out / "predictions.json").read_text())["predicted_final_val_loss"]
    assert all(np.isfinite(predicted[name]["bound_law"]) for name in predicted)  # every schedule predicted
    for d, rows in res["comparisons"].items():
        for b, c in rows.items():
            diff = np.subtract(finals[d]["per_seed"], finals[b]["per_seed"])
            assert c["mean_difference"] == pytest.approx(diff.mean())
            assert c["standard_error"] == pytest.approx(diff.std(ddof=1) / np.sqrt(seeds))
    assert (out / "README.md").read_text().count("\n|") > len(finals)
    assert (out / "validation_curves.png").exists() and (out / "schedules.png").exists()


def check_box_quadratic_answer(dense, q, x, *, free_between, atol):
    """Check `x`, a minimiser's answer for ½xᵀAx − qᵀx on [0, 1]ⁿ (A = `dense`), against the KKT conditions: on its
    free set (of a size strictly inside `free_between`) the dense reduced system's solution within `atol`, at each
    bound a gradient pushing outward, A positive definite on the free set (a local minimum also where A is
    indefinite), and a value no higher than scipy's L-BFGS-B from x = ½ (which is returned, for iteration counts)."""
    import numpy as np
    from scipy.optimize import minimize

    x = np.asarray(x)
    g = dense @ x - q
    free = (x > 0) & (x < 1)
    assert free_between[0] < free.sum() < free_between[1]  # both the free set and the active set are large
    kkt = x.copy()
    kkt[free] = np.linalg.solve(dense[np.ix_(free, free)], q[free] - dense[np.ix_(free, ~free)] @ x[~free])
    assert np.max(np.abs(x - kkt)) < atol
    assert np.all(g[x == 0] >= -1e-9) and np.all(g[x == 1] <= 1e-9)
    assert np.linalg.eigvalsh(dense[np.ix_(free, free)]).min() > 0
    n = x.size
    ref = minimize(lambda y: (0.5 * y @ dense @ y - q @ y, dense @ y - q), np.full(n, 0.5), jac=True,
                   method="L-BFGS-B", bounds=[(0, 1)] * n, options=dict(ftol=1e-15, gtol=1e-12, maxiter=5000))
    assert 0.5 * x @ dense @ x - q @ x <= ref.fun + 1e-12 * abs(ref.fun)
    return ref
