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
