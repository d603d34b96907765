#!/usr/bin/env bash
# Call U (carry [".device/m2"]; after call T on the same warm machine): the published workload with batch invariance
# by token kind (the default) and without (HOTROD_CUDA_BATCH_INVARIANT=0: the row-count rule), two servers in one
# `hotrod bench` each: p50 / TTFT / calls/s at 1, 4 and 8 in flight, on the synthetic Qwen3-4B, then Qwen3.5-4B.
# Session 15's first run (before the logits rows took the decode kernels and the fp16 prefill kept 4 steps in
# flight): kinds TTFT 36 ms against 14, p50 7-12% slower.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
stash_parts
install_wheels  # for call N, when this call carries .whl
synth_4b_models
for pair in "q3 $q3" "q35 $q35"; do
  set -- $pair
  echo "=== $1"; mkdir -p $OUT/$1
  timeout 260 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 6 \
    --spawn "kinds=hotrod serve -m $2 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
    --spawn "rowcount=env HOTROD_CUDA_BATCH_INVARIANT=0 hotrod serve -m $2 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
    --log-dir $OUT/$1 --json $OUT/bench_$1.json 2>&1 | tail -22
done
