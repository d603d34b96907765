#!/usr/bin/env bash
# Call A of three on one warm GPU machine (each started within the machine's 30 s idle release of the last):
# unpacks the pack into /tmp/devpack (/tmp stays on the warm machine for calls B and C; .device/ does not: the
# next call's carry replaces it), keeps the SmolLM2 parts it carries (call_lib.sh says how the model travels) and
# runs the kernel tests that need no model.
#   A: carry [".device/m1", ".device/pack.tar.xz"]   B: carry [".device/m2", ".device/m3"]   C: carry nothing
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
timeout 200 test_cuda --gtest_filter='CudaAttention*:CudaOps.*:CudaKvStore.*:CudaQuantizeAct.*:CudaDeltaRule.*:*Matmul*:CudaFormatsK.*:CudaFusedQuant.*' > $OUT/kernels.txt 2>&1; echo "exit $?"
grep -E "tile row|^\[ +(FAILED|PASSED|SKIPPED) +\]|Failure|Expected|Which is|actual" $OUT/kernels.txt | head -40
# The decode matmul at 1-2 token rows: 16 lanes a K super-block (default) against 4 (HOTROD_CUDA_DECODE_GROUP=4).
shapes="Q4_K:9728x2560 Q4_K:2560x9728 Q6_K:2560x9728 Q4_K:4096x2560 Q6_K:151936x2560 Q5_K:2560x2560"
for g in 16 4; do
  echo "== decode group $g"
  HOTROD_CUDA_DECODE_GROUP=$g timeout 120 bench_cuda_matmul $shapes 2>&1 | grep -E "copy|MB|rows +(1|2|8) " | tee $OUT/decode_group$g.txt
done
