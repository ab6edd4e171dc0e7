#!/usr/bin/env bash
# Issue #19's device check, prepared as one call on a GPU machine (at most 8.5 minutes: the sum of the three parts'
# time limits; not yet run on one): FSL N = 10³…10⁷ (fsl_scaling_gpu), random features at 10⁴–10⁵ steps × 10³–10⁴
# modes (random_features_scaling_gpu) and sweep throughput against the batch size (sweep_throughput_gpu). From the
# repository root, with the machine's own python3 (JAX with CUDA, equinox, optimistix, lineax, diffrax; lrcontrol
# itself is read from the checkout):
#
#     bash benchmarks/gpu_check.sh "$OUT"      # the JSON results and a log into OUT (default benchmarks/results)
#
# Then, here: copy the three JSON files into benchmarks/results/ and run `python benchmarks/report.py` (the
# README's benchmark block gains their tables). Each part has its own time limit, so one slow part leaves the
# others their time; the scripts skip what would not fit (their --budget).
set -u
export LRCONTROL_RESULTS=${1:-benchmarks/results} PYTHONUNBUFFERED=1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$LRCONTROL_RESULTS"
log=$LRCONTROL_RESULTS/gpu_check.log
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
  timeout 210 python3 benchmarks/fsl_scaling.py --max 10000000 --repeats 2 --compare-max 1000000 --name fsl_scaling_gpu
  timeout 150 python3 benchmarks/random_features_scaling.py --budget 120 --name random_features_scaling_gpu
  timeout 150 python3 benchmarks/sweep_throughput.py --budget 90 --name sweep_throughput_gpu
} 2>&1 | tee "$log"
