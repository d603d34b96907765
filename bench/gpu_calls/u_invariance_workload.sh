#!/usr/bin/env bash
# Call U (carry [".device/m2"]; after call T on the same warm machine): the published workload on the synthetic
# Qwen3-4B with batch invariance by token kind (the default) and without (HOTROD_CUDA_BATCH_INVARIANT=0: the
# row-count rule), two servers in one `hotrod bench`: p50 / TTFT / calls/s at 1, 4 and 8 in flight. Kinds put a
# prefix-cache hit's prompt tail on the prefill kernels (session 14: 9 tail tokens on the decode kernels took
# ~19 ms to the first token) and decode rows past 16 in several decode launches.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
stash_smollm2
synth_4b_models
timeout 420 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 6 \
  --spawn "kinds=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "rowcount=env HOTROD_CUDA_BATCH_INVARIANT=0 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT --json $OUT/bench.json 2>&1 | tail -40
