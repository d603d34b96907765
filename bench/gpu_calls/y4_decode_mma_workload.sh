#!/usr/bin/env bash
# Call Y4 (carry [".device/g4"]; after Y1 on the same warm machine): the published workload on the synthetic Qwen3-4B
# with the tensor-core decode (HOTROD_CUDA_DECODE_MMA=1: the 8448+ row matrices, 1-16 rows a launch) against the
# default dp4a decode, two servers in one `hotrod bench`: does one weight read for 4-8 rows pay at 4 and 8 in flight?
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
stash_parts
synth_4b_models
mkdir -p $OUT/q3
timeout 260 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 6 \
  --spawn "dp4a=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "mma=env HOTROD_CUDA_DECODE_MMA=1 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT/q3 --json $OUT/bench_mma.json 2>&1 | tail -22
