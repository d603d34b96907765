#!/usr/bin/env bash
# Call S (carry [".device/pack.tar.xz"]; session 15's first measurement): where the decode/prefill cut belongs.
# Session 14 saw a prefix-cache hit's 9-token tail take 19 ms to its first token on Qwen3-4B (2 tokens: 5 ms):
# the decode matmul at 8-16 rows is 5-10x its one-row time (51 / 106 us on Q4_K 9728x2560, call P) while 512 rows
# on fp16 tensor cores take 141. The matmuls alone with the cut at 16 (default), 4 and 2 rows, then the workload
# (TTFT by payload, calls/s at 1 / 4 / 8) with servers at the default and at HOTROD_CUDA_DECODE_MAX_ROWS=4.
# If 4 (or 2) wins, make it decode_max_rows()'s default, check the tests' row-count expectations (test_matmul.cpp
# checks rows past kMaxDecodeRows as the fp16 path) and rerun the GpuModel tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
for cut in 16 4 2; do
  echo "== bench_cuda_matmul, HOTROD_CUDA_DECODE_MAX_ROWS=$cut"
  HOTROD_CUDA_DECODE_MAX_ROWS=$cut timeout 90 bench_cuda_matmul Q4_K:9728x2560 Q4_K:2560x9728 Q6_K:2560x9728 2>&1 \
    | grep -E "MB|kernel"
done | tee $OUT/matmul_cut.txt
synth_4b_models
timeout 330 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 6 \
  --spawn "cut16=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "cut4=env HOTROD_CUDA_DECODE_MAX_ROWS=4 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT --json $OUT/bench.json 2>&1 | tail -32
