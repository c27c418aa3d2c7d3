#!/usr/bin/env bash
# Issue 15's GPU figures in one prepared run of under 10 minutes, for a lent GPU machine
# whose Python already has a CUDA jax (no package index there), or any machine with
# `pip install -e ".[cuda]"` done:
#
#     bash benchmarks/device_run.sh             # on the GPU machine, from the repository root
#     bash benchmarks/device_run.sh --smoke     # the same steps, tiny, on this CPU (checks)
#     bash benchmarks/device_run.sh --part2     # what part 1 (2026-11-30, H200) left: below
#     bash benchmarks/device_run.sh --part2 --smoke
#     bash benchmarks/device_run.sh --part3     # what part 2 (2026-12-04, H200) left: below
#     bash benchmarks/device_run.sh --part3 --smoke
#     bash benchmarks/device_run.sh --part4     # what part 3 (2026-12-04, H200) found: below
#     bash benchmarks/device_run.sh --part4 --smoke
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
# --part2, the GPU cells part 1's minutes did not reach (its budget ran out before them):
#   1. benchmarks/scale.py: a GA generation (float64 and mixed) at populations 1024 and 4096
#      for N = 5 and 8, and float64 fitness at N = 12 with populations of 16 and 64 (a
#      population of 256 needs 192 GiB there);
#   2. benchmarks/ga_chunks.py at N = 8, population 1024, chunks of 256 and 128: chunked
#      against unchunked GA generations where the GPU is full;
#   3. ga_chunks.py at N = 10, population 128 (unchunked 62 GiB by XLA; 256 rows need ~124 of
#      the card's ~133), chunks of 64 and 32;
#   4. scale.py: float32 fitness at N = 10 and 11, population 256, checked against float64 on
#      the same circuits (float64 ran in part 1 too: here it is the check's reference).
# Output: 4 JSON and part2.log.
#
# --part3, what part 2 left or found:
#   1. scale.py with JAX_DEFAULT_MATMUL_PRECISION=highest: float64 and float32 fitness at
#      N = 5, 8, 10 (population 256) and a mixed GA generation at N = 8 (1024). JAX's default
#      runs float32 matmuls on the H200 as TF32, and parts 1 and 2 measured float32 QFIs
#      4e-4 to 1.1e-3 off float64 (N = 5..11; on CPUs 3e-5 to 2e-4): this is the speed of
#      true float32 and its agreement (the script's 1e-3 check);
#   2. scale.py: a GA generation (float64 and mixed) at population 4096, N = 5 (default
#      precision; part 2's --budget-s ran out before it);
#   3. ga_chunks.py at N = 8, population 4096 (unchunked ~100 GiB by XLA), chunks of 1024
#      and 512;
#   4. ga_chunks.py --plan-only at N = 10 and 11, population 256, 6 times: the chunk `search`
#      picks by XLA's plan of its program (since 2026-12-04; the old estimate refused N = 10)
#      and how long planning takes.
# Output: 4 JSON and part3.log. Ran on 2026-12-04 (H200, "GPU, part 3" in RESULTS.md), step 4
# then cut at its 60 s: planning N = 11 took 117 s (three compilations of 30-50 s; two since
# the chunk search's fix that evening), so its limit is 180 s now.
#
# --part4, what part 3 found: XLA's plan of the same N = 11 generation program (256 rows in 4
# chunks of 64, 6 times) was 64.1 GiB in a fresh process and 128.1 GiB in the planning one.
#   1. benchmarks/plan_repeat.py: that program compiled fresh, after the 3-chunks-of-86 one,
#      again after `jax.clear_caches()`, and through the search's own planner, each plan and
#      XLA's rematerialization warnings in the log; then `search` at N = 11 with 256 rows for
#      one generation (its planning, the chunk it picks, its time). About 7 minutes by part
#      3's compile (30-90 s each) and generation (~55 s) times.
# Output: plan_repeat_gpu.json and part4.log.
#
# Environment: PYTHON (default python3), OUT. JAX may take 95 % of the GPU's memory
# (XLA_PYTHON_CLIENT_MEM_FRACTION, unless set), so "fits" means fits on the card.
set -uo pipefail
cd "$(dirname "$0")/.."
smoke=0 part2=0 part3=0 part4=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --part2) part2=1 ;;
    --part3) part3=1 ;;
    --part4) part4=1 ;;
    *) echo "device_run.sh: unknown argument '$arg' (accepted: --smoke, --part2, --part3," \
            "--part4)" >&2
       exit 2 ;;
  esac
done
if (( part2 + part3 + part4 > 1 )); then
  echo "device_run.sh: --part2, --part3 and --part4 are separate runs (give one)" >&2
  exit 2
fi
head_log=scale.log
[[ $part2 -eq 1 ]] && head_log=part2.log
[[ $part3 -eq 1 ]] && head_log=part3.log
[[ $part4 -eq 1 ]] && head_log=part4.log
OUT=${OUT:-benchmarks/device_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
rm -f "$OUT"/{scale,engine,mixed,part2,part3,part4}.log  # the logs are appended to below
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.95}

if [[ $part4 -eq 1 && $smoke -eq 1 ]]; then
  dev=cpu
  p4_plan=(--smoke)
  t_p4_plan=300
