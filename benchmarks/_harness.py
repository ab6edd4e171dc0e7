"""Shared benchmark plumbing: machine description, best-of-k timing, JSON output."""

import json
import os
import platform
import time
from pathlib import Path

# where results are written: benchmarks/results, or the folder LRCONTROL_RESULTS names (a device run writes
# into the folder that comes back: benchmarks/gpu_check.sh)
RESULTS = Path(os.environ.get("LRCONTROL_RESULTS") or Path(__file__).parent / "results")


def machine() -> dict:
    import jax
    import ml_dtypes
    import numpy
    import scipy

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem,
            "python": platform.python_version(), "jax": jax.__version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "ml_dtypes": ml_dtypes.__version__, "jax_backend": jax.default_backend(),
            "jax_devices": [str(d) for d in jax.devices()], "x64": bool(jax.config.jax_enable_x64)}


def best_of(fn, repeats: int = 5):
    """(min wall time over `repeats` calls, last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def write(name: str, payload: dict, out_dir: Path = RESULTS) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(),
                                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), **payload}, indent=1))
    return path
