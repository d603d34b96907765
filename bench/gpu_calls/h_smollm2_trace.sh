#!/usr/bin/env bash
# Call H (right after G, same warm machine; carry [".device/m2", ".device/m3"]): joins SmolLM2 and prints where its batched row
# parts from its alone row at full resolution (GpuModel.DISABLED_TraceBatchedVsAloneSmolLM2), then its GPU checks
#.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
join_smollm2
for sw in X=1 HOTROD_CUDA_MMA=0; do
  echo "== trace [$sw]"
  env $sw timeout 90 test_cuda --gtest_also_run_disabled_tests --gtest_filter='GpuModel.DISABLED_Trace*' 2>&1 | grep -E "^  |FAILED|OK \]" | head -60
done | tee $OUT/trace.txt
timeout 200 test_cuda --gtest_filter='GpuModel.*-*4B*' > $OUT/models.txt 2>&1; echo "exit $?"
grep -E "cosine|sequences|^\[ +(FAILED|PASSED) +\]|Failure" $OUT/models.txt | head -30
