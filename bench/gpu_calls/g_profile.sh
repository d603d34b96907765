#!/usr/bin/env bash
# Call G (carry [".device/m1", ".device/pack.tar.xz"]; call H follows it on the same warm machine): unpacks the
# pack, checks the decode default against its switch, then ncu's per-kernel time table (bench/ncu_kernel_table.py)
# of synthetic Qwen3-4B decode steps and Qwen3.5-4B decode and an 8192-token prefill (ubatch 512), the tables
# issue 13 asks for: what eats the gap to the HBM floor, and where pp8192's time goes.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
synth_4b_models
for sw in X=1 HOTROD_CUDA_DECODE_GROUP=16 X=1; do
  echo "qwen3 4b [$sw] $(env $sw timeout 60 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
done | tee $OUT/decode_default.txt
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
echo "ncu: $NCU"
prof() {  # name, steps profiled, hotrod perf arguments
  local name=$1 steps=$2; shift 2
  echo "== $name ($(date +%T))"
  timeout 200 $NCU --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
    --log-file $OUT/ncu_$name.csv hotrod perf "$@" -r 1 --device cuda > $OUT/ncu_$name.perf.txt 2>&1
  echo "ncu exit $?"
  python3 bench/ncu_kernel_table.py $OUT/ncu_$name.csv --steps $steps --top 28 | tee $OUT/table_$name.txt
}
# -r 1 runs the warm-up pass and one timed pass: steps counted over both.
# Session 13: Qwen3-4B's 64 steps took ~3 min under ncu; Qwen3.5-4B's did not finish in 200 s (its CSV stayed
# empty: ncu writes it at the end), so it gets 16 steps, and pp8192 ~2 min.
prof qwen3_4b_decode 64 -m $q3 -p 0 -n 32
prof qwen35_4b_decode 16 -m $q35 -p 0 -n 8
prof qwen35_4b_pp8192 32 -m $q35 -p 8192 -n 0
