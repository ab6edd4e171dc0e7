"""lrc.sweep: a sharded batch of solves gives the answers of one-by-one solves; bad input is one sentence.

The sharded runs need several devices, so they run in subprocesses: four forced host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=4, each device's rows one after another), and two processes
joined by jax.distributed on the loopback address (two devices each, rows vmapped). The serial reference solves
run here, in the test's own process, with `lrc.solve`.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lrcontrol as lrc
from lrcontrol.systems import FSL

ROOT = Path(__file__).resolve().parents[1]
# Six problems over four devices: two rows of padding; horizon 150 keeps each compile to a few seconds.
SOURCES = [0.2, 0.5, 0.8, 1.0, 1.2, 0.3]
CAPACITIES = [1.5, 2.0, 2.0, 3.0, 2.5, 4.0]
HORIZON = 150

WORKER = textwrap.dedent(f"""
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    vectorize = sys.argv[1] == "vmap"
    if len(sys.argv) > 2:  # process id, port: two processes on the loopback address
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address="127.0.0.1:" + sys.argv[3], num_processes=2,
                                   process_id=int(sys.argv[2]))
    import numpy as np
    import lrcontrol as lrc
    from lrcontrol.systems import FSL

    def make(p):
        system = FSL(source=p["s"], capacity=p["b"], noise=1.0, eta_max=1.0)
        return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), {HORIZON}, bounds={{"lr": (0.0, 1.0)}})

    r = lrc.sweep(make, {{"s": np.array({SOURCES}), "b": np.array({CAPACITIES})}}, vectorize=vectorize)
    print("RESULT " + json.dumps(dict(devices=r.devices, padded=r.padded, processes=jax.process_count(),
                                      partition=r.partition,
                                      objective=np.asarray(r.objective).tolist(),
                                      controls=np.asarray(r.controls[:, :, 0]).tolist(),
                                      result=np.asarray(r.solution.diagnostics.result).tolist(),
                                      iterations=np.asarray(r.solution.diagnostics.iterations).tolist())))
