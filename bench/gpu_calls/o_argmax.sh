#!/usr/bin/env bash
# Call O (carry [".device/pack.tar.xz"]): greedy-only steps' device arg-max (argmax.cu, off by default until this
# runs). Its kernel test, then the published workload on synthetic Qwen3-4B with it off and on (two hotrod servers,
# one after the other, same card): calls/s at 1/2/4/8 and p50, and the bench's answer agreement line, which must
# say the two servers' (greedy) texts agree: only a served step sets greedy_only, so this is its whole-model check.
# If the test passes, the texts agree and it wins, make CudaBackend::prefers_argmax_rows true by default.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
timeout 60 test_cuda --gtest_filter='CudaOps.ArgmaxRows*' 2>&1 | grep -E "^\[ +(FAILED|PASSED|OK) +\]|Failure|Expected|Which is"
synth_4b_models
timeout 400 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,2,4,8 --rounds 8 \
  --spawn "rows=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "argmax=env HOTROD_CUDA_ARGMAX=1 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT --json $OUT/bench.json 2>&1 | tail -30