elif [[ $part4 -eq 1 ]]; then
  dev=gpu
  p4_plan=(--size 11 --population 256 --chunk 64 --other 86 --n-t 6 --generations 1)
  # ~20 s of set-up + 560 = 580 s
  t_p4_plan=560
elif [[ $part3 -eq 1 && $smoke -eq 1 ]]; then
  dev=cpu
  p3_f32=(--smoke)
  p3_ga=(--smoke)
  p3_chunks=(--smoke)
  p3_plan=(--smoke --plan-only)
  t_p3_f32=300 t_p3_ga=120 t_p3_chunks=120 t_p3_plan=120
elif [[ $part3 -eq 1 ]]; then
  dev=gpu
  p3_f32=(--sizes 5,8,10 --populations 256 --dtypes float64,float32 --fit-population 256
          --ga-sizes 8 --ga-populations 1024 --reps 2)
  p3_ga=(--sizes "" --ga-sizes 5 --ga-populations 4096 --reps 2)
  p3_chunks=(--sizes 8 --population 4096 --chunks 1024,512 --repeats 1)
  p3_plan=(--sizes 10,11 --population 256 --n-t 6 --plan-only)
  # worst case, every step at its limit: ~20 s of set-up + 150 + 80 + 140 + 180 = 570 s
  # (2026-12-04: steps 1-3 took ~270 s together)
  t_p3_f32=150 t_p3_ga=80 t_p3_chunks=140 t_p3_plan=180
elif [[ $part2 -eq 1 && $smoke -eq 1 ]]; then
  dev=cpu
  p2_scale=(--smoke)
  p2_chunks8=(--smoke)
  p2_chunks10=(--smoke)
  p2_f32=(--smoke)
  t_p2_scale=300 t_p2_chunks8=120 t_p2_chunks10=120 t_p2_f32=120 budget=120
elif [[ $part2 -eq 1 ]]; then
  dev=gpu
  p2_scale=(--sizes 12 --populations 16,64 --dtypes float64 --fit-population 64
            --ga-sizes 5,8 --ga-populations 1024,4096 --reps 2)
  p2_chunks8=(--sizes 8 --population 1024 --chunks 256,128 --repeats 2)
  p2_chunks10=(--sizes 10 --population 128 --chunks 64,32 --repeats 2)
  p2_f32=(--sizes 10,11 --populations 256 --dtypes float64,float32 --fit-population 256
          --ga-sizes "" --reps 2)
  # worst case, every step at its limit: ~20 s of set-up + 180 + 140 + 170 + 80 = 590 s
  t_p2_scale=180 t_p2_chunks8=140 t_p2_chunks10=170 t_p2_f32=80 budget=130
elif [[ $smoke -eq 1 ]]; then
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
} 2>&1 | tee "$OUT/$head_log"
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

if [[ $part4 -eq 1 ]]; then
  run "$t_p4_plan" part4.log benchmarks/plan_repeat.py --device "$dev" "${p4_plan[@]}" \
    --out "$OUT/plan_repeat_gpu.json"
  exit $status
fi

if [[ $part3 -eq 1 ]]; then
  JAX_DEFAULT_MATMUL_PRECISION=highest run "$t_p3_f32" part3.log benchmarks/scale.py \
    --device "$dev" "${p3_f32[@]}" --out "$OUT/scale_f32_highest_gpu.json"
  run "$t_p3_ga" part3.log benchmarks/scale.py --device "$dev" "${p3_ga[@]}" \
    --out "$OUT/scale_ga4096_gpu.json"
  run "$t_p3_chunks" part3.log benchmarks/ga_chunks.py --device "$dev" "${p3_chunks[@]}" \
    --out "$OUT/ga_chunks_n8_4096_gpu.json"
  run "$t_p3_plan" part3.log benchmarks/ga_chunks.py --device "$dev" "${p3_plan[@]}" \
    --out "$OUT/ga_plan_gpu.json"
  exit $status
fi

if [[ $part2 -eq 1 ]]; then
  run "$t_p2_scale" part2.log benchmarks/scale.py --device "$dev" --budget-s "$budget" \
    "${p2_scale[@]}" --out "$OUT/scale_part2_gpu.json"
  run "$t_p2_chunks8" part2.log benchmarks/ga_chunks.py --device "$dev" "${p2_chunks8[@]}" \
    --out "$OUT/ga_chunks_n8_gpu.json"
  run "$t_p2_chunks10" part2.log benchmarks/ga_chunks.py --device "$dev" "${p2_chunks10[@]}" \
    --out "$OUT/ga_chunks_n10_gpu.json"
  run "$t_p2_f32" part2.log benchmarks/scale.py --device "$dev" "${p2_f32[@]}" \
    --out "$OUT/scale_f32_gpu.json"
  exit $status
fi

run "$t_scale" scale.log benchmarks/scale.py --device "$dev" --budget-s "$budget" \
  "${scale[@]}" --out "$OUT/scale_gpu.json"
run "$t_large" scale.log benchmarks/scale.py --device "$dev" "${large[@]}" \
  --out "$OUT/scale_n5_gpu.json"
run "$t_engine" engine.log benchmarks/engine.py --device "$dev" "${engine[@]}" \
  --out "$OUT/engine_gpu.json"
run "$t_mixed" mixed.log benchmarks/mixed_precision.py --device "$dev" "${mixed[@]}" \
  --out "$OUT/mixed_precision_gpu.json"
exit $status
