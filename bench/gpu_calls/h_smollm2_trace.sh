#!/usr/bin/env bash
# Call H (right after G, same warm machine; carry [".device/m2"]): joins SmolLM2 and prints where its batched row
# parts from its alone row at full resolution (GpuModel.DISABLED_TraceBatchedVsAloneSmolLM2), then its GPU checks
#.
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -x /tmp/devpack/bin/test_cuda ]] || { echo "no /tmp/devpack: call G did not run on this machine"; exit 3; }
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
m=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $m ]] || { cat $HOTROD_MODELS/part1 .device/m2/part2 > $m && rm -f $HOTROD_MODELS/part1; }
for sw in X=1 HOTROD_CUDA_MMA=0; do
  echo "== trace [$sw]"
  env $sw timeout 90 test_cuda --gtest_also_run_disabled_tests --gtest_filter='GpuModel.DISABLED_Trace*' 2>&1 | grep -E "^  |FAILED|OK \]" | head -60
done | tee $OUT/trace.txt
timeout 200 test_cuda --gtest_filter='GpuModel.*-*4B*' > $OUT/models.txt 2>&1; echo "exit $?"
grep -E "cosine|sequences|^\[ +(FAILED|PASSED) +\]|Failure" $OUT/models.txt | head -30
