#!/usr/bin/env bash
# Issue 15's GPU figures in one prepared run of under 10 minutes, for a lent GPU machine
# whose Python already has a CUDA jax (no package index there), or any machine with
# `pip install -e ".[cuda]"` done:
#
#     bash benchmarks/device_run.sh             # on the GPU machine, from the repository root
#     bash benchmarks/device_run.sh --smoke     # the same steps, tiny, on this CPU (checks)
#
# Steps, most wanted first, each under its own `timeout` so one slow step cannot cost the
# others (the scripts write their JSON as they go):
#   1. the machine and JAX: nvidia-smi, jax version and devices (at the head of scale.log);
#   2. benchmarks/scale.py: float64 population fitness at 256 for N = 5..12 (the targets
#      N = 5 >= 500 000 circuits/s and N = 10 >= 200, and the largest N that fits), a GA
#      generation at N = 5, 8, 10, then populations up to 4096 and float32 (cells ordered
#      by `plan_cells`; none is started past --budget-s);
#   3. scale.py at N = 5 with populations of 16 384 and 65 536 (float64): where the N = 5
#      throughput levels off, if 4096 rows do not fill the GPU;
#   4. benchmarks/engine.py at N = 5, 8: the engine against the batched-eigh ceiling on the
#      same device, and cuSOLVER's Jacobi eigh of the same matrices (N = 10 is left out: its
#      plain-numpy references run on the host's CPUs, ~100 s a precision row, and cut the
#      step at 100 s on 2026-11-30's H200; its float64 row came from a separate 200 s call,
#      `engine.py --device gpu --sizes 10 --reps 1`, in benchmarks/RESULTS.md);
#   5. benchmarks/mixed_precision.py at N = 5, 8, dephasing: a GA generation, mixed vs
#      float64 (scale.py has the other GA cells).
# Output: 7 files (4 JSON, 3 logs; the device tool brings back 8 at most) in $OUT when set,
# else in benchmarks/device_out/. Record the figures in benchmarks/RESULTS.md.
#
# Environment: PYTHON (default python3), OUT. JAX may take 95 % of the GPU's memory
# (XLA_PYTHON_CLIENT_MEM_FRACTION, unless set), so "fits" means fits on the card.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/device_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
rm -f "$OUT"/{scale,engine,mixed}.log  # the logs are appended to below
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.95}

if [[ "${1:-}" == "--smoke" ]]; then
  dev=cpu
  scale=(--smoke)
  large=(--smoke)
  engine=(--smoke)
  mixed=(--smoke)
  t_scale=300 t_large=120 t_engine=120 t_mixed=120 budget=120
else
  dev=gpu
  scale=(--reps 3)
  large=(--sizes 5 --populations 16384,65536 --dtypes float64 --fit-population 16384
         --ga-sizes "" --reps 3)
  engine=(--sizes 5,8 --reps 3)
  mixed=(--sizes 5,8 --noises dephasing --repeats 2)
  # worst case, every step at its limit: ~20 s of set-up + 270 + 50 + 150 + 90 = 580 s
  # (2026-11-30, H200: 415 s in all, the engine step cut at its then 100 s during N = 8)
  t_scale=270 t_large=50 t_engine=150 t_mixed=90 budget=210
fi

{
  date -u
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import sys, jax; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices())" \
    && "$PY" -c "import qsense, optax, scipy, tqdm; print('qsense imports')"
} 2>&1 | tee "$OUT/scale.log"
# without JAX or one of qsense's engine dependencies nothing below can run: stop at once
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "== $PY cannot import jax/qsense: stopping"; exit 2; }

status=0
run() {  # run LIMIT_S LOG ARGS...: one step under its time limit, its output kept in LOG
  local limit=$1 log=$2
  shift 2
  echo "== $* (limit ${limit} s)"
  timeout "$limit" "$PY" "$@" 2>&1 | tee -a "$OUT/$log"
  local rc=${PIPESTATUS[0]}
  [[ $rc -eq 0 ]] || { echo "== exit $rc: $*"; status=1; }
}

run "$t_scale" scale.log benchmarks/scale.py --device "$dev" --budget-s "$budget" \
  "${scale[@]}" --out "$OUT/scale_gpu.json"
run "$t_large" scale.log benchmarks/scale.py --device "$dev" "${large[@]}" \
  --out "$OUT/scale_n5_gpu.json"
run "$t_engine" engine.log benchmarks/engine.py --device "$dev" "${engine[@]}" \
  --out "$OUT/engine_gpu.json"
run "$t_mixed" mixed.log benchmarks/mixed_precision.py --device "$dev" "${mixed[@]}" \
  --out "$OUT/mixed_precision_gpu.json"
exit $status