""")


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _result(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, stdout
    return json.loads(lines[-1][len("RESULT "):])


def _make(p):
    system = FSL(source=p["s"], capacity=p["b"], noise=1.0, eta_max=1.0)
    return lrc.ControlProblem(system, lrc.objectives.FinalLoss(), HORIZON, bounds={"lr": (0.0, 1.0)})


def _check_against_serial(out):
    assert len(out["objective"]) == len(SOURCES)
    for i, (s, b) in enumerate(zip(SOURCES, CAPACITIES)):
        ref = lrc.solve(_make({"s": s, "b": b}), progress=False)
        assert ref.diagnostics.converged and out["result"][i] == 0
        peak = float(np.max(ref.controls))
        # A batched or sharded compilation can round differently from a lone solve, and a row may then take
        # another path to the optimum (another iteration count). Both stop with the projected gradient below 1e-8
        # of its start, so the controls agree to ~1e-8·(condition number) of the peak and the objective,
        # stationary there, to the square of that.
        assert abs(out["objective"][i] - float(ref.objective)) <= 1e-14 * abs(float(ref.objective))
        np.testing.assert_allclose(out["controls"][i], ref.controls[:, 0], rtol=0, atol=1e-6 * peak)


def test_sweep_on_four_devices_matches_serial_solves(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    proc = subprocess.run([sys.executable, str(script), "map"], capture_output=True, text=True, timeout=300,
                          env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=4"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _result(proc.stdout)
    assert (out["devices"], out["padded"], out["processes"], out["partition"]) == (4, 2, 1, "shard_map")
    _check_against_serial(out)


def test_sweep_on_two_processes_over_loopback(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = _env(XLA_FLAGS="--xla_force_host_platform_device_count=2")
    procs = [subprocess.Popen([sys.executable, str(script), "vmap", str(i), port], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs):
        if p.returncode != 0 and "gloo" in err.lower() and "not" in err.lower():
            pytest.skip(f"this JAX's CPU backend has no cross-process collectives: {err.strip().splitlines()[-1]}")
        assert p.returncode == 0, err[-3000:]
    results = [_result(stdout) for stdout, _ in outs]
    assert results[0] == results[1]  # every process holds every answer
    assert (results[0]["devices"], results[0]["padded"], results[0]["processes"]) == (4, 2, 2)
    _check_against_serial(results[0])


# --- bad input: one sentence, before anything compiles -------------------------------------------------------

def test_sweep_refuses_params_without_a_shared_batch_axis():
    with pytest.raises(lrc.InputError, match="same leading batch axis"):
        lrc.sweep(_make, {"s": np.ones(3), "b": np.full(2, 2.0)})
    with pytest.raises(lrc.InputError, match="same leading batch axis"):
        lrc.sweep(_make, {"s": np.float64(1.0), "b": np.float64(2.0)})
    with pytest.raises(lrc.InputError, match="at least one array"):
        lrc.sweep(_make, {})


def test_sweep_names_the_bad_slice():
    with pytest.raises(lrc.InputError, match=r"slice 1: source must be a finite number > 0"):
        lrc.sweep(_make, {"s": np.array([1.0, -1.0]), "b": np.array([2.0, 2.0])})


def test_sweep_refuses_problems_of_different_structure():
    def make(p):
        return lrc.ControlProblem(FSL(), lrc.objectives.FinalLoss(), int(p))

    with pytest.raises(lrc.InputError, match="one structure.*slice 1 differs"):
        lrc.sweep(make, np.array([100, 200]))
    with pytest.raises(lrc.InputError, match="must return an lrc.ControlProblem"):
        lrc.sweep(lambda p: None, np.ones(2))


def test_sweep_refuses_bad_solver_and_devices():
    params = {"s": np.ones(2), "b": np.full(2, 2.0)}
    with pytest.raises(lrc.InputError, match="solver must be"):
        lrc.sweep(_make, params, solver="direct")
    with pytest.raises(lrc.InputError, match="devices must be a count from 1 to"):
        lrc.sweep(_make, params, devices=0)
    with pytest.raises(lrc.InputError, match="devices must be None"):
        lrc.sweep(_make, params, devices=["cpu"])
    with pytest.raises(lrc.InputError, match="vectorize must be True or False"):
        lrc.sweep(_make, params, vectorize="yes")


def test_sweep_with_shooting_matches_serial_solves():
    # Shooting's Newton (its own loop, dense Jacobian and jnp.linalg.solve) traces inside shard_map.
    def make(effort_cost):
        system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
        return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=effort_cost), horizon=2.0, steps=60)

    costs = np.array([0.3, 1.0])
    result = lrc.sweep(make, costs, solver=lrc.solvers.Shooting())
    assert result.partition == "shard_map" and len(result) == 2
    for cost, sol in zip(costs, result):
        ref = lrc.solve(make(cost), lrc.solvers.Shooting(), progress=False)
        assert ref.diagnostics.converged and sol.diagnostics.converged
        # Newton converges quadratically to the root of the shooting equations: any path ends at it to round-off.
        assert abs(float(sol.objective) - float(ref.objective)) <= 4e-16 * abs(float(ref.objective))
        np.testing.assert_allclose(sol.controls, ref.controls, rtol=0, atol=1e-14 * float(np.max(ref.controls)))


def test_sweep_falls_back_to_gspmd_where_shard_map_cannot_trace():
    # An implicit diffrax integrator solves its stage equations with optimistix/lineax, which do not trace inside
    # shard_map: the sweep partitions the same vmapped program by GSPMD and gives the serial answer.
    def make(effort_cost):
        system = lrc.systems.LinearPerceptron(input_variance=1.0, distance=1.0)
        return lrc.ControlProblem(system, lrc.objectives.Effort(effort_cost=effort_cost), horizon=2.0, steps=8,
                                  integrator=lrc.Diffrax.named("impliciteuler"))

    result = lrc.sweep(make, np.array([0.3, 1.0]))
    assert result.partition == "gspmd" and len(result) == 2
    ref = lrc.solve(make(1.0), progress=False)
    assert ref.diagnostics.converged and result[1].diagnostics.converged
    # The same program per row as the serial solve (vmapped): measured identical to the last bit.
    assert abs(float(result[1].objective) - float(ref.objective)) <= 4e-16 * abs(float(ref.objective))
    np.testing.assert_allclose(result[1].controls, ref.controls, rtol=0, atol=1e-14 * float(np.max(ref.controls)))
